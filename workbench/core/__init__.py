"""The Qt-free core: meshes, fields, parameters, problems, runs, metrics, jobs.

This package must never import PySide6, vtk or torch (torch only lazily, inside
:mod:`workbench.core.device` functions), so the CLI and batch jobs run anywhere.
"""

from .errors import (
    ExpressionError,
    MeshError,
    ParamError,
    PluginError,
    ScenarioError,
    SolverDiverged,
    WorkbenchError,
)
from .events import Event, Frame, LogMessage, Progress, Scalars
from .expressions import Expression
from .field import Field
from .jobs import Job, JobControl, execute
from .mesh import ALL_BOUNDARY, CellBlock, Mesh, load_mesh
from .metrics import error_series, l2_norm, max_error, relative_l2
from .params import ParamSpec, resolve_params
from .problem import BoundaryCondition, Problem
from .run import Run, RunStatus

__all__ = [
    "ALL_BOUNDARY", "BoundaryCondition", "CellBlock", "Event", "Expression", "ExpressionError", "Field",
    "Frame", "Job", "JobControl", "LogMessage", "Mesh", "MeshError", "ParamError", "ParamSpec", "PluginError",
    "Problem", "Progress", "Run", "RunStatus", "Scalars", "ScenarioError", "SolverDiverged", "WorkbenchError",
    "error_series", "execute", "l2_norm", "load_mesh", "max_error", "relative_l2", "resolve_params",
]
