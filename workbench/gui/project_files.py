"""Saving and opening projects for the main window, without freezing it.

Saving: the snapshot (which runs, which mesh, the manifest and references to the
runs' read-only arrays) is taken on the GUI thread by
:func:`workbench.io.project.prepare_save`; writing the archive happens on the
file thread (:class:`~workbench.gui.file_tasks.FileTasks`) and ends with the
atomic ``os.replace``, so a failed save leaves the previous file as it was.

Opening: the archive is read on the file thread; back on the GUI thread the
project's mesh is found (and, if its file moved, located by the user) before
anything of the current project is replaced, so a cancelled or failed open
changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

from .. import __version__
from ..core.errors import WorkbenchError
from ..core.mesh import Mesh, mesh_extensions
from ..io.meshes import SAMPLE_PREFIX
from ..io.project import MeshSize, Project, RunEntry, load_project, prepare_save, write_prepared
from .file_tasks import FileTasks
from .run_records import RunRecord

if TYPE_CHECKING:
    from .main_window import MainWindow


class ProjectFiles:
    """The window's project saving and opening; one file task at a time."""

    def __init__(self, window: MainWindow, tasks: FileTasks) -> None:
        self.window = window
        self.tasks = tasks

    # -- saving ---------------------------------------------------------------------------

    def save(self, path: str | Path) -> bool:
        """Snapshot now, write on the file thread; False (with a message) if it cannot start."""
        window, path = self.window, Path(path)
        if self._refused_while_busy("Save project"):
            return False
        if window.mesh is None:
            window.report_error("Save project", "there is nothing to save yet: open a mesh or run a solver first")
            return False
        project = self._snapshot()
        try:
            prepared = prepare_save(path, project)
        except WorkbenchError as error:
            window.report_error("Save project", str(error))
            return False
        self._warn_about_runs_left_out()
        count = len(project.runs)
        return self.tasks.start(
            "save", f"Saving {path.name}", lambda: write_prepared(prepared),
            on_done=lambda _path: window.log("info", f"saved project {path} ({count} runs)"),
            on_error=lambda message: window.report_error("Save project", message),
        )

    def _snapshot(self) -> Project:
        """The current mesh and the runs made on it (a solver's grid travels inside the file)."""
        window = self.window
        entries = [RunEntry(r.name, r.run, r.boundary_conditions) for r in window.runs if r.mesh is window.mesh]
        return Project(
            mesh=window.mesh_reference or "",
            runs=entries,
            created_with=__version__,
            embedded_mesh=None if window.mesh_reference else window.mesh,
            mesh_size=MeshSize.of(window.mesh),
        )

    def _warn_about_runs_left_out(self) -> None:
        # A project holds one mesh; runs made on another one (before opening this mesh) stay out.
        window = self.window
        left_out = [r.name for r in window.runs if r.mesh is not window.mesh]
        if left_out:
            window.log("warning", f"not in the project (made on another mesh): {', '.join(left_out)}")

    # -- opening --------------------------------------------------------------------------

    def load(self, path: str | Path) -> bool:
        """Read on the file thread, then adopt the project on the GUI thread."""
        window, path = self.window, Path(path)
        if self._refused_while_busy("Open project"):
            return False
        return self.tasks.start(
            "load", f"Opening {path.name}", lambda: load_project(path),
            on_done=lambda project: self._adopt(project, path),
            on_error=lambda message: window.report_error("Open project", message),
        )

    def _adopt(self, project: Project, path: Path) -> bool:
        window = self.window
        if window.close_when_idle:  # the window is closing: nothing to show it in
            return False
        found = self._project_mesh(project)
        if found is None:
            window.log("info", f"opening {path.name} was cancelled; the current project is unchanged")
            return False
        mesh, reference = found
        window.show_mesh(mesh, reference)
        window.set_runs([RunRecord(e.name, e.run, e.boundary_conditions, mesh, reference) for e in project.runs])
        window.log("info", f"opened project {path} ({len(project.runs)} runs)")
        return True

    def _project_mesh(self, project: Project) -> tuple[Mesh, str | None] | None:
        """The project's mesh and its reference; asks where a moved file went. None: the user gave up."""
        if project.embedded_mesh is not None:
            return project.embedded_mesh, None
        reference = project.mesh
        while True:
            mesh = self._checked_mesh(project, reference)
            if mesh is not None:
                if reference != project.mesh:
                    self.window.log("info", f"the mesh is now at {reference}: save the project to remember it")
                return mesh, reference
            reference = self.ask_mesh_location(project)
            if not reference:
                return None

    def _checked_mesh(self, project: Project, reference: str) -> Mesh | None:
        """The mesh at ``reference`` if it is this project's mesh; else None, after saying why."""
        window = self.window
        if not reference.startswith(SAMPLE_PREFIX) and not Path(reference).is_file():
            window.log("warning", f"the project's mesh is not at {reference} any more")
            return None
        mesh = window.read_mesh(reference)
        if mesh is None:
            return None
        mismatch = project.mesh_mismatch(mesh)
        if mismatch is not None:
            window.report_error("Not the project's mesh", f"{Path(reference).name}: {mismatch}")
            return None
        return mesh

    def ask_mesh_location(self, project: Project) -> str:
        """Ask where the project's mesh went; "" if the user cancels."""
        name = Path(project.mesh).name
        size = f" ({project.mesh_size})" if project.mesh_size is not None else ""
        patterns = " ".join(f"*{ext}" for ext in sorted(mesh_extensions()))
        folder = str(Path(project.mesh).parent) if Path(project.mesh).parent.is_dir() else ""
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, f"Locate the project's mesh {name}{size}", folder, f"Meshes ({patterns});;All files (*)"
        )
        return path

    # -- helpers --------------------------------------------------------------------------

    def _refused_while_busy(self, title: str) -> bool:
        if not self.tasks.busy:
            return False
        self.window.report_error(title, f"wait: {self.tasks.description} is still in progress")
        return True
