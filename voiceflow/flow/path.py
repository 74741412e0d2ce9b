"""The optimal-transport conditional probability path of flow matching.

Lipman et al. (2023), "Flow Matching for Generative Modeling", eqs. 20-23, as used by
Voicebox (Le et al., 2023, sec. 3.1): noise ``x0 ~ N(0, I)`` is carried to data ``x1`` on
the straight line

    x_t = (1 - (1 - sigma_min) t) x0 + t x1,        t in [0, 1]

whose (constant in t) velocity is the regression target of the model

    u_t = d x_t / d t = x1 - (1 - sigma_min) x0.

At t = 0 the path is the noise; at t = 1 it is ``x1 + sigma_min x0``, a Gaussian of width
sigma_min around the data. Training::

    t = sample_time(x1.shape[0], generator=g, device=x1.device)
    x_t, u_t = ot_path(torch.randn_like(x1), x1, t, cfg.flow.sigma_min)
    loss = masked_mse(model(x_t, t, ...), u_t, mask)

Shapes (legend used throughout ``voiceflow.flow``):
    B  batch (utterances)     T  frames     D  feature dim (mel bins)
    x0, x1, x_t, u_t  (B, T, D) float; any trailing shape after B works
    t                 (B,) float, or a 0-d tensor / Python float shared by the batch
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["ot_path", "sample_time"]


def _per_item(t: Tensor | float, like: Tensor) -> Tensor:
    """``t`` as a tensor that broadcasts one value per batch item over ``like``."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.dim() == 0:
        return t
    if t.dim() != 1 or t.shape[0] != like.shape[0]:
        raise ValueError(f"t must be 0-d or of shape ({like.shape[0]},), got {tuple(t.shape)}")
    return t.view(-1, *([1] * (like.dim() - 1)))


def ot_path(
    x0: Tensor, x1: Tensor, t: Tensor | float, sigma_min: float = 1e-5
) -> tuple[Tensor, Tensor]:
    """Point and target velocity of the OT conditional path at time ``t``.

    Args:
        x0: noise sample, (B, T, D).
        x1: data sample, same shape as ``x0``.
        t: time per item (B,) in [0, 1] (or one shared time).
        sigma_min: width of the path at t = 1 (``FlowConfig.sigma_min``).

    Returns:
        ``(x_t, u_t)``, both shaped like ``x0``:
        ``x_t = (1 - (1 - sigma_min) t) x0 + t x1`` and ``u_t = x1 - (1 - sigma_min) x0``.
    """
    if x0.shape != x1.shape:
        raise ValueError(f"x0 and x1 differ in shape: {tuple(x0.shape)} vs {tuple(x1.shape)}")
    tb = _per_item(t, x1)
    x_t = (1 - (1 - sigma_min) * tb) * x0 + tb * x1
    u_t = x1 - (1 - sigma_min) * x0
    return x_t, u_t


def sample_time(
    batch: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Training times, one per utterance, uniform in [0, 1).

    The draw is made on the generator's device (so a seeded CPU generator gives the same
    times whatever the training device) and then moved to ``device``; without a generator
    it is drawn directly on ``device`` (default: the CPU).

    Returns:
        (B,) tensor of ``dtype`` on ``device``.
    """
    draw_device = generator.device if generator is not None else device
    t = torch.rand(batch, generator=generator, device=draw_device, dtype=dtype)
    return t.to(device) if device is not None else t
