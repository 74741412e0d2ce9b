"""Training objective of the Voicebox duration model (Le et al., 2023, sec. 3.3 and 5.1).

For a batch of per-phone frame durations d with phones y:

1. mask phones: with probability ``p_full_mask`` the whole utterance, otherwise ONE
   contiguous span of ``span_min``..``span_max`` of its phones (:func:`phone_span_mask`);
2. the target is the dequantised, normalised log-duration ``z = norm(log(1 + d + u))``,
   u ~ U[0, 1) (so integer durations become a continuous variable);
3. the context is ``norm(log(1 + d + 0.5))`` on unmasked phones, 0 on masked ones, plus a
   mask flag; inference builds it the same way from known durations;
4. regression (Dur-Regr): L1 between the prediction and z; flow (Dur-FM): with
   probability ``p_uncond`` drop phones and context together (guidance), then OT-CFM on z
   (path from ``flow.path``), MSE on the velocity;
5. the loss counts masked, non-padded phones only.

Masks are drawn on the CPU (optionally from ``cpu_generator``); the dequantisation noise,
flow noise and t on the device (``device_generator``)::

    loss, stats = duration_loss(model, batch, cfg.duration, cfg.flow, device)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from voiceflow.flow import make_path, masked_l1, masked_mse, padding_mask, sample_time, span_mask
from voiceflow.models.duration_model import encode_durations


def phone_span_mask(lengths: Tensor, L: int, p_full: float, span_min: float, span_max: float,
                    generator: torch.Generator | None = None) -> Tensor:
    """(B, L) bool, True on the phones to predict; never on padding, never empty.

    The audio model's span rule (:func:`voiceflow.flow.span_mask`) with every phone its own
    unit, so a span covers ``round(frac * n)`` whole phones.
    """
    B = lengths.shape[0]
    units = torch.arange(1, L + 1).expand(B, L)  # all different: a boundary between any two phones
    return span_mask(units, lengths, p_full, span_min, span_max, generator=generator)


def _core(model: nn.Module) -> nn.Module:
    """The module under a DDP / accelerate wrapper (its normalisation buffers)."""
    return getattr(model, "module", model)


def duration_inputs(model: nn.Module, durations: Tensor, mask: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """Context (B, L) (normalised known log-durations, 0 where masked or padding) and flag (B, L)."""
    known = valid & ~mask
    ctx = torch.where(known, _core(model).normalise(encode_durations(durations)), 0.0)
    return ctx, (~known).float()


def duration_loss(model: nn.Module, batch: dict, dcfg, flow, device: torch.device,
                  cpu_generator: torch.Generator | None = None,
                  device_generator: torch.Generator | None = None,
                  guidance_dropout: bool = True) -> tuple[Tensor, dict]:
    """Scalar loss and statistics (``frames``: the batch's real phone count).

    ``dcfg`` is a :class:`~voiceflow.config.DurationConfig`, ``flow`` a ``FlowConfig``
    (only its path settings are read, for the flow variant).
    """
    phones, lengths = batch["phones"], batch["lengths"]
    B, L = phones.shape
    mask = phone_span_mask(lengths, L, dcfg.p_full_mask, dcfg.span_min, dcfg.span_max, generator=cpu_generator)
    phones = phones.to(device, non_blocking=True)
    durations = batch["durations"].to(device, non_blocking=True)
    mask = mask.to(device, non_blocking=True)
    valid = padding_mask(lengths.to(device), L)
    u = torch.rand(B, L, generator=device_generator, device=device)  # dequantisation
    target = _core(model).normalise(encode_durations(durations, u))  # (B, L)
    ctx, flag = duration_inputs(model, durations, mask, valid)
    stats = {"frames": int(lengths.sum())}
    if dcfg.kind == "regression":
        pred = model(phones, ctx, flag, lengths)
        return masked_l1(pred.float()[..., None], target[..., None], mask, valid), stats
    if guidance_dropout and dcfg.p_uncond > 0:
        drop = (torch.rand(B, generator=device_generator, device=device) < dcfg.p_uncond)[:, None]
        phones = torch.where(drop, 0, phones)
        ctx = torch.where(drop, 0.0, ctx)
        flag = torch.where(drop & valid, 1.0, flag)
    t = sample_time(B, generator=device_generator, device=device)
    x0 = torch.randn(B, L, 1, generator=device_generator, device=device)
    path = make_path(flow)
    eps = torch.randn(x0.shape, generator=device_generator, device=device) if path.needs_eps else None
    x_t, u_t = path.sample(x0, target[..., None], t, eps)
    v = model(phones, ctx, flag, lengths, x_t=x_t[..., 0], t=t)
    return masked_mse(v.float()[..., None], u_t, mask, valid), stats
