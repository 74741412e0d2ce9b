"""Training masks of the Voicebox audio model (Le et al., 2023, sec. 3.3 and 5.1).

Per utterance, with probability ``p_full`` the whole utterance is masked (the model
learns to generate from phones alone); otherwise ONE contiguous span is masked, covering
a fraction drawn uniformly from ``[span_min, span_max]`` of the frames (70-100 % in the
paper), with both ends on phone boundaries. Masked frames (True) are generated; the rest
is the audio context. Padding (frames >= length) is never masked. Typical use::

    mask = span_mask(phone_ids, lengths, cfg.flow.p_full_mask,
                     cfg.flow.span_min, cfg.flow.span_max, generator=g)
    x_ctx = build_context(x1, mask)            # voiceflow.flow.conditioning
    loss = masked_mse(v, u_t, mask)            # voiceflow.flow.loss

A phone boundary is a frame index k where the frame-level phone id changes
(``phone_ids[k] != phone_ids[k-1]``), plus 0 and the length. Two adjacent phones with the
same id read as one phone. The whole computation is vectorised over the batch and runs on
the device of ``phone_ids`` without a host sync; the random draws are made on the
generator's device, so a seeded generator gives the same masks on any device (a CPU
generator with CUDA phone ids costs one small host-to-device copy).

Shapes:
    B batch     T frames (padded length)
    phone_ids   (B, T) long, frame-level phone ids (0 = padding)
    lengths     (B,) long, valid frames per utterance
    masks       (B, T) bool;  boundaries (B, T + 1) bool (index k = "before frame k")
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["padding_mask", "phone_boundaries", "span_mask", "span_from_times"]


def padding_mask(lengths: Tensor, T: int) -> Tensor:
    """(B, T) bool, True on valid frames (index < length), False on padding."""
    return torch.arange(T, device=lengths.device) < lengths.unsqueeze(1)


def phone_boundaries(phone_ids: Tensor, lengths: Tensor) -> Tensor:
    """(B, T + 1) bool, True at every index where a span may start or end.

    Index k is a boundary when k == 0, k == length, or 0 < k < length and the phone id
    of frame k differs from that of frame k - 1. Nothing beyond the length is a boundary.
    """
    B, T = phone_ids.shape
    pos = torch.arange(T + 1, device=phone_ids.device)
    L = lengths.to(phone_ids.device).unsqueeze(1)
    bnd = torch.zeros(B, T + 1, dtype=torch.bool, device=phone_ids.device)
    bnd[:, 1:T] = phone_ids[:, 1:] != phone_ids[:, :-1]
    bnd[:, 0] = True
    bnd |= pos == L
    return bnd & (pos <= L)


def _nearest(candidates: Tensor, target: Tensor) -> Tensor:
    """Per row, the candidate index nearest to ``target`` (ties go to the lower index)."""
    n = candidates.shape[1]
    dist = (torch.arange(n, device=candidates.device) - target.unsqueeze(1)).abs()
    return torch.where(candidates, dist, 2 * n + 1).argmin(dim=1)


def _mask_from_draws(
    phone_ids: Tensor, lengths: Tensor, full: Tensor, frac: Tensor, u_start: Tensor
) -> Tensor:
    """The masks for given random draws: ``full`` (B,) bool, ``frac`` and ``u_start`` in [0, 1).

    The span length is ``round(frac * length)`` (at least 1); its start is uniform over
    the positions where it fits, snapped to the nearest boundary before the end; its end is
    the boundary nearest ``start + span length`` after the start (so at least one phone).
    """
    T = phone_ids.shape[1]
    L = lengths.to(device=phone_ids.device, dtype=torch.long)
    span = torch.minimum(torch.round(frac * L).long().clamp(min=1), L)
    start = torch.floor(u_start * (L - span + 1)).long()
    start = torch.minimum(start, L - span).clamp(min=0)
    bnd = phone_boundaries(phone_ids, L)
    pos = torch.arange(T + 1, device=phone_ids.device)
    s = _nearest(bnd & (pos < L.unsqueeze(1)), start)
    e = _nearest(bnd & (pos > s.unsqueeze(1)), s + span)
    frames = pos[:T]
    mask = (frames >= s.unsqueeze(1)) & (frames < e.unsqueeze(1))
    valid = padding_mask(L, T)
    return torch.where(full.unsqueeze(1), valid, mask) & valid


def span_mask(
    phone_ids: Tensor,
    lengths: Tensor,
    p_full: float,
    span_min: float,
    span_max: float,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw the Voicebox training mask for a batch.

    Args:
        phone_ids: (B, T) frame-level phone ids; values beyond ``lengths`` are ignored.
        lengths: (B,) number of valid frames of each utterance.
        p_full: probability that an utterance is masked entirely (``FlowConfig.p_full_mask``).
        span_min, span_max: range of the masked fraction otherwise (0 < min <= max <= 1).
        generator: optional seeded ``torch.Generator`` (CPU or CUDA) for reproducible masks.

    Returns:
        (B, T) bool, True = masked (to be generated). Never True on padding, and never
        empty for an utterance of length >= 1.
    """
    if not 0.0 < span_min <= span_max <= 1.0:
        raise ValueError(f"need 0 < span_min <= span_max <= 1, got {span_min}, {span_max}")
    if not 0.0 <= p_full <= 1.0:
        raise ValueError(f"p_full must be in [0, 1], got {p_full}")
    if phone_ids.dim() != 2 or lengths.shape != phone_ids.shape[:1]:
        raise ValueError(
            f"expected phone_ids (B, T) and lengths (B,), got {tuple(phone_ids.shape)} "
            f"and {tuple(lengths.shape)}"
        )
    B, device = phone_ids.shape[0], phone_ids.device
    draw_device = generator.device if generator is not None else device
    u = torch.rand(3, B, generator=generator, device=draw_device, dtype=torch.float64).to(device)
    frac = span_min + (span_max - span_min) * u[1]
    return _mask_from_draws(phone_ids, lengths, u[0] < p_full, frac, u[2])


def span_from_times(
    start_frame: int, end_frame: int, T: int, device: torch.device | str | None = None
) -> Tensor:
    """(T,) bool mask, True on frames ``start_frame <= i < end_frame`` (clipped to [0, T]).

    For inference (infilling, editing): convert seconds to frames first, for example
    ``round(seconds * sample_rate / hop_length)``.
    """
    start, end = max(0, min(int(start_frame), T)), max(0, min(int(end_frame), T))
    if start > end:
        raise ValueError(f"span start {start_frame} is after its end {end_frame}")
    frames = torch.arange(T, device=device)
    return (frames >= start) & (frames < end)
