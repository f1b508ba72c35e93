"""SIGTERM behaves like Ctrl-C inside terminate_as_interrupt; deferred sections deliver signals afterwards."""

import os
import signal

import pytest

from workbench.core.interrupts import Terminated, deferred_interrupts, terminate_as_interrupt


def test_sigterm_raises_terminated_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    with pytest.raises(Terminated):
        with terminate_as_interrupt():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                signal.sigtimedwait([], 0) if hasattr(signal, "sigtimedwait") else None
                for _ in range(1000):
                    pass
            finally:
                cleaned.append(True)
    assert cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) is before
    assert isinstance(Terminated(), KeyboardInterrupt)


def test_signals_wait_for_the_end_of_a_deferred_section():
    done = []
    with pytest.raises(Terminated):
        with terminate_as_interrupt():
            with deferred_interrupts():
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGINT)
                done.append("batch written")
    assert done == ["batch written"]
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupts():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("again")
    assert done == ["batch written", "again"]
