import numpy as np

from pdewb_darcy.grf import darcy_coefficients, gaussian_random_field


def test_grf_mean_values_and_seed():
    B, n = 64, 64
    field = gaussian_random_field(B, n + 1, seed=7)
    assert field.shape == (B, n + 1, n + 1)
    # the constant KL mode is removed: every sample has (DCT) mean exactly zero
    assert np.abs(field.mean(axis=(1, 2))).max() < 1e-12
    std = field.std()
    assert 0.01 < std < 10
    a = darcy_coefficients(B, n, seed=7)
    assert set(np.unique(a)) == {3.0, 12.0}
    assert np.array_equal(a, darcy_coefficients(B, n, seed=7))
    assert not np.array_equal(a, darcy_coefficients(B, n, seed=8))
    assert np.array_equal(a, darcy_coefficients(B, n, seed=np.random.default_rng(7)))
    fraction = (a == 12.0).mean(axis=(1, 2))
    print(f"\nGRF std {std:.3f}; high-phase fraction mean {fraction.mean():.3f}, sample range "
          f"[{fraction.min():.2f}, {fraction.max():.2f}]")
    assert abs(fraction.mean() - 0.5) < 0.05
    assert fraction.std() > 0.01  # samples differ


def test_grf_correlation_length():
    """Neighbouring nodes are strongly correlated (smooth field, correlation length ~ 1/tau)."""
    field = gaussian_random_field(32, 65, seed=1)
    c = np.corrcoef(field[:, :, :-1].ravel(), field[:, :, 1:].ravel())[0, 1]
    assert c > 0.9
