"""Conditional probability paths of flow matching, each with its exact conditional field.

A path is a family of Gaussians ``p_t(x | z) = N(mu_t(z), sigma_t^2 I)`` that carries noise
(t = 0) to data (t = 1), together with the vector field ``u_t(x | z)`` that generates it.
The model regresses ``u_t`` at points ``x_t ~ p_t(. | z)``. Two paths (``FlowConfig.path``):

``ot``    Lipman et al. (2023), "Flow Matching for Generative Modeling", eqs. 20-23, the path
          of Voicebox (Le et al., 2023, sec. 3.1); conditioned on the data ``z = x1``:
              mu_t = t x1,     sigma_t = 1 - (1 - sigma_min) t
              u_t(x | x1) = (x1 - (1 - sigma_min) x) / (1 - (1 - sigma_min) t)
          A sample is ``x_t = sigma_t x0 + t x1`` with ``x0 ~ N(0, I)``, at which the field
          is ``x1 - (1 - sigma_min) x0``.

``icfm``  Independent CFM, Tong et al. (2024), "Improving and generalizing flow-based
          generative models with minibatch optimal transport", sec. 3.2; conditioned on the
          pair ``z = (x0, x1)``, a fixed Gaussian of width sigma around the straight line:
              mu_t = t x1 + (1 - t) x0,     sigma_t = sigma
              u_t(x | x0, x1) = x1 - x0     (sigma_t is constant, so x does not enter)
          A sample is ``x_t = mu_t + sigma eps`` with a second noise ``eps ~ N(0, I)``.

Both start from ``x0 ~ N(0, I)`` at t = 0 (for ``icfm`` blurred by sigma), so sampling is
the same for both. Training::

    path = make_path(cfg.flow)                                    # or make_path("ot", 1e-5)
    t = sample_time(B, generator=g, device=x1.device)
    x_t, u_t = path.sample(x0, x1, t, eps)                        # eps only read by icfm
    loss = masked_mse(model(x_t, t, ...), u_t, mask)

Shapes (legend used throughout ``voiceflow.flow``):
    B  batch (utterances)     T  frames     D  feature dim (mel bins)
    x, x0, x1, eps, x_t, u_t  (B, T, D) float; any trailing shape after B works
    t                         (B,) float, or a 0-d tensor / Python float shared by the batch
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["PATHS", "IndependentPath", "OTPath", "make_path", "ot_path", "sample_time"]


def _per_item(t: Tensor | float, like: Tensor) -> Tensor:
    """``t`` as a tensor that broadcasts one value per batch item over ``like``."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.dim() == 0:
        return t
    if t.dim() != 1 or t.shape[0] != like.shape[0]:
        raise ValueError(f"t must be 0-d or of shape ({like.shape[0]},), got {tuple(t.shape)}")
    return t.view(-1, *([1] * (like.dim() - 1)))


def _same_shape(*xs: Tensor | None) -> None:
    shapes = {tuple(x.shape) for x in xs if x is not None}
    if len(shapes) > 1:
        raise ValueError(f"path inputs differ in shape: {sorted(shapes)}")


class OTPath:
    """The OT path of Lipman et al.: mean t x1, width shrinking from 1 to sigma_min."""

    name = "ot"
    needs_eps = False

    def __init__(self, sigma_min: float = 1e-5):
        if not 0 <= sigma_min < 1:
            raise ValueError(f"sigma_min must be in [0, 1), got {sigma_min}")
        self.sigma_min = sigma_min

    def mean_std(self, x0: Tensor, x1: Tensor, t: Tensor | float) -> tuple[Tensor, Tensor]:
        """``mu_t`` (shaped like x1) and ``sigma_t`` (broadcastable) of p_t(. | x1)."""
        tb = _per_item(t, x1)
        return tb * x1, 1 - (1 - self.sigma_min) * tb

    def sample(self, x0: Tensor, x1: Tensor, t: Tensor | float,
               eps: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(x_t, u_t)``: the point ``sigma_t x0 + t x1`` and the field there. ``eps`` is unused."""
        _same_shape(x0, x1)
        tb = _per_item(t, x1)
        x_t = (1 - (1 - self.sigma_min) * tb) * x0 + tb * x1
        return x_t, x1 - (1 - self.sigma_min) * x0

    def field(self, x: Tensor, t: Tensor | float, x0: Tensor, x1: Tensor) -> Tensor:
        """The conditional field ``u_t(x | x1)`` at any point ``x`` (t < 1 when sigma_min = 0)."""
        _same_shape(x, x1)
        tb = _per_item(t, x1)
        return (x1 - (1 - self.sigma_min) * x) / (1 - (1 - self.sigma_min) * tb)


class IndependentPath:
    """Independent CFM of Tong et al.: width sigma around the line from x0 to x1."""

    name = "icfm"
    needs_eps = True

    def __init__(self, sigma: float = 0.1):
        if not sigma >= 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}")
        self.sigma = sigma

    def mean_std(self, x0: Tensor, x1: Tensor, t: Tensor | float) -> tuple[Tensor, Tensor]:
        tb = _per_item(t, x1)
        return tb * x1 + (1 - tb) * x0, torch.full_like(tb, self.sigma)

    def sample(self, x0: Tensor, x1: Tensor, t: Tensor | float,
               eps: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(x_t, u_t)``: ``t x1 + (1 - t) x0 + sigma eps`` and ``x1 - x0``."""
        _same_shape(x0, x1, eps)
        if eps is None and self.sigma > 0:
            raise ValueError("the icfm path needs eps (a second standard normal draw) when sigma > 0")
        tb = _per_item(t, x1)
        x_t = tb * x1 + (1 - tb) * x0
        if self.sigma > 0:
            x_t = x_t + self.sigma * eps
        return x_t, x1 - x0

    def field(self, x: Tensor, t: Tensor | float, x0: Tensor, x1: Tensor) -> Tensor:
        _same_shape(x, x0, x1)
        return (x1 - x0).expand_as(x)


PATHS = {"ot": OTPath, "icfm": IndependentPath}


def make_path(spec: Any, sigma_min: float = 1e-5, sigma: float = 0.1) -> OTPath | IndependentPath:
    """A path from a ``FlowConfig`` (its ``path``, ``sigma_min``, ``icfm_sigma``) or a name."""
    if not isinstance(spec, str):
        spec, sigma_min, sigma = spec.path, spec.sigma_min, spec.icfm_sigma
    if spec == "ot":
        return OTPath(sigma_min)
    if spec == "icfm":
        return IndependentPath(sigma)
    raise ValueError(f"unknown probability path {spec!r}; known paths: {', '.join(PATHS)}")


def ot_path(
    x0: Tensor, x1: Tensor, t: Tensor | float, sigma_min: float = 1e-5
) -> tuple[Tensor, Tensor]:
    """``OTPath(sigma_min).sample(x0, x1, t)``: ``x_t = (1 - (1 - sigma_min) t) x0 + t x1``
    and ``u_t = x1 - (1 - sigma_min) x0``, both shaped like ``x0``."""
    return OTPath(sigma_min).sample(x0, x1, t)


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
