"""A SIGTERM that arrives inside a weakref callback or ``__del__`` is not lost (workbench.core.interrupts)."""

import os
import signal
import sys
import time
import weakref

import pytest

from workbench.core.interrupts import Terminated, terminate_as_interrupt


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_sigterm_swallowed_by_a_weakref_callback_is_delivered_again(capfd):
    class Thing:
        pass

    def callback(reference):
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(1000))  # bytecodes: the handler runs here, where its exception cannot propagate

    with pytest.raises(Terminated), terminate_as_interrupt():
        thing = Thing()
        reference = weakref.ref(thing, callback)
        del thing  # the callback runs now, and Python swallows the Terminated it raises
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the re-sent signal ends this loop
            time.sleep(0.005)
    assert reference() is None
    assert "Exception ignored" not in capfd.readouterr().err
