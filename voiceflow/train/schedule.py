"""Learning-rate schedule of Voicebox (Le et al., 2023, sec. 5.1): linear warm-up to the
peak over ``warmup`` steps, then linear decay to ``final_ratio`` of the peak at ``total``."""

from __future__ import annotations

import torch


def warmup_linear_decay(step: int, warmup: int, total: int, final_ratio: float = 0.0) -> float:
    """Multiplier of the peak learning rate at optimizer step ``step`` (0-based)."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if total <= warmup:
        return 1.0
    progress = min(1.0, (step - warmup) / (total - warmup))
    return 1.0 - (1.0 - final_ratio) * progress


def make_scheduler(optimizer: torch.optim.Optimizer, warmup: int, total: int, final_ratio: float = 0.0):
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_linear_decay(step, warmup, total, final_ratio))
