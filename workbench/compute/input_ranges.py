"""The inputs a trained surrogate may be asked about: the range its training data covered.

A neural operator answers anything, but only inputs like its training inputs get
answers that mean something. Checkpoints record, per input channel, the [min, max]
of their training inputs (``task.input_range``). Older checkpoints did not; for
them the range is the one the reference solver's data sets declare for the input
field (``dataset_metadata(params)["fields"][name]["range"]``: Darcy's coefficient
is 3 or 12 by the recipe), so that such a checkpoint is held to the same domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.errors import PLUGIN_FAILURES, WorkbenchError
from ..plugins.host import PluginHost


def trained_input_range(host: PluginHost, document: Mapping[str, Any]) -> list[list[float]] | None:
    """[[min, max]] per input channel of the checkpoint ``document``, or None where nothing declares it."""
    task = document.get("task", {})
    recorded = task.get("input_range")
    if recorded is not None:
        return [[float(low), float(high)] for low, high in recorded]
    return declared_input_range(host, task)


def declared_input_range(host: PluginHost, task: Mapping[str, Any]) -> list[list[float]] | None:
    """The range the task's solver declares for each of its input fields; None unless it declares all of them."""
    fields = task.get("input_fields") or []
    try:
        _, metadata = host.solver(task["solver"]).dataset_functions()
        declared = metadata(dict(task.get("params", {})))["fields"]
    except (WorkbenchError, KeyError, TypeError):
        return None  # the solver is not installed, or its data sets declare nothing
    except PLUGIN_FAILURES:
        return None  # a plugin that cannot describe its data sets only loses the check
    ranges = [declared.get(name, {}).get("range") for name in fields]
    if not fields or any(bounds is None for bounds in ranges):
        return None
    return [[float(low), float(high)] for low, high in ranges]
