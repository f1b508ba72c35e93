"""Neural-operator architectures: FNO, MgNO and DeepONet, built from JSON-serialisable dicts.

    model = build_model(default_architecture("fno", dim=2, in_channels=1, out_channels=1, periodic=False))
    u = model(a)        # a (B, in_channels, *grid) -> u (B, out_channels, *grid), any grid size

Grid and coordinate conventions: :mod:`.grids`.
"""

from .architecture import (
    ARCHITECTURES,
    COMMON_KEYS,
    Architecture,
    Hyperparameter,
    build_model,
    complete_architecture,
    default_architecture,
    parameter_count,
)
from .deeponet import DeepONet
from .fno import FNO
from .mgno import MgNO

__all__ = [
    "ARCHITECTURES",
    "COMMON_KEYS",
    "FNO",
    "Architecture",
    "DeepONet",
    "Hyperparameter",
    "MgNO",
    "build_model",
    "complete_architecture",
    "default_architecture",
    "parameter_count",
]
