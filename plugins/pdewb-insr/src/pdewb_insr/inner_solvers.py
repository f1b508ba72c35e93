"""Inner solvers: minimise one stage's loss over the trainable weights, from a warm start.

Each solver's ``minimize(loss, theta0)`` is a generator: it yields the loss after every
inner iteration (so the job can report it and honour cancel in between) and returns an
:class:`InnerResult`. Stop reasons: "tolerance" (L <= tol), "plateau" (no progress),
"iteration cap".

* :class:`AdamSchedule` - the INSR paper's optimiser: Adam, learning rate cut by 10 after
  ``patience`` iterations without a 1e-4 relative improvement, stop once it falls below
  ``min_lr``.
* :class:`Lbfgs` - torch's L-BFGS with a strong-Wolfe line search, one iteration per yield.
* :class:`GaussNewton` - Levenberg-Marquardt on the stacked residual R(theta) (||R||^2 = L):

      (J^T J + lambda I) delta = -J^T R,      J = dR/dtheta,

  solved in the smaller of the parameter space and the residual space (push-through
  identity delta = -J^T (J J^T + lambda I)^-1 R). lambda shrinks by 3 after an accepted
  step, grows by 3 after a rejected one. This is the least-squares step behind
  natural-gradient / TENG-type methods (Chen, Yang, Chen, ICML 2024).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from dataclasses import dataclass

import torch

from .losses import StageLoss

Iterations = Generator[float, None, "InnerResult"]


@dataclass
class InnerResult:
    theta: torch.Tensor
    iterations: int
    stop_reason: str
    loss: float


@contextlib.contextmanager
def autograd_on():
    """Autograd enabled, whatever the caller's mode (the host runs jobs under inference_mode)."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


@dataclass
class AdamSchedule:
    lr: float = 1e-4
    max_iterations: int = 2000
    tolerance: float = 1e-9
    patience: int = 100
    factor: float = 0.1
    min_lr: float = 1e-7

    def minimize(self, loss: StageLoss, theta0: torch.Tensor) -> Iterations:
        theta = theta0.detach().clone().requires_grad_(True)
        optimiser = torch.optim.Adam([theta], lr=self.lr)
        lr, best, since_best, value = self.lr, float("inf"), 0, float("inf")
        for iteration in range(1, self.max_iterations + 1):
            optimiser.zero_grad()
            objective = loss(theta)
            objective.backward()
            value = float(objective.detach())
            if value <= self.tolerance:
                return InnerResult(theta.detach(), iteration, "tolerance", value)
            optimiser.step()
            best, since_best = (value, 0) if value < best * (1 - 1e-4) else (best, since_best + 1)
            if since_best >= self.patience:
                lr, since_best = lr * self.factor, 0
                if lr < self.min_lr:
                    return InnerResult(theta.detach(), iteration, "plateau", value)
                for group in optimiser.param_groups:
                    group["lr"] = lr
            yield value
        return InnerResult(theta.detach(), self.max_iterations, "iteration cap", float(loss(theta).detach()))


@dataclass
class Lbfgs:
    max_iterations: int = 200
    tolerance: float = 1e-9
    history: int = 50

    def minimize(self, loss: StageLoss, theta0: torch.Tensor) -> Iterations:
        theta = theta0.detach().clone().requires_grad_(True)
        optimiser = torch.optim.LBFGS([theta], lr=1.0, max_iter=1, history_size=self.history,
                                      max_eval=25, line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            objective = loss(theta)
            objective.backward()
            return objective

        previous = float("inf")
        for iteration in range(1, self.max_iterations + 1):
            optimiser.step(closure)
            value = float(loss(theta).detach())
            if value <= self.tolerance:
                return InnerResult(theta.detach(), iteration, "tolerance", value)
            if value >= previous * (1 - 1e-8):
                return InnerResult(theta.detach(), iteration, "plateau", value)
            previous = value
            yield value
        return InnerResult(theta.detach(), self.max_iterations, "iteration cap", previous)


@dataclass
class GaussNewton:
    max_iterations: int = 50
    tolerance: float = 1e-9
    damping: float = 1e-6
    max_damping: float = 1e8

    def minimize(self, loss: StageLoss, theta0: torch.Tensor) -> Iterations:
        if not isinstance(loss, StageLoss):
            raise TypeError("Gauss-Newton minimises least-squares residuals; this stage's loss is an energy "
                            "(use L-BFGS or Adam)")
        theta, damping = theta0.detach().clone(), self.damping
        residual = loss.stacked(theta).detach()
        value = float(residual @ residual)
        for iteration in range(1, self.max_iterations + 1):
            if value <= self.tolerance:
                return InnerResult(theta, iteration - 1, "tolerance", value)
            jacobian = loss.jacobian(theta).detach()
            while True:
                candidate = theta + levenberg_marquardt_step(jacobian, residual, damping)
                trial = loss.stacked(candidate).detach()
                trial_value = float(trial @ trial)
                if trial_value < value:
                    theta, residual, value, damping = candidate, trial, trial_value, max(damping / 3, 1e-12)
                    break
                damping *= 3
                if damping > self.max_damping:
                    return InnerResult(theta, iteration, "plateau", value)
            yield value
        reason = "tolerance" if value <= self.tolerance else "iteration cap"
        return InnerResult(theta, self.max_iterations, reason, value)


def levenberg_marquardt_step(jacobian: torch.Tensor, residual: torch.Tensor, damping: float) -> torch.Tensor:
    """delta = -(J^T J + lambda I)^-1 J^T R, in whichever of the two spaces is smaller.

    lambda is relative to the mean diagonal of the Gram matrix, so it is scale-free.
    """
    rows, cols = jacobian.shape
    if rows < cols:
        gram = jacobian @ jacobian.T
        gram.diagonal().add_(damping * gram.diagonal().mean() + 1e-300)
        return -jacobian.T @ torch.linalg.solve(gram, residual)
    gram = jacobian.T @ jacobian
    gram.diagonal().add_(damping * gram.diagonal().mean() + 1e-300)
    return -torch.linalg.solve(gram, jacobian.T @ residual)


INNER_SOLVERS = {"adam": AdamSchedule, "lbfgs": Lbfgs, "gauss_newton": GaussNewton}


def make_inner_solver(name: str, max_iterations: int | None = None, tolerance: float | None = None):
    """An inner solver by key, with its own defaults unless overridden."""
    options = {k: v for k, v in (("max_iterations", max_iterations), ("tolerance", tolerance)) if v is not None}
    return INNER_SOLVERS[name](**options)
