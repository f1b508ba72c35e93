"""Exp3 over a grid of relaxation parameters, with the iteration count as the only feedback.

This is the setting of "Learning to Relax" (Khodak et al., after Auer et al.'s Exp3):
each round draws an arm (an omega) with probability p_a, pays its normalised cost
(iterations / cap, in [0, 1]) and updates only that arm with the importance-weighted
estimate cost / p_a, so no extra solves are spent on the arms not played. Over T
rounds the total cost approaches that of the best fixed omega on the grid.
"""

from __future__ import annotations

import math

import numpy as np


class Exp3:
    """Exponential weights with importance-weighted cost estimates."""

    def __init__(self, arms: np.ndarray, rounds: int, rng: np.random.Generator) -> None:
        self.arms = np.asarray(arms, dtype=float)
        k = len(self.arms)
        # The learning rate that bounds the expected regret by 2 sqrt(T K ln K) for costs in [0, 1].
        self.rate = math.sqrt(2 * math.log(k) / (max(rounds, 1) * k))
        self.log_weights = np.zeros(k)
        self.rng = rng

    @property
    def probabilities(self) -> np.ndarray:
        shifted = np.exp(self.log_weights - self.log_weights.max())
        return shifted / shifted.sum()

    def choose(self) -> int:
        return int(self.rng.choice(len(self.arms), p=self.probabilities))

    def update(self, arm: int, cost: float) -> None:
        """``cost`` in [0, 1]; only the arm played learns, by cost / probability."""
        estimate = min(max(cost, 0.0), 1.0) / self.probabilities[arm]
        self.log_weights[arm] -= self.rate * estimate
