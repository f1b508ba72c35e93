"""Plain-text tables and JSON on stdout, which only these functions write to.

Plugin code runs inside :func:`reserved_stdout`: whatever it prints (at import,
in a hook, during a run) goes to stderr, so ``pdewb ... --json | jq`` always
receives one JSON document and nothing else. That holds for C code too (a solver
library's banner, ``printf``), which writes to file descriptor 1 past
``sys.stdout``: while the command runs, descriptor 1 is stderr's and these functions
write to a copy of the real one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
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
    with _descriptor_one_to_stderr() as real_stdout:
        _output = real_stdout
        try:
            with contextlib.redirect_stdout(sys.stderr):
                yield
        finally:
            _output = saved


@contextlib.contextmanager
def _descriptor_one_to_stderr() -> Iterator[TextIO]:
    """Point descriptor 1 at stderr during the block; yield a stream on the real stdout.

    Only when ``sys.stdout`` is descriptor 1: under pytest's capsys/capfd, or embedded
    with a replaced ``sys.stdout``, descriptors are left alone and ``sys.stdout`` is
    yielded. C stdio buffers are flushed before descriptor 1 is given back, so what C
    code printed reaches stderr, not the command's output.
    """
    stream = sys.stdout
    try:
        is_descriptor_one = stream is not None and stream.fileno() == 1
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation: no descriptor behind it
        is_descriptor_one = False
    if not is_descriptor_one:
        yield stream
        return
    stream.flush()
    copy = os.dup(1)
    real = os.fdopen(copy, "w", encoding=stream.encoding, errors=stream.errors)
    os.dup2(2, 1)
    try:
        yield real
    finally:
        stream.flush()
        _flush_c_stdio()
        os.dup2(copy, 1)
        try:
            real.flush()
        except OSError:  # a closed pipe: drop what is left rather than raise again when it is collected
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, copy)
            os.close(null)
        real.close()


def _flush_c_stdio() -> None:
    """fflush(NULL): C code's buffered stdout output is written now, while descriptor 1 is stderr's."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no C library to call (Windows): its buffers stay as they are
        pass


def _stream() -> TextIO:
    return _output if _output is not None else sys.stdout


def print_json(data: Any) -> None:
    """Strict JSON: a non-finite number (JSON has none) is written as null, never as a number it is not."""
    print(json.dumps(_finite(data), indent=2, default=_jsonable, allow_nan=False), file=_stream(), flush=True)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


#: An error line quotes what the user gave; a 5,000-character argument is shown by its start.
MAX_ERROR_CHARACTERS = 1000


def print_error(text: str) -> None:
    """``pdewb: error: TEXT`` on stderr, on one line and of a readable length."""
    text = " ".join(str(text).split())
    if len(text) > MAX_ERROR_CHARACTERS:
        text = text[: MAX_ERROR_CHARACTERS - 3] + "..."
    print(f"pdewb: error: {text}", file=sys.stderr)


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
