"""Errors that carry a one-line, human message.

Everything the user can get wrong (a mesh, a parameter, a scenario, a plugin)
raises a subclass of :class:`WorkbenchError`. Front ends (CLI, GUI) catch this one
type and show ``str(error)``; anything else is a bug and keeps its traceback.
"""


class WorkbenchError(Exception):
    """Base class for errors whose message is meant for the user."""


class MeshError(WorkbenchError):
    """A mesh file is missing, unreadable or geometrically invalid."""


class ParamError(WorkbenchError):
    """A parameter value is missing, of the wrong type or out of range."""


class ExpressionError(ParamError):
    """A user expression such as ``sin(pi*x)*exp(-t)`` is not allowed or invalid."""


class ScenarioError(WorkbenchError):
    """A scenario file cannot be read or names something that does not exist."""


class PluginError(WorkbenchError):
    """A plugin or one of its contributions cannot be found or loaded."""


class SolverDiverged(WorkbenchError):
    """A solver produced non-finite values."""


#: What plugin code may raise that must stay with the plugin (a failed run, a plugin listed as
#: failed): any error, and ``sys.exit()``. KeyboardInterrupt is not among them: Ctrl-C (and
#: SIGTERM, see :mod:`workbench.core.interrupts`) is the user's, and ends the command.
PLUGIN_FAILURES = (Exception, SystemExit)


def describe_failure(error: BaseException) -> str:
    """One line for a plugin's failure: ``TypeError: ...``, or what a ``sys.exit()`` amounts to."""
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r})"
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
