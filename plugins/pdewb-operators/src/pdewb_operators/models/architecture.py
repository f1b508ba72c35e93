"""Architecture descriptions: JSON-serialisable dicts that name a model and all its sizes.

    {"kind": "fno", "dim": 2, "in_channels": 1, "out_channels": 1, "periodic": false,
     "modes": 12, "width": 32, "layers": 4, "padding": 0.1, "projection_width": 128}

Checkpoints store this dict as JSON and rebuild the model from it with
:func:`build_model`. The common keys (kind, dim, in_channels, out_channels, periodic)
are required; a missing hyperparameter takes its default (:func:`default_architecture`
fills all of them, so a checkpoint records every size); an unknown key or a bad value
raises ValueError naming the key.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from .deeponet import DeepONet
from .fno import FNO
from .mgno import MgNO

COMMON_KEYS = ("kind", "dim", "in_channels", "out_channels", "periodic")


@dataclass(frozen=True)
class Hyperparameter:
    """One size of an architecture: its type, range and default (which may depend on dim and periodic)."""

    name: str
    type: type  # int, float or bool
    default: Callable[[int, bool], object]
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""

    def check(self, value: object) -> object:
        """The value converted to self.type, or ValueError naming the key."""
        return check_value(self.name, value, self.type, self.minimum, self.maximum)


@dataclass(frozen=True)
class Architecture:
    """A model kind: its class (constructed with keyword arguments) and its hyperparameters."""

    kind: str
    model: type[torch.nn.Module]
    hyperparameters: tuple[Hyperparameter, ...]
    summary: str


def check_value(key: str, value: object, kind: type, minimum=None, maximum=None) -> object:
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"architecture key {key!r} must be true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"architecture key {key!r} must be a number, got {value!r}")  # noqa: TRY004 (one error type)
    if kind is int:
        if int(value) != value:
            raise ValueError(f"architecture key {key!r} must be an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"architecture key {key!r} must be finite, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"architecture key {key!r} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"architecture key {key!r} must be <= {maximum}, got {value!r}")
    return value


def by_dim(one: object, two: object) -> Callable[[int, bool], object]:
    return lambda dim, periodic: one if dim == 1 else two


def fixed(value: object) -> Callable[[int, bool], object]:
    return lambda dim, periodic: value


FNO_HYPERPARAMETERS = (
    Hyperparameter("modes", int, by_dim(16, 12), 1, help="Fourier modes kept per axis"),
    Hyperparameter("width", int, by_dim(64, 32), 1, help="channels of the Fourier layers"),
    # Counts of modules have maxima: a checkpoint's architecture is built (on the meta device) before its
    # tensors are compared with the file, and 10**8 layers would take that long. Sizes need none: the
    # comparison bounds them by the file.
    Hyperparameter("layers", int, fixed(4), 1, 64, help="number of Fourier layers"),
    Hyperparameter("padding", float, lambda dim, periodic: 0.0 if periodic else 0.1, 0.0, 1.0,
                   help="zero padding at the end of each axis, as a fraction of the domain"),
    Hyperparameter("projection_width", int, fixed(128), 1, help="hidden channels of the projection MLP"),
)

MGNO_HYPERPARAMETERS = (
    # 2D width 16 keeps Darcy training at CPU scale: benchmarks/bench_surrogates.py prints its time
    # (60 epochs on 1000 samples of 65 x 65) and its error (the 1.5% target); width 32 costs about
    # 4x the multiply-adds per V-cycle.
    Hyperparameter("width", int, by_dim(32, 16), 1, help="channels of the hidden layers"),
    Hyperparameter("layers", int, fixed(4), 1, 64, help="number of V-cycle layers, the last maps to out_channels"),
    # Coarsest grid of 4 to 8 points at the usual sizes: 1024 -> 8 in 1D, 65 -> 33 -> 17 -> 9 -> 5 in 2D.
    Hyperparameter("levels", int, by_dim(8, 5), 1, 12, help="grids in the V-cycle, the finest included"),
    Hyperparameter("pre_smoothing", int, fixed(1), 1, 16, help="smoothing iterations before restriction, per level"),
    Hyperparameter("post_smoothing", int, fixed(0), 0, 16, help="smoothing iterations after prolongation, per level"),
    Hyperparameter("coordinates", bool, lambda dim, periodic: not periodic,
                   help="append coordinate channels (off keeps a periodic MgNO translation-equivariant)"),
)

DEEPONET_HYPERPARAMETERS = (
    Hyperparameter("sensors", int, lambda dim, periodic: (128 if dim == 1 else 32) + (0 if periodic else 1), 2,
                   help="sensor points per axis the branch net sees"),
    Hyperparameter("latent", int, fixed(128), 1, help="p: basis functions per output channel"),
    Hyperparameter("branch_width", int, fixed(256), 1, help="hidden width of the branch MLP"),
    Hyperparameter("branch_depth", int, fixed(3), 1, 64, help="hidden layers of the branch MLP"),
    Hyperparameter("trunk_width", int, fixed(128), 1, help="hidden width of the trunk MLP"),
    Hyperparameter("trunk_depth", int, fixed(3), 1, 64, help="hidden layers of the trunk MLP"),
)

ARCHITECTURES: dict[str, Architecture] = {
    "fno": Architecture("fno", FNO, FNO_HYPERPARAMETERS, "Fourier neural operator (Li et al. 2021)"),
    "mgno": Architecture("mgno", MgNO, MGNO_HYPERPARAMETERS, "multigrid neural operator (He et al. 2024)"),
    "deeponet": Architecture("deeponet", DeepONet, DEEPONET_HYPERPARAMETERS, "deep operator network (Lu et al. 2021)"),
}


def check_common(architecture: Mapping[str, object]) -> dict:
    if not isinstance(architecture, Mapping):
        raise ValueError(f"architecture must be a mapping, got {type(architecture).__name__}")  # noqa: TRY004
    for key in COMMON_KEYS:
        if key not in architecture:
            raise ValueError(f"architecture key {key!r} is missing")
    kind = architecture["kind"]
    if kind not in ARCHITECTURES:
        raise ValueError(f"architecture key 'kind' must be one of {sorted(ARCHITECTURES)}, got {kind!r}")
    dim = check_value("dim", architecture["dim"], int)
    if dim not in (1, 2):
        raise ValueError(f"architecture key 'dim' must be 1 or 2, got {dim!r}")
    return {
        "kind": kind,
        "dim": dim,
        "in_channels": check_value("in_channels", architecture["in_channels"], int, 1),
        "out_channels": check_value("out_channels", architecture["out_channels"], int, 1),
        "periodic": check_value("periodic", architecture["periodic"], bool),
    }


def complete_architecture(architecture: Mapping[str, object]) -> dict:
    """A checked copy of architecture with every hyperparameter present (defaults filled in)."""
    result = check_common(architecture)
    spec = ARCHITECTURES[result["kind"]]
    known = set(COMMON_KEYS) | {h.name for h in spec.hyperparameters}
    for key in architecture:
        if key not in known:
            raise ValueError(f"architecture key {key!r} is unknown for kind {spec.kind!r}; "
                             f"known keys: {sorted(known)}")
    for h in spec.hyperparameters:
        value = architecture.get(h.name, h.default(result["dim"], result["periodic"]))
        result[h.name] = h.check(value)
    return result


def default_architecture(kind: str, dim: int, in_channels: int, out_channels: int, periodic: bool,
                         **hyperparameters: object) -> dict:
    """The complete architecture dict of a kind with default sizes, overridden by hyperparameters."""
    return complete_architecture({"kind": kind, "dim": dim, "in_channels": in_channels,
                                  "out_channels": out_channels, "periodic": periodic, **hyperparameters})


def build_model(architecture: Mapping[str, object]) -> torch.nn.Module:
    """The model described by architecture, with freshly initialised weights (seed torch to reproduce).

    The complete architecture dict is kept on the model as ``model.architecture``.
    """
    full = complete_architecture(architecture)
    model = ARCHITECTURES[full["kind"]].model(**{k: v for k, v in full.items() if k != "kind"})
    model.architecture = full
    return model


def parameter_count(model: torch.nn.Module) -> int:
    """Number of real parameters (a complex weight counts twice)."""
    return sum(p.numel() for p in model.parameters())
