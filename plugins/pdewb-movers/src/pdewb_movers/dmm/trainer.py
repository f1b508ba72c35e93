"""The contribution's ``trainer``: ``train_job(request) -> Job`` that trains DMM and writes the checkpoint.

DMM is data-free, so ``request.dataset`` is not read: the fields come from the seeded
generator (:mod:`.fronts`). ``request.params`` may set ``epochs``, ``training_fields``,
``learning_rate`` and ``seed`` (defaults: :class:`.training.DMMTrainConfig`) and the
monitor parameters; the checkpoint is written to ``request.checkpoint`` when the
training ends (also when it is cancelled after an epoch: the best weights so far).
"""

from __future__ import annotations

from collections.abc import Iterator

from workbench.core.events import Event, LogMessage
from workbench.core.monitors import MonitorSpec

from .checkpoint import checkpoint_document, save_checkpoint
from .training import DMMTrainConfig, DMMTrainState, build_network, train_job

SETTINGS = ("epochs", "training_fields", "learning_rate", "seed")


def train_request_job(request) -> Iterator[Event]:
    params = dict(request.params)
    config = DMMTrainConfig(**{name: params[name] for name in SETTINGS if name in params},
                            monitor=MonitorSpec.from_params(params))
    network, state = build_network(config), DMMTrainState()
    try:
        yield from train_job(network, config, state)
    finally:
        if state.best_state is not None:
            training = {"config": config.to_dict(), "results": state.results(), "command": "train_request_job"}
            path = save_checkpoint(request.checkpoint, network,
                                   checkpoint_document(network, config.monitor, training, list(config.grids)))
            if state.stop_reason == "completed":
                yield LogMessage(f"wrote {path}")
