"""Train an operator surrogate through the job protocol; shared by ``pdewb train`` and the GUI."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..core.errors import PLUGIN_FAILURES, ParamError
from ..core.events import Event
from ..core.jobs import JobControl, execute
from ..core.params import resolve_params
from ..core.run import Run
from ..core.surrogates import TrainingRequest
from ..io.datasets import open_dataset
from ..plugins.contributions import SurrogateContribution
from .torch_context import job_context


def training_request(
    surrogate: SurrogateContribution, dataset: str | Path, checkpoint: str | Path, params: Mapping[str, Any] | None
) -> TrainingRequest:
    """Check the data set is one this surrogate learns from and resolve its parameters."""
    with open_dataset(dataset) as opened:
        solver_id = opened.attributes["solver"]
    if surrogate.learns and solver_id not in surrogate.learns:
        raise ParamError(
            f"'{surrogate.id}' learns from data sets of {', '.join(surrogate.learns)}; {dataset} holds {solver_id}"
        )
    return TrainingRequest(Path(dataset), Path(checkpoint), resolve_params(surrogate.params, params))


def train_surrogate(
    surrogate: SurrogateContribution,
    request: TrainingRequest,
    control: JobControl | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> Run:
    """Run the surrogate's training job on the calling thread, with autograd on, on the selected device.

    A cancel (or Ctrl-C) ends the run as cancelled; the job still writes the best
    checkpoint it reached. Failures end as a failed Run.
    """
    run = Run(surrogate.id, dict(request.params))
    try:
        with job_context(surrogate.requires, inference=False) as device:
            if device is not None:
                run.log.append(f"[info] torch device: {device}")
            job = surrogate.train_job(TrainingRequest(request.dataset, request.checkpoint, request.params, device))
            return execute(job, run, control, on_event)
    except PLUGIN_FAILURES as error:  # a plugin that cannot start is a failed run, not a crash
        run.fail(error)
        return run
