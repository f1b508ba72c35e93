"""Data sets of Darcy flow for ``pdewb datagen``: (coefficient a, solution u) pairs.

Sample b uses only ``seeds[b]``: its coefficient is ``darcy_coefficients(1, n, seed)``,
exactly what ``darcy.fd`` computes with ``seed = seeds[b]`` (so one sample can be
re-run alone in the GUI or with ``pdewb run``). The solves use the fastest method the
batch study measured (:mod:`pdewb_darcy.batch`, ``benchmarks/bench_reference.py``):
CG with a geometric multigrid preconditioner over the whole batch (``multigrid``),
which is also what ``darcy.fd`` runs for ``linear_solver = 'auto'``. Its samples do not
interact (block-diagonal operators, per-sample scalars), so a sample's solution does not
depend on its batch, bit for bit (the batch-coupled methods ``shared-preconditioner`` and
``recycled`` would make it do so). ``linear_solver = 'direct'`` or ``'amg-cg'`` ask for
the tuned sparse LU or a new AMG hierarchy per sample instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from workbench.core.errors import ParamError
from workbench.core.memory import require_memory

from .batch import solve_batch
from .darcy import check_n, source_values
from .grf import ALPHA, HIGH, LOW, TAU, darcy_coefficients

#: Peak memory per grid node and sample of a batch (coefficients, solutions, the batched
#: multigrid): ``pdewb datagen --samples 32 --batch 32`` peaks 130 B per node and sample above
#: n = 128's at n = 256. Slightly under, so only a batch that surely does not fit is refused.
BATCH_BYTES_PER_NODE = 120


def batch_method(params: Mapping[str, Any]) -> str:
    """The :mod:`~pdewb_darcy.batch` method for the linear_solver parameter ('auto': multigrid)."""
    return {"direct": "direct", "amg-cg": "amg-per-sample"}.get(params.get("linear_solver", "auto"), "multigrid")


def _check(params: Mapping[str, Any], samples: int = 1) -> int:
    """n, once the recipe is the data-set one and ``samples`` samples of that n fit in memory."""
    if params.get("coefficient", "grf") != "grf":
        raise ParamError("darcy data sets need coefficient = 'grf' (other coefficients give identical samples)")
    n = check_n(params["n"])
    nodes = (n + 1) ** 2
    require_memory(max(samples, 1) * nodes * BATCH_BYTES_PER_NODE,
                   f"{'one darcy.fd sample' if samples <= 1 else f'a batch of {samples} darcy.fd samples'} "
                   f"with n = {n} ({nodes:,} nodes each)")
    return n


def generate_batch(params: Mapping[str, Any], seeds, device=None) -> dict[str, np.ndarray]:
    """{"a": (B, n+1, n+1), "u": (B, n+1, n+1)} float64, sample b from seeds[b] alone; ``device`` is unused."""
    seeds = np.asarray(seeds).reshape(-1)
    n = _check(params, len(seeds))
    a = np.empty((len(seeds), n + 1, n + 1))
    for b, seed in enumerate(seeds):
        a[b] = darcy_coefficients(1, n, int(seed))[0]
    u = solve_batch(a, source_values(params.get("source", "1"), n), method=batch_method(params))
    return {"a": a, "u": u}


def dataset_metadata(params: Mapping[str, Any]) -> dict:
    n = _check(params)
    return {
        "equation": "-div(a grad u) = f on (0, 1)^2, u = 0 on the boundary",
        "grid": {"kind": "nodes", "dims": 2, "n": n, "shape": [n + 1, n + 1], "domain": [[0, 1], [0, 1]],
                 "points": "x_i = i / n, y_j = j / n; arrays indexed [sample, j, i] = [sample, y, x]",
                 "boundary": "u = 0 (boundary nodes included)"},
        "time_dependent": False,
        "fields": {
            "a": {"role": "input", "location": "nodes", "meaning": "coefficient (permeability)",
                  "recipe": f"{HIGH:g} where a GRF (alpha {ALPHA:g}, tau {TAU:g}, Neumann KL) is >= 0, "
                            f"{LOW:g} elsewhere",
                  "range": [LOW, HIGH]},
            "u": {"role": "output", "location": "nodes", "meaning": "pressure / potential u"},
        },
        "source": str(params.get("source", "1")),
        "linear_solver": batch_method(params),
        "seed_use": "numpy.random.default_rng(seed) draws the KL coefficients of sample's GRF",
    }
