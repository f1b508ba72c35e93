"""SIREN: a multilayer perceptron with sine activations (Sitzmann et al., NeurIPS 2020).

    h_0 = x_hat = (x - centre) / half_width          (domain mapped to [-1, 1]^d)
    h_l = sin(omega_0 (W_l h_{l-1} + b_l)),  l = 1..depth
    f(x) = W_out h_depth + b_out

Initialisation (Sitzmann et al., Sec. 3.2): first layer W ~ U(-1/d, 1/d); hidden layers
W ~ U(-sqrt(6/n)/omega_0, sqrt(6/n)/omega_0), so that pre-activations stay unit-scale
whatever the depth. INSR (Chen et al. 2023) uses omega_0 = 30.

The network is a pure function of one flat parameter vector ``theta``: inner solvers
optimise that single tensor, and Gauss-Newton takes its Jacobian with ``torch.func``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Siren:
    """Architecture of a SIREN; call ``siren(theta, x)`` with x of shape (..., in_features)."""

    in_features: int
    out_features: int
    width: int = 32
    depth: int = 3
    omega_0: float = 30.0
    centre: tuple[float, ...] = (0.0,)
    half_width: tuple[float, ...] = (1.0,)

    def layer_shapes(self) -> list[tuple[int, int]]:
        """(fan_out, fan_in) of every linear map, output layer last."""
        sizes = [self.in_features] + [self.width] * self.depth + [self.out_features]
        return [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]

    @property
    def n_params(self) -> int:
        return sum(o * i + o for o, i in self.layer_shapes())

    def n_bytes(self, dtype: torch.dtype = torch.float64) -> int:
        return self.n_params * torch.empty((), dtype=dtype).element_size()

    def init(self, generator: torch.Generator, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Sitzmann's initialisation, flattened; biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        parts = []
        for index, (fan_out, fan_in) in enumerate(self.layer_shapes()):
            bound = 1.0 / fan_in if index == 0 else math.sqrt(6.0 / fan_in) / self.omega_0
            parts.append(_uniform((fan_out, fan_in), bound, generator, dtype).reshape(-1))
            parts.append(_uniform((fan_out,), 1.0 / math.sqrt(fan_in), generator, dtype))
        return torch.cat(parts)

    def unflatten(self, theta: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        layers, offset = [], 0
        for fan_out, fan_in in self.layer_shapes():
            weight = theta[offset: offset + fan_out * fan_in].reshape(fan_out, fan_in)
            offset += fan_out * fan_in
            layers.append((weight, theta[offset: offset + fan_out]))
            offset += fan_out
        return layers

    def __call__(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        centre = x.new_tensor(self.centre)
        h = (x - centre) / x.new_tensor(self.half_width)
        *hidden, (w_out, b_out) = self.unflatten(theta)
        for weight, bias in hidden:
            h = torch.sin(self.omega_0 * (h @ weight.T + bias))
        return h @ w_out.T + b_out


def _uniform(shape, bound: float, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, dtype=dtype) * 2.0 - 1.0) * bound
