"""An analytic test case of flow matching: Gaussian data on the OT path.

For data ``x1 ~ N(m, s^2)`` (independently per dimension) and the OT path
``x_t = t x1 + sigma_t x0`` with ``sigma_t = 1 - (1 - sigma_min) t``, the marginal is
``p_t = N(t m, V_t)`` with ``V_t = t^2 s^2 + sigma_t^2``, and the marginal (optimal) field is
``E[x1 - (1 - sigma_min) x0 | x_t = x]``, by Gaussian conditioning

    v(x, t) = m + (t s^2 - (1 - sigma_min) sigma_t) (x - t m) / V_t.

Its divergence per dimension is the coefficient of x; the model density at t = 1 is
``N(m, s^2 + sigma_min^2)``. ``m`` and ``s`` broadcast against x.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _coef(t: Tensor, s: Tensor, sigma_min: float) -> tuple[Tensor, Tensor]:
    sigma_t = 1 - (1 - sigma_min) * t
    var = t * t * s * s + sigma_t * sigma_t
    return (t * s * s - (1 - sigma_min) * sigma_t) / var, var


def gaussian_velocity(x: Tensor, t: Tensor | float, m: Tensor, s: Tensor, sigma_min: float = 1e-5) -> Tensor:
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    coef, _ = _coef(t, s, sigma_min)
    return m + coef * (x - t * m)


def gaussian_divergence(x: Tensor, t: Tensor | float, m: Tensor, s: Tensor, sigma_min: float = 1e-5) -> Tensor:
    """Per item (dim 0) sum over the other dims of d v_i / d x_i."""
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    coef, _ = _coef(t, s, sigma_min)
    return (coef * torch.ones_like(x)).flatten(1).sum(1)


def gaussian_marginal_std(t: float, s: Tensor, sigma_min: float = 1e-5) -> Tensor:
    _, var = _coef(torch.as_tensor(t, dtype=s.dtype), s, sigma_min)
    return var.sqrt()


def gaussian_log_density(x1: Tensor, m: Tensor, s: Tensor, sigma_min: float = 1e-5) -> Tensor:
    """log N(x1; m, s^2 + sigma_min^2), summed per item over all but dim 0."""
    var = s * s + sigma_min**2
    lp = -0.5 * (x1 - m) ** 2 / var - 0.5 * torch.log(2 * math.pi * var)
    return lp.flatten(1).sum(1)


# A full-covariance Gaussian N(m, C) over each item's flattened (n,) vector: the same
# conditioning with matrices, v(x, t) = m + A_t (x - t m), A_t = (t C - (1 - sigma_min) sigma_t I) V_t^-1,
# V_t = t^2 C + sigma_t^2 I. A_t is symmetric (both factors are functions of C), its trace is
# the divergence, and the model density at t = 1 is N(m, C + sigma_min^2 I).


def full_gaussian_matrix(t: Tensor | float, cov: Tensor, sigma_min: float = 1e-5) -> Tensor:
    """A_t (n, n) of the field of data N(m, cov) on the OT path."""
    t = torch.as_tensor(t, dtype=cov.dtype, device=cov.device)
    eye = torch.eye(cov.shape[0], dtype=cov.dtype, device=cov.device)
    sigma_t = 1 - (1 - sigma_min) * t
    var = t * t * cov + sigma_t * sigma_t * eye
    return torch.linalg.solve(var, t * cov - (1 - sigma_min) * sigma_t * eye)  # V^-1 M = M V^-1 here


def full_gaussian_velocity(x: Tensor, t: Tensor | float, m: Tensor, cov: Tensor, sigma_min: float = 1e-5) -> Tensor:
    """The optimal field at x (B, ...) whose per-item flattening has the size n of m (n,)."""
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    flat = x.flatten(1)
    return (m + (flat - t * m) @ full_gaussian_matrix(t, cov, sigma_min).T).view_as(x)


def full_gaussian_log_density(x1: Tensor, m: Tensor, cov: Tensor, sigma_min: float = 1e-5) -> Tensor:
    """log N(x1; m, cov + sigma_min^2 I) per item of x1 (B, ...)."""
    eye = torch.eye(cov.shape[0], dtype=cov.dtype, device=cov.device)
    dist = torch.distributions.MultivariateNormal(m, cov + sigma_min**2 * eye)
    return dist.log_prob(x1.flatten(1))
