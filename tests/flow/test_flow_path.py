"""The OT conditional path (Lipman et al., 2023): endpoints, velocity, per-item time."""

import pytest
import torch

from voiceflow.flow import ot_path, sample_time

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
