"""While a run streams into the window, its frames stay under the memory budget and the probe stays right.

With a budget of zero bytes every frame goes to the spill file as soon as it
arrives; the window still scrubs, draws and probes, reading back only the frame
it shows, and the probe curve it extended frame by frame equals the one rebuilt
from every frame.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core import frame_store
from workbench.gui.main_window import MainWindow
from workbench.plugins import load_plugins


@pytest.fixture
def no_frames_in_memory(monkeypatch):
    monkeypatch.setattr(frame_store, "_default_budget", frame_store.MemoryBudget(0))


def test_a_streaming_run_spills_its_frames_and_keeps_the_probe_right(qtbot, settings, no_frames_in_memory):
    window = MainWindow(load_plugins(safe_mode=True), settings)
    qtbot.addWidget(window)
    window.show()
    assert window.open_mesh("sample:plate-with-hole")
    x, y = window.mesh.points.T
    window.set_probe(int(np.argmin(np.hypot(x - 0.85, y - 0.5))))  # 0.1 from the hot hole (centre 0.5, 0.5; r 0.25)
    panel = window.run_panel
    panel.select_solver("fem.heat")
    panel.set_mesh(window.mesh)
    panel.form.set_values({"dt": 0.01, "t_end": 0.3, "output_every": 1})
    panel.boundaries.set_condition("hole", "dirichlet", "1")
    panel.boundaries.set_condition("outer", "dirichlet", "0")
    assert window.start_run()
    qtbot.waitUntil(lambda: not window.controller.busy and bool(window.runs), timeout=30_000)
    run = window.runs[-1].run
    assert len(window.frames) == len(run.frames) == 31
    assert window.frames.in_memory == 0 and run.frames.in_memory == 0  # all of them in the spill files
    streamed_times, streamed_values, _ = window._probe_curve
    times, values = window.probe_series()  # rebuilt from every frame, read back from disk
    assert np.array_equal(streamed_times, times) and np.array_equal(streamed_values, values)
    expected = [frame.fields["u"].values[window.probe_point] for frame in run.frames]
    assert np.array_equal(values, expected) and values[-1] > values[0]
    assert np.array_equal(window.frames[5].fields["u"].values, run.frames[5].fields["u"].values)
    window.show_frame(5)  # scrubbing draws a frame read back from the spill file
    window.scheduler.flush()
    window.discard_work_and_close()
