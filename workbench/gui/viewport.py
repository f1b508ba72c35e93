"""A VTK viewport for one mesh and one field: surface, edges, colour bar, axes, picking.

Only the GUI thread calls into this widget. Fields arrive as numpy arrays and
are handed to VTK without copying (:func:`field_array`); pushing a new field costs
a pointer swap plus a scalar-range update, and the next render draws it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import vtkmodules.vtkInteractionStyle  # noqa: F401 - registers the interactor styles
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - registers the OpenGL render window
from PySide6 import QtCore, QtWidgets
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
from vtkmodules.vtkInteractionWidgets import vtkOrientationMarkerWidget
from vtkmodules.vtkRenderingAnnotation import vtkAxesActor, vtkScalarBarActor
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkCellPicker,
    vtkDataSetMapper,
    vtkRenderer,
    vtkWindowToImageFilter,
)
from vtkmodules.vtkCommonCore import vtkLookupTable

from ..core.mesh import Mesh
from .level_of_detail import stand_in_for
from .vtk_mesh import field_array, to_vtk_grid

SEQUENTIAL = "viridis"
DIVERGING = "CET-D1"  # blue - white - red, for signed differences
BACKGROUND = (0.13, 0.14, 0.16)
SURFACE = (0.78, 0.80, 0.84)


def lookup_table(colormap: str, n: int = 256) -> vtkLookupTable:
    """A VTK lookup table from one of pyqtgraph's perceptually uniform colour maps."""
    colours = pg.colormap.get(colormap).getLookupTable(nPts=n) / 255.0
    table = vtkLookupTable()
    table.SetNumberOfTableValues(n)
    for i, (r, g, b) in enumerate(colours):
        table.SetTableValue(i, r, g, b, 1.0)
    table.Build()
    return table


class _OffscreenResizeGuard(QtCore.QObject):
    """Keeps an off-screen (OSMesa) render window's pixel buffer as large as its widget.

    ``QVTKRenderWindowInteractor.resizeEvent`` calls the base-class, non-virtual
    ``vtkRenderWindow.SetSize``, so ``vtkOSOpenGLRenderWindow`` never reallocates its
    buffer (300 x 300 pixels from the start): a larger widget then renders past the
    end of it and the process crashes, typically on the next render after a pixel
    read. This filter makes the virtual ``SetSize`` call just before the widget
    handles its resize. Windows of other kinds (GLX, WGL, Cocoa) do not need it.
    """

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QtCore.QEvent.Type.Resize:
            scale = watched._getPixelRatio()
            size = event.size()
            watched.GetRenderWindow().SetSize(round(scale * size.width()), round(scale * size.height()))
        return False


class MeshViewport(QtWidgets.QWidget):
    """Shows a mesh, optionally coloured by a field.

    Signals: ``point_picked(int)`` with the index of the mesh point nearest to a
    left click (for probes).
    """

    point_picked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None, title: str = "") -> None:
        super().__init__(parent)
        self.interactor = QVTKRenderWindowInteractor(self)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.interactor)
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(*BACKGROUND)
        self.renderer.SetBackground2(0.26, 0.28, 0.32)
        self.renderer.GradientBackgroundOn()
        self.renderer.UseFXAAOn()
        self.render_window = self.interactor.GetRenderWindow()
        # FXAA instead of 4x multisampling: one cheap screen-space pass; MSAA tripled the cost of a
        # render in software OpenGL (1M points: 468 ms -> 188 ms without it, benchmarks/bench_gui.py).
        self.render_window.SetMultiSamples(0)
        if self.render_window.IsA("vtkOSOpenGLRenderWindow"):
            self.interactor.installEventFilter(_OffscreenResizeGuard(self))
        self.render_window.AddRenderer(self.renderer)
        self.interactor.SetInteractorStyle(vtkInteractorStyleTrackballCamera())

        self.mapper = vtkDataSetMapper()
        self.mapper.ScalarVisibilityOff()
        self.actor = vtkActor()
        self.actor.SetMapper(self.mapper)
        self.actor.GetProperty().SetColor(*SURFACE)
        self.actor.GetProperty().SetEdgeColor(0.1, 0.1, 0.1)
        self.scalar_bar = vtkScalarBarActor()
        self.scalar_bar.SetNumberOfLabels(5)
        self.scalar_bar.SetWidth(0.05)
        self.scalar_bar.SetHeight(0.6)
        self.scalar_bar.SetPosition(0.93, 0.2)
        self.scalar_bar.SetTextPositionToPrecedeScalarBar()  # labels inside the view, however narrow it is
        self.scalar_bar.SetMaximumWidthInPixels(28)
        self.scalar_bar.UnconstrainedFontSizeOn()  # fixed point sizes: the default scales the title with the bar
        for text, size in ((self.scalar_bar.GetTitleTextProperty(), 15), (self.scalar_bar.GetLabelTextProperty(), 12)):
            text.SetFontSize(size)
            text.ItalicOff()
            text.ShadowOff()
            text.BoldOff()
        self.scalar_bar.SetTextPad(4)
        self.scalar_bar.VisibilityOff()
        self.renderer.AddViewProp(self.scalar_bar)
        self.title = title
        self._finalized = False
        self._grid = None
        self._mesh: Mesh | None = None
        self._stand_in = None  # a coarse copy of a large mesh, drawn while streaming
        self._stand_in_grid = None
        self._streaming = False
        self._field: tuple[str, np.ndarray, str] | None = None  # full-resolution name, values, location
        self._shown_values: np.ndarray | None = None  # the array VTK points into: kept alive here
        self._colormap = ""
        self.set_colormap(SEQUENTIAL)
        self._picker = vtkCellPicker()
        self._picker.SetTolerance(0.002)
        self.interactor.AddObserver("LeftButtonPressEvent", self._on_left_click, 1.0)
        self.interactor.Initialize()
        self._axes = self._orientation_axes()  # after Initialize: enabling it earlier crashes a second viewport

    # -- content ------------------------------------------------------------------------

    @property
    def mesh(self) -> Mesh | None:
        return self._mesh

    def set_mesh(self, mesh: Mesh) -> None:
        self._mesh = mesh
        self._grid = to_vtk_grid(mesh)
        self._stand_in = stand_in_for(mesh)
        self._stand_in_grid = to_vtk_grid(self._stand_in.mesh) if self._stand_in is not None else None
        self.mapper.SetInputData(self._active_grid())
        if not self.renderer.HasViewProp(self.actor):
            self.renderer.AddActor(self.actor)
        self.clear_field()
        self.reset_camera()

    def set_streaming(self, streaming: bool) -> None:
        """While a run streams frames, draw a large mesh's coarse stand-in (see level_of_detail).

        Antialiasing is off while streaming: in software OpenGL the FXAA pass costs ~13 ms
        a render at 664x633 px (benchmarks/bench_gui.py, Mesa llvmpipe: 55.5 ms with it,
        42.3 ms without at 100k points), and frames that last a few tens of milliseconds do
        not need it. The final frame is drawn with it again.
        """
        if streaming == self._streaming:
            return
        self._streaming = streaming
        self.renderer.SetUseFXAA(not streaming)
        if self._grid is None:
            return
        self.mapper.SetInputData(self._active_grid())
        if self._field is not None:
            name, values, location = self._field
            self._push_field(name, values, location)

    @property
    def drawing_stand_in(self) -> bool:
        return self._streaming and self._stand_in is not None

    def _active_grid(self):
        return self._stand_in_grid if self.drawing_stand_in else self._grid

    def set_field(self, name: str, values: np.ndarray, location: str = "point",
                  value_range: tuple[float, float] | None = None) -> None:
        """Colour the mesh by ``values`` (one per point or per cell; vectors as magnitude)."""
        if self._grid is None:
            return
        values = np.asarray(values)
        if values.ndim > 1:
            values = np.linalg.norm(values, axis=1)
        self._field = (name, values, location)
        self._push_field(name, values, location)
        self.set_range(*(value_range or self.data_range()))
        self.scalar_bar.SetTitle(name)
        self.scalar_bar.VisibilityOn()

    def _push_field(self, name: str, values: np.ndarray, location: str) -> None:
        shown = self._stand_in.gather(values, location) if self.drawing_stand_in else values
        array, self._shown_values = field_array(name, shown)
        grid = self._active_grid()
        data = grid.GetPointData() if location == "point" else grid.GetCellData()
        data.SetScalars(array)
        grid.Modified()
        self.mapper.SetScalarModeToUsePointData() if location == "point" else self.mapper.SetScalarModeToUseCellData()
        self.mapper.ScalarVisibilityOn()

    def data_range(self) -> tuple[float, float]:
        """Range of the full-resolution field (the stand-in never changes the colours)."""
        if self._field is None or len(self._field[1]) == 0:
            return 0.0, 1.0
        values = self._field[1]
        return float(values.min()), float(values.max())

    def set_range(self, low: float, high: float) -> None:
        if high <= low:  # a constant field still needs a non-empty range
            low, high = low - 0.5, high + 0.5
        self.mapper.SetScalarRange(low, high)
        self.mapper.GetLookupTable().SetRange(low, high)

    def scalar_range(self) -> tuple[float, float]:
        low, high = self.mapper.GetScalarRange()
        return float(low), float(high)

    def clear_field(self) -> None:
        self.mapper.ScalarVisibilityOff()
        self.scalar_bar.VisibilityOff()
        self._field = None
        self._shown_values = None

    @property
    def field_name(self) -> str:
        return self._field[0] if self._field is not None else ""

    def set_colormap(self, colormap: str) -> None:
        if colormap == self._colormap:
            return
        self._colormap = colormap
        table = lookup_table(colormap)
        self.mapper.SetLookupTable(table)
        self.mapper.UseLookupTableScalarRangeOff()
        self.scalar_bar.SetLookupTable(table)

    def set_edges_visible(self, visible: bool) -> None:
        self.actor.GetProperty().SetEdgeVisibility(bool(visible))
        self.render()

    # -- camera -------------------------------------------------------------------------

    #: Fraction of the view's width left of the colour bar and its labels.
    FREE_WIDTH = 0.74

    def reset_camera(self) -> None:
        """Fit the mesh; planar meshes are seen from +z in parallel projection (no perspective),
        centred in the part of the view the colour bar leaves free."""
        camera = self.renderer.GetActiveCamera()
        planar = self._mesh is not None and self._mesh.gdim < 3
        camera.SetParallelProjection(planar)
        if not planar:
            self.renderer.ResetCamera()
            self.render()
            return
        lower, upper = self._mesh.points.min(axis=0), self._mesh.points.max(axis=0)
        width = upper[0] - lower[0]
        height = upper[1] - lower[1] if self._mesh.gdim > 1 else 0.0
        view_width, view_height = self.render_window.GetSize()
        aspect = view_width / max(view_height, 1)
        scale = 0.5 * 1.08 * max(height, width / (aspect * self.FREE_WIDTH), 1e-12)  # half the visible height
        visible_width = 2.0 * scale * aspect
        centre = 0.5 * (lower + upper)
        x = centre[0] + (0.5 - 0.5 * self.FREE_WIDTH) * visible_width  # mesh centre sits mid free region
        y = centre[1] if self._mesh.gdim > 1 else 0.0
        camera.SetFocalPoint(x, y, 0.0)
        camera.SetPosition(x, y, 1.0)
        camera.SetViewUp(0, 1, 0)
        self.renderer.ResetCameraClippingRange()
        camera.SetParallelScale(scale)
        self.render()

    def share_camera_with(self, other: MeshViewport) -> None:
        """Use ``other``'s camera; each re-renders when the other's camera moves."""
        self.renderer.SetActiveCamera(other.renderer.GetActiveCamera())
        for source, target in ((self, other), (other, self)):
            source.interactor.AddObserver("InteractionEvent", lambda *_, t=target: t.render())
            source.interactor.AddObserver("MouseWheelForwardEvent", lambda *_, t=target: t.render(), -1.0)
            source.interactor.AddObserver("MouseWheelBackwardEvent", lambda *_, t=target: t.render(), -1.0)

    # -- output -------------------------------------------------------------------------

    def render(self) -> None:
        if not self._finalized:
            self.render_window.Render()

    def capture(self) -> np.ndarray:
        """The rendered image as an (height, width, 3) uint8 array, top row first."""
        self.render()
        grabber = vtkWindowToImageFilter()
        grabber.SetInput(self.render_window)
        grabber.ReadFrontBufferOff()
        grabber.Update()
        image = grabber.GetOutput()
        width, height, _ = image.GetDimensions()
        pixels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(height, width, -1)
        return np.ascontiguousarray(pixels[::-1, :, :3])

    def finalize(self) -> None:
        """Release the OpenGL context; later renders are ignored."""
        if not self._finalized:
            self._finalized = True
            self.interactor.Finalize()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.finalize()
        super().closeEvent(event)

    # -- interaction --------------------------------------------------------------------

    def _orientation_axes(self):
        widget = vtkOrientationMarkerWidget()
        widget.SetOrientationMarker(vtkAxesActor())
        widget.SetInteractor(self.interactor)
        widget.SetViewport(0.0, 0.0, 0.14, 0.2)
        widget.SetEnabled(1)
        widget.InteractiveOff()
        return widget

    def _on_left_click(self, interactor, _event) -> None:
        if self._mesh is None or not interactor.GetControlKey():
            return  # Ctrl + click picks a probe point; a plain click rotates
        x, y = interactor.GetEventPosition()
        if self._picker.Pick(x, y, 0, self.renderer) and self._picker.GetPointId() >= 0:
            self.point_picked.emit(int(self._picker.GetPointId()))

    def pick_point_near(self, position) -> int:
        """Index of the mesh point nearest to ``position`` (for tests and keyboard probes)."""
        points = self._mesh.points
        target = np.zeros(points.shape[1])
        target[: len(position)] = position[: points.shape[1]]
        return int(np.argmin(((points - target) ** 2).sum(axis=1)))
