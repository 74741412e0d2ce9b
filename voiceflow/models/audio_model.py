"""The Voicebox audio model: the velocity estimator v(x_t, x_ctx, phones, t).

Following Le et al. (2023, sec. 3.3, fig. 2): per frame, the noisy mel x_t, the masked
context x_ctx and the embedding of the frame's phone are concatenated and projected to the
model width; a convolutional positional embedding (Baevski et al., 2020) is added; the
flow step t, embedded sinusoidally, joins as one extra token per utterance; a transformer
with symmetric ALiBi self-attention and U-Net skips follows; a linear layer maps each frame
back to a velocity in mel space.

Usage::

    model = VoiceboxAudioModel(cfg.model, n_mels=100)
    v = model(x_t, x_ctx, phones, t, lengths)          # (B, T, M)

    pack = model.make_pack(lengths, T)                  # reuse across ODE steps
    v = model(x_t, x_ctx, phones, t, pack=pack)

Shape legend: B utterances, T padded frames, M mel bins, P phone-embedding width, D model
width, N packed tokens. Padded frames (t >= lengths[b]) never influence any output, and the
output there is zero.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from voiceflow.config import ModelConfig
from voiceflow.models.attention import raise_compile_cache_limit
from voiceflow.models.packing import Pack, attention_layout, make_pack, pack_frames, unpack_frames
from voiceflow.models.transformer import UNetTransformer


class ConvPositionEmbedding(nn.Module):
    """x + GELU(grouped conv(x)) over time, with padding zeroed first: (B, T, D) -> (B, T, D)."""

    def __init__(self, dim: int, kernel: int, groups: int):
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"conv_pos_kernel must be odd, got {kernel}")
        self.conv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=groups)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        x = x * valid[..., None]
        return x + F.gelu(self.conv(x.transpose(1, 2))).transpose(1, 2)


class TimestepEmbedding(nn.Module):
    """Sinusoidal embedding of the flow step t in [0, 1], then a two-layer MLP: (B,) -> (B, D)."""

    def __init__(self, dim: int, sin_dim: int = 256, scale: float = 1000.0):
        super().__init__()
        self.sin_dim, self.scale = sin_dim, scale
        self.mlp = nn.Sequential(nn.Linear(sin_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: Tensor) -> Tensor:
        half = self.sin_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
        angles = self.scale * t.float()[:, None] * freqs[None, :]
        features = torch.cat([angles.sin(), angles.cos()], dim=-1)
        return self.mlp(features.to(self.mlp[0].weight.dtype))


class VoiceboxAudioModel(nn.Module):
    def __init__(self, cfg: ModelConfig, n_mels: int):
        super().__init__()
        if cfg.n_phones < 2:
            raise ValueError("model.n_phones must be set from the phone inventory (padding + phones)")
        self.cfg, self.n_mels = cfg, n_mels
        self.phone_embed = nn.Embedding(cfg.n_phones, cfg.phone_dim, padding_idx=0)
        self.in_proj = nn.Linear(2 * n_mels + cfg.phone_dim, cfg.dim)
        self.conv_pos = ConvPositionEmbedding(cfg.dim, cfg.conv_pos_kernel, cfg.conv_pos_groups)
        self.time_embed = TimestepEmbedding(cfg.dim)
        self.transformer = UNetTransformer(cfg.dim, cfg.depth, cfg.heads, cfg.ff_dim, cfg.dropout)
        self.out_proj = nn.Linear(cfg.dim, n_mels)

    def make_pack(self, lengths: Tensor | list[int], max_len: int) -> Pack:
        device = self.in_proj.weight.device
        layout = attention_layout(self.cfg.attention, device, "model.attention")
        return make_pack(lengths, max_len, device, multiple=self.cfg.pack_multiple, attention=layout)

    def compile_blocks(self, dynamic: bool = False) -> None:
        """torch.compile each transformer block in place (state_dict keys unchanged).

        With ``dynamic=False`` every packed length compiles anew (``pack_multiple`` keeps
        the number of distinct lengths small); ``dynamic=True`` compiles once for any length.
        """
        raise_compile_cache_limit()
        for block in self.transformer.blocks:
            block.compile(dynamic=dynamic)

    def forward(self, x_t: Tensor, x_ctx: Tensor, phones: Tensor, t: Tensor,
                lengths: Tensor | None = None, pack: Pack | None = None) -> Tensor:
        """x_t, x_ctx: (B, T, M); phones: (B, T) ids (0 = padding / dropped); t: (B,).

        Give ``lengths`` (B,) or a precomputed ``pack``; returns the velocity (B, T, M).
        """
        B, T, _ = x_t.shape
        if pack is None:
            if lengths is None:
                lengths = [T] * B
            pack = self.make_pack(lengths, T)
        h = self.in_proj(torch.cat([x_t, x_ctx, self.phone_embed(phones).to(x_t.dtype)], dim=-1))
        h = self.conv_pos(h, pack.valid)
        tokens = pack_frames(h, pack, self.time_embed(t))  # (N, D)
        tokens = self.transformer(tokens, pack)
        v = self.out_proj(tokens[pack.frame_dst])  # (F, M)
        return unpack_frames(v, pack, B)
