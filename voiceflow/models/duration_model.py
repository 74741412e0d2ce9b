"""The Voicebox duration model: per-phone log-durations from phones and a duration context.

Le et al. (2023, sec. 3.3, "Duration model"): given the phone sequence y, a mask m over
phones and the context durations l_ctx = (1 - m) * l, the model predicts the masked
durations m * l, either by masked regression ("Dur-Regr", L1 loss) or as a flow-matching
model of q(m * l | y, l_ctx) ("Dur-FM"), with the same transformer as the audio model.

The modelled feature is the dequantised log-duration ``f = log(1 + d + u)``, u ~ U[0, 1),
normalised with the training-set mean / std of ``log(1 + d)`` (buffers ``log_mean`` and
``log_std``, set by the trainer, so that they travel in the checkpoint).

Per phone token the input is [phone embedding, normalised context log-duration (0 where
masked or unknown), mask flag (1 = to predict)], plus x_t for the flow variant, projected to
the model width; a convolutional positional embedding is added; one extra token per
utterance carries the sinusoidal flow step t (flow) or a learned constant (regression: the
slot keeps the same packed layout and gives the utterance a global "summary" token);
the U-Net transformer with ALiBi runs on packed tokens, so padding never changes an item's
output. Usage::

    model = DurationModel(cfg.duration, n_phones=len(inventory))
    model.set_normalisation(mean, std)                       # from the training set
    z = model(phones, ctx, flag, lengths)                     # regression: (B, L) normalised log(1+d)
    v = model(phones, ctx, flag, lengths, x_t=x_t, t=t)       # flow: (B, L) velocity

Shape legend: B utterances, L padded phones, P phone-embedding width, D model width.
``phones`` (B, L) long (0 = padding / dropped); ``ctx`` (B, L) float, normalised;
``flag`` (B, L) float or bool; ``x_t`` (B, L) float; ``t`` (B,); outputs (B, L), 0 on padding.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from voiceflow.models.audio_model import ConvPositionEmbedding, TimestepEmbedding
from voiceflow.models.packing import Pack, attention_layout, make_pack, pack_frames, unpack_frames
from voiceflow.models.transformer import UNetTransformer

KINDS = ("regression", "flow")


def encode_durations(durations: Tensor, dequant: Tensor | None = None) -> Tensor:
    """Frame durations d (any shape, >= 0) -> ``log(1 + d + u)``; ``u`` defaults to 0.5
    (the mean of the U[0, 1) dequantisation noise, used for known context durations)."""
    d = durations.float()
    return torch.log1p(d + (dequant if dequant is not None else 0.5))


def decode_durations(log_d: Tensor, rate: float = 1.0) -> Tensor:
    """Inverse of :func:`encode_durations`: ``floor(max(exp(f) - 1.5, 0) / rate + 0.5)``.

    ``exp(f) - 1 = d + u`` lies in [d, d + 1); subtracting the mean 0.5 of u and rounding
    recovers d exactly for rate 1 (a regression predicts about d + 0.5). Dividing by
    ``rate`` (> 1: faster speech) before rounding; zeros (ghost silences) are possible.
    Returns a long tensor shaped like ``log_d``.
    """
    cont = (torch.exp(log_d.float()) - 1.5).clamp(min=0.0)
    return torch.floor(cont / rate + 0.5).long()


class DurationModel(nn.Module):
    def __init__(self, cfg, n_phones: int):
        """``cfg``: a :class:`voiceflow.config.DurationConfig` (or anything with its fields)."""
        super().__init__()
        if cfg.kind not in KINDS:
            raise ValueError(f"duration.kind must be one of {KINDS}, got {cfg.kind!r}")
        if n_phones < 2:
            raise ValueError("n_phones must be set from the phone inventory (padding + phones)")
        self.cfg, self.kind, self.n_phones = cfg, cfg.kind, n_phones
        self.phone_embed = nn.Embedding(n_phones, cfg.phone_dim, padding_idx=0)
        extra = 3 if self.kind == "flow" else 2  # ctx, flag (+ x_t)
        self.in_proj = nn.Linear(cfg.phone_dim + extra, cfg.dim)
        self.conv_pos = ConvPositionEmbedding(cfg.dim, cfg.conv_pos_kernel, cfg.conv_pos_groups)
        if self.kind == "flow":
            self.time_embed = TimestepEmbedding(cfg.dim)
        else:  # a learned constant in the flow-step slot of the packed layout
            self.step_token = nn.Parameter(torch.randn(cfg.dim) / math.sqrt(cfg.dim))
        self.transformer = UNetTransformer(cfg.dim, cfg.depth, cfg.heads, cfg.ff_dim, cfg.dropout)
        self.out_proj = nn.Linear(cfg.dim, 1)
        # normalisation of log(1 + d): set from the training set by the trainer
        self.register_buffer("log_mean", torch.zeros(()))
        self.register_buffer("log_std", torch.ones(()))

    # ------------------------------------------------------------------ normalisation
    def set_normalisation(self, mean: float, std: float) -> None:
        if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
            raise ValueError(f"bad log-duration statistics: mean {mean}, std {std}")
        self.log_mean.fill_(mean)
        self.log_std.fill_(std)

    def normalise(self, log_d: Tensor) -> Tensor:
        return (log_d - self.log_mean) / self.log_std

    def denormalise(self, z: Tensor) -> Tensor:
        return z * self.log_std + self.log_mean

    # ------------------------------------------------------------------ packing
    def make_pack(self, lengths: Tensor | list[int], max_len: int) -> Pack:
        device = self.in_proj.weight.device
        layout = attention_layout(self.cfg.attention, device, "duration.attention")
        return make_pack(lengths, max_len, device, multiple=self.cfg.pack_multiple, attention=layout)

    # ------------------------------------------------------------------ forward
    def forward(self, phones: Tensor, ctx: Tensor, flag: Tensor, lengths: Tensor | None = None,
                x_t: Tensor | None = None, t: Tensor | None = None, pack: Pack | None = None) -> Tensor:
        """phones (B, L), ctx (B, L), flag (B, L); flow also x_t (B, L) and t (B,). -> (B, L)."""
        B, L = phones.shape
        if pack is None:
            pack = self.make_pack(lengths if lengths is not None else [L] * B, L)
        dtype = self.in_proj.weight.dtype
        feats = [self.phone_embed(phones).to(dtype), ctx.to(dtype)[..., None], flag.to(dtype)[..., None]]
        if self.kind == "flow":
            if x_t is None or t is None:
                raise ValueError("the flow duration model needs x_t and t")
            feats.append(x_t.to(dtype)[..., None])
            step = self.time_embed(t)  # (B, D)
        else:
            step = self.step_token.expand(B, -1)
        h = self.in_proj(torch.cat(feats, dim=-1))  # (B, L, D)
        h = self.conv_pos(h, pack.valid)
        tokens = self.transformer(pack_frames(h, pack, step), pack)  # (N, D)
        out = self.out_proj(tokens[pack.frame_dst])  # (F, 1)
        return unpack_frames(out, pack, B)[..., 0]
