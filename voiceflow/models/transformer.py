"""The Voicebox transformer: pre-norm blocks with U-Net skip connections, on packed tokens.

Voicebox (Le et al., 2023, sec. 3.3) connects layer i to layer L + 1 - i (1-based): the
earlier output is concatenated to the later layer's input and projected back to the model
width by a linear layer. Here the projection lives in the receiving block, so that a
compiled block fuses it with the rest of its work.

Shape legend: N packed tokens, D model width, F feed-forward width.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from voiceflow.models.attention import AlibiSelfAttention
from voiceflow.models.packing import Pack


class FeedForward(nn.Module):
    def __init__(self, dim: int, ff_dim: int, dropout: float = 0.0):
        super().__init__()
        self.up = nn.Linear(dim, ff_dim)
        self.act = nn.GELU()
        self.down = nn.Linear(ff_dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.down(self.act(self.up(x))))


class Block(nn.Module):
    """Pre-norm transformer block, optionally receiving a U-Net skip: (N, D) -> (N, D)."""

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float = 0.0, receives_skip: bool = False):
        super().__init__()
        self.skip_proj = nn.Linear(2 * dim, dim) if receives_skip else None
        self.attn_norm = nn.LayerNorm(dim)
        self.attn = AlibiSelfAttention(dim, heads, dropout)
        self.ff_norm = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, ff_dim, dropout)

    def forward(self, x: Tensor, pack: Pack, skip: Tensor | None = None) -> Tensor:
        if self.skip_proj is not None:
            x = self.skip_proj(torch.cat([x, skip], dim=-1))
        x = x + self.attn(self.attn_norm(x), pack)
        return x + self.ff(self.ff_norm(x))


class UNetTransformer(nn.Module):
    """``depth`` blocks; block i (0-based) of the first half feeds block depth-1-i."""

    def __init__(self, dim: int, depth: int, heads: int, ff_dim: int, dropout: float = 0.0):
        super().__init__()
        self.half = depth // 2
        self.blocks = nn.ModuleList(
            Block(dim, heads, ff_dim, dropout, receives_skip=i >= depth - self.half) for i in range(depth)
        )
        self.final_norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, pack: Pack) -> Tensor:
        skips: list[Tensor] = []
        for i, block in enumerate(self.blocks):
            skip = skips.pop() if block.skip_proj is not None else None
            x = block(x, pack, skip)
            if i < self.half:
                skips.append(x)
        return self.final_norm(x)
