"""The Voicebox audio-model training objective (Le et al., 2023, sec. 3.3).

For a batch of normalised mels x1 with frame-level phones:

1. mask one span per utterance on phone boundaries (or the whole utterance, p = 0.3);
2. the context x_ctx is x1 with the masked frames zeroed;
3. with probability p_uncond, drop context and phones together (for guidance);
4. draw t ~ U[0, 1) and x0 ~ N(0, I), pair noise and data (``flow.coupling``: independent,
   or minibatch OT over the masked frames), form x_t and the target u_t on the
   probability path (``flow.path``: ot, the Voicebox path, or icfm);
5. regress the model's velocity on u_t with an MSE over masked, non-padded frames only.

Masks are drawn on the CPU from the batch's CPU tensors (no device syncs); noise and t are
drawn on the model's device. Pass generators to make a pass reproducible without touching
the global random state (the validation loss does this).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from voiceflow.config import FlowConfig
from voiceflow.flow import build_context, couple, drop_conditions, make_path, masked_mse, sample_time, span_mask


def flow_matching_loss(model: nn.Module, batch: dict, flow: FlowConfig, device: torch.device,
                       cpu_generator: torch.Generator | None = None,
                       device_generator: torch.Generator | None = None,
                       guidance_dropout: bool = True) -> tuple[Tensor, dict]:
    """Returns the scalar loss and statistics of the batch (its real frame count)."""
    phones, lengths = batch["phones"], batch["lengths"]
    mask = span_mask(phones, lengths, flow.p_full_mask, flow.span_min, flow.span_max, generator=cpu_generator)
    x1 = batch["mel"].to(device, non_blocking=True)  # (B, T, M)
    phones = phones.to(device, non_blocking=True)
    mask = mask.to(device, non_blocking=True)
    x_ctx = build_context(x1, mask)
    if guidance_dropout and flow.p_uncond > 0:
        x_ctx, phones, _ = drop_conditions(x_ctx, phones, flow.p_uncond, generator=device_generator)
    t = sample_time(x1.shape[0], generator=device_generator, device=device)
    x0 = couple(torch.randn(x1.shape, generator=device_generator, device=device), x1, mask, flow.coupling)
    path = make_path(flow)
    eps = torch.randn(x1.shape, generator=device_generator, device=device) if path.needs_eps else None
    x_t, u_t = path.sample(x0, x1, t, eps)
    v = model(x_t, x_ctx, phones, t, lengths)
    loss = masked_mse(v.float(), u_t, mask)
    return loss, {"frames": int(lengths.sum())}
