"""Exponential moving average of model weights (kept in float32, updated after each step).

``decay`` is the paper-style long-run decay; with ``warmup`` the effective decay is
``min(decay, (1 + n) / (10 + n))`` after n updates, so that early averages are not dominated
by the random initialisation (a common schedule, e.g. in TensorFlow's ExponentialMovingAverage).
"""

from __future__ import annotations

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, decay: float, warmup: bool = True):
        self.decay, self.warmup, self.updates = decay, warmup, 0
        self.params = {name: p.detach().float().clone() for name, p in model.named_parameters()}

    def current_decay(self) -> float:
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        decay = self.current_decay()
        names = list(self.params)
        live = dict(model.named_parameters())
        shadow = [self.params[n] for n in names]
        current = [live[n].detach().float() for n in names]
        torch._foreach_lerp_(shadow, current, 1.0 - decay)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "params": self.params}

    def load_state_dict(self, state: dict) -> None:
        self.updates = int(state["updates"])
        missing = set(self.params) - set(state["params"])
        if missing:
            raise KeyError(f"EMA state lacks {sorted(missing)[:3]}...")
        for name, value in state["params"].items():
            self.params[name].copy_(value)

    def model_state_dict(self, model: nn.Module) -> dict:
        """A full state_dict of ``model`` with the averaged weights in place of the live ones."""
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        for name, value in self.params.items():
            state[name] = value.to(state[name].dtype).clone()
        return state
