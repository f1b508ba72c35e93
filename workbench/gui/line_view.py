"""A field on a 1D mesh drawn as curves: the chosen field bold, its exact and reference companions beside it.

A 1D mesh in the 3D viewport is a hairline whose colour is the only cue; as a curve,
a pulse's height, position and ringing read at a glance. Solvers that know the
exact solution or carry a grid reference (the INSR integrators: "exact",
"reference", "floor") put them in the same frame, and they are drawn with the
chosen field on one axis, as the field of a 1D problem is compared in papers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from ..core.field import Field
from ..core.mesh import Mesh
from .field_choice import chosen_values
from .plots import styled_plot

#: Frame fields drawn next to the chosen one when present, and their pens (colour, style).
COMPANIONS = {
    "exact": ("#303030", "dash"),
    "reference": ("#ff7f0e", "dot"),
    "floor": ("#2ca02c", "dashdot"),
}
CHOSEN_PEN = "#1f77b4"
_STYLES = {"dash": pg.QtCore.Qt.PenStyle.DashLine, "dot": pg.QtCore.Qt.PenStyle.DotLine,
           "dashdot": pg.QtCore.Qt.PenStyle.DashDotLine}


def is_one_dimensional(mesh: Mesh | None) -> bool:
    """True for meshes of a line: one coordinate per point."""
    return mesh is not None and mesh.points.shape[1] == 1


class LineView(QtWidgets.QWidget):
    """Curves of the point fields of a frame over the x coordinate of a 1D mesh."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = styled_plot("x", "")
        self.plot.addLegend(offset=(-10, 10))
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self._x = np.empty(0)
        self._order = np.empty(0, dtype=int)
        self.curves: dict[str, pg.PlotDataItem] = {}

    def set_mesh(self, mesh: Mesh) -> None:
        self._x = np.asarray(mesh.points[:, 0], dtype=float)
        self._order = np.argsort(self._x, kind="stable")
        self.clear()

    def clear(self) -> None:
        self.plot.clear()
        self.curves = {}

    def set_frame(self, fields: Mapping[str, Field], choice: str) -> None:
        """Draw ``choice`` (a field selector entry) bold, with the companions the frame has."""
        self.clear()
        self.plot.setLabel("left", choice)
        chosen = chosen_values(fields, choice)
        if chosen is not None and chosen[1] == "point":
            self._curve(choice, chosen[0], pg.mkPen(CHOSEN_PEN, width=2.5))
        for name, (colour, style) in COMPANIONS.items():
            field = fields.get(name)
            if name != choice and field is not None and field.location == "point" and field.n_components == 1:
                self._curve(name, field.values, pg.mkPen(colour, width=1.5, style=_STYLES[style]))

    def _curve(self, name: str, values: np.ndarray, pen) -> None:
        values = np.asarray(values, dtype=float)
        if values.shape != self._x.shape:
            return  # a field of another mesh (a stale frame): nothing sensible to draw
        self.curves[name] = self.plot.plot(self._x[self._order], values[self._order], pen=pen, name=name)

    def capture(self) -> np.ndarray:
        """The plot as an (height, width, 3) uint8 array, as MeshViewport.capture gives."""
        image = self.plot.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
        width, height = image.width(), image.height()
        pixels = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.bytesPerLine() * height)
        return pixels.reshape(height, image.bytesPerLine())[:, : 3 * width].reshape(height, width, 3).copy()
