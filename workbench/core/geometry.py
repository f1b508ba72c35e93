"""Measures of simplices, vectorised over cells.

A k-simplex with corners x_0..x_k spans the edge matrix E = [x_1 - x_0, ..., x_k - x_0]
(k columns in R^d). Its measure is sqrt(det(E^T E)) / k!, which reduces to
|det E| / k! when k = d.
"""

from __future__ import annotations

import math

import numpy as np


def simplex_measures(points: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """Length, area or volume of each simplex.

    points: (n_points, d) coordinates; simplices: (n, k + 1) corner indices.
    """
    k = simplices.shape[1] - 1
    if k == 0:
        return np.ones(len(simplices))
    corners = points[simplices]
    edges = corners[:, 1:, :] - corners[:, :1, :]  # (n, k, d)
    if k == points.shape[1]:
        volume = np.abs(np.linalg.det(edges))
    else:
        gram = np.einsum("nid,njd->nij", edges, edges)
        volume = np.sqrt(np.clip(np.linalg.det(gram), 0.0, None))
    return volume / math.factorial(k)


def cell_diameters(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Largest distance between two corners of each cell (the usual mesh size h_K)."""
    xs = points[corners]  # (n, m, d)
    diffs = xs[:, :, None, :] - xs[:, None, :, :]
    return np.sqrt((diffs**2).sum(axis=-1)).max(axis=(1, 2))
