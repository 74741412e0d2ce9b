"""Conditioning inputs of the audio model, and their dropout for classifier-free guidance.

Voicebox (Le et al., 2023, sec. 3.3) conditions the velocity on the audio context
``x_ctx`` (the target features with the masked frames zeroed) and on the frame-level
phones. To make classifier-free guidance possible (``voiceflow.flow.guidance``), both are
dropped TOGETHER for a fraction ``p_uncond`` of the utterances during training (0.2 in
the paper): the context becomes all zeros and every phone the padding id 0, which the
model reads as "no phones". Typical training step::

    mask = span_mask(phone_ids, lengths, ...)
    x_ctx = build_context(x1, mask)
    x_ctx, phones_in, dropped = drop_conditions(x_ctx, phone_ids, cfg.flow.p_uncond, g)
    v = model(x_t, t, x_ctx, phones_in, lengths)

At sampling time the unconditional half is built the same way: ``torch.zeros_like(x_ctx)``
and ``torch.zeros_like(phone_ids)``. Inputs are never modified in place.

Shapes:
    B batch     T frames     D feature dim
    x1, x_ctx   (B, T, D) float
    phone_ids   (B, T) long (0 = padding / no phone)
    mask        (B, T) bool, True = masked (generated)
    dropped     (B,) bool, True = both conditions dropped for this utterance
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["build_context", "drop_conditions"]


def build_context(x1: Tensor, mask: Tensor) -> Tensor:
    """The audio context: ``x1`` with the masked frames (``mask`` True) set to zero.

    Unmasked frames, padding included, are copied from ``x1`` unchanged (batches are
    zero-padded by the collate function).
    """
    if mask.shape != x1.shape[:-1]:
        raise ValueError(f"mask {tuple(mask.shape)} does not match the frames of {tuple(x1.shape)}")
    return torch.where(mask.unsqueeze(-1), torch.zeros((), dtype=x1.dtype, device=x1.device), x1)


def drop_conditions(
    x_ctx: Tensor,
    phone_ids: Tensor,
    p_uncond: float,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Drop context and phones together for a random ``p_uncond`` fraction of utterances.

    Args:
        x_ctx: (B, T, D) audio context.
        phone_ids: (B, T) frame-level phone ids.
        p_uncond: probability, per utterance, of dropping both (``FlowConfig.p_uncond``).
        generator: optional seeded generator; the draw is made on its device.

    Returns:
        ``(x_ctx, phone_ids, dropped)``: new tensors where the dropped utterances have an
        all-zero context and all-zero phones, and the (B,) bool ``dropped``.
    """
    if not 0.0 <= p_uncond <= 1.0:
        raise ValueError(f"p_uncond must be in [0, 1], got {p_uncond}")
    if x_ctx.shape[:2] != phone_ids.shape:
        raise ValueError(
            f"x_ctx {tuple(x_ctx.shape)} and phone_ids {tuple(phone_ids.shape)} do not match"
        )
    B, device = phone_ids.shape[0], phone_ids.device
    draw_device = generator.device if generator is not None else device
    u = torch.rand(B, generator=generator, device=draw_device, dtype=torch.float64)
    dropped = u.to(device) < p_uncond
    keep_shape = (B,) + (1,) * (x_ctx.dim() - 1)
    zero_ctx = torch.zeros((), dtype=x_ctx.dtype, device=x_ctx.device)
    x_ctx = torch.where(dropped.to(x_ctx.device).view(keep_shape), zero_ctx, x_ctx)
    phone_ids = torch.where(dropped.unsqueeze(1), torch.zeros_like(phone_ids), phone_ids)
    return x_ctx, phone_ids, dropped
