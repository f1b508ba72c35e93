import math

import numpy as np
import pytest

from workbench.core.comparison import break_even_queries, relative_l2_per_sample, speedup, summarize_errors
from workbench.core.finite import NonFiniteError


def test_error_summary_statistics():
    summary = summarize_errors(np.arange(1, 101) / 100.0)
    assert summary.samples == 100
    assert summary.mean == pytest.approx(0.505)
    assert summary.median == pytest.approx(0.505)
    assert summary.p95 == pytest.approx(0.9505)  # numpy's linear interpolation between order statistics
    assert summary.max == 1.0
    with pytest.raises(ValueError):
        summarize_errors(np.array([]))


def test_relative_l2_per_sample_is_scale_free_and_per_sample():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(3, 8, 8))
    estimate = reference * np.array([1.0, 1.1, 0.5])[:, None, None]
    assert relative_l2_per_sample(estimate, reference) == pytest.approx([0.0, 0.1, 0.5])
    assert relative_l2_per_sample(1e6 * estimate, 1e6 * reference) == pytest.approx([0.0, 0.1, 0.5])
    zeros = np.zeros((2, 4))
    assert relative_l2_per_sample(zeros + np.array([[0.0], [1.0]]), zeros).tolist() == [0.0, math.inf]
    with pytest.raises(ValueError, match="shapes differ"):
        relative_l2_per_sample(np.zeros((2, 4)), np.zeros((2, 5)))


def test_speedup_and_break_even():
    assert speedup(1.0, 0.01) == pytest.approx(100.0)
    # 990 s of data + training, each query saves 0.99 s: pays off after 1000 queries.
    assert break_even_queries(990.0, 1.0, 0.01) == 1000
    assert break_even_queries(990.5, 1.0, 0.01) == 1001  # rounded up: a partial query does not pay
    assert break_even_queries(10.0, 0.01, 0.02) == math.inf  # slower surrogate never breaks even


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_non_finite_target_or_prediction_is_never_scored_zero(bad):
    """The probe: a NaN in a data set's target gave relative L2 0.0 ("perfect")."""
    reference = np.ones((3, 4))
    estimate = reference.copy()
    spoiled = reference.copy()
    spoiled[1, 2] = bad
    for errors in (relative_l2_per_sample(estimate, spoiled), relative_l2_per_sample(spoiled, reference)):
        assert errors[0] == 0.0 and errors[2] == 0.0
        assert not np.isfinite(errors[1])
    assert math.isnan(relative_l2_per_sample(estimate, spoiled)[1])


def test_a_nan_in_a_zero_reference_is_not_a_match():
    reference = np.zeros((1, 4))
    reference[0, 0] = math.nan
    assert math.isnan(relative_l2_per_sample(np.zeros((1, 4)), reference)[0])


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_summary_refuses_non_finite_errors_and_names_the_samples(bad):
    errors = np.array([0.1, bad, 0.2, bad])
    with pytest.raises(NonFiniteError, match=r"for 2 of 4 samples \(1, 3\)") as info:
        summarize_errors(errors, "the surrogate's relative L2 error")
    assert str(info.value).startswith("the surrogate's relative L2 error is NaN or infinite")
