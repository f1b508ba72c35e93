"""Safe evaluation of user expressions such as ``sin(pi*x) * exp(-2*pi**2*t)``.

An expression is parsed with :mod:`ast` and accepted only if every node is an
arithmetic operation, a comparison, a number, one of the coordinate/time names,
or a call of a whitelisted numpy function with exactly its number of operands
(no keywords). Nothing else (attributes, subscripts, lambdas, comprehensions,
strings) can appear, so evaluating it cannot run code. Nor can it write: a numpy
ufunc takes its output array as an extra positional argument (``sin(x, x)``
would overwrite the caller's coordinates), so a call with more arguments than the
function's operands is refused, and the coordinates it sees are read-only views.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np

from .errors import ExpressionError

FUNCTIONS = {
    name: getattr(np, name)
    for name in (
        "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh",
        "exp", "log", "log10", "sqrt", "abs", "sign", "floor", "ceil", "minimum", "maximum", "where",
        "hypot", "heaviside",
    )
}
#: Operands of each function: a ufunc's ``nin`` (its inputs; any further positional argument
#: is an output array), and where(condition, a, b) takes three.
ARITY = {name: getattr(function, "nin", 3) for name, function in FUNCTIONS.items()}
CONSTANTS = {"pi": np.pi, "e": np.e}
VARIABLES = ("x", "y", "z", "t")

_ALLOWED_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call, ast.Name, ast.Load,
    ast.Constant, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod, ast.FloorDiv, ast.USub, ast.UAdd,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq,
)
# No `a if c else b`, `and`, `or`, `not`: on arrays of points they have no meaning;
# where(condition, a, b) branches point by point.
_BRANCHING = (ast.IfExp, ast.BoolOp, ast.Not)


@dataclass(frozen=True)
class Expression:
    """A validated scalar expression of x, y, z and t."""

    text: str
    _code: object = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_code", _compile(str(self.text)))

    @property
    def uses_time(self) -> bool:
        return "t" in _names(self.text)

    def __call__(self, points: np.ndarray, t: float = 0.0) -> np.ndarray:
        """Evaluate at (n, d) points and time t; always returns an (n,) float array."""
        points = np.asarray(points, dtype=np.float64)
        coords = {name: _read_only(points[:, i] if i < points.shape[1] else np.zeros(len(points)))
                  for i, name in enumerate("xyz")}
        namespace = {**FUNCTIONS, **CONSTANTS, **coords, "t": float(t)}
        try:
            with np.errstate(all="ignore"):
                value = eval(self._code, {"__builtins__": {}}, namespace)  # noqa: S307 - AST whitelisted above
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (len(points),)).copy()
        except Exception as error:  # noqa: BLE001
            raise ExpressionError(f"cannot evaluate '{_shown(self.text)}': {_shown(str(error), 200)}") from None


def _read_only(column: np.ndarray) -> np.ndarray:
    """A view that cannot be written through (the caller's points stay the caller's)."""
    view = column.view()
    view.flags.writeable = False
    return view


def _names(text: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(text.strip(), mode="eval")) if isinstance(node, ast.Name)}


def _shown(text: str, limit: int = 80) -> str:
    """The expression as quoted in a message: on one line, and not too long."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _compile(text: str):
    shown = _shown(text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"'{shown}' is not a valid expression ({error.msg})") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError(f"'{shown}' is not a valid expression (too long or too deeply nested)") from None
    text = shown
    allowed_names = set(FUNCTIONS) | set(CONSTANTS) | set(VARIABLES)
    for node in ast.walk(tree):
        if isinstance(node, _BRANCHING):
            raise ExpressionError(f"'{text}': use where(condition, a, b) to branch, not if/and/or/not")
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"'{text}': {type(node).__name__} is not allowed in an expression")
        if isinstance(node, ast.Name) and node.id not in allowed_names:
            raise ExpressionError(f"'{text}': unknown name '{node.id}' (use x, y, z, t, pi, e or a math function)")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            raise ExpressionError(f"'{text}': only math functions can be called")
        if isinstance(node, ast.Call) and len(node.args) != ARITY[node.func.id]:
            expected = ARITY[node.func.id]
            raise ExpressionError(f"'{text}': {node.func.id} takes {expected} argument{'s' * (expected > 1)}, "
                                  f"not {len(node.args)}")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise ExpressionError(f"'{text}': only numbers are allowed as constants")
        if isinstance(node, ast.Constant):
            # Integers become floats, so '9**9**9' overflows at once instead of
            # computing an exact integer with billions of digits.
            try:
                node.value = float(node.value)
            except OverflowError:
                raise ExpressionError(f"'{text}': a number is too large") from None
    try:
        return compile(tree, "<expression>", "eval")
    except (RecursionError, MemoryError):
        raise ExpressionError(f"'{text}' is not a valid expression (too deeply nested)") from None
