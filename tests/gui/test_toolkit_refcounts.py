"""Guard against C-extension refcount bugs in the GUI toolkit stack.

PySide6 6.12.0 lost a reference to None on every pyqtgraph axis repaint; after a
few hundred repaints Python aborted ("none_dealloc"), at the latest when the
interpreter exited, so every GUI session and test run ended in a crash. The cap
in pyproject.toml keeps that version out; this test fails if a version with the
same defect comes back.
"""

import sys

import pyqtgraph as pg
from PySide6 import QtWidgets


def test_repainting_plots_does_not_leak_references_to_singletons(qtbot):
    plot = pg.PlotWidget()
    plot.setLogMode(y=True)
    qtbot.addWidget(plot)
    plot.show()
    curve = plot.plot()
    xs, ys = [], []
    counts = {name: sys.getrefcount(obj) for name, obj in (("None", None), ("True", True), ("False", False))}
    for i in range(200):
        xs.append(i)
        ys.append(1.0 + i)
        curve.setData(xs, ys)
        plot.repaint()
        QtWidgets.QApplication.processEvents()
    for name, obj in (("None", None), ("True", True), ("False", False)):
        assert sys.getrefcount(obj) >= counts[name] - 50, f"references to {name} are being lost"
