"""Log-likelihood of data under a flow model, by the instantaneous change of variables.

A flow ``dx/dt = v(x, t)`` carries the base ``N(0, I)`` at t = 0 to the model's density at
t = 1. Along a trajectory the log-density changes by minus the divergence of the field
(Chen et al., 2018, "Neural Ordinary Differential Equations", theorem 1):

    d/dt log p_t(x(t)) = -div v(x(t), t),   so   log p_1(x1) = log N(x(0); 0, I) - int_0^1 div v dt

where ``x(0)`` is found by running the flow backwards from ``x(1) = x1``. We integrate the
pair ``(x, L)`` with ``dx/dt = v`` and ``dL/dt = div v`` from t = 1 (``L = 0``) down to
t = 0 with :func:`voiceflow.flow.solvers.odeint` (its euler or midpoint step, on a uniform
grid of ``steps`` steps, the pair flattened into one tensor), so ``log p_1 = log N(x(0)) + L(0)``.

The divergence (trace of the Jacobian ``J = dv/dx``) is either

``exact``       one vector-Jacobian product per dimension j, with the one-hot vector of j.
                Items of a batch never interact, so one product gives ``J[b, j, j]`` of every
                item b at once. The cost grows with the dimension: small inputs only.
``hutchinson``  ``eps^T J eps`` with ``E[eps eps^T] = I`` (Hutchinson, 1990), one
                vector-Jacobian product per probe; probes are Gaussian or Rademacher (random
                signs, lower variance, exact for a diagonal J). As in FFJORD (Grathwohl et al.,
                2019, "FFJORD: Free-form Continuous Dynamics for Scalable Reversible Generative
                Models"), each probe stays fixed for the whole integration, so each of the K
                probes gives its own unbiased estimate of ``log p_1`` on one shared trajectory.

:class:`LikelihoodResult` keeps the K estimates; ``stderr`` is their standard deviation over
``sqrt(K)``: 0 for the exact estimator and for K = 1 (one draw has no spread to measure).

Masked variables: only the frames where ``mask`` is True are variables. Elsewhere the field
is evaluated on the values ``clamp(t)`` that the caller gives (for infilling, the frames'
training path), only the masked part of ``v`` moves the state, the divergence sums over
masked dimensions only, and the base density counts only masked dimensions. Padding frames
are simply outside the mask.

Shapes (legend of ``voiceflow.flow``; K probes, K = 1 for exact):
    x1, x0, clamp(t), func(t, x)   (B, T, D)        mask   (B, T) bool
    probe_noise                    (K, B, T, D)     log_prob (B, K) nats;  dims (B,)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from voiceflow.flow.solvers import odeint

__all__ = ["ESTIMATORS", "PROBES", "LikelihoodResult", "divergence", "log_likelihood", "make_probes"]

ESTIMATORS = ("exact", "hutchinson")
PROBES = ("gaussian", "rademacher")
_METHODS = ("euler", "midpoint")

_CHUNK = 16  # vector-Jacobian products per vmapped backward (its memory grows with this)

Field = Callable[[Tensor, Tensor], Tensor]


@dataclass
class LikelihoodResult:
    """``log_prob`` (B, K): log p_1(x1) over the masked dims, one estimate per probe (nats);
    ``dims`` (B,): masked dimensions per item; ``x0`` (B, T, D): the end of the backward flow
    (masked frames) with ``clamp(0)`` elsewhere."""

    log_prob: Tensor
    dims: Tensor
    x0: Tensor

    @property
    def mean(self) -> Tensor:
        """(B,) the estimate: the mean over probes."""
        return self.log_prob.mean(1)

    @property
    def stderr(self) -> Tensor:
        """(B,) standard error of :attr:`mean` over the probes (0 when K = 1)."""
        K = self.log_prob.shape[1]
        if K < 2:
            return torch.zeros_like(self.log_prob[:, 0])
        return self.log_prob.std(1) / math.sqrt(K)


def make_probes(noise: Tensor, kind: str) -> Tensor:
    """Probes from standard normal draws: the draws themselves or their signs (Rademacher)."""
    if kind not in PROBES:
        raise ValueError(f"unknown probe {kind!r}; known probes: {', '.join(PROBES)}")
    return noise if kind == "gaussian" else torch.where(noise >= 0, 1.0, -1.0).to(noise.dtype)


def _vjp_batch(v: Tensor, x: Tensor, grads: Tensor) -> Tensor:
    """Vector-Jacobian products ``grads[c]^T dv/dx`` (C, *x.shape) for ``grads`` (C, *v.shape):
    one vmapped backward, or a loop of backwards where an op has no batching rule."""
    try:
        return torch.autograd.grad(v, x, grads, retain_graph=True, is_grads_batched=True)[0]
    except RuntimeError:
        return torch.stack([torch.autograd.grad(v, x, g, retain_graph=True)[0] for g in grads])


def divergence(func: Field, t: Tensor, x: Tensor, mask: Tensor,
               probes: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``(v, div)``: the field ``func(t, x)`` (B, T, D), detached, and its divergence over the
    masked dims: exact (B, 1), or ``eps_k^T J eps_k`` (B, K) for ``probes`` (K, B, T, D),
    which must be zero outside the mask. Backwards run ``_CHUNK`` products at a time."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        v = func(t, x)
        if probes is not None:
            div = [(_vjp_batch(v, x, eps) * eps).flatten(2).sum(2) for eps in probes.split(_CHUNK)]
            return v.detach(), torch.cat(div).T
        B, N = x.shape[0], x[0].numel()
        m_flat = mask[..., None].expand_as(x).reshape(B, N).to(x.dtype)
        div = x.new_zeros(B)
        for cols in m_flat.any(0).nonzero().flatten().split(_CHUNK):  # dims masked in any item
            rows = torch.arange(len(cols), device=x.device)
            one_hot = x.new_zeros(len(cols), B, N)
            one_hot[rows, :, cols] = 1
            g = _vjp_batch(v, x, one_hot.view(len(cols), *x.shape)).reshape(len(cols), B, N)
            div = div + (g[rows, :, cols] * m_flat[:, cols].T).sum(0)  # J[b, j, j], masked
        return v.detach(), div[:, None]


def log_likelihood(
    func: Field,
    x1: Tensor,
    mask: Tensor | None = None,
    clamp: Callable[[Tensor], Tensor] | None = None,
    steps: int = 32,
    method: str = "midpoint",
    estimator: str = "hutchinson",
    probes: int = 4,
    probe: str = "rademacher",
    generator: torch.Generator | None = None,
    probe_noise: Tensor | None = None,
) -> LikelihoodResult:
    """log p_1(x1) of the flow ``dx/dt = func(t, x)`` over the masked frames of ``x1``.

    Args:
        func: the field, ``func(t, x) -> dx/dt`` (B, T, D) with ``t`` a 0-d tensor.
        x1: data (B, T, D), any float dtype (float64 for reference values).
        mask: (B, T) bool, the frames that are variables (default: all).
        clamp: ``clamp(t) -> (B, T, D)``, the values of the frames outside the mask at time
            ``t`` (default: their data values ``x1``).
        steps, method: ``steps`` uniform steps of ``"euler"`` or ``"midpoint"``.
        estimator: ``"exact"`` or ``"hutchinson"`` (see the module docstring).
        probes, probe, generator: how many probes, ``"gaussian"`` or ``"rademacher"``, and
            the generator that draws them (on the device of ``x1``).
        probe_noise: (K, B, T, D) standard normal draws to build the probes from instead of
            drawing (lets the caller make them depend on each item alone); sets K.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; known: {', '.join(ESTIMATORS)}")
    if method not in _METHODS:
        raise ValueError(f"likelihood integration needs a method of {', '.join(_METHODS)}, got {method!r}")
    if steps < 1 or (estimator == "hutchinson" and probe_noise is None and probes < 1):
        raise ValueError(f"steps and probes must be positive, got steps={steps}, probes={probes}")
    if x1.dim() != 3:
        raise ValueError(f"x1 must be (B, T, D), got shape {tuple(x1.shape)}")
    if torch.is_inference_mode_enabled():
        raise RuntimeError("log_likelihood needs autograd: call it outside torch.inference_mode()")
    B, N = x1.shape[0], x1[0].numel()
    mask = torch.ones(x1.shape[:2], dtype=torch.bool, device=x1.device) if mask is None else mask.bool()
    m3 = mask[..., None]
    clamp = clamp or (lambda t: x1)
    eps = None
    if estimator == "hutchinson":
        if probe_noise is None:
            probe_noise = torch.randn((probes, *x1.shape), generator=generator, device=x1.device, dtype=x1.dtype)
        eps = make_probes(probe_noise.to(x1), probe) * m3
    K = 1 if eps is None else eps.shape[0]

    def masked_field(t: Tensor, x: Tensor) -> Tensor:
        return func(t, torch.where(m3, x, clamp(t)))

    def augmented(t: Tensor, z: Tensor) -> Tensor:
        v, div = divergence(masked_field, t, z[:, :N].view_as(x1), mask, eps)
        return torch.cat([(v * m3).flatten(1).to(z.dtype), div.to(z.dtype)], 1)

    grid = torch.linspace(1.0, 0.0, steps + 1, dtype=x1.dtype, device=x1.device)
    z1 = torch.cat([x1.detach().flatten(1), x1.new_zeros(B, K)], 1)
    z0 = odeint(augmented, z1, grid, method, final_only=True)
    x0 = torch.where(m3, z0[:, :N].view_as(x1), clamp(grid[-1]))
    dims = mask.sum(1) * x1.shape[-1]
    base = -0.5 * (x0.square() * m3).flatten(1).sum(1) - 0.5 * math.log(2 * math.pi) * dims
    return LikelihoodResult(base[:, None] + z0[:, N:], dims, x0)
