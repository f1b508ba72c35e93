"""Running a plugin's code in the host: its prints, its exits and its slowness stay the plugin's.

The host runs plugin code (a module's import, each hook) inside :func:`plugin_code`,
which guarantees:

- **stdout stays the command's.** What the plugin prints goes to stderr, so
  ``pdewb ... --json`` prints one JSON document and nothing else, whoever embeds
  the host. (The CLI also points file descriptor 1 at stderr for the whole command,
  :func:`workbench.cli.report.reserved_stdout`, for C code that writes to it.)
- **Failures are caught by the caller**, as :data:`~workbench.core.errors.PLUGIN_FAILURES`
  (any Exception and ``sys.exit()``); Ctrl-C and SIGTERM are the user's and pass.
- **A slow plugin is named while it is slow.** After ``slow_after`` seconds a
  warning says which plugin is still loading (every command waits for it, ``info``
  too), once, from a timer thread; :class:`Stopwatch` gives the total afterwards.

Warnings go to the ``workbench.plugins`` logger: with no logging configured, Python
writes them to stderr (``logging.lastResort``), which is where the CLI wants them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

SLOW_ENV = "PDEWB_SLOW_PLUGIN_SECONDS"
#: Loading every built-in plugin takes milliseconds; a plugin that takes seconds delays every command.
SLOW_LOAD_SECONDS = 2.0

log = logging.getLogger("workbench.plugins")


def slow_load_seconds() -> float:
    """The threshold above which loading a plugin is reported: ``PDEWB_SLOW_PLUGIN_SECONDS`` or 2 s."""
    try:
        value = float(os.environ.get(SLOW_ENV, SLOW_LOAD_SECONDS))
    except ValueError:
        return SLOW_LOAD_SECONDS
    return value if value > 0 else SLOW_LOAD_SECONDS


@dataclass
class Stopwatch:
    """How long the block took (set when it ends) and whether the slow warning was given."""

    seconds: float = 0.0
    warned: bool = False


@contextlib.contextmanager
def plugin_code(name: str, slow_after: float | None = None) -> Iterator[Stopwatch]:
    """Run the block as the plugin ``name``'s code: stdout to stderr, and a warning once it takes ``slow_after`` s.

    ``slow_after=None``: no warning (the caller already watches an enclosing block).
    """
    watch = Stopwatch()

    def still_loading() -> None:
        watch.warned = True
        log.warning("pdewb: plugin '%s' is still loading after %g s; every command waits for it "
                    "('pdewb plugins disable %s' skips it)", name, slow_after, name)

    timer = None if slow_after is None else threading.Timer(slow_after, still_loading)
    started = time.perf_counter()
    if timer is not None:
        timer.daemon = True  # a plugin that never returns must not also keep the process alive
        timer.start()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield watch
    finally:
        if timer is not None:
            timer.cancel()
        watch.seconds = time.perf_counter() - started
