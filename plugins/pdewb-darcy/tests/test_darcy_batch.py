import numpy as np
import pytest

from pdewb_darcy.batch import METHODS, greedy_order, run_batch, solve_batch
from pdewb_darcy.grf import darcy_coefficients


@pytest.fixture(scope="module")
def coefficients():
    return darcy_coefficients(6, 32, seed=3)


def test_methods_agree(coefficients):
    reference = solve_batch(coefficients, 1.0, "independent")
    assert reference.shape == coefficients.shape
    assert np.all(reference[:, 0, :] == 0) and np.all(reference[:, :, -1] == 0)
    scale = np.abs(reference).max()
    for method in METHODS:
        result = run_batch(coefficients, 1.0, method)
        diff = np.abs(result.solutions - reference).max() / scale
        print(f"\n{method:>22}: max rel diff {diff:.1e}, iterations {result.iterations.tolist()}")
        assert diff <= 1e-8


def test_recycled_variable_source_and_deflation(coefficients):
    f = lambda x, y: 1 + x * y  # noqa: E731
    reference = solve_batch(coefficients, f, "independent")
    for options in ({}, {"k": 0}, {"sort": False, "warm_start": False}, {"k": 4, "store": 10}):
        u = solve_batch(coefficients, f, "recycled", **options)
        assert np.abs(u - reference).max() <= 1e-8 * np.abs(reference).max()


def test_greedy_order_is_a_permutation(coefficients):
    order = greedy_order(coefficients)
    assert sorted(order.tolist()) == list(range(len(coefficients)))


def test_bad_input():
    with pytest.raises(ValueError):
        solve_batch(np.ones((2, 5, 6)), 1.0, "independent")
    with pytest.raises(ValueError):
        solve_batch(np.ones((2, 5, 5)), 1.0, "nope")
