"""Classifier-free guidance of the velocity, both halves in one batched forward.

Voicebox (Le et al., 2023, sec. 3.3, following Ho & Salimans, 2022, eq. 6) samples with

    v~(x, t) = (1 + a) v(x, t | x_ctx, phones) - a v(x, t | no context, no phones)

where the unconditional velocity comes from the same model with the context zeroed and the
phones set to the padding id 0 (the training dropout of ``conditioning.drop_conditions``),
and ``a >= 0`` is the guidance strength (``SampleConfig.guidance``; a = 0 is plain
conditional sampling). Use with the solvers::

    cond = dict(x_ctx=x_ctx, phone_ids=phones, lengths=lengths)
    uncond = dict(x_ctx=torch.zeros_like(x_ctx), phone_ids=torch.zeros_like(phones),
                  lengths=lengths)
    field = guided_field(model, cond, uncond, guidance=0.7)
    x1 = odeint(field, x0, time_grid(32, "euler", x0.device), "euler", final_only=True)

Shapes:
    B batch     T frames     D feature dim
    x           (B, T, D) state;  t: (B,) or 0-d time (a 0-d time is passed through as is)
    cond/uncond dict name -> (B, ...) tensor, None, or any other value: tensors are
                concatenated along dim 0 ([cond; uncond], 2B items); 0-d tensors and
                non-tensors are passed through from ``cond`` (they must not differ)
    result      (B, T, D) velocity
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

__all__ = ["cfg_velocity", "guided_field"]


def _pair(name: str, c: Any, u: Any) -> Any:
    """The value passed to the doubled batch for one keyword."""
    if isinstance(c, Tensor) and isinstance(u, Tensor) and c.dim() > 0:
        return torch.cat([c, u], dim=0)
    if c is None and u is None:
        return None
    if isinstance(c, Tensor) != isinstance(u, Tensor) or (c is None) != (u is None):
        raise ValueError(f"condition {name!r}: conditional and unconditional values differ in kind")
    if not isinstance(c, Tensor) and c != u:
        raise ValueError(f"condition {name!r}: non-tensor values differ ({c!r} vs {u!r})")
    return c


def cfg_velocity(
    velocity_fn: Callable[..., Tensor],
    x: Tensor,
    t: Tensor,
    cond: dict[str, Any],
    uncond: dict[str, Any],
    guidance: float,
) -> Tensor:
    """Guided velocity ``(1 + a) v_cond - a v_uncond`` with ``a = guidance``.

    Calls ``velocity_fn(x, t, **kwargs)`` exactly once: with ``x`` and ``t`` doubled and
    each condition concatenated as ``[cond; uncond]`` (2B items) when ``guidance != 0``,
    or with ``x``, ``t`` and ``cond`` alone (B items) when ``guidance == 0``.
    """
    if set(cond) != set(uncond):
        raise ValueError(
            f"cond and uncond name different inputs: {sorted(cond)} vs {sorted(uncond)}"
        )
    if not isinstance(guidance, Tensor) and guidance == 0:
        return velocity_fn(x, t, **cond)
    B = x.shape[0]
    t = torch.as_tensor(t, device=x.device)
    t2 = torch.cat([t, t], dim=0) if t.dim() > 0 else t
    kwargs = {k: _pair(k, cond[k], uncond[k]) for k in cond}
    v = velocity_fn(torch.cat([x, x], dim=0), t2, **kwargs)
    if v.shape[0] != 2 * B:
        raise ValueError(f"velocity_fn returned {v.shape[0]} items for a batch of {2 * B}")
    v_cond, v_uncond = v[:B], v[B:]
    return (1 + guidance) * v_cond - guidance * v_uncond


def guided_field(
    velocity_fn: Callable[..., Tensor],
    cond: dict[str, Any],
    uncond: dict[str, Any],
    guidance: float,
) -> Callable[[Tensor, Tensor], Tensor]:
    """An ODE field ``f(t, x)`` for :func:`voiceflow.flow.odeint` applying guidance.

    The solver's 0-d time is expanded to one time per item (B,) before the call, so
    ``velocity_fn`` always receives ``t`` of shape (B,) (2B in the doubled batch).
    """

    def field(t: Tensor, x: Tensor) -> Tensor:
        tb = torch.as_tensor(t, device=x.device).expand(x.shape[0])
        return cfg_velocity(velocity_fn, x, tb, cond, uncond, guidance)

    return field
