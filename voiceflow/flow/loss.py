"""Masked regression losses of the audio model (Voicebox, Le et al., 2023, eq. 6).

Voicebox trains the velocity only where it generates: the loss is the mean squared error
between predicted and target velocity over the masked frames (``mask`` from
``span_mask``), never over the audio context nor the padding::

    loss = masked_mse(v_pred, u_t, mask)          # train
    l1 = masked_l1(x_gen, x_ref, mask)            # reports

The mean runs over the selected frames AND the feature dim. Frames outside the mask do
not reach the result nor its gradient, even when they hold inf or NaN (values are
selected with ``torch.where``, not multiplied by 0). With an empty mask the result is a
0-d zero that stays attached to the graph of ``pred`` (gradient zero), computed without a
host sync. Sums run in at least float32, so bf16 / fp16 predictions lose no precision.

Shapes:
    B batch     T frames     D feature dim
    pred, target   (B, T, D) float (any (..., D) with the mask shaped like (...))
    loss_mask      (B, T) bool, True = counted; ``valid`` (B, T) bool, optional
    result         0-d float tensor
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["masked_mse", "masked_l1"]


def _masked_mean(
    pred: Tensor, target: Tensor, loss_mask: Tensor, valid: Tensor | None, power: int
) -> Tensor:
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    if loss_mask.shape != pred.shape[:-1]:
        raise ValueError(
            f"mask {tuple(loss_mask.shape)} does not match the frames of {tuple(pred.shape)}"
        )
    mask = loss_mask.bool()
    if valid is not None:
        mask = mask & valid.bool()
    dtype = torch.promote_types(pred.dtype, torch.float32)
    sel = mask.unsqueeze(-1)
    diff = torch.where(sel, pred.to(dtype) - target.to(dtype), 0.0)
    err = diff.square() if power == 2 else diff.abs()
    count = mask.sum().to(dtype).clamp(min=1) * pred.shape[-1]
    return err.sum() / count


def masked_mse(
    pred: Tensor, target: Tensor, loss_mask: Tensor, valid: Tensor | None = None
) -> Tensor:
    """Mean squared error over the frames where ``loss_mask`` (and ``valid``, if given) is True.

    ``loss_mask`` must already be False on padding (``span_mask`` guarantees it) or
    ``valid`` (``padding_mask(lengths, T)``) must be passed. Returns a 0-d tensor; 0 with
    the graph kept when no frame is selected.
    """
    return _masked_mean(pred, target, loss_mask, valid, power=2)


def masked_l1(pred: Tensor, target: Tensor, mask: Tensor, valid: Tensor | None = None) -> Tensor:
    """Mean absolute error over the selected frames; same conventions as :func:`masked_mse`."""
    return _masked_mean(pred, target, mask, valid, power=1)
