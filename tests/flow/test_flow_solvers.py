"""Fixed-step solvers: exact on analytic fields, identical to torchdiffeq, NFE accounting."""

import math

import pytest
import torch
import torchdiffeq

from voiceflow import flow
from voiceflow.flow import nfe_of, odeint, time_grid

METHODS = ["euler", "midpoint"]


def nonlinear(t, y):
    return torch.sin(3 * y) * t - 0.5 * y * y + torch.cos(2 * t)


@pytest.mark.parametrize("method", METHODS)
def test_constant_velocity_lands_at_y0_plus_v(method):
    y0 = torch.randn(2, 5, 3, dtype=torch.float64)
    v = torch.randn(2, 5, 3, dtype=torch.float64)
    out = odeint(lambda t, y: v, y0, time_grid(8, method, dtype=torch.float64), method)
    assert out.shape == (8 // nfe_of(method, 1) + 1, 2, 5, 3)
    assert torch.equal(out[0], y0)
    torch.testing.assert_close(out[-1], y0 + v, rtol=0, atol=1e-12)


def test_linear_in_time_field():
    # dy/dt = 2t, y(0) = 0: exact y = t^2. Midpoint is exact; Euler's state after k steps of
    # size h is h^2 k (k - 1) = t_k^2 - h t_k, an error of exactly -h t_k.
    y0 = torch.zeros(4, dtype=torch.float64)
    field = lambda t, y: 2 * t * torch.ones_like(y)  # noqa: E731
    for n in (1, 4, 10):
        t = torch.linspace(0, 1, n + 1, dtype=torch.float64)
        exact = (t**2).unsqueeze(1).expand(-1, 4)
        torch.testing.assert_close(odeint(field, y0, t, "midpoint"), exact, rtol=0, atol=1e-12)
        euler = odeint(field, y0, t, "euler")
        torch.testing.assert_close(euler - exact, (-t / n).unsqueeze(1).expand(-1, 4),
                                   rtol=0, atol=1e-12)
    assert abs(odeint(field, y0, t, "euler")[-1, 0].item() - (1 - 1 / 10)) < 1e-12


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("grid", [
    torch.linspace(0, 1, 9),
    torch.tensor([0.0, 0.05, 0.1, 0.3, 0.35, 0.7, 1.0]),
    torch.tensor([1.0, 0.8, 0.5, 0.45, 0.0]),  # decreasing
])
@pytest.mark.parametrize("field", ["linear", "nonlinear"], ids=str)
def test_equals_torchdiffeq(method, grid, field):
    func = nonlinear if field == "nonlinear" else (lambda t, y: -1.3 * y + t)
    y0 = torch.randn(3, 4, 2, generator=torch.Generator().manual_seed(0))
    for dtype in (torch.float32, torch.float64):
        ours = odeint(func, y0.to(dtype), grid.to(dtype), method=method)
        ref = torchdiffeq.odeint(func, y0.to(dtype), grid.to(dtype), method=method)
        assert ours.shape == ref.shape == (len(grid), 3, 4, 2)
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_nfe_and_time_argument(method):
    calls = []

    def func(t, y):
        assert isinstance(t, torch.Tensor) and t.dim() == 0
        calls.append(float(t))
        return y

    for nfe in (2, 8, 32):
        calls.clear()
        t = time_grid(nfe, method)
        odeint(func, torch.ones(3), t, method)
        assert len(calls) == nfe == nfe_of(method, len(t) - 1)
    if method == "midpoint":
        assert calls[:2] == pytest.approx([0.0, 1 / 32])
        with pytest.raises(ValueError):
            time_grid(7, "midpoint")
    assert time_grid(4, method)[0] == 0 and time_grid(4, method)[-1] == 1


def test_unknown_method_lists_methods():
    with pytest.raises(ValueError, match="euler.*midpoint"):
        odeint(lambda t, y: y, torch.ones(2), torch.linspace(0, 1, 3), method="rk4")
    with pytest.raises(ValueError, match="euler"):
        time_grid(4, "dopri5")
    with pytest.raises(ValueError):
        time_grid(0, "euler")


def test_dtypes_list_grid_final_only_and_gradient():
    y0 = torch.randn(2, 3).bfloat16()
    out = odeint(lambda t, y: -y, y0, torch.linspace(0, 1, 5), "midpoint")
    assert out.dtype == torch.bfloat16 and out.shape == (5, 2, 3)
    y64 = torch.randn(2, 3, dtype=torch.float64)
    full = odeint(nonlinear, y64, [0.0, 0.25, 0.5, 1.0], "euler")
    assert full.dtype == torch.float64
    last = odeint(nonlinear, y64, [0.0, 0.25, 0.5, 1.0], "euler", final_only=True)
    assert torch.equal(last, full[-1])
    # d y(1) / d y0 for dy/dt = k y with N Euler steps is (1 + k/N)^N
    y = torch.ones(3, dtype=torch.float64, requires_grad=True)
    odeint(lambda t, y: 0.7 * y, y, time_grid(10, dtype=torch.float64))[-1].sum().backward()
    torch.testing.assert_close(y.grad, torch.full((3,), (1 + 0.07) ** 10, dtype=torch.float64))
    assert math.isclose(float(odeint(lambda t, y: y, torch.ones(1), torch.tensor([0.3]))[0]), 1.0)


def test_package_level_odeint():
    y0 = torch.zeros(2)
    out = flow.odeint(lambda t, y: torch.ones_like(y), y0, torch.linspace(0, 1, 4), method="euler")
    torch.testing.assert_close(out[-1], torch.ones(2))


# --------------------------------------------------------------------- stochastic Euler, sway

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from analytic import gaussian_marginal_std, gaussian_velocity  # noqa: E402


def test_stochastic_euler_with_zero_noise_is_euler():
    y0 = torch.randn(3, 4, dtype=torch.float64)
    grid = time_grid(8, "stochastic_euler", dtype=torch.float64)
    a = odeint(nonlinear, y0, grid, "stochastic_euler", noise_scale=0.0)
    b = odeint(nonlinear, y0, grid, "euler")
    assert torch.equal(a, b)


@pytest.mark.parametrize("method,noise_scale,schedule", [
    ("euler", 0.0, "uniform"), ("midpoint", 0.0, "sway"), ("stochastic_euler", 1.0, "uniform"),
    ("stochastic_euler", 3.0, "sway")])
def test_samplers_reach_the_gaussian_data_distribution(method, noise_scale, schedule):
    # data N(m, s^2) per dimension: the optimal velocity is analytic (tests/flow/analytic.py);
    # every sampler must land on the data distribution (the SDE through its score correction)
    m = torch.tensor([1.5, -0.5], dtype=torch.float64)
    s = torch.tensor([0.3, 0.8], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(40000, 2, generator=g, dtype=torch.float64)
    grid = time_grid(200, method, dtype=torch.float64, schedule=schedule)
    out = odeint(lambda t, x: gaussian_velocity(x, t, m, s), x0, grid, method, final_only=True,
                 noise_scale=noise_scale, generator=g)
    torch.testing.assert_close(out.mean(0), m, rtol=0, atol=0.02)
    torch.testing.assert_close(out.std(0), gaussian_marginal_std(1.0, s), rtol=0.03, atol=0)


def test_stochastic_euler_noise_is_used_and_reproducible():
    m, s = torch.tensor([0.5]), torch.tensor([0.4])
    y0 = torch.randn(1000, 1, generator=torch.Generator().manual_seed(1))
    grid = time_grid(16, "stochastic_euler")
    field = lambda t, x: gaussian_velocity(x, t, m, s)  # noqa: E731
    run = lambda seed: odeint(field, y0, grid, "stochastic_euler", noise_scale=0.5, final_only=True,  # noqa: E731
                              generator=torch.Generator().manual_seed(seed))
    assert torch.equal(run(3), run(3)) and not torch.allclose(run(3), run(4))
    g = torch.Generator().manual_seed(3)
    noise = torch.stack([torch.randn(1000, 1, generator=g) for _ in range(16)])
    given = odeint(field, y0, grid, "stochastic_euler", noise_scale=0.5, final_only=True, noise=noise)
    assert torch.equal(given, run(3))  # the pre-drawn noise is consumed one slice per step
    with pytest.raises(ValueError, match="noise must have shape"):
        odeint(field, y0, grid, "stochastic_euler", noise_scale=0.5, noise=noise[:3])
    with pytest.raises(ValueError, match="noise_scale"):
        odeint(field, y0, grid, "stochastic_euler", noise_scale=-1.0)


def test_sway_schedule():
    u = torch.linspace(0, 1, 9, dtype=torch.float64)
    grid = time_grid(8, "euler", dtype=torch.float64, schedule="sway", sway_coef=-1.0)
    torch.testing.assert_close(grid, 1 - torch.cos(math.pi / 2 * u))  # F5-TTS, s = -1
    assert grid[0] == 0 and grid[-1] == 1 and bool((grid.diff() > 0).all())
    assert grid[1] < 1 / 8  # denser near the noise end
    torch.testing.assert_close(time_grid(8, "euler", dtype=torch.float64, schedule="sway", sway_coef=0.0), u)
    mid = time_grid(8, "midpoint", schedule="sway", sway_coef=1.5)
    assert mid.numel() == 5 and bool((mid.diff() > 0).all())
    with pytest.raises(ValueError, match="would not increase"):
        time_grid(8, "euler", schedule="sway", sway_coef=-1.5)
    with pytest.raises(ValueError, match="unknown time schedule"):
        time_grid(8, "euler", schedule="cosine")
