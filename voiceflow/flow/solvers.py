"""Fixed-step ODE solvers for sampling, with torchdiffeq's calling convention.

Sampling integrates the learned velocity from noise (t = 0) to speech (t = 1)::

    t = time_grid(cfg.sample.nfe, cfg.sample.solver, device=x0.device)
    x1 = odeint(lambda t, x: velocity(x, t), x0, t, method=cfg.sample.solver)[-1]

``odeint(func, y0, t, method)`` steps exactly on the grid ``t`` (like torchdiffeq's
fixed-grid ``euler`` / ``midpoint`` without a ``step_size`` option) and returns the state
at every time of ``t``. With ``h = t[i+1] - t[i]``:

    euler:     y <- y + h f(t_i, y)                                 (1 evaluation / step)
    midpoint:  y_mid = y + h/2 f(t_i, y);  y <- y + h f(t_i + h/2, y_mid)   (2 / step)

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

from typing import Callable

import torch
from torch import Tensor

__all__ = ["METHODS", "odeint", "time_grid", "nfe_of"]

# method -> function evaluations per step
METHODS: dict[str, int] = {"euler": 1, "midpoint": 2}


def _check_method(method: str) -> int:
    if method not in METHODS:
        raise ValueError(f"unknown ODE method {method!r}; known methods: {', '.join(METHODS)}")
    return METHODS[method]


def nfe_of(method: str, steps: int) -> int:
    """Number of function evaluations of ``steps`` steps of ``method``."""
    return _check_method(method) * steps


def time_grid(
    nfe: int,
    method: str = "euler",
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Uniform grid from 0 to 1 on which ``method`` makes exactly ``nfe`` function evaluations.

    Euler takes ``nfe`` steps (``nfe + 1`` points); midpoint ``nfe / 2`` steps, and an odd
    ``nfe`` is an error for it.
    """
    per_step = _check_method(method)
    if nfe < per_step or nfe % per_step:
        raise ValueError(f"nfe={nfe} is not a positive multiple of {per_step} for {method!r}")
    return torch.linspace(0.0, 1.0, nfe // per_step + 1, device=device, dtype=dtype)


def odeint(
    func: Callable[[Tensor, Tensor], Tensor],
    y0: Tensor,
    t: Tensor,
    method: str = "euler",
    *,
    final_only: bool = False,
) -> Tensor:
    """Integrate ``dy/dt = func(t, y)`` from ``y0`` at ``t[0]`` over the grid ``t``.

    Args:
        func: the vector field, ``func(t, y) -> dy/dt`` with ``t`` a 0-d tensor.
        y0: the initial state, any shape, any floating dtype, any device.
        t: 1-D grid of times (a tensor or a sequence of floats); the steps are its gaps.
        method: ``"euler"`` or ``"midpoint"``.
        final_only: return only the state at ``t[-1]`` (shape of ``y0``) instead of the
            whole trajectory; saves ``len(t) - 1`` copies of the state when sampling.

    Returns:
        (len(t), *y0.shape) tensor of the states at every time of ``t`` (``[0]`` is ``y0``),
        or the final state when ``final_only``. Differentiable through every step.
    """
    _check_method(method)
    if not torch.is_floating_point(y0):
        raise ValueError(f"y0 must be a floating-point tensor, got {y0.dtype}")
    t = torch.as_tensor(t, device=y0.device)
    if not torch.is_floating_point(t):
        t = t.to(torch.get_default_dtype())
    if t.dim() != 1 or t.numel() == 0:
        raise ValueError(f"t must be a non-empty 1-D grid, got shape {tuple(t.shape)}")
    n = t.shape[0]
    out = None if final_only else y0.new_empty((n, *y0.shape))
    if out is not None:
        out[0] = y0
    y = y0
    for i in range(n - 1):
        t0, h = t[i], t[i + 1] - t[i]
        if method == "euler":
            dy = h * func(t0, y)
        else:
            half = 0.5 * h
            y_mid = y + func(t0, y) * half
            dy = h * func(t0 + half, y_mid)
        y = (y + dy).to(y0.dtype)
        if out is not None:
            out[i + 1] = y
    return y if out is None else out
