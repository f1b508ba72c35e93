"""The PDEs INSR integrates: domain sampling, initial data, right-hand side, boundary terms, exact solution."""

from .advection import Advection1D
from .base import Box, NeuralPDE
from .elasticity import HyperelasticStretch
from .passive_scalar import PassiveScalar
from .taylor_green import TaylorGreen

PROBLEMS = {cls.key: cls for cls in (Advection1D, TaylorGreen, PassiveScalar, HyperelasticStretch)}

__all__ = ["PROBLEMS", "Advection1D", "Box", "HyperelasticStretch", "NeuralPDE", "PassiveScalar", "TaylorGreen"]
