"""The change-of-variables likelihood against a Gaussian whose optimal field is analytic, and
the masking rules: only masked frames are variables, and frames outside do not count."""

import math

import pytest
import torch

from analytic import full_gaussian_log_density, full_gaussian_matrix, full_gaussian_velocity
from voiceflow.flow.likelihood import divergence, log_likelihood, make_probes

T, D = 2, 3  # each item is one 6-dimensional Gaussian vector


def gaussian_case(seed=0, batch=4):
    """Data N(m, C) with a full covariance (the Jacobian of the field is not diagonal)."""
    g = torch.Generator().manual_seed(seed)
    n = T * D
    m = torch.randn(n, generator=g, dtype=torch.float64)
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    cov = a @ a.T / n + 0.3 * torch.eye(n, dtype=torch.float64)
    x1 = (m + torch.randn(batch, n, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T)
    field = lambda t, x: full_gaussian_velocity(x, t, m, cov)  # noqa: E731
    return field, x1.view(batch, T, D), full_gaussian_log_density(x1, m, cov), m, cov


def test_exact_estimator_matches_the_true_log_density():
    field, x1, truth, _, _ = gaussian_case()
    res = log_likelihood(field, x1, steps=64, method="midpoint", estimator="exact")
    assert res.log_prob.shape == (4, 1) and torch.equal(res.stderr, torch.zeros(4))
    assert res.dims.tolist() == [T * D] * 4
    torch.testing.assert_close(res.mean, truth, atol=1e-3, rtol=0)
    # the error falls with the order of the solver: x2 per doubling for Euler, x4 for midpoint
    err = {(m, s): (log_likelihood(field, x1, steps=s, method=m, estimator="exact").mean - truth).abs().max()
           for m in ("euler", "midpoint") for s in (16, 32)}
    assert 1.8 < err["euler", 16] / err["euler", 32] < 2.2
    assert 3.5 < err["midpoint", 16] / err["midpoint", 32] < 5.5


@pytest.mark.parametrize("probe", ["gaussian", "rademacher"])
def test_hutchinson_is_within_three_standard_errors(probe):
    field, x1, truth, _, _ = gaussian_case(seed=1)
    g = torch.Generator().manual_seed(0)
    res = log_likelihood(field, x1, steps=32, estimator="hutchinson", probes=64, probe=probe, generator=g)
    assert res.log_prob.shape == (4, 64)
    assert (res.stderr > 0).all()
    assert ((res.mean - truth).abs() < 3 * res.stderr).all(), (res.mean - truth) / res.stderr
    # the trajectory is the same for every probe and for the exact trace
    exact = log_likelihood(field, x1, steps=32, estimator="exact")
    torch.testing.assert_close(res.x0, exact.x0)


def test_divergence_at_a_point_equals_the_trace_and_the_quadratic_form():
    field, x1, _, _, cov = gaussian_case(seed=2)
    t = torch.tensor(0.37, dtype=torch.float64)
    a = full_gaussian_matrix(t, cov)
    mask = torch.ones(4, T, dtype=torch.bool)
    v, div = divergence(field, t, x1, mask)
    torch.testing.assert_close(v, field(t, x1))
    torch.testing.assert_close(div[:, 0], torch.full((4,), a.trace().item(), dtype=torch.float64))
    eps = make_probes(torch.randn(3, 4, T, D, dtype=torch.float64), "rademacher")
    assert set(eps.unique().tolist()) == {-1.0, 1.0}
    _, quad = divergence(field, t, x1, mask, eps)
    flat = eps.flatten(2)  # (K, B, n)
    torch.testing.assert_close(quad, torch.einsum("kbi,ij,kbj->bk", flat, a, flat))


def framewise_field(t, x):
    """A nonlinear field that acts on each frame alone (no interaction across frames)."""
    w = torch.linspace(-1.0, 1.0, D * D, dtype=x.dtype).view(D, D)
    return torch.tanh(x @ w) * (1 + t) - 0.5 * x


def test_only_masked_frames_are_variables():
    g = torch.Generator().manual_seed(3)
    x1 = torch.randn(2, 5, D, generator=g, dtype=torch.float64)
    mask = torch.tensor([[0, 1, 1, 0, 0], [1, 1, 1, 1, 0]], dtype=torch.bool)
    res = log_likelihood(framewise_field, x1, mask, steps=16, estimator="exact")
    assert res.dims.tolist() == [2 * D, 4 * D]
    # each item equals the unmasked likelihood of its masked frames alone
    for b in range(2):
        alone = log_likelihood(framewise_field, x1[b:b + 1, mask[b]], steps=16, estimator="exact")
        torch.testing.assert_close(res.log_prob[b], alone.log_prob[0])
        torch.testing.assert_close(res.x0[b, mask[b]], alone.x0[0])
    # the values outside the mask (here: any clamp) do not matter to a framewise field,
    # and the probes' values there are ignored
    noise = torch.randn(8, 2, 5, D, generator=g, dtype=torch.float64)
    a = log_likelihood(framewise_field, x1, mask, lambda t: torch.zeros_like(x1), steps=8, probe_noise=noise)
    b = log_likelihood(framewise_field, x1, mask, lambda t: 5 + t * x1, steps=8,
                       probe_noise=torch.where(mask[..., None], noise, 7.0))
    torch.testing.assert_close(a.log_prob, b.log_prob)
    assert torch.equal(b.x0[~mask], (5 + 0 * x1)[~mask])  # clamp(0) outside the mask


def test_frames_outside_the_mask_condition_a_field_that_mixes_frames():
    x1 = torch.randn(1, 4, D, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 0, 0]], dtype=torch.bool)
    mixing = lambda t, x: -x + x.mean(1, keepdim=True)  # noqa: E731
    a = log_likelihood(mixing, x1, mask, lambda t: torch.zeros_like(x1), steps=8, estimator="exact")
    b = log_likelihood(mixing, x1, mask, lambda t: torch.ones_like(x1), steps=8, estimator="exact")
    assert not torch.allclose(a.log_prob, b.log_prob)
    # the divergence of -x + mean over 4 frames is (-1 + 1/4) per masked dim, a constant:
    # log p_1 = log N(x(0)) + 6 * 0.75 exactly, whatever the solver
    assert a.log_prob.item() == pytest.approx(
        (-0.5 * a.x0[0, :2].square().sum() - 3 * math.log(2 * math.pi) + 6 * 0.75).item())


def test_bad_arguments():
    x1 = torch.zeros(1, 2, D)
    with pytest.raises(ValueError, match="estimator"):
        log_likelihood(framewise_field, x1, estimator="skilling")
    with pytest.raises(ValueError, match="method"):
        log_likelihood(framewise_field, x1, method="stochastic_euler")
    with pytest.raises(ValueError, match="probe"):
        log_likelihood(framewise_field, x1, probe="uniform")
    with pytest.raises(ValueError, match="positive"):
        log_likelihood(framewise_field, x1, probes=0)
    with torch.inference_mode(), pytest.raises(RuntimeError, match="autograd"):
        log_likelihood(framewise_field, x1)


class NumpySquare(torch.autograd.Function):
    """x^2 with a backward that leaves torch (through numpy), which vmap cannot batch."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return torch.from_numpy(grad.detach().numpy() * 2) * x


def test_divergence_falls_back_to_one_backward_per_product():
    x = torch.randn(2, T, D, dtype=torch.float64)
    mask = torch.tensor([[1, 0], [1, 1]], dtype=torch.bool)
    field = lambda t, x: -NumpySquare.apply(x)  # noqa: E731
    _, div = divergence(field, torch.tensor(0.5), x, mask)
    torch.testing.assert_close(div[:, 0], (-2 * x * mask[..., None]).flatten(1).sum(1))
    eps = torch.randn(3, 2, T, D, dtype=torch.float64) * mask[..., None]
    _, quad = divergence(field, torch.tensor(0.5), x, mask, eps)
    torch.testing.assert_close(quad, (-2 * x * eps * eps).flatten(2).sum(2).T)
