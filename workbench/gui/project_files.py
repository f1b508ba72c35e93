"""Saving and opening projects for the main window, without freezing it.

Saving: every run the window holds goes into the file, each with the mesh it ran
on (a project holds several meshes); the snapshot (which runs, which meshes, the
manifest and references to the runs' read-only arrays) is taken on the GUI
thread by :func:`workbench.io.project.prepare_save`; writing the archive happens
on the file thread (:class:`~workbench.gui.file_tasks.FileTasks`) and ends with
the atomic ``os.replace``, so a failed save leaves the previous file as it was.
The runs it wrote are marked saved only once the file is complete.

Opening: the archive is read on the file thread; back on the GUI thread every
mesh of the project is found (and, if its file moved, located by the user)
before anything of the current project is replaced, so a cancelled or failed
open changes nothing.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

from .. import __version__
from ..core.errors import WorkbenchError
from ..core.mesh import Mesh, mesh_extensions
from ..io.meshes import SAMPLE_PREFIX
from ..io.project import Project, ProjectMesh, RunEntry, load_project, prepare_save, write_prepared
from .file_tasks import FileTasks
from .run_records import RunRecord, same_mesh

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
        if window.mesh is None and not window.runs:
            window.report_error("Save project", "there is nothing to save yet: open a mesh or run a solver first")
            return False
        records = list(window.runs)
        project = snapshot(window.mesh, window.mesh_reference, records)
        try:
            prepared = prepare_save(path, project)
        except WorkbenchError as error:
            window.report_error("Save project", str(error))
            return False
        return self.tasks.start(
            "save", f"Saving {path.name}", lambda: write_prepared(prepared),
            on_done=lambda _path: self._saved(path, records, project),
            on_error=lambda message: window.report_error("Save project", message),
        )

    def _saved(self, path: Path, records: list[RunRecord], project: Project) -> None:
        for record in records:
            record.saved = True
        self.window.project_path = path
        meshes = len(project.meshes)
        self.window.log("info", f"saved project {path} ({len(records)} runs on {meshes} mesh{'es' * (meshes != 1)})")

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
        found = self._project_meshes(project)
        if found is None:
            window.log("info", f"opening {path.name} was cancelled; the current project is unchanged")
            return False
        if found:
            window.show_mesh(*found[0])
        # runs on a mesh the user located are not saved as they are now: the file names the old place
        moved = {i for i, (stored, (_, reference)) in enumerate(zip(project.meshes, found))
                 if stored.embedded is None and reference != stored.reference}
        window.set_runs([RunRecord(e.name, e.run, e.boundary_conditions, *found[e.mesh], saved=e.mesh not in moved)
                         for e in project.runs])
        window.project_path = path
        window.log("info", f"opened project {path} ({len(project.runs)} runs)")
        return True

    def _project_meshes(self, project: Project) -> list[tuple[Mesh, str | None]] | None:
        """Every mesh of the project with its reference, in order; None if the user gave up locating one."""
        found = []
        for index, stored in enumerate(project.meshes):
            mesh = (stored.embedded, None) if stored.embedded is not None else self._locate(project, index)
            if mesh is None:
                return None
            found.append(mesh)
        return found

    def _locate(self, project: Project, index: int) -> tuple[Mesh, str] | None:
        """The mesh of a reference and where it is now; asks where a moved file went. None: the user gave up."""
        original = reference = project.meshes[index].reference
        while True:
            mesh = self._checked_mesh(project, index, reference)
            if mesh is not None:
                if reference != original:
                    self.window.log("info", f"the mesh is now at {reference}: save the project to remember it")
                return mesh, reference
            reference = self.ask_mesh_location(project.meshes[index])
            if not reference:
                return None

    def _checked_mesh(self, project: Project, index: int, reference: str) -> Mesh | None:
        """The mesh at ``reference`` if it is the project's mesh ``index``; else None, after saying why."""
        window = self.window
        if not reference.startswith(SAMPLE_PREFIX) and not Path(reference).is_file():
            window.log("warning", f"the project's mesh is not at {reference} any more")
            return None
        mesh = window.read_mesh(reference)
        if mesh is None:
            return None
        mismatch = project.mesh_mismatch(index, mesh)
        if mismatch is not None:
            window.report_error("Not the project's mesh", f"{Path(reference).name}: {mismatch}")
            return None
        return mesh

    def ask_mesh_location(self, stored: ProjectMesh) -> str:
        """Ask where a project's mesh went; "" if the user cancels."""
        patterns = " ".join(f"*{ext}" for ext in sorted(mesh_extensions()))
        folder = str(Path(stored.reference).parent) if Path(stored.reference).parent.is_dir() else ""
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, f"Locate the project's mesh {stored.describe()}", folder, f"Meshes ({patterns});;All files (*)"
        )
        return path

    # -- helpers --------------------------------------------------------------------------

    def _refused_while_busy(self, title: str) -> bool:
        if not self.tasks.busy:
            return False
        self.window.report_error(title, f"wait: {self.tasks.description} is still in progress")
        return True


def snapshot(shown: Mesh | None, shown_reference: str | None, records: list[RunRecord]) -> Project:
    """Every run with the mesh it ran on; the mesh on display comes first, so a project opens with it.

    Meshes are told apart by identity, and equal meshes opened from the same
    reference (or equal grids) are stored once. Different meshes that claim the
    same file (it was edited and opened again) are all embedded: the file can
    hold only one of them, and which one it holds now is unknown.
    """
    pairs: list[tuple[Mesh, str | None]] = []

    def index_of(mesh: Mesh, reference: str | None) -> int:
        for i, (known, known_reference) in enumerate(pairs):
            if known is mesh or (known_reference == reference and same_mesh(known, mesh)):
                return i
        pairs.append((mesh, reference))
        return len(pairs) - 1

    if shown is not None:
        index_of(shown, shown_reference)
    indices = [index_of(r.mesh, r.mesh_reference) for r in records]
    claims = Counter(reference for _, reference in pairs if reference)
    meshes = [ProjectMesh.of(mesh, reference if claims[reference] == 1 else None) for mesh, reference in pairs]
    runs = [RunEntry(r.name, r.run, r.boundary_conditions, i) for r, i in zip(records, indices)]
    return Project(meshes=meshes, runs=runs, created_with=__version__)
