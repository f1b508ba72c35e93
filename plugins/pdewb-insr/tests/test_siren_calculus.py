import math

import torch
from pdewb_insr.calculus import divergence, gradient, laplacian
from pdewb_insr.siren import Siren


def test_parameter_count_and_bytes():
    net = Siren(2, 3, width=8, depth=2)
    assert net.n_params == (2 * 8 + 8) + (8 * 8 + 8) + (8 * 3 + 3)
    assert net.n_bytes(torch.float32) == 4 * net.n_params
    theta = net.init(torch.Generator().manual_seed(0))
    assert theta.shape == (net.n_params,)
    assert net(theta, torch.zeros(5, 2, dtype=torch.float64)).shape == (5, 3)


def test_hidden_initialisation_keeps_unit_preactivations():
    """Sitzmann's init: omega_0 W h has variance ~ 2 (uniform bound sqrt(6/n)), whatever the width."""
    net = Siren(1, 1, width=256, depth=2)
    layers = net.unflatten(net.init(torch.Generator().manual_seed(1)))
    bound = math.sqrt(6 / 256) / 30
    assert float(layers[1][0].abs().max()) <= bound
    h = torch.sin(30 * (torch.linspace(-1, 1, 2000, dtype=torch.float64)[:, None] @ layers[0][0].T + layers[0][1]))
    pre = 30 * (h @ layers[1][0].T)
    assert 1.0 < float(pre.var()) < 3.0


def test_autograd_operators_on_known_fields():
    x = torch.rand(20, 2, dtype=torch.float64)

    def field(p):
        return torch.stack([torch.sin(p[0]) * p[1], p[0] ** 2 * p[1] ** 3])

    g = gradient(field, x)
    assert torch.allclose(g[:, 0, 0], torch.cos(x[:, 0]) * x[:, 1])
    assert torch.allclose(divergence(field, x), torch.cos(x[:, 0]) * x[:, 1] + 3 * x[:, 0] ** 2 * x[:, 1] ** 2)
    lap = laplacian(field, x)
    assert torch.allclose(lap[:, 0], -torch.sin(x[:, 0]) * x[:, 1])
    assert torch.allclose(lap[:, 1], 2 * x[:, 1] ** 3 + 6 * x[:, 0] ** 2 * x[:, 1])
