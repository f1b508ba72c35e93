"""Train an operator surrogate through the job protocol; shared by ``pdewb train`` and the GUI.

The request names the file the checkpoint is written to, exactly: surrogate
checkpoints are safetensors files (:mod:`workbench.io.checkpoints`), so a path
without the suffix gets it here, once, and every reader of the request (the
training job, the CLI's report, the GUI) sees the same path. A data set with NaN
or infinite values is refused before the training starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..core.errors import PLUGIN_FAILURES, ParamError
from ..core.events import Event
from ..core.finite import require_finite_samples
from ..core.jobs import JobControl, execute
from ..core.params import resolve_params
from ..core.run import Run
from ..core.surrogates import TrainingRequest
from ..io.checkpoints import with_suffix
from ..io.datasets import open_dataset
from ..plugins.contributions import SurrogateContribution
from .torch_context import job_context

def file_version(path: str | Path) -> tuple[int, int, int] | None:
    """What identifies one version of a file (inode, mtime, size: an atomic replace gives a new inode); None if absent.

    Compared before and after a training, it tells whether the training wrote the
    checkpoint, or whether the file there is an older one.
    """
    try:
        status = Path(path).stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def training_request(
    surrogate: SurrogateContribution, dataset: str | Path, checkpoint: str | Path, params: Mapping[str, Any] | None
) -> TrainingRequest:
    """Check the data set is one this surrogate learns from and resolve its parameters.

    Quick (the file's attributes only), so the GUI can call it on its own thread;
    the values are checked where the training runs (:func:`train_surrogate`). The
    checkpoint path is ``checkpoint`` with its suffix (:func:`workbench.io.checkpoints.with_suffix`).
    """
    resolved = resolve_params(surrogate.params, params)
    with open_dataset(dataset) as opened:
        solver_id = opened.attributes["solver"]
    if surrogate.learns and solver_id not in surrogate.learns:
        raise ParamError(
            f"'{surrogate.id}' learns from data sets of {', '.join(surrogate.learns)}; {dataset} holds {solver_id}"
        )
    return TrainingRequest(Path(dataset), with_suffix(checkpoint), resolved)


def require_finite_dataset(dataset: str | Path) -> None:
    """NonFiniteError unless every value of the data set is finite, read a few samples at a time.

    A NaN would otherwise be learnt from, or end the training at its first epoch
    as a "divergence" that is the data's fault, not the learning rate's.
    """
    with open_dataset(dataset) as opened:
        require_finite_samples(opened.arrays, str(dataset), opened.seeds)


def train_surrogate(
    surrogate: SurrogateContribution,
    request: TrainingRequest,
    control: JobControl | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> Run:
    """Run the surrogate's training job on the calling thread, with autograd on, on the selected device.

    A cancel (or Ctrl-C) ends the run as cancelled; the job still writes the best
    checkpoint it reached. Failures end as a failed Run, and so does a data set
    with non-finite values (:func:`require_finite_dataset`, before the job starts).
    """
    run = Run(surrogate.id, dict(request.params))
    try:
        require_finite_dataset(request.dataset)
        with job_context(surrogate.requires, inference=False) as device:
            if device is not None:
                run.log.append(f"[info] torch device: {device}")
            job = surrogate.train_job(TrainingRequest(request.dataset, request.checkpoint, request.params, device))
            return execute(job, run, control, on_event)
    except PLUGIN_FAILURES as error:  # a plugin that cannot start is a failed run, not a crash
        run.fail(error)
        return run
