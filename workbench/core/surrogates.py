"""What the workbench asks of an operator surrogate: train it from a data set, load it, predict.

An operator surrogate learns the map from a reference solver's input fields to its
output fields (a -> u for Darcy, u0 -> u(T) for Burgers, ...) from a data set written
by ``pdewb datagen`` (docs/datasets.md). A plugin provides two functions, named by its
:class:`~workbench.plugins.contributions.SurrogateContribution`:

- ``train_job(request: TrainingRequest) -> Job``: a job in the core's protocol
  (:mod:`workbench.core.jobs`) that yields loss curves as ``Scalars`` and writes the
  checkpoint to ``request.checkpoint`` when it finishes, and also when it is cancelled
  (the best state so far);
- ``load(path, device) -> Surrogate``: a trained surrogate from a checkpoint, which
  never executes code from the file.

The core stays free of torch: arrays cross this boundary as numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class TrainingRequest:
    """Train a surrogate on ``dataset`` with ``params`` (the contribution's ParamSpecs, resolved)."""

    dataset: Path
    checkpoint: Path
    params: Mapping[str, Any] = field(default_factory=dict)
    device: Any = None


class Surrogate(Protocol):
    """A trained operator surrogate.

    ``document`` is the checkpoint's JSON description (architecture, training, task,
    metrics, versions). ``pairs`` turns data-set arrays (as read by
    :func:`workbench.io.datasets.read_dataset`, leading axis = samples) into the
    surrogate's (inputs, targets); ``predict`` maps inputs to predicted targets of the
    same shape as the targets, at whatever grid resolution the inputs have.
    """

    document: Mapping[str, Any]

    def pairs(self, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        ...

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        ...
