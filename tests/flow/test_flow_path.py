"""Probability paths: the OT path (Lipman et al., 2023): endpoints, velocity, per-item time;
for both paths (ot, icfm), the conditional field is the time derivative of the path (finite
differences) and transports the path's Gaussian density (continuity equation); the config
selects the path."""

import math

import pytest
import torch

from voiceflow.config import load_config
from voiceflow.errors import VoiceflowError
from voiceflow.flow import IndependentPath, OTPath, make_path, ot_path, sample_time

SIGMA = 1e-5


def _pair(B=4, T=7, D=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(B, T, D, generator=g, dtype=torch.float64)
    x1 = torch.randn(B, T, D, generator=g, dtype=torch.float64)
    return x0, x1


def test_endpoints():
    x0, x1 = _pair()
    B = x0.shape[0]
    xt0, _ = ot_path(x0, x1, torch.zeros(B, dtype=torch.float64), SIGMA)
    xt1, _ = ot_path(x0, x1, torch.ones(B, dtype=torch.float64), SIGMA)
    torch.testing.assert_close(xt0, x0, rtol=0, atol=0)
    torch.testing.assert_close(xt1, x1 + SIGMA * x0, rtol=0, atol=1e-12)
    assert (xt1 - x1).abs().max() <= SIGMA * x0.abs().max() + 1e-12


def test_velocity_is_time_derivative():
    x0, x1 = _pair()
    B, eps = x0.shape[0], 1e-6
    t = torch.tensor([0.1, 0.4, 0.5, 0.93], dtype=torch.float64)
    _, u = ot_path(x0, x1, t, SIGMA)
    plus, _ = ot_path(x0, x1, t + eps, SIGMA)
    minus, _ = ot_path(x0, x1, t - eps, SIGMA)
    torch.testing.assert_close(u, (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(u, x1 - (1 - SIGMA) * x0)
    assert u.shape == (B, 7, 3)


def test_each_item_uses_its_own_time():
    x0, x1 = _pair()
    t = torch.tensor([0.0, 0.25, 0.5, 1.0], dtype=torch.float64)
    xt, _ = ot_path(x0, x1, t, SIGMA)
    for b in range(4):
        one, _ = ot_path(x0[b : b + 1], x1[b : b + 1], float(t[b]), SIGMA)
        torch.testing.assert_close(xt[b : b + 1], one)
    torch.testing.assert_close(xt[2], (1 - (1 - SIGMA) * 0.5) * x0[2] + 0.5 * x1[2])


def test_bad_shapes_are_errors():
    x0, x1 = _pair()
    with pytest.raises(ValueError):
        ot_path(x0, x1, torch.zeros(3), SIGMA)
    with pytest.raises(ValueError):
        ot_path(x0, x1[:, :5], torch.zeros(4), SIGMA)


def test_sample_time():
    t = sample_time(20000, generator=torch.Generator().manual_seed(1))
    assert t.shape == (20000,) and t.dtype == torch.float32
    assert t.min() >= 0 and t.max() < 1
    assert abs(t.mean().item() - 0.5) < 0.01
    assert abs((t < 0.25).float().mean().item() - 0.25) < 0.015
    again = sample_time(20000, generator=torch.Generator().manual_seed(1))
    assert torch.equal(t, again)
    assert not torch.equal(t, sample_time(20000, generator=torch.Generator().manual_seed(2)))
    assert sample_time(3, device="cpu", dtype=torch.float64).dtype == torch.float64





ALL_PATHS = [OTPath(1e-5), OTPath(0.05), IndependentPath(0.1), IndependentPath(0.0)]


def _draw(seed=0, shape=(4, 6, 3)):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(3)]  # x0, x1, eps


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: f"{p.name}")
def test_field_is_the_time_derivative_of_the_path(path):
    x0, x1, eps = _draw()
    t = torch.tensor([0.05, 0.3, 0.61, 0.9], dtype=torch.float64)
    h = 1e-6
    x_t, u_t = path.sample(x0, x1, t, eps)
    plus, _ = path.sample(x0, x1, t + h, eps)
    minus, _ = path.sample(x0, x1, t - h, eps)
    derivative = (plus - minus) / (2 * h)
    torch.testing.assert_close(u_t, derivative, rtol=1e-6, atol=1e-6)
    # the field as a function of the point, evaluated on the path, is that derivative too
    torch.testing.assert_close(path.field(x_t, t, x0, x1), derivative, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: f"{p.name}")
def test_sample_is_mean_plus_std_times_noise(path):
    x0, x1, eps = _draw(1)
    t = torch.tensor([0.0, 0.2, 0.7, 1.0], dtype=torch.float64)
    x_t, _ = path.sample(x0, x1, t, eps)
    mu, std = path.mean_std(x0, x1, t)
    noise = eps if path.needs_eps else x0
    torch.testing.assert_close(x_t, mu + std * noise, rtol=0, atol=1e-12)


@pytest.mark.parametrize("path", [OTPath(0.05), IndependentPath(0.3)], ids=lambda p: p.name)
def test_field_transports_the_conditional_density(path):
    # 1-D continuity equation d p / dt + d (p u) / dx = 0 for p_t(x | z) = N(mu_t, sigma_t^2),
    # by central differences at points away from the mean
    x0, x1 = torch.tensor([[-0.4]], dtype=torch.float64), torch.tensor([[1.3]], dtype=torch.float64)

    def density(x, t):
        mu, std = path.mean_std(x0, x1, torch.tensor([t], dtype=torch.float64))
        return torch.exp(-0.5 * ((x - mu) / std) ** 2) / (std * math.sqrt(2 * math.pi))

    def flux(x, t):
        return density(x, t) * path.field(x, torch.tensor([t], dtype=torch.float64), x0, x1)

    h = 1e-5
    for t in (0.2, 0.5, 0.8):
        for x in (-1.0, 0.1, 0.9, 2.0):
            x_ = torch.tensor([[x]], dtype=torch.float64)
            dp_dt = (density(x_, t + h) - density(x_, t - h)) / (2 * h)
            dflux_dx = (flux(x_ + h, t) - flux(x_ - h, t)) / (2 * h)
            assert abs(float(dp_dt + dflux_dx)) < 1e-6 * max(1.0, abs(float(dp_dt)))


def test_ot_endpoints_and_icfm_needs_eps():
    x0, x1, eps = _draw(2)
    ones, zeros = torch.ones(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    ot = OTPath(1e-5)
    assert torch.equal(ot.sample(x0, x1, zeros)[0], x0)
    torch.testing.assert_close(ot.sample(x0, x1, ones)[0], x1 + 1e-5 * x0)
    icfm = IndependentPath(0.1)
    torch.testing.assert_close(icfm.sample(x0, x1, ones, eps)[0], x1 + 0.1 * eps)
    with pytest.raises(ValueError, match="eps"):
        icfm.sample(x0, x1, zeros)
    with pytest.raises(ValueError):
        ot.sample(x0, x1[:, :2], zeros)


def test_config_selects_the_path():
    cfg = load_config(None, ["flow.path=icfm", "flow.icfm_sigma=0.2"])
    path = make_path(cfg.flow)
    assert isinstance(path, IndependentPath) and path.sigma == 0.2
    assert isinstance(make_path(load_config(None).flow), OTPath)
    with pytest.raises(VoiceflowError, match="flow.path.*ot, icfm"):
        load_config(None, ["flow.path=rectified"])
    with pytest.raises(ValueError, match="unknown probability path"):
        make_path("vp")