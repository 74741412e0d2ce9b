"""Fixed-step ODE (and one SDE) solvers for sampling, with torchdiffeq's calling convention.

Sampling integrates the learned velocity from noise (t = 0) to speech (t = 1)::

    t = time_grid(cfg.sample.nfe, cfg.sample.solver, device=x0.device)
    x1 = odeint(lambda t, x: velocity(x, t), x0, t, method=cfg.sample.solver)[-1]

``odeint(func, y0, t, method)`` steps exactly on the grid ``t`` (like torchdiffeq's
fixed-grid ``euler`` / ``midpoint`` without a ``step_size`` option) and returns the state
at every time of ``t``. With ``h = t[i+1] - t[i]``:

    euler:     y <- y + h f(t_i, y)                                 (1 evaluation / step)
    midpoint:  y_mid = y + h/2 f(t_i, y);  y <- y + h f(t_i + h/2, y_mid)   (2 / step)

    stochastic_euler (Euler-Maruyama on an SDE with the ODE's marginals; 1 / step):
               y <- y + h [(1 + s t_i) v - s y] + sqrt(2 s (1 - t_i) h) xi,  xi ~ N(0, I)

Why that SDE: on the OT path (``flow.path``; sigma_min neglected) the posterior mean of the
noise is ``E[x0 | x_t = y] = y - t v(y, t)``, so the score of p_t is ``-(y - t v) / (1 - t)``.
``dy = [v + g^2/2 score] dt + g dW`` has the marginals of the ODE for any g (its
Fokker-Planck equation reduces to the continuity equation of v); ``g^2 = 2 s (1 - t)`` gives
the drift above and noise that vanishes at the data end. ``s = noise_scale``; s = 0 is Euler.
For the ``icfm`` path with a small sigma the same identity holds up to O(sigma^2).

Time grids (``time_grid``): ``uniform``, or F5-TTS's sway schedule (Chen et al., 2024,
"F5-TTS", sec. 3.3) ``t = u + c (cos(pi u / 2) - 1 + u)`` of a uniform ``u``, which for
``c < 0`` puts more steps near t = 0 (c = -1, their default, gives ``1 - cos(pi u / 2)``).

``func(t, y)`` receives ``t`` as a 0-d tensor (of the dtype of the grid, on the device of
``y0``) and returns dy/dt shaped like ``y``. The grid may be non-uniform or decreasing.
Nothing inside the loop synchronises with the device (no ``.item()``), and the state keeps
the dtype of ``y0``. Voicebox samples with the midpoint solver; Euler is our default.

Shapes:
    y0      any shape S, any float dtype (e.g. (B, T, D))
    t       (N,) float grid, N >= 1
    result  (N, *S), ``result[0] = y0``, ``result[i]`` the state at ``t[i]``
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

__all__ = ["METHODS", "SCHEDULES", "odeint", "time_grid", "nfe_of", "sway"]

# method -> function evaluations per step
METHODS: dict[str, int] = {"euler": 1, "midpoint": 2, "stochastic_euler": 1}
SCHEDULES = ("uniform", "sway")
# the sway map is increasing on [0, 1] exactly for -1 <= c <= 1 / (pi/2 - 1)
SWAY_RANGE = (-1.0, 1.0 / (math.pi / 2 - 1))


def _check_method(method: str) -> int:
    if method not in METHODS:
        raise ValueError(f"unknown ODE method {method!r}; known methods: {', '.join(METHODS)}")
    return METHODS[method]


def nfe_of(method: str, steps: int) -> int:
    """Number of function evaluations of ``steps`` steps of ``method``."""
    return _check_method(method) * steps


def sway(u: Tensor, coef: float = -1.0) -> Tensor:
    """F5-TTS sway sampling of times: ``u + coef (cos(pi u / 2) - 1 + u)``; fixes 0 and 1."""
    lo, hi = SWAY_RANGE
    if not lo <= coef <= hi:
        raise ValueError(f"sway coefficient {coef} outside [{lo}, {hi:.4f}] (the grid would not increase)")
    return u + coef * (torch.cos(0.5 * math.pi * u) - 1 + u)


def time_grid(
    nfe: int,
    method: str = "euler",
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    schedule: str = "uniform",
    sway_coef: float = -1.0,
) -> Tensor:
    """Grid from 0 to 1 on which ``method`` makes exactly ``nfe`` function evaluations.

    Euler takes ``nfe`` steps (``nfe + 1`` points); midpoint ``nfe / 2`` steps, and an odd
    ``nfe`` is an error for it. ``schedule`` "uniform" spaces the points evenly, "sway"
    maps the even points through :func:`sway` with ``sway_coef``.
    """
    per_step = _check_method(method)
    if nfe < per_step or nfe % per_step:
        raise ValueError(f"nfe={nfe} is not a positive multiple of {per_step} for {method!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown time schedule {schedule!r}; known: {', '.join(SCHEDULES)}")
    u = torch.linspace(0.0, 1.0, nfe // per_step + 1, device=device, dtype=torch.float64)
    if schedule == "sway":
        u = sway(u, sway_coef)
        u[0], u[-1] = 0.0, 1.0
    return u.to(dtype)


def odeint(
    func: Callable[[Tensor, Tensor], Tensor],
    y0: Tensor,
    t: Tensor,
    method: str = "euler",
    *,
    final_only: bool = False,
    noise_scale: float = 0.0,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
) -> Tensor:
    """Integrate ``dy/dt = func(t, y)`` from ``y0`` at ``t[0]`` over the grid ``t``.

    Args:
        func: the vector field, ``func(t, y) -> dy/dt`` with ``t`` a 0-d tensor.
        y0: the initial state, any shape, any floating dtype, any device.
        t: 1-D grid of times (a tensor or a sequence of floats); the steps are its gaps.
        method: ``"euler"``, ``"midpoint"`` or ``"stochastic_euler"``.
        final_only: return only the state at ``t[-1]`` (shape of ``y0``) instead of the
            whole trajectory; saves ``len(t) - 1`` copies of the state when sampling.
        noise_scale: ``s`` of ``stochastic_euler`` (ignored by the ODE methods); the grid
            must run from 0 towards 1 for it.
        generator: draws the noise of ``stochastic_euler`` (on the device of ``y0``).
        noise: instead of drawing, ``(len(t) - 1, *y0.shape)`` standard normal noise, one
            slice per step (lets a CUDA graph replay with fresh noise copied in).

    Returns:
        (len(t), *y0.shape) tensor of the states at every time of ``t`` (``[0]`` is ``y0``),
        or the final state when ``final_only``. Differentiable through every step.
    """
    _check_method(method)
    stochastic = method == "stochastic_euler" and noise_scale != 0
    if noise_scale < 0:
        raise ValueError(f"noise_scale must be >= 0, got {noise_scale}")
    if not torch.is_floating_point(y0):
        raise ValueError(f"y0 must be a floating-point tensor, got {y0.dtype}")
    t = torch.as_tensor(t, device=y0.device)
    if not torch.is_floating_point(t):
        t = t.to(torch.get_default_dtype())
    if t.dim() != 1 or t.numel() == 0:
        raise ValueError(f"t must be a non-empty 1-D grid, got shape {tuple(t.shape)}")
    n = t.shape[0]
    if stochastic and noise is not None and tuple(noise.shape) != (n - 1, *y0.shape):
        raise ValueError(f"noise must have shape {(n - 1, *y0.shape)}, got {tuple(noise.shape)}")
    out = None if final_only else y0.new_empty((n, *y0.shape))
    if out is not None:
        out[0] = y0
    y = y0
    for i in range(n - 1):
        t0, h = t[i], t[i + 1] - t[i]
        if method == "euler" or (method == "stochastic_euler" and not stochastic):
            dy = h * func(t0, y)
        elif stochastic:
            v = func(t0, y)
            xi = noise[i] if noise is not None else torch.randn(
                y.shape, generator=generator, device=y.device, dtype=y.dtype)
            diffusion = torch.sqrt((2 * noise_scale) * (1 - t0).clamp(min=0) * h)
            dy = h * ((1 + noise_scale * t0) * v - noise_scale * y) + diffusion * xi
        else:
            half = 0.5 * h
            y_mid = y + func(t0, y) * half
            dy = h * func(t0 + half, y_mid)
        y = (y + dy).to(y0.dtype)
        if out is not None:
            out[i + 1] = y
    return y if out is None else out
