"""Autoregressive roll-out of a time-stepping surrogate (Navier-Stokes): error growth over steps.

A surrogate trained on ``w[t-h..t-1] -> w[t]`` pairs (``data.py``) answers one step
from true frames. In use it must feed its own predictions back: starting from the
first ``h`` frames of a trajectory, step k predicts frame ``h + k - 1`` from the last
``h`` frames, true or predicted. The errors compound; :func:`rollout` measures by how
much, as in the FNO paper's Navier-Stokes evaluation (Li et al., ICLR 2021, 5.3).

Every step is one batched ``predict`` call over the samples (``batch`` samples per
call). Step 1 sees exactly the inputs of each trajectory's first one-step pair, so its
error is that pair's one-step error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.core.comparison import relative_l2_per_sample


@dataclass(frozen=True)
class RolloutResult:
    """Predicted frames and their errors against the reference frames.

    - ``predictions`` (N, S, *grid): frames ``history .. history + S - 1`` as predicted;
    - ``errors`` (N, S): relative L2 of every sample at every step (step k = column k - 1);
    - ``history``: frames given at the start; ``steps`` = S.
    """

    predictions: np.ndarray
    errors: np.ndarray
    history: int

    @property
    def steps(self) -> int:
        return self.errors.shape[1]

    @property
    def mean_errors(self) -> np.ndarray:
        """(S,) relative L2 per step, mean over the samples."""
        return self.errors.mean(axis=0)

    @property
    def frames(self) -> np.ndarray:
        """(S,) index in the trajectory of the frame predicted at each step."""
        return np.arange(self.history, self.history + self.steps)


def rollout(surrogate: Any, trajectories: Any, history: int, steps: int | None = None,
            batch: int = 64) -> RolloutResult:
    """Roll ``surrogate`` out from the first ``history`` frames of each trajectory.

    ``surrogate`` has ``predict(inputs (B, history, *grid)) -> (B, 1, *grid)`` on numpy
    arrays (or is that function). ``trajectories`` (N, T, *grid), numpy or torch;
    ``steps`` defaults to all remaining frames, T - history, and may not exceed them.
    """
    predict: Callable[[np.ndarray], np.ndarray] = getattr(surrogate, "predict", surrogate)
    reference = _numpy(trajectories)
    history, batch = int(history), max(1, int(batch))
    if reference.ndim < 3:
        raise ValueError(f"trajectories must be (samples, frames, *grid), got shape {reference.shape}")
    samples, frames = reference.shape[:2]
    available = frames - history
    if history < 1 or available < 1:
        raise ValueError(f"a roll-out with history {history} needs more than {history} frames; "
                         f"the trajectories have {frames}")
    steps = available if steps is None else int(steps)
    if not 1 <= steps <= available:
        raise ValueError(f"steps must be between 1 and {available} (frames after the history), got {steps}")
    grid = reference.shape[2:]
    window = reference[:, :history].copy()  # (N, h, *grid): the last h frames, true then predicted
    predictions = np.empty((samples, steps, *grid), dtype=np.float64)
    for step in range(steps):
        predicted = np.concatenate([np.asarray(predict(window[start:start + batch]), dtype=np.float64)
                                    for start in range(0, samples, batch)])
        if predicted.shape != (samples, 1, *grid):
            raise ValueError(f"the surrogate predicted shape {predicted.shape} for inputs {window.shape}; "
                             f"a roll-out needs one frame per sample, {(samples, 1, *grid)}")
        predictions[:, step] = predicted[:, 0]
        window = np.concatenate([window[:, 1:], predicted], axis=1)
    errors = np.stack([relative_l2_per_sample(predictions[:, step, None], reference[:, history + step, None])
                       for step in range(steps)], axis=1)
    return RolloutResult(predictions=predictions, errors=errors, history=history)


def _numpy(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor, without importing torch here
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)
