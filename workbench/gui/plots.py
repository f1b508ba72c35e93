"""The workbench's plot style: white pyqtgraph plots with a light grid and plain axis numbers."""

from __future__ import annotations

import pyqtgraph as pg


def styled_plot(bottom: str, left: str, title: str = "", log_y: bool = False) -> pg.PlotWidget:
    """A white plot with axis labels, a light grid and no SI prefixes (errors read as 1e-3, not 'm')."""
    plot = pg.PlotWidget(background="w")
    plot.setLogMode(x=False, y=log_y)
    if title:
        plot.setTitle(title, color="#303030", size="11pt")
    plot.setLabel("bottom", bottom)
    plot.setLabel("left", left)
    plot.showGrid(x=True, y=True, alpha=0.3)
    plain_axes(plot)
    return plot


def plain_axes(plot) -> None:
    """Turn off pyqtgraph's automatic SI prefixes on both axes of a plot (widget or item)."""
    for axis in ("bottom", "left"):
        plot.getAxis(axis).enableAutoSIPrefix(False)
