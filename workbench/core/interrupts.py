"""SIGTERM ends work the way Ctrl-C does, and a critical section can hold both back.

A batch scheduler's time limit, ``timeout``, ``docker stop`` and a desktop's log-out
send SIGTERM, whose default action kills the process on the spot: frames in memory
and the file being written are lost. Inside :func:`terminate_as_interrupt`,
SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main thread
instead, so every ``finally`` runs, a run ends as cancelled with its frames
written and a partial data set stays resumable, exactly as after Ctrl-C.

:func:`deferred_interrupts` holds SIGINT and SIGTERM back for the few
milliseconds in which a batch and its bookkeeping must be written together, and
delivers them afterwards.

Signal handlers exist only in the main thread; elsewhere both are no-ops.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop as after Ctrl-C (keep what is done), then exit with 143."""

    def __init__(self, signal_number: int = signal.SIGTERM) -> None:
        super().__init__(f"terminated by signal {signal_number}")
        self.signal_number = signal_number


def _raise_terminated(number: int, frame) -> None:
    raise Terminated(number)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` in the main thread while the block runs."""
    if not _main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    previous_hook, sys.unraisablehook = sys.unraisablehook, _redelivering(sys.unraisablehook)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook


def _redelivering(previous_hook):
    """An unraisable hook that sends again a Ctrl-C or SIGTERM that Python had to swallow.

    A handler raises in whatever code runs when the signal arrives. In a weakref
    callback or a ``__del__`` (garbage collection runs them anywhere, h5py's object
    registry often) the exception cannot propagate: Python prints "Exception ignored"
    with a traceback and carries on, and the command would end as if never asked to
    stop. Instead the signal is sent again a moment later from a helper thread, when
    the main thread is back in ordinary code.
    """

    def hook(unraisable) -> None:
        error = unraisable.exc_value
        if not isinstance(error, KeyboardInterrupt):
            previous_hook(unraisable)
            return
        number = error.signal_number if isinstance(error, Terminated) else signal.SIGINT
        resend = threading.Timer(0.01, os.kill, (os.getpid(), number))
        resend.daemon = True
        resend.start()

    return hook


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back during the block; deliver the first one received after it.

    Only signals whose handler raises (Python's default SIGINT handler, or SIGTERM
    under :func:`terminate_as_interrupt`) are deferred; others keep their handlers.
    """
    if not _main_thread():
        yield
        return
    received: list[int] = []
    raising = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: _raise_terminated}
    saved = {}
    for number, handler in raising.items():
        if signal.getsignal(number) is handler:
            saved[number] = signal.signal(number, lambda n, frame: received.append(n))
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)
    if received:
        if received[0] == signal.SIGTERM:
            raise Terminated(received[0])
        raise KeyboardInterrupt
