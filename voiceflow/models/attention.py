"""Multi-head self-attention with symmetric bi-directional ALiBi over packed utterances.

Voicebox (Le et al., 2023, appendix A.6) replaces positional encodings in attention by a
symmetric ALiBi bias: head h adds ``-m_h * |i - j|`` to the score of query frame i and key
frame j, with the slopes of Press et al. (2022). The flow-step token carries no position:
its bias to and from every frame is zero. Attention never crosses utterances.

Two exact implementations of the same function:

* ``flex``: FlexAttention (compiled) over the whole packed sequence, with the ALiBi bias as a
  ``score_mod`` and a block mask that skips blocks of different utterances. The attention
  matrix is never materialised; used on CUDA. ``flex_padded`` runs the same kernel on the
  tokens copied into padded rows, flow-step token first (``models/packing.py``).
* ``sdpa``: the utterances gathered into a padded batch, one ``scaled_dot_product_attention``
  call with an explicit bias and key-padding mask; exact and simple, used on the CPU (the
  bias is (B, H, L, L)).

Shape legend: N packed tokens, D model width, H heads, Dh = D / H head width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from voiceflow.models.packing import Pack, from_padded_rows, to_padded_rows


def alibi_slopes(heads: int) -> Tensor:
    """ALiBi slopes (Press et al., 2022): a geometric sequence starting at 2^(-8/n) for n a
    power of two; other head counts interleave the slopes of the next power of two."""

    def power_of_two(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    if math.log2(heads).is_integer():
        slopes = power_of_two(heads)
    else:
        closest = 2 ** math.floor(math.log2(heads))
        slopes = power_of_two(closest) + power_of_two(2 * closest)[0::2][: heads - closest]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi_bias(slopes: Tensor, length: int) -> Tensor:
    """(H, L, L) bias of one utterance whose token 0 is the flow-step token (zero bias)."""
    pos = torch.arange(length, device=slopes.device)
    bias = -slopes[:, None, None] * (pos[:, None] - pos[None, :]).abs().float()
    bias[:, 0, :] = 0.0
    bias[:, :, 0] = 0.0
    return bias


def flex_alibi_attention(q: Tensor, k: Tensor, v: Tensor, slopes: Tensor, time_start: int, block_mask) -> Tensor:
    """FlexAttention with the Voicebox ALiBi bias. q, k, v: (B, H, N, Dh) -> (B, H, N, Dh).

    Tokens at or after ``time_start`` are flow-step tokens (zero bias); ``time_start=0``
    means the padded-row layout, whose flow-step token is token 0 of each row. The bias is
    pure arithmetic on the indices (the slope of a power-of-two head count is
    2^(-8 (h+1) / H)); the indices are converted to float before they are combined (exact
    below 2^24), so that the conversion is done per row and per column, not per score.
    """
    from torch.nn.attention.flex_attention import flex_attention

    heads = q.shape[1]
    power_of_two = math.log2(heads).is_integer()

    def alibi(score, b, h, q_idx, kv_idx):
        dist = (q_idx.to(torch.float32) - kv_idx.to(torch.float32)).abs()
        if power_of_two:
            slope = torch.exp2((h + 1).to(torch.float32) * (-8.0 / heads))
        else:
            slope = slopes[h]
        if time_start == 0:
            positional = (q_idx > 0) & (kv_idx > 0)
        else:
            positional = (q_idx < time_start) & (kv_idx < time_start)
        return score - torch.where(positional, slope * dist, 0.0)

    return flex_attention(q, k, v, score_mod=alibi, block_mask=block_mask)


_compiled_flex = None
# Every packed length compiles its own kernels; keep many of them instead of dynamo's default
# 8, past which it would silently run FlexAttention eagerly (materialising the scores).
COMPILE_CACHE_SIZE = 64


def raise_compile_cache_limit() -> None:
    import torch._dynamo

    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, COMPILE_CACHE_SIZE)


def _flex(*args) -> Tensor:
    """Run the FlexAttention path compiled (eager FlexAttention materialises the scores)."""
    global _compiled_flex
    if torch.compiler.is_compiling():  # inside a compiled block: trace through directly
        return flex_alibi_attention(*args)
    if _compiled_flex is None:
        raise_compile_cache_limit()
        _compiled_flex = torch.compile(flex_alibi_attention, dynamic=False)
    return _compiled_flex(*args)


class AlibiSelfAttention(nn.Module):
    """Fused-QKV self-attention on packed tokens: (N, D) -> (N, D)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"model width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("slopes", alibi_slopes(heads), persistent=False)

    def forward(self, x: Tensor, pack: Pack) -> Tensor:
        N, D = x.shape
        H = self.heads
        if pack.row_src is not None:
            return self.dropout(self.out(self._flex_rows(x, pack)))
        qkv = self.qkv(x).view(N, 3, H, D // H).permute(1, 2, 0, 3)  # (3, H, N, Dh)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if pack.block_mask is not None:
            # separate contiguous q, k, v: Inductor fuses strided views of the fused projection
            # into the attention kernel's loads otherwise (and its CPU kernel rejects them)
            q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
            o = _flex(q[None], k[None], v[None], self.slopes.float(), pack.time_start, pack.block_mask)[0]
        else:
            o = self._padded(q, k, v, pack)
        o = o.permute(1, 0, 2).reshape(N, D)  # (N, D)
        return self.dropout(self.out(o))

    def _flex_rows(self, x: Tensor, pack: Pack) -> Tensor:
        """FlexAttention on padded rows (flex_padded layout): (N, D) -> (N, D) before ``out``."""
        D = x.shape[1]
        B, H = len(pack.lengths_list), self.heads
        rows = to_padded_rows(self.qkv(x), pack, B).view(B, pack.pad_len, 3, H, D // H)
        q, k, v = (rows[:, :, i].transpose(1, 2).contiguous() for i in range(3))  # (B, H, Lp, Dh)
        o = _flex(q, k, v, self.slopes.float(), 0, pack.block_mask)  # (B, H, Lp, Dh)
        return from_padded_rows(o.transpose(1, 2).reshape(B, pack.pad_len, D), pack)

    def _padded(self, q: Tensor, k: Tensor, v: Tensor, pack: Pack) -> Tensor:
        """Exact attention on the utterances gathered into a padded batch (one SDPA call).

        Each row holds an utterance's flow-step token then its frames; padded keys are
        masked out, padded queries attend normally (no empty rows) and are dropped.
        """
        idx, ok = pack.gather, pack.gather_valid  # (B, L) with L = 1 + T
        qb, kb, vb = (t[:, idx].transpose(0, 1) for t in (q, k, v))  # (B, H, L, Dh)
        key = (q.dtype, q.shape[0])
        if key not in pack.bias_cache:  # the same for every layer and every ODE step
            bias = alibi_bias(self.slopes, idx.shape[1]).to(q.dtype)[None]  # (1, H, L, L)
            pack.bias_cache[key] = bias.masked_fill(~ok[:, None, None, :], float("-inf"))  # (B, H, L, L)
        o = F.scaled_dot_product_attention(qb, kb, vb, attn_mask=pack.bias_cache[key]).transpose(0, 1)
        out = q.new_zeros(q.shape)
        out[:, idx[ok]] = o[:, ok]
        return out
