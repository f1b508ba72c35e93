"""Plain-text tables and JSON on stdout, which only these functions write to.

Plugin code runs inside :func:`reserved_stdout`: whatever it prints (at import,
in a hook, during a run) goes to stderr, so ``pdewb ... --json | jq`` always
receives one JSON document and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

import numpy as np

_output: TextIO | None = None


@contextlib.contextmanager
def reserved_stdout() -> Iterator[None]:
    """While the block runs, ``print`` goes to stderr; :func:`print_json` and :func:`print_table` to stdout."""
    global _output
    saved = _output
    _output = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _output = saved


def _stream() -> TextIO:
    return _output if _output is not None else sys.stdout


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=_jsonable, allow_nan=False), file=_stream(), flush=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def print_text(text: str) -> None:
    """A line of the command's own output (not a diagnostic: those go to stderr)."""
    print(text, file=_stream(), flush=True)


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Left-aligned columns separated by two spaces, with a rule under the header."""
    cells = [[str(h) for h in header]] + [[_text(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    print("\n".join(lines), file=_stream(), flush=True)


def _text(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return str(value)
