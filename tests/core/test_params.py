"""ParamSpec coercion and resolve_params: strings as typed on a command line, ranges, unknown names."""

from __future__ import annotations

import math

import pytest

from workbench.core.errors import ExpressionError, ParamError
from workbench.core.params import ParamSpec, resolve_params

DT = ParamSpec("dt", "float", 0.01, minimum=0.0, maximum=1.0, units="s", help="time step")
STEPS = ParamSpec("steps", "int", 10, minimum=1, maximum=1000)
VERBOSE = ParamSpec("verbose", "bool", False)
METHOD = ParamSpec("method", "choice", "cg", choices=("cg", "gmres", "direct"))
LABEL = ParamSpec("label", "str", "run")
SOURCE = ParamSpec("source", "expression", "0")
SPECS = (DT, STEPS, VERBOSE, METHOD, LABEL, SOURCE)


# -- float ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("1e-3", 1e-3), ("0.5", 0.5), (" 0.25 ", 0.25), (1, 1.0), ("0", 0.0)])
def test_float_from_text_and_numbers(raw, expected):
    value = DT.coerce(raw)
    assert type(value) is float
    assert value == expected


@pytest.mark.parametrize("raw", ["nan", "NaN", float("nan")])
def test_float_rejects_nan(raw):
    with pytest.raises(ParamError, match=r"parameter 'dt'.*NaN"):
        DT.coerce(raw)


@pytest.mark.parametrize("raw", ["abc", "1e-3s", "", True, None])
def test_float_rejects_non_numbers(raw):
    with pytest.raises(ParamError, match="parameter 'dt'"):
        DT.coerce(raw)


def test_float_bounds_are_inclusive():
    assert DT.coerce("0") == 0.0
    assert DT.coerce("1") == 1.0


def test_float_above_maximum_names_parameter_bound_and_units():
    with pytest.raises(ParamError) as info:
        DT.coerce("2.5")
    message = str(info.value)
    assert "'dt'" in message
    assert "2.5" in message
    assert "maximum 1.0 s" in message


def test_float_below_minimum_names_parameter_bound_and_units():
    with pytest.raises(ParamError) as info:
        DT.coerce("-1e-3")
    message = str(info.value)
    assert "'dt'" in message and "minimum 0.0 s" in message and "-0.001" in message


@pytest.mark.parametrize("raw", ["inf", "-inf", "Infinity", "1e999", float("inf")])
def test_float_rejects_infinity_even_without_a_bound(raw):
    unbounded = ParamSpec("nu", "float", 0.1)
    for spec in (DT, unbounded):
        with pytest.raises(ParamError, match=rf"parameter '{spec.name}': .* is not a finite number"):
            spec.coerce(raw)


def test_a_spec_may_allow_infinity():
    patience = ParamSpec("wait", "float", 1.0, minimum=0.0, allow_infinite=True)
    assert patience.coerce("inf") == math.inf
    assert patience.describe()["allow_infinite"] is True
    assert "allow_infinite" not in DT.describe()
    with pytest.raises(ParamError, match="NaN"):
        patience.coerce("nan")


# -- int -----------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("42", 42), (" 7 ", 7), (3, 3), (5.0, 5)])
def test_int_coercion(raw, expected):
    value = STEPS.coerce(raw)
    assert type(value) is int
    assert value == expected


@pytest.mark.parametrize("raw", ["2.5", 2.5, "ten", True, False, float("nan")])
def test_int_rejects_non_integers(raw):
    with pytest.raises(ParamError, match="parameter 'steps'"):
        STEPS.coerce(raw)


def test_int_range_without_units_has_no_trailing_space():
    with pytest.raises(ParamError) as info:
        STEPS.coerce("0")
    assert str(info.value) == "parameter 'steps' = 0 is below its minimum 1"
    with pytest.raises(ParamError, match=r"'steps' = 1001 is above its maximum 1000$"):
        STEPS.coerce("1001")


# -- bool ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "True", "TRUE", "yes", "Yes", "on", " ON ", True, 1])
def test_bool_true_spellings(raw):
    assert VERBOSE.coerce(raw) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "NO", "off", False, 0])
def test_bool_false_spellings(raw):
    assert VERBOSE.coerce(raw) is False


@pytest.mark.parametrize("raw", ["maybe", "", "2", "y", "t"])
def test_bool_rejects_other_text(raw):
    with pytest.raises(ParamError, match="parameter 'verbose'.*true or false"):
        VERBOSE.coerce(raw)


# -- choice, str, expression ---------------------------------------------------------------


def test_choice_accepts_members_only():
    assert METHOD.coerce("gmres") == "gmres"
    with pytest.raises(ParamError) as info:
        METHOD.coerce("lu")
    message = str(info.value)
    assert "'method'" in message and "'lu'" in message
    for choice in METHOD.choices:
        assert choice in message


def test_choice_is_case_sensitive():
    with pytest.raises(ParamError):
        METHOD.coerce("CG")


def test_choice_default_must_be_a_choice():
    with pytest.raises(ValueError, match="default"):
        ParamSpec("method", "choice", "lu", choices=("cg", "gmres"))


def test_str_keeps_text_and_converts_others():
    assert LABEL.coerce("my run") == "my run"
    assert LABEL.coerce(12) == "12"


def test_expression_is_validated_and_returned_as_text():
    assert SOURCE.coerce("sin(pi*x) * exp(-t)") == "sin(pi*x) * exp(-t)"


@pytest.mark.parametrize("raw", ["x.__class__", "__import__('os')", "sin(", "q + 1"])
def test_expression_rejections_become_param_errors_naming_the_parameter(raw):
    with pytest.raises(ParamError) as info:
        SOURCE.coerce(raw)
    assert str(info.value).startswith("parameter 'source': ")
    assert "\n" not in str(info.value)


def test_expression_error_is_a_param_error():
    assert issubclass(ExpressionError, ParamError)


# -- resolve_params -------------------------------------------------------------------------


def test_defaults_are_applied_and_coerced():
    values = resolve_params(SPECS)
    assert dict(values) == {"dt": 0.01, "steps": 10, "verbose": False, "method": "cg", "label": "run", "source": "0"}


def test_given_values_override_defaults_and_are_coerced_from_text():
    values = resolve_params(SPECS, {"dt": "1e-3", "steps": "20", "verbose": "yes", "method": "direct"})
    assert values["dt"] == 1e-3
    assert values["steps"] == 20 and type(values["steps"]) is int
    assert values["verbose"] is True
    assert values["method"] == "direct"
    assert values["label"] == "run"


def test_unknown_names_rejected_with_the_known_names():
    with pytest.raises(ParamError) as info:
        resolve_params(SPECS, {"dtt": "0.1", "stepz": 3})
    message = str(info.value)
    assert "dtt" in message and "stepz" in message
    assert "known: dt, steps, verbose, method, label, source" in message


def test_unknown_name_with_no_specs():
    with pytest.raises(ParamError, match=r"known: none"):
        resolve_params([], {"dt": 1})


def test_range_error_from_resolve_names_parameter():
    with pytest.raises(ParamError, match=r"'dt' = 5.0 is above its maximum 1.0 s"):
        resolve_params(SPECS, {"dt": "5"})


def test_nan_rejected_by_resolve():
    with pytest.raises(ParamError, match="NaN"):
        resolve_params(SPECS, {"dt": "nan"})


def test_bad_default_is_reported_too():
    bad = ParamSpec("tol", "float", 10.0, maximum=1.0)
    with pytest.raises(ParamError, match="'tol'"):
        resolve_params([bad])


def test_result_is_read_only():
    values = resolve_params(SPECS, {"steps": 3})
    with pytest.raises(TypeError):
        values["steps"] = 4  # type: ignore[index]
    with pytest.raises(TypeError):
        del values["dt"]  # type: ignore[attr-defined]
    assert values["steps"] == 3


def test_given_mapping_is_not_modified():
    given = {"steps": "3"}
    resolve_params(SPECS, given)
    assert given == {"steps": "3"}


def test_spec_is_frozen_and_describes_itself():
    with pytest.raises(AttributeError):
        DT.default = 1.0  # type: ignore[misc]
    described = DT.describe()
    assert described["name"] == "dt" and described["units"] == "s" and described["minimum"] == 0.0
    assert "choices" not in described
    assert math.isclose(described["default"], 0.01)
