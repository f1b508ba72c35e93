"""Cyclic garbage is collected on the GUI thread, never on a compute thread (workbench.gui.garbage)."""

import gc
import threading

from PySide6 import QtWidgets

from workbench.gui.garbage import GuiThreadGarbageCollector


def test_automatic_collection_is_off_and_the_gui_thread_collects(qtbot, qapp):
    assert not gc.isenabled()  # the autouse fixture installed a collector for this test
    collected_on = []

    class Cycle(QtWidgets.QWidget):
        def __del__(self):
            collected_on.append(threading.current_thread() is threading.main_thread())

    widget = Cycle()
    widget.self_reference = widget  # a cycle: only the cyclic collector frees it
    del widget

    def allocate_in_a_thread():
        junk = [[] for _ in range(50_000)]  # far past generation 0's threshold
        for item in junk:
            item.append(item)

    worker = threading.Thread(target=allocate_in_a_thread)
    worker.start()
    worker.join()
    assert collected_on == []  # the allocating thread did not collect
    qtbot.waitUntil(lambda: bool(collected_on), timeout=5_000)
    assert collected_on == [True]


def test_stop_restores_the_state_it_found(qapp):
    gc.enable()  # as in a process without a collector
    try:
        collector = GuiThreadGarbageCollector(qapp)
        assert not gc.isenabled()
        collector.stop()
        assert gc.isenabled()
    finally:
        gc.disable()  # back to the state this test's fixture keeps
