"""The workbench's main window: open a mesh, run a solver, watch and compare results.

The window owns no numerics: problems are built by :mod:`workbench.compute.runner`,
runs execute on their device's compute thread (:mod:`workbench.gui.worker`), files go
through :mod:`workbench.io`, projects are written and read on a file thread
(:mod:`workbench.gui.project_files`). Every user error arrives as a WorkbenchError and
is shown as a message, never as a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .. import __version__
from ..compute.runner import build_problem
from ..core.errors import WorkbenchError
from ..core.events import Frame, Scalars
from ..core.frame_store import FrameStore
from ..core.mesh import Mesh, mesh_extensions
from ..core.run import RunStatus
from ..io.meshes import SAMPLE_PREFIX, open_mesh
from ..plugins.contributions import SampleDataContribution
from ..plugins.host import PluginHost
from .device_tasks import DeviceTasks
from .field_choice import chosen_values, field_choices
from .line_view import LineView, is_one_dimensional
from .file_tasks import FileTasks
from .project_files import ProjectFiles
from .run_panel import RunPanel, TimeBar
from .run_records import RunRecord, RunSetup, same_mesh
from .scheduler import RenderScheduler
from .viewport import MeshViewport
from .notices import show_warning
from . import unsaved_work
from .unsaved_work import Choice, UnsavedWork

if TYPE_CHECKING:
    from .worker import ComputeJob

MAX_RECENT = 8
PROJECT_SUFFIX = ".pdewb"


def _dropped_file(mime: QtCore.QMimeData) -> str | None:
    """The first local file among dropped URLs (remote URLs are not ours to fetch)."""
    for url in mime.urls() if mime.hasUrls() else ():
        if url.isLocalFile():
            return url.toLocalFile()
    return None


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
        self.streaming_job: ComputeJob | None = None  # the running job whose frames are on display
        self._closed = False
        self.close_when_idle = False  # a close waits for the project file being written
        self.project_path: Path | None = None  # the project file last saved or opened
        self._save_when_stopped: Path | None = None  # a closing save waits for the runs it stopped
        self._open_after_save: Path | None = None  # a project to open once the current one is saved
        self._discarding = False  # the user (or a script) chose to close without saving
        self._asking = False  # the Save / Discard / Cancel question is open

        from .worker import RunController

        self.controller = RunController(self)
        self.device_tasks = DeviceTasks(self.controller, self)  # surrogate training and comparison
        self.train_dialog = None  # the surrogate dialogs, built on first use and kept (they are not modal)
        self.surrogate_compare_dialog = None
        self.mover_dialog = None
        self.file_tasks = FileTasks(self)
        self.projects = ProjectFiles(self, self.file_tasks)
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
        self.line_view = LineView()  # 1D meshes: the field as curves, with its exact/reference companions
        self.views = QtWidgets.QStackedWidget()
        self.views.addWidget(self.viewport)
        self.views.addWidget(self.line_view)
        layout.addWidget(self.views, stretch=1)
        layout.addWidget(self.time_bar)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(page, "View")
        self.compare_page = None  # built on first use: three more viewports cost start-up time
        self.setCentralWidget(self.tabs)

    def _build_docks(self) -> None:
        self.run_panel = RunPanel(self.host.runnables())  # solvers and INSR integrators
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
        self._probe_curve: tuple[list[float], list[float], str] = ([], [], "")  # times, values, field
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
        self.project_actions = [
            menu.addAction("Open &project...", self.open_project_dialog),
            menu.addAction("&Save project", self.save_project_here, QtGui.QKeySequence.StandardKey.Save),
            menu.addAction("Save project &as...", self.save_project_dialog, QtGui.QKeySequence.StandardKey.SaveAs),
        ]
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

        self.menuBar().addMenu("&Mesh").addAction("&Move mesh (r-adaptation)...", self.show_mover_dialog)
        self.menuBar().addMenu("&Data").addAction("&Generate data set...", self.show_datagen_dialog)
        surrogates = self.menuBar().addMenu("&Surrogates")
        surrogates.addAction("&Train surrogate...", self.show_train_dialog)
        surrogates.addAction("&Compare with reference...", self.show_surrogate_compare_dialog)
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

        self.file_busy_label = QtWidgets.QLabel()
        self.file_busy_bar = QtWidgets.QProgressBar()
        self.file_busy_bar.setRange(0, 0)  # no fraction to show: Qt's busy animation
        self.file_busy_bar.setMaximumWidth(120)
        for widget in (self.file_busy_label, self.file_busy_bar):
            widget.hide()
            self.statusBar().addPermanentWidget(widget)

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
        controller.job_finished.connect(self._on_job_finished)
        self.file_tasks.busy_changed.connect(self._show_file_busy)
        self.file_tasks.finished.connect(self._on_file_task_finished)
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
        mesh = self.read_mesh(reference)
        if mesh is None:
            return False
        self.show_mesh(mesh, str(reference))
        self._remember_recent(str(reference))
        return True

    def read_mesh(self, reference: str | Path) -> Mesh | None:
        """The mesh ``reference`` names, or None after telling the user why not."""
        try:
            return open_mesh(reference, self.host)
        except WorkbenchError as error:
            self.report_error("Cannot open mesh", str(error))
            return None

    def show_mesh(self, mesh: Mesh, reference: str | None, label: str = "the solver's grid") -> None:
        """Make ``mesh`` the current one (``reference`` None: a mesh without a file, named ``label``) and show it bare."""
        if mesh is not self.mesh:
            self.clear_probe()  # a point index of one mesh means nothing on another
        self.mesh, self.mesh_reference = mesh, reference
        self.frames, self.streaming_job = FrameStore(), None
        self.viewport.set_mesh(mesh)
        self.line_view.set_mesh(mesh)
        self.views.setCurrentWidget(self.line_view if is_one_dimensional(mesh) else self.viewport)
        self.time_bar.set_times([])
        self.field_combo.clear()
        self.run_panel.set_mesh(mesh)
        summary = mesh.summary()
        cells = ", ".join(f"{n} {t}" for t, n in summary["cells"].items())
        name = Path(reference).name if reference else label
        self.statusBar().showMessage(f"{name}: {summary['points']} points, {cells}")
        self.log("info", f"{'opened ' + reference if reference else 'showing ' + name}: "
                         f"{summary['points']} points, {cells}")

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
        # Any local file is welcome: whether it is a mesh we can read is only known by reading it,
        # and refusing the drop silently would hide the reason.
        if _dropped_file(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:  # noqa: N802
        path = _dropped_file(event.mimeData())
        if path is None:
            return
        event.acceptProposedAction()
        if path.endswith(PROJECT_SUFFIX):
            self.load_project(path)
        else:
            self.open_mesh(path)

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
        if not same_mesh(problem.mesh, self.mesh):  # the solver brought its own grid: show that
            self.show_mesh(problem.mesh, None)
        self.frames = FrameStore()  # the window's copy of the streaming frames, under the same memory budget
        self._reset_curves()
        self.time_bar.set_times([], follow_latest=True)
        self.run_panel.set_running(True)
        self.viewport.set_streaming(True)
        job = self.controller.start(solver, problem, context=RunSetup(conditions, self.mesh, self.mesh_reference))
        self.streaming_job = job
        self.log("info", f"starting {solver.id} on {job.device}")
        return True

    def _on_frame(self, frame: Frame) -> None:
        if self.controller.followed is not self.streaming_job:
            return  # the user went to another run or mesh meanwhile; the run keeps its frames itself
        self.frames.append(frame)
        if self.field_combo.count() == 0:
            self.field_combo.addItems(field_choices(frame.fields))
        self.time_bar.set_times(self.frames.times())  # times live in memory: spilled frames are not read back
        if self.time_bar.index == len(self.frames) - 1:  # following the newest frame
            self.scheduler.submit("main", lambda f=frame: self._draw(f))
        self._extend_probe(frame)

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

    def _on_job_finished(self, job: ComputeJob) -> None:
        run, setup = job.run, job.context
        if job is self.controller.followed:  # the run on display
            self.run_panel.set_running(False)
            self.viewport.set_streaming(False)  # back to full resolution
            self.show_frame(self.time_bar.index)
        if not isinstance(setup, RunSetup):
            return  # a job someone else started (a script, a test): theirs to record
        label = f"{run.solver_id} #{len(self.runs) + 1}"
        self.add_run(RunRecord(label, run, setup.boundary_conditions, setup.mesh, setup.mesh_reference))
        wall = run.timings.get("wall_s", 0.0)
        self.log("info", f"{label} {run.status.value} in {wall:.3f} s")
        if run.status is RunStatus.FAILED:
            self.report_error(f"{label} failed", run.error or "unknown error", modal=False)
        if self._save_when_stopped is not None and not self.runs_in_progress():
            path, self._save_when_stopped = self._save_when_stopped, None
            self._save_and_close(path)

    def add_run(self, record: RunRecord) -> None:
        self.runs.append(record)
        run = record.run
        wall = run.timings.get("wall_s")
        timing = f", {wall:.2f} s" if wall is not None else ""
        self.runs_list.addItem(f"{record.name}  [{run.status.value}, {len(run.frames)} frames{timing}]")

    def set_runs(self, records: list[RunRecord]) -> None:
        """Replace the runs (an opened project's) and show the last one."""
        self.runs = []
        self.runs_list.clear()
        for record in records:
            self.add_run(record)
        if self.runs:
            self.show_run(len(self.runs) - 1)

    def show_run(self, index: int) -> None:
        """Display a stored run's frames (on its own mesh, which may not be the current one)."""
        record = self.runs[index]
        if record.mesh is not self.mesh:
            self.show_mesh(record.mesh, record.mesh_reference)
        self.frames, self.streaming_job = record.run.frames, None  # its FrameStore: spilled frames stay on disk
        self.field_combo.clear()
        if self.frames:
            self.field_combo.addItems(field_choices(self.frames[0].fields))
        self.time_bar.set_times(self.frames.times(), follow_latest=True)
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
        if self.views.currentWidget() is self.line_view:
            self.line_view.set_frame(frame.fields, choice)
            return
        self.viewport.set_field(choice, *chosen)
        self.viewport.render()

    # -- probes ---------------------------------------------------------------------------

    def set_probe(self, point: int) -> None:
        """Probe the point ``point`` of the current mesh (ignored if the mesh has no such point)."""
        if self.mesh is None or not 0 <= point < self.mesh.n_points:
            return
        self.probe_point = point
        self._update_probe()

    def clear_probe(self) -> None:
        """Forget the probe point (its mesh is no longer on display)."""
        self.probe_point = None
        self._probe_curve = ([], [], "")
        self.probe_plot.clear()
        self.probe_plot.setTitle("Probe (Ctrl+click a point)")

    def probe_series(self) -> tuple[np.ndarray, np.ndarray]:
        """Time series of the current field at the probe point (frames without that point are skipped)."""
        if self.probe_point is None:
            return np.empty(0), np.empty(0)
        choice = self.field_combo.currentText()
        times, values = [], []
        for frame in self.frames:
            chosen = chosen_values(frame.fields, choice)
            if chosen is not None and chosen[1] == "point" and self.probe_point < len(chosen[0]):
                times.append(frame.time)
                values.append(chosen[0][self.probe_point])
        return np.array(times), np.array(values, dtype=float)

    def _update_probe(self) -> None:
        """Rebuild the probe curve from every frame (a new probe point, run or field)."""
        times, values = self.probe_series()
        self._probe_curve = (list(times), list(values), self.field_combo.currentText())
        self._draw_probe()

    def _extend_probe(self, frame: Frame) -> None:
        """Add one streamed frame to the probe curve, without reading the earlier (maybe spilled) frames."""
        if self.probe_point is None:
            return
        times, values, field = self._probe_curve
        if field != self.field_combo.currentText():
            self._update_probe()
            return
        chosen = chosen_values(frame.fields, field)
        if chosen is not None and chosen[1] == "point" and self.probe_point < len(chosen[0]):
            times.append(frame.time)
            values.append(chosen[0][self.probe_point])
            self._draw_probe()

    def _draw_probe(self) -> None:
        times, values, _ = self._probe_curve
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

        a, b = self.runs[index_a], self.runs[index_b]
        if a.mesh is not b.mesh:
            self.report_error("Compare", f"'{a.name}' and '{b.name}' ran on different meshes")
            return
        if self.compare_page is None:
            self.compare_page = CompareView()
            self.tabs.addTab(self.compare_page, "Compare")
        self.compare_page.set_runs(a.mesh, a.run, b.run, a.name, b.name)
        self.tabs.setCurrentWidget(self.compare_page)

    def show_datagen_dialog(self) -> None:
        from .datagen_dialog import DatagenDialog

        DatagenDialog(self.host, self).exec()

    def show_train_dialog(self):
        """Surrogates > Train surrogate: one non-modal dialog, shown again with its state when reopened."""
        if self.train_dialog is None:
            from .train_dialog import TrainDialog

            self.train_dialog = TrainDialog(self.host, self.device_tasks, self)
            self.train_dialog.compare_requested.connect(
                lambda path: self.show_surrogate_compare_dialog().set_checkpoint(path))
        return self._present(self.train_dialog)

    def show_surrogate_compare_dialog(self):
        """Surrogates > Compare with reference: one non-modal dialog that keeps its last comparison."""
        if self.surrogate_compare_dialog is None:
            from .surrogate_compare import SurrogateCompareDialog

            self.surrogate_compare_dialog = SurrogateCompareDialog(self.host, self.device_tasks, self)
        return self._present(self.surrogate_compare_dialog)

    def show_mover_dialog(self):
        """Mesh > Move mesh: one non-modal dialog, given the current mesh and the fields of the frame on display."""
        if self.mover_dialog is None:
            from .mover_dialog import MoveMeshDialog

            self.mover_dialog = MoveMeshDialog(self.host, self.device_tasks, self)
            self.mover_dialog.use_mesh.connect(self.continue_on_mesh)
        if not self.mover_dialog.busy:
            self.mover_dialog.set_inputs(self.mesh, self.driving_sources())
        return self._present(self.mover_dialog)

    def driving_sources(self):
        """The point fields of the frame on display, as fields a mesh mover can adapt to."""
        from .mover_dialog import DrivingSource

        index = self.time_bar.index
        if self.mesh is None or not 0 <= index < len(self.frames):
            return []
        frame, sources = self.frames[index], []
        for choice in field_choices(frame.fields):
            chosen = chosen_values(frame.fields, choice)
            if chosen is not None and chosen[1] == "point" and len(chosen[0]) == self.mesh.n_points:
                sources.append(DrivingSource(f"{choice} at t = {frame.time:.4g}", np.array(chosen[0], dtype=float)))
        return sources

    def continue_on_mesh(self, mesh: Mesh) -> None:
        """Make a moved mesh the current one: runs started now use it (a project embeds it: it has no file)."""
        self.show_mesh(mesh, None, label="the moved mesh")
        self.log("info", "continuing on the moved mesh (same cells and boundary tags, nodes moved)")

    @staticmethod
    def _present(dialog: QtWidgets.QDialog) -> QtWidgets.QDialog:
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def show_plugins_dialog(self) -> None:
        from .plugins_dialog import PluginsDialog

        PluginsDialog(self.host, self.settings, self).exec()

    def open_project_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open project", "", "Projects (*.pdewb)")
        if path:
            self.load_project(path)

    def save_project_dialog(self) -> None:
        path = self.ask_project_path()
        if path is not None:
            self.save_project(path)

    def save_project_here(self) -> None:
        """File > Save project: into the project file last saved or opened, else where the user says."""
        path = self.project_path or self.ask_project_path()
        if path is not None:
            self.save_project(path)

    def ask_project_path(self) -> Path | None:
        """Where to save the project (the file dialog); None if the user cancels."""
        start = str(self.project_path) if self.project_path is not None else ""
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save project", start, "Projects (*.pdewb)")
        if not path:
            return None
        return Path(path if path.endswith(PROJECT_SUFFIX) else path + PROJECT_SUFFIX)

    def save_project(self, path: str | Path) -> bool:
        """Start writing the project to ``path`` on the file thread; False if it cannot start.

        ``file_tasks.finished`` tells when it is written (or why not, in the log).
        """
        return self.projects.save(path)

    def load_project(self, path: str | Path) -> bool:
        """Start reading the project at ``path``; the current one stays until the new one is complete.

        Runs not saved yet would be replaced: the user is asked first (Save opens the
        project once the current one is written).
        """
        work = UnsavedWork(unsaved=tuple(r.name for r in self.unsaved_runs()))
        if not work:
            return self.projects.load(path)
        choice = unsaved_work.ask(self, work, "opening another project")
        if choice is Choice.DISCARD:
            return self.projects.load(path)
        if choice is Choice.SAVE:
            target = self.project_path or self.ask_project_path()
            if target is not None and self.save_project(target):
                self._open_after_save = Path(path)
        return False

    def unsaved_runs(self) -> list[RunRecord]:
        """The finished runs not in a project file as they are now."""
        return [record for record in self.runs if not record.saved]

    def runs_in_progress(self) -> list[ComputeJob]:
        """The runs started from this window that have not finished (queued ones included)."""
        return [job for job in self.controller.jobs.values() if isinstance(job.context, RunSetup)]

    def _show_file_busy(self, busy: bool) -> None:
        self.file_busy_label.setText(self.file_tasks.description if busy else "")
        self.file_busy_label.setVisible(busy)
        self.file_busy_bar.setVisible(busy)
        for action in self.project_actions:
            action.setEnabled(not busy)

    def _on_file_task_finished(self, kind: str, succeeded: bool) -> None:
        opening, self._open_after_save = self._open_after_save, None
        if opening is not None and kind == "save" and succeeded and not self.close_when_idle:
            QtCore.QTimer.singleShot(0, lambda: self.projects.load(opening))  # after file_tasks has finished
        if not self.close_when_idle:
            return
        self.close_when_idle = False
        if kind == "save" and not succeeded:
            self.log("warning", "the window stays open: the project was not saved")
            return
        QtCore.QTimer.singleShot(0, self.close)  # after file_tasks has finished emitting

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
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export run", "run.pvd", "ParaView collection (*.pvd)")
        if path:
            chosen = Path(path)
            # The dialog asked before replacing the file it was given: that confirms replacing a series
            # only if it was given the PVD itself, not a bare name the series adds ".pvd" to.
            confirmed = chosen.suffix == ".pvd"
            self.export_run(chosen.parent, chosen.stem if confirmed else chosen.name, overwrite=confirmed)

    def export_run(self, folder: str | Path, name: str = "run", overwrite: bool = False) -> bool:
        """Write the frames on display as the series ``folder/name.pvd`` (whole or not at all, see io.series)."""
        from ..io.series import write_pvd_series

        if self.mesh is None or not self.frames:
            self.report_error("Export", "no run to export")
            return False
        target = Path(folder) / f"{name}.pvd"
        return self._write(lambda: write_pvd_series(folder, name, self.mesh, self.frames, overwrite=overwrite), target)

    def export_screenshot_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save screenshot", "", "PNG (*.png)")
        if path:
            self.export_screenshot(path)

    def export_screenshot(self, path: str | Path) -> bool:
        from ..io.atomic import atomic_path

        image = self.views.currentWidget().capture()
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
            text = str(error)
            self.report_error("Export failed", text if str(path) in text else f"{path}: {text}")
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
        self.last_error_box = show_warning(self, title, message, modal)

    def _about(self) -> None:
        QtWidgets.QMessageBox.about(self, "PDE Workbench", f"PDE Workbench {__version__}")

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Ask before losing work, then cancel running jobs and wait for the compute threads (once).

        With runs in progress or runs not saved the user chooses: Save (stop the
        runs, keep them as cancelled with their frames, save everything, close once
        the file is complete), Discard, or Cancel. While a project file is being
        written or read the window stays open and closes when the file task ends:
        closing must not cost the user the save.
        """
        if self._closed:
            super().closeEvent(event)
            return
        if self.file_tasks.busy:
            event.ignore()
            self.close_when_idle = True
            self.statusBar().showMessage(f"{self.file_tasks.description}: the window closes when it is done")
            return
        if not self._may_close_now():
            event.ignore()
            return
        self._closed = True
        self._shut_down()
        super().closeEvent(event)

    def discard_work_and_close(self) -> bool:
        """Close without asking, losing the runs not saved (for scripts and benchmarks)."""
        self._discarding = True
        return self.close()

    def _may_close_now(self) -> bool:
        """True if closing loses nothing or the user discards; after Save, the finished save closes the window."""
        work = UnsavedWork(running=tuple(job.solver_id for job in self.runs_in_progress()),
                           unsaved=tuple(r.name for r in self.unsaved_runs()))
        if self._discarding or not work:
            return True
        if self._asking:  # a second close while the question is open: the question answers for both
            return False
        self._asking = True
        try:
            choice = unsaved_work.ask(self, work, "closing")
        finally:
            self._asking = False
        if choice is Choice.DISCARD:
            return True
        if choice is Choice.SAVE:
            path = self.project_path or self.ask_project_path()
            if path is not None:
                self._save_once_stopped(path)
        return False

    def _save_once_stopped(self, path: Path) -> None:
        """Stop the runs in progress; save (and close) when the last one has been recorded."""
        running = self.runs_in_progress()
        if not running:
            self._save_and_close(path)
            return
        self._save_when_stopped = path
        for job in running:
            job.control.cancel()
        self.statusBar().showMessage("stopping the runs in progress; the project is saved and the window closed then")

    def _save_and_close(self, path: Path) -> None:
        if self.save_project(path):
            self.close_when_idle = True

    def _shut_down(self) -> None:
        self.scheduler.stop()
        self.device_tasks.shutdown()  # a training stops and writes its best checkpoint
        for dialog in (self.train_dialog, self.surrogate_compare_dialog, self.mover_dialog):
            if dialog is not None:
                dialog.close()
        if not self.controller.shutdown():
            self.log("warning", "a compute thread did not stop in time")
        self.file_tasks.wait()
        # Runs cancelled just now still report back: nothing of this window is updated any more.
        self.controller.frame_arrived.disconnect(self._on_frame)
        self.controller.job_finished.disconnect(self._on_job_finished)
        self.viewport.finalize()
        if self.compare_page is not None:
            self.compare_page.close()
        for dialog in (self.surrogate_compare_dialog, self.mover_dialog):
            if dialog is not None:
                dialog.finalize()
