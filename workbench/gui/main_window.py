"""The workbench's main window: open a mesh, run a solver, watch and compare results.

The window owns no numerics: problems are built by :mod:`workbench.compute.runner`,
runs execute on the compute thread (:mod:`workbench.gui.worker`), files go through
:mod:`workbench.io`. Every user error arrives as a WorkbenchError and is shown as a
message, never as a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .. import __version__
from ..compute.runner import build_problem
from ..core.errors import WorkbenchError
from ..core.events import Frame, Scalars
from ..core.mesh import Mesh, mesh_extensions
from ..core.problem import BoundaryCondition
from ..core.run import Run, RunStatus
from ..io.meshes import SAMPLE_PREFIX, open_mesh
from ..plugins.contributions import SampleDataContribution, SolverContribution
from ..plugins.host import PluginHost
from .field_choice import chosen_values, field_choices
from .run_panel import RunPanel, TimeBar
from .scheduler import RenderScheduler
from .viewport import MeshViewport

MAX_RECENT = 8


@dataclass
class RunRecord:
    """A run the window knows about: its label, result and boundary conditions."""

    name: str
    run: Run
    boundary_conditions: tuple[BoundaryCondition, ...]


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, host: PluginHost, settings: QtCore.QSettings | None = None) -> None:
        super().__init__()
        self.host = host
        self.settings = settings or QtCore.QSettings("PDE Workbench", "pde-workbench")
        self.setWindowTitle("PDE Workbench")
        self.resize(1400, 860)
        self.setAcceptDrops(True)
        self.mesh: Mesh | None = None
        self.mesh_reference: str | None = None
        self.runs: list[RunRecord] = []
        self.frames: list[Frame] = []  # frames of the run on display
        self._pending_conditions: tuple[BoundaryCondition, ...] = ()
        self._closed = False

        from .worker import RunController

        self.controller = RunController(self)
        self.scheduler = RenderScheduler(self)
        self._build_widgets()
        self._build_docks()
        self._build_actions()
        self._connect()
        self.statusBar().showMessage("Open a mesh to begin (File > Open mesh, or drop a file here)")

    # -- construction ---------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.viewport = MeshViewport(self)
        self.field_combo = QtWidgets.QComboBox()
        self.field_combo.setMinimumWidth(120)
        self.time_bar = TimeBar()
        page = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.viewport, stretch=1)
        layout.addWidget(self.time_bar)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(page, "View")
        self.compare_page = None  # built on first use: three more viewports cost start-up time
        self.setCentralWidget(self.tabs)

    def _build_docks(self) -> None:
        solvers = self.host.contributions(SolverContribution)
        self.run_panel = RunPanel(solvers)
        self.runs_list = QtWidgets.QListWidget()
        self.runs_list.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.log_view = QtWidgets.QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        self.curve_plot = pg.PlotWidget(title="Diagnostics", background="w")
        self.curve_plot.setLogMode(y=True)
        self.curve_plot.addLegend()
        self.curve_plot.setLabel("bottom", "step")
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._curve_data: dict[str, tuple[list, list]] = {}
        self.probe_plot = pg.PlotWidget(title="Probe (Ctrl+click a point)", background="w")
        self.probe_plot.setLabel("bottom", "t")
        self.probe_point: int | None = None
        plots = QtWidgets.QTabWidget()
        plots.addTab(self.curve_plot, "Curves")
        plots.addTab(self.probe_plot, "Probe")
        run_scroll = QtWidgets.QScrollArea()
        run_scroll.setWidget(self.run_panel)
        run_scroll.setWidgetResizable(True)
        self.docks = {}
        for title, widget, area in (
            ("Run", run_scroll, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea),
            ("Runs", self.runs_list, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea),
            ("Plots", plots, QtCore.Qt.DockWidgetArea.RightDockWidgetArea),
            ("Log", self.log_view, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea),
        ):
            dock = QtWidgets.QDockWidget(title, self)
            dock.setObjectName(f"dock-{title.lower()}")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[title] = dock
        self.resizeDocks([self.docks["Run"]], [380], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["Run"], self.docks["Runs"]], [640, 120], QtCore.Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["Plots"]], [340], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["Log"]], [140], QtCore.Qt.Orientation.Vertical)

    def _build_actions(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self.open_action = menu.addAction("&Open mesh...", self.open_mesh_dialog, QtGui.QKeySequence.StandardKey.Open)
        samples = menu.addMenu("Open &sample")
        for sample in self.host.contributions(SampleDataContribution):
            samples.addAction(sample.title, lambda s=sample: self.open_mesh(SAMPLE_PREFIX + s.id))
        self.recent_menu = menu.addMenu("&Recent meshes")
        self._refresh_recent()
        menu.addSeparator()
        menu.addAction("Open &project...", self.open_project_dialog)
        menu.addAction("&Save project as...", self.save_project_dialog, QtGui.QKeySequence.StandardKey.Save)
        export = menu.addMenu("&Export")
        export.addAction("Current field (VTU)...", self.export_field_dialog)
        export.addAction("Whole run (PVD)...", self.export_run_dialog)
        export.addAction("Screenshot (PNG)...", self.export_screenshot_dialog)
        export.addAction("Metrics (CSV)...", self.export_metrics_dialog)
        export.addAction("Probe (CSV)...", self.export_probe_dialog)
        menu.addSeparator()
        menu.addAction("&Quit", self.close, QtGui.QKeySequence.StandardKey.Quit)

        view = self.menuBar().addMenu("&View")
        self.edges_action = view.addAction("Show &edges")
        self.edges_action.setCheckable(True)
        self.edges_action.toggled.connect(self.viewport.set_edges_visible)
        view.addAction("&Reset camera", self.viewport.reset_camera)
        view.addAction("&Compare selected runs", self.compare_selected_runs)
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())

        self.menuBar().addMenu("&Data").addAction("&Generate data set...", self.show_datagen_dialog)
        self.menuBar().addMenu("&Plugins").addAction("&Installed plugins...", self.show_plugins_dialog)
        self.menuBar().addMenu("&Help").addAction("&About", self._about)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar-main")
        toolbar.addAction(self.open_action)
        toolbar.addAction(self.edges_action)
        toolbar.addAction("Reset camera", self.viewport.reset_camera)
        toolbar.addSeparator()
        toolbar.addWidget(QtWidgets.QLabel(" Field: "))
        toolbar.addWidget(self.field_combo)
        toolbar.addSeparator()
        toolbar.addAction("Compare", self.compare_selected_runs)

    def _connect(self) -> None:
        panel, controller = self.run_panel, self.controller
        panel.run_requested.connect(self.start_run)
        panel.pause_requested.connect(controller.pause)
        panel.resume_requested.connect(controller.resume)
        panel.step_requested.connect(controller.step)
        panel.cancel_requested.connect(controller.cancel)
        panel.solver_combo.currentIndexChanged.connect(lambda _i: panel.set_mesh(self.mesh))
        controller.frame_arrived.connect(self._on_frame)
        controller.progress.connect(panel.show_progress)
        controller.log.connect(self.log)
        controller.scalars.connect(self._on_scalars)
        controller.status_changed.connect(lambda status: self.statusBar().showMessage(f"run {status}"))
        controller.finished.connect(self._on_run_finished)
        self.time_bar.frame_selected.connect(self.show_frame)
        self.field_combo.currentTextChanged.connect(lambda _name: self.show_frame(self.time_bar.index))
        self.runs_list.itemDoubleClicked.connect(lambda item: self.show_run(self.runs_list.row(item)))
        self.viewport.point_picked.connect(self.set_probe)
        # The compare view has its own plots: give it the room of the diagnostics dock.
        self.tabs.currentChanged.connect(lambda index: self.docks["Plots"].setVisible(index == 0))

    # -- meshes ---------------------------------------------------------------------------

    def open_mesh_dialog(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(mesh_extensions()))
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open mesh", "", f"Meshes ({patterns});;All files (*)")
        if path:
            self.open_mesh(path)

    def open_mesh(self, reference: str | Path) -> bool:
        """Read and show a mesh; on failure say why and keep the current one."""
        try:
            mesh = open_mesh(reference, self.host)
        except WorkbenchError as error:
            self.report_error("Cannot open mesh", str(error))
            return False
        self.mesh, self.mesh_reference = mesh, str(reference)
        self.frames = []
        self.viewport.set_mesh(mesh)
        self.time_bar.set_times([])
        self.field_combo.clear()
        self.run_panel.set_mesh(mesh)
        summary = mesh.summary()
        cells = ", ".join(f"{n} {t}" for t, n in summary["cells"].items())
        self.statusBar().showMessage(f"{Path(str(reference)).name}: {summary['points']} points, {cells}")
        self.log("info", f"opened {reference}: {summary['points']} points, {cells}")
        self._remember_recent(str(reference))
        return True

    def _remember_recent(self, reference: str) -> None:
        recent = [r for r in self.settings.value("recent_meshes", [], list) if r != reference]
        self.settings.setValue("recent_meshes", [reference, *recent][:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for reference in self.settings.value("recent_meshes", [], list):
            self.recent_menu.addAction(reference, lambda r=reference: self.open_mesh(r))
        self.recent_menu.setEnabled(bool(self.recent_menu.actions()))

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_mesh(url.toLocalFile())
                break

    # -- runs -----------------------------------------------------------------------------

    def start_run(self) -> bool:
        solver = self.run_panel.solver
        if solver is None or (self.mesh is None and not solver.grid):
            self.report_error("Cannot run", "open a mesh and choose a solver first")
            return False
        try:
            conditions = self.run_panel.boundaries.conditions()
            problem = build_problem(solver, self.mesh, self.run_panel.form.values(), conditions)
        except WorkbenchError as error:
            self.report_error("Cannot run", str(error))
            return False
        if problem.mesh is not self.mesh:  # the solver brought its own grid: show that
            self.mesh, self.mesh_reference = problem.mesh, None
            self.viewport.set_mesh(problem.mesh)
            self.field_combo.clear()
        self._pending_conditions = conditions
        self.frames = []
        self._reset_curves()
        self.time_bar.set_times([], follow_latest=True)
        self.run_panel.set_running(True)
        self.viewport.set_streaming(True)
        self.log("info", f"starting {solver.id}")
        self.controller.start(solver, problem)
        return True

    def _on_frame(self, frame: Frame) -> None:
        self.frames.append(frame)
        if self.field_combo.count() == 0:
            self.field_combo.addItems(field_choices(frame.fields))
        self.time_bar.set_times([f.time for f in self.frames])
        if self.time_bar.index == len(self.frames) - 1:  # following the newest frame
            self.scheduler.submit("main", lambda f=frame: self._draw(f))
        self._update_probe()

    def _on_scalars(self, scalars: Scalars) -> None:
        for name, value in scalars.values.items():
            steps, values = self._curve_data.setdefault(name, ([], []))
            steps.append(scalars.step)
            values.append(max(abs(value), 1e-300))  # log axis
            if name not in self._curves:
                colour = pg.intColor(len(self._curves), hues=6, values=1, maxValue=200)
                self._curves[name] = self.curve_plot.plot(name=name, pen=pg.mkPen(colour, width=2))
            self._curves[name].setData(steps, values)

    def _reset_curves(self) -> None:
        self.curve_plot.clear()
        self._curves, self._curve_data = {}, {}

    def _on_run_finished(self, run: Run) -> None:
        self.run_panel.set_running(False)
        self.viewport.set_streaming(False)  # back to full resolution
        self.show_frame(self.time_bar.index)
        label = f"{run.solver_id} #{len(self.runs) + 1}"
        self.runs.append(RunRecord(label, run, self._pending_conditions))
        wall = run.timings.get("wall_s", 0.0)
        item = QtWidgets.QListWidgetItem(f"{label}  [{run.status.value}, {len(run.frames)} frames, {wall:.2f} s]")
        self.runs_list.addItem(item)
        self.log("info", f"{label} {run.status.value} in {wall:.3f} s")
        if run.status is RunStatus.FAILED:
            self.report_error(f"{label} failed", run.error or "unknown error", modal=False)

    def show_run(self, index: int) -> None:
        """Display a stored run's frames."""
        record = self.runs[index]
        self.frames = list(record.run.frames)
        self.field_combo.clear()
        if self.frames:
            self.field_combo.addItems(field_choices(self.frames[0].fields))
        self.time_bar.set_times([f.time for f in self.frames], follow_latest=True)
        self.time_bar.select(len(self.frames) - 1)
        self.show_frame(len(self.frames) - 1)

    def show_frame(self, index: int) -> None:
        if 0 <= index < len(self.frames):
            self.scheduler.submit("main", lambda f=self.frames[index]: self._draw(f))

    def _draw(self, frame: Frame) -> None:
        choice = self.field_combo.currentText() or next(iter(field_choices(frame.fields)), "")
        chosen = chosen_values(frame.fields, choice)
        if chosen is None:
            return
        self.viewport.set_field(choice, *chosen)
        self.viewport.render()

    # -- probes ---------------------------------------------------------------------------

    def set_probe(self, point: int) -> None:
        self.probe_point = point
        self._update_probe()

    def probe_series(self) -> tuple[np.ndarray, np.ndarray]:
        """Time series of the current field at the probe point."""
        if self.probe_point is None:
            return np.empty(0), np.empty(0)
        choice = self.field_combo.currentText()
        times, values = [], []
        for frame in self.frames:
            chosen = chosen_values(frame.fields, choice)
            if chosen is not None and chosen[1] == "point":
                times.append(frame.time)
                values.append(chosen[0][self.probe_point])
        return np.array(times), np.array(values, dtype=float)

    def _update_probe(self) -> None:
        times, values = self.probe_series()
        self.probe_plot.clear()
        if len(times):
            x = self.mesh.points[self.probe_point]
            self.probe_plot.setTitle(f"{self.field_combo.currentText()} at point {self.probe_point} {np.round(x, 3)}")
            self.probe_plot.plot(times, values, pen=pg.mkPen("#1f77b4", width=2), symbol="o", symbolSize=5,
                                 symbolBrush="#1f77b4")

    # -- compare, plugins, files -----------------------------------------------------------

    def compare_selected_runs(self) -> None:
        rows = sorted(self.runs_list.row(item) for item in self.runs_list.selectedItems())
        if len(rows) != 2:
            self.report_error("Compare", "select exactly two runs in the Runs panel (Ctrl+click)")
            return
        self.compare_runs(rows[0], rows[1])

    def compare_runs(self, index_a: int, index_b: int) -> None:
        from .compare_view import CompareView

        if self.compare_page is None:
            self.compare_page = CompareView()
            self.tabs.addTab(self.compare_page, "Compare")
        a, b = self.runs[index_a], self.runs[index_b]
        self.compare_page.set_runs(self.mesh, a.run, b.run, a.name, b.name)
        self.tabs.setCurrentWidget(self.compare_page)

    def show_datagen_dialog(self) -> None:
        from .datagen_dialog import DatagenDialog

        DatagenDialog(self.host, self).exec()

    def show_plugins_dialog(self) -> None:
        from .plugins_dialog import PluginsDialog

        PluginsDialog(self.host, self.settings, self).exec()

    def open_project_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open project", "", "Projects (*.pdewb)")
        if path:
            self.load_project(path)

    def save_project_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save project", "", "Projects (*.pdewb)")
        if path:
            self.save_project(path if path.endswith(".pdewb") else path + ".pdewb")

    def save_project(self, path: str | Path) -> bool:
        from ..io.project import Project, RunEntry, save_project

        if self.mesh_reference is None:
            self.report_error("Save project", "there is nothing to save yet: open a mesh first")
            return False
        entries = [RunEntry(r.name, r.run, r.boundary_conditions) for r in self.runs]
        try:
            save_project(path, Project(mesh=self.mesh_reference, runs=entries, created_with=__version__))
        except (WorkbenchError, OSError) as error:
            self.report_error("Save project", f"{path}: {error}")
            return False
        self.log("info", f"saved project {path} ({len(entries)} runs)")
        return True

    def load_project(self, path: str | Path) -> bool:
        from ..io.project import load_project

        try:
            project = load_project(path)
        except (WorkbenchError, OSError) as error:
            self.report_error("Open project", str(error))
            return False
        if not self.open_mesh(project.mesh):
            return False
        self.runs = []
        self.runs_list.clear()
        for entry in project.runs:
            self.runs.append(RunRecord(entry.name, entry.run, tuple(entry.boundary_conditions)))
            self.runs_list.addItem(f"{entry.name}  [{entry.run.status.value}, {len(entry.run.frames)} frames]")
        if self.runs:
            self.show_run(len(self.runs) - 1)
        self.log("info", f"opened project {path} ({len(self.runs)} runs)")
        return True

    def export_field_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export field", "", "VTU (*.vtu)")
        if path:
            self.export_field(path)

    def export_field(self, path: str | Path) -> bool:
        from ..io.series import write_vtu

        index = self.time_bar.index
        if self.mesh is None or not (0 <= index < len(self.frames)):
            self.report_error("Export", "no field to export: run a solver or open a run first")
            return False
        return self._write(lambda: write_vtu(path, self.mesh, self.frames[index]), path)

    def export_run_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Export run into folder")
        if folder:
            self.export_run(folder)

    def export_run(self, folder: str | Path, name: str = "run") -> bool:
        from ..io.series import write_pvd_series

        if self.mesh is None or not self.frames:
            self.report_error("Export", "no run to export")
            return False
        return self._write(lambda: write_pvd_series(folder, name, self.mesh, self.frames), folder)

    def export_screenshot_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save screenshot", "", "PNG (*.png)")
        if path:
            self.export_screenshot(path)

    def export_screenshot(self, path: str | Path) -> bool:
        from ..io.atomic import atomic_path

        image = self.viewport.capture()
        height, width, _ = image.shape
        qimage = QtGui.QImage(image.data, width, height, 3 * width, QtGui.QImage.Format.Format_RGB888)

        def write() -> None:
            with atomic_path(path) as temporary:
                if not qimage.save(str(temporary), "PNG"):
                    raise OSError(f"cannot write PNG to {path}")

        return self._write(write, path)

    def export_metrics_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export metrics", "", "CSV (*.csv)")
        if path:
            self.export_metrics(path)

    def export_metrics(self, path: str | Path) -> bool:
        from ..io.tables import metrics_rows, write_csv

        header, rows = metrics_rows([(r.name, r.run) for r in self.runs])
        return self._write(lambda: write_csv(path, header, rows), path)

    def export_probe_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export probe", "", "CSV (*.csv)")
        if path:
            self.export_probe(path)

    def export_probe(self, path: str | Path) -> bool:
        from ..io.tables import series_rows, write_csv

        times, values = self.probe_series()
        if not len(times):
            self.report_error("Export", "no probe yet: Ctrl+click a point of the mesh")
            return False
        header, rows = series_rows(times, **{self.field_combo.currentText(): values})
        return self._write(lambda: write_csv(path, header, rows), path)

    def _write(self, write, path) -> bool:
        try:
            write()
        except (WorkbenchError, OSError) as error:
            self.report_error("Export failed", f"{path}: {error}")
            return False
        self.log("info", f"wrote {path}")
        return True

    # -- messages and shutdown ------------------------------------------------------------

    def log(self, level: str, text: str) -> None:
        self.log_view.appendPlainText(f"[{level}] {text}")

    def report_error(self, title: str, message: str, modal: bool = False) -> None:
        """Log the error and show it without blocking: the status bar and a non-modal box."""
        self.log("error", f"{title}: {message}")
        self.statusBar().showMessage(f"{title}: {message}", 15000)
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, message,
                                    QtWidgets.QMessageBox.StandardButton.Ok, self)
        box.setModal(modal)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
        self.last_error_box = box

    def _about(self) -> None:
        QtWidgets.QMessageBox.about(self, "PDE Workbench", f"PDE Workbench {__version__}")

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Cancel a running job and wait for the compute thread before closing (once)."""
        if self._closed:
            super().closeEvent(event)
            return
        self._closed = True
        self.scheduler.stop()
        if not self.controller.shutdown():
            self.log("warning", "the compute thread did not stop in time")
        self.controller.frame_arrived.disconnect(self._on_frame)
        self.viewport.finalize()
        if self.compare_page is not None:
            self.compare_page.close()
        super().closeEvent(event)
