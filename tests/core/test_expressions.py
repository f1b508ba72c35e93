"""Safe expressions: evaluation on points in 1D/2D/3D, and rejection of everything that is not arithmetic."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from workbench.core.errors import ExpressionError
from workbench.core.expressions import Expression

RNG = np.random.default_rng(0)
P1 = RNG.random((7, 1))
P2 = RNG.random((6, 2))
P3 = RNG.random((5, 3))


def test_one_dimensional_points_with_time():
    u = Expression("sin(pi*x) * exp(-2*pi**2*t)")
    value = u(P1, t=0.1)
    np.testing.assert_allclose(value, np.sin(np.pi * P1[:, 0]) * np.exp(-2 * np.pi**2 * 0.1), rtol=1e-15)
    assert value.shape == (7,) and value.dtype == np.float64


def test_two_dimensional_points():
    value = Expression("x**2 + 3*y - t")(P2, t=2.0)
    np.testing.assert_allclose(value, P2[:, 0] ** 2 + 3 * P2[:, 1] - 2.0, rtol=1e-14)


def test_three_dimensional_points():
    value = Expression("hypot(x, y) * cos(z) + arctan2(y, x)")(P3)
    x, y, z = P3.T
    np.testing.assert_allclose(value, np.hypot(x, y) * np.cos(z) + np.arctan2(y, x), rtol=1e-14)


def test_missing_coordinates_are_zero():
    np.testing.assert_array_equal(Expression("y + z")(P1), np.zeros(7))
    np.testing.assert_allclose(Expression("x + y + z")(P2), P2.sum(axis=1))


def test_default_time_is_zero():
    np.testing.assert_allclose(Expression("1 + t")(P2), np.ones(6))


@pytest.mark.parametrize("text", ["1", "2.5", "pi", "e", "t", "exp(-t)", "sqrt(2)"])
def test_constants_broadcast_to_one_value_per_point(text):
    value = Expression(text)(P3, t=0.7)
    assert value.shape == (5,)
    assert np.all(value == value[0])
    value[0] = -123.0  # the result is a fresh, writeable array
    assert value[1] != -123.0


def test_constant_values():
    assert Expression("pi")(P1)[0] == np.pi
    assert Expression("e")(P1)[0] == np.e
    assert Expression("2*t")(P1, t=1.5)[0] == 3.0


def test_comparisons_where_and_boolean_operators():
    points = np.array([[0.2, 0.0], [0.7, 1.0]])
    np.testing.assert_array_equal(Expression("where(x > 0.5, 1, -1)")(points), [-1.0, 1.0])
    np.testing.assert_array_equal(Expression("heaviside(x - 0.5, 0)")(points), [0.0, 1.0])
    np.testing.assert_array_equal(Expression("(x > 0.5) * 2")(points), [0.0, 2.0])
    np.testing.assert_array_equal(Expression("minimum(x, y)")(points), [0.0, 0.7])


def test_integer_arithmetic_is_float_arithmetic():
    assert Expression("7 // 2 + 7 % 3 + 1/2")(P1)[0] == 4.5


def test_uses_time():
    assert Expression("sin(t) * x").uses_time
    assert not Expression("sin(x) * y").uses_time
    assert Expression("  t ").uses_time


def test_whitespace_around_text_is_allowed():
    np.testing.assert_allclose(Expression("  x + 1 ")(P2), P2[:, 0] + 1)


def test_expression_is_immutable_value():
    u = Expression("x")
    with pytest.raises(AttributeError):
        u.text = "y"  # type: ignore[misc]
    assert Expression("x") == Expression("x")


# -- rejections ------------------------------------------------------------------------------

REJECTED = [
    ("x.__class__", "Attribute"),
    ("x.real", "Attribute"),
    ("__import__('os')", None),
    ("__import__('os').system('true')", None),
    ("x[0]", "Subscript"),
    ("(lambda: 1)()", None),
    ("lambda x: x", "Lambda"),
    ("'abc'", "numbers"),
    ("b'abc'", "numbers"),
    ("foo", "unknown name 'foo'"),
    ("x + q", "unknown name 'q'"),
    ("__builtins__", "unknown name"),
    ("open('f')", "only math functions"),
    ("eval('1')", "only math functions"),
    ("print(x)", "only math functions"),
    ("np.sin(x)", None),
    ("sin(x, out=x)", "keyword"),
    ("[x for x in y]", None),
    ("{x}", "Set"),
    ("(x, y)", "Tuple"),
    ("x @ y", "MatMult"),
    ("x << 1", "LShift"),
    ("x := 1", None),
    ("sin(", "not a valid expression"),
    ("x +", "not a valid expression"),
    ("x = 1", "not a valid expression"),
    ("x; y", "not a valid expression"),
    ("", "not a valid expression"),
    ("1j", "numbers"),
]


@pytest.mark.parametrize(("text", "fragment"), REJECTED)
def test_rejected_with_one_line_message(text, fragment):
    with pytest.raises(ExpressionError) as info:
        Expression(text)
    message = str(info.value)
    assert "\n" not in message
    if fragment is not None:
        assert fragment in message


def test_multiline_text_gives_one_line_message():
    with pytest.raises(ExpressionError) as info:
        Expression("x +\n  * 2")
    assert "\n" not in str(info.value)


def test_very_long_or_deep_text_is_an_expression_error():
    for text in ["-" * 100_000 + "1", "+".join(["x"] * 100_000), "(" * 500 + "x" + ")" * 500]:
        with pytest.raises(ExpressionError) as info:
            Expression(text)
        assert len(str(info.value)) < 300


def test_huge_integer_powers_do_not_hang():
    # An exact integer 9**(9**9) would take minutes and gigabytes, and a C-level big-int
    # power cannot be interrupted, so check in a subprocess that can be killed.
    code = (
        "import numpy as np\n"
        "from workbench.core.errors import ExpressionError\n"
        "from workbench.core.expressions import Expression\n"
        "for text in ['9**9**9', '10**10**10', '(2**2**2)**10**10']:\n"
        "    try:\n"
        "        value = Expression(text)(np.zeros((3, 2)))\n"
        "    except ExpressionError:\n"
        "        continue\n"
        "    assert not np.isfinite(value).any(), (text, value)\n"
        "print('ok')\n"
    )
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("evaluating 9**9**9 did not finish within 15 s")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(("text", "fragment"), [
    ("sin(x, x)", "sin takes 1 argument, not 2"),
    ("exp(x, y)", "exp takes 1 argument, not 2"),
    ("sin()", "sin takes 1 argument, not 0"),
    ("log(x, 2)", "log takes 1 argument, not 2"),
    ("minimum(x, y, x)", "minimum takes 2 arguments, not 3"),
    ("where(x > 0, 1)", "where takes 3 arguments, not 2"),
    ("1 + hypot(x, sin(y, y))", "sin takes 1 argument"),
])
def test_calls_take_exactly_their_operands_so_no_output_array_can_be_passed(text, fragment):
    with pytest.raises(ExpressionError, match=re.escape(fragment)):
        Expression(text)


def test_what_a_function_sees_of_the_points_is_read_only(monkeypatch):
    from workbench.core import expressions

    points = np.array([[0.1, 0.2], [0.3, 0.4]])
    seen = {}
    monkeypatch.setitem(expressions.FUNCTIONS, "sin", lambda x: seen.setdefault("x", x) * 0)
    Expression("sin(x)")(points)
    assert not seen["x"].flags.writeable
    assert points.flags.writeable  # the caller's array itself is untouched


@pytest.mark.parametrize("text", ["abs", "(-8)**(1/3)"])
def test_evaluation_failures_are_expression_errors(text):
    with pytest.raises(ExpressionError, match="cannot evaluate") as info:
        Expression(text)(P2)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["x if x > 0 else 1", "x > 0 and y > 0", "x or y", "not x"])
def test_branching_is_rejected_at_parse_time_in_favour_of_where(text):
    with pytest.raises(ExpressionError, match=r"use where\(condition, a, b\)"):
        Expression(text)


def test_evaluation_does_not_warn_on_domain_errors():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = Expression("log(x - 2) + 1/(x - x)")(P1)
    assert not np.isfinite(value).any()
