"""argparse types shared by every ``pdewb`` command, so that one kind of argument is checked one way.

A count (samples, a batch size, timing repeats) is a whole number of at least 1.
A path is not empty: ``--out "$DIR"`` with ``DIR`` unset must not quietly mean the
default folder.
``--batch 0`` used to be clamped to 1 and ``--repeats 0`` to one repeat: the
command then reported numbers for arguments the user did not give. Refused at
parse time instead, in the parser's one line (``pdewb: error: argument --batch: ...``).
"""

from __future__ import annotations

import argparse


def count(text: str) -> int:
    """An integer >= 1 written in decimal ('8', ' 8 '); anything else is an argparse error."""
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def path(text: str) -> str:
    """A file or folder name that is not empty (or only spaces)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty one")
    return text
