"""The packed token layout the transformer runs on.

A batch arrives padded, ``(B, T, ...)`` with ``lengths`` (B,). The transformer instead sees
one flat sequence of ``N`` tokens: the frames of every utterance, utterance after
utterance, then padding, then the B flow-step tokens in the last ``time_slots`` positions
(B of them; for the packed FlexAttention layout a multiple of 128, at least B)::

    [f_0,0 ... f_0,L0-1 | f_1,0 ... f_1,L1-1 | ... | pad ... | t_0 t_1 ... t_B-1 pad ...]
                                                            ^ time_start = N - time_slots

No compute is spent on padding frames (only on the filler that rounds N up to a multiple
of ``multiple``; inference uses 1, training a larger one for fewer shapes to compile; see
``VoiceboxAudioModel.make_pack``), attention is restricted
to tokens of the same utterance, and padding an item can never change its output. Frames of
an utterance are consecutive, so the packed index difference of two frames is their
distance in frames, which is what ALiBi needs; and "is a flow-step token" is simply
``index >= time_start``, so the attention bias needs no table look-ups (a look-up per score
made FlexAttention's forward kernel 30x slower on an H100).

Attention runs in one of three layouts (``attention``):

* ``"sdpa"`` (CPU): the utterances gathered into a padded batch for one exact SDPA call.
* ``"flex"``: FlexAttention over the packed sequence itself, with a block mask that keeps
  attention inside an utterance (blocks holding two utterances test ``doc`` per score).
* ``"flex_padded"``: only for attention, the packed tokens are copied into a padded batch
  ``(B, Lp)`` (flow-step token first, Lp = 1 + T rounded up to 128) and FlexAttention runs
  per row with a key-padding block mask: no per-score table look-up at all, at the price of
  attention (only) computed on the padding of partly filled blocks.

Shape legend: B utterances, T padded frames, N packed tokens, nb = N / 128, Lp padded
attention length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

FLEX_BLOCK = 128  # FlexAttention's default sparse block size
ATTENTION_LAYOUTS = ("sdpa", "flex", "flex_padded")


@dataclass
class Pack:
    """Index tensors that move a padded batch into the packed layout and back.

    ``frame_src`` (F,) indexes the flattened (B*T) frames that are real, ``frame_dst`` (F,)
    their packed positions; ``time_dst`` (B,) the packed position of each flow-step token
    (``time_start + b``); ``doc`` (N,) the utterance of every packed token (padding is
    utterance ``B``); ``valid`` (B, T) marks real frames. ``lengths_list`` are the frame
    counts as Python ints. ``block_mask`` is the FlexAttention block mask (flex layouts).
    The sdpa layout has ``gather`` (B, 1 + T), each utterance's tokens, flow-step token
    first (its padding repeats the flow-step token and is masked as a key by
    ``gather_valid`` (B, 1 + T)). The flex_padded layout reads the flattened rows
    (B * pad_len) from packed tokens ``row_src`` (B * pad_len,) and the packed tokens back from
    rows ``token_row`` (N,).
    """

    max_len: int
    total: int
    frame_src: Tensor
    frame_dst: Tensor
    time_dst: Tensor
    doc: Tensor
    valid: Tensor
    lengths_list: tuple[int, ...]
    time_start: int
    block_mask: object | None = None
    gather: Tensor | None = None
    gather_valid: Tensor | None = None
    pad_len: int = 0
    row_src: Tensor | None = None
    token_row: Tensor | None = None
    bias_cache: dict = field(default_factory=dict)  # attention bias of the exact path, built once


def attention_layout(mode: str, device: torch.device, key: str = "model.attention") -> str:
    """The layout a config's attention ``mode`` means on ``device``: "auto" is FlexAttention
    on the packed sequence on CUDA and the exact SDPA path elsewhere."""
    if mode == "auto":
        return "flex" if device.type == "cuda" else "sdpa"
    if mode not in ATTENTION_LAYOUTS:
        raise ValueError(f"{key} must be auto, {', '.join(ATTENTION_LAYOUTS)}; got {mode!r}")
    return mode


def make_pack(lengths: Tensor | list[int], max_len: int, device: torch.device | str,
              multiple: int = 1, attention: str = "sdpa") -> Pack:
    """Build the packed layout for utterances of ``lengths`` frames in a batch padded to ``max_len``.

    The packed length is a multiple of ``multiple``; for the packed FlexAttention layout
    (``attention="flex"``) also of 128, with the flow-step tokens in 128 slots of their own.
    The flex layouts get a FlexAttention block mask (see the module docstring).
    """
    if attention not in ATTENTION_LAYOUTS:
        raise ValueError(f"make_pack: attention must be one of {ATTENTION_LAYOUTS}, got {attention!r}")
    flex = attention == "flex"  # attention runs on the packed sequence itself
    lens = [int(n) for n in (lengths.tolist() if isinstance(lengths, Tensor) else lengths)]
    if not lens:
        raise ValueError("make_pack: empty batch")
    if min(lens) < 1 or max(lens) > max_len:
        raise ValueError(f"make_pack: lengths must lie in [1, {max_len}], got {lens}")
    B, frames = len(lens), sum(lens)
    time_slots = -(-B // FLEX_BLOCK) * FLEX_BLOCK if flex else B
    step = max(multiple, FLEX_BLOCK) if flex else max(multiple, 1)
    total = -(-(frames + time_slots) // step) * step
    time_start = total - time_slots

    lengths_t = torch.tensor(lens, dtype=torch.long)
    doc = torch.full((total,), B, dtype=torch.int32)
    doc[:frames] = torch.repeat_interleave(torch.arange(B, dtype=torch.int32), lengths_t)
    doc[time_start:time_start + B] = torch.arange(B, dtype=torch.int32)
    valid = torch.arange(max_len)[None, :] < lengths_t[:, None]  # (B, T)
    dev = torch.device(device)
    pack = Pack(
        max_len=max_len,
        total=total,
        frame_src=torch.nonzero(valid.reshape(-1)).squeeze(1).to(dev, non_blocking=True),
        frame_dst=torch.arange(frames, device=dev),
        time_dst=torch.arange(time_start, time_start + B, device=dev),
        doc=doc.to(dev, non_blocking=True),
        valid=valid.to(dev, non_blocking=True),
        lengths_list=tuple(lens),
        time_start=time_start,
    )
    if flex:
        pack.block_mask = _finish_block_mask(_doc_block_mask(doc), pack.doc, total)
    elif attention == "flex_padded":
        _attach_padded_layout(pack, lengths_t, dev)
    else:
        starts = torch.cumsum(lengths_t, 0) - lengths_t  # (B,) first frame of each utterance
        pos = torch.arange(max_len)[None, :]
        frames_idx = torch.where(valid, starts[:, None] + pos, time_start + torch.arange(B)[:, None])
        gather = torch.cat([(time_start + torch.arange(B))[:, None], frames_idx], dim=1)  # (B, 1 + T)
        gather_valid = torch.cat([torch.ones(B, 1, dtype=torch.bool), valid], dim=1)
        pack.gather = gather.to(dev, non_blocking=True)
        pack.gather_valid = gather_valid.to(dev, non_blocking=True)
    return pack


def _attach_padded_layout(pack: Pack, lengths: Tensor, dev: torch.device) -> None:
    """The flex_padded layout: row b of the padded batch holds utterance b's flow-step token
    at column 0 and its frames at columns 1..L_b; rows are ``pad_len`` = 1 + T rounded up
    to 128 long. Block (b, i, j) is full when key block j lies inside 1 + L_b, partial when
    it holds the row's end, absent after it; query blocks past the end attend to nothing.

    Padding columns read arbitrary packed tokens and filler tokens read arbitrary row
    positions (spread out, so that the backward pass adds its zeros without contention):
    neither ever reaches a real output, since padding keys are masked and padding queries
    and filler tokens are never read back into real tokens. The index tensors' sizes depend
    only on (B, pad_len, N), so compiled blocks see few distinct shapes.
    """
    from torch.nn.attention.flex_attention import BlockMask

    B, N = lengths.numel(), pack.total
    pad_len = -(-(1 + pack.max_len) // FLEX_BLOCK) * FLEX_BLOCK
    span = 1 + lengths  # (B,) tokens per row
    starts = torch.cumsum(lengths, 0) - lengths
    frames = int(lengths.sum())
    rows = torch.repeat_interleave(torch.arange(B), lengths)  # (F,) utterance of each packed frame
    cols = 1 + torch.arange(frames) - torch.repeat_interleave(starts, lengths)
    real_rows = torch.cat([rows * pad_len + cols, torch.arange(B) * pad_len])  # (F + B,)
    real_tokens = torch.cat([torch.arange(frames), pack.time_start + torch.arange(B)])  # (F + B,)
    row_src = torch.arange(B * pad_len) % N
    row_src[real_rows] = real_tokens
    token_row = torch.arange(N) % (B * pad_len)
    token_row[real_tokens] = real_rows
    pack.pad_len = pad_len
    pack.row_src = row_src.to(dev, non_blocking=True)
    pack.token_row = token_row.to(dev, non_blocking=True)

    nb = pad_len // FLEX_BLOCK
    blk = torch.arange(nb)
    full_blocks = span // FLEX_BLOCK  # (B,) key blocks entirely inside the row
    has_partial = (span % FLEX_BLOCK) > 0
    live_query = blk[None, :] * FLEX_BLOCK < span[:, None]  # (B, nb) query blocks with real tokens
    full_num = torch.where(live_query, full_blocks[:, None], 0)
    partial_num = torch.where(live_query & has_partial[:, None], 1, 0)
    full_idx = blk.expand(B, nb, nb)  # the first full_num entries are read
    partial_idx = torch.zeros(B, nb, nb, dtype=torch.long)
    partial_idx[:, :, 0] = full_blocks[:, None]

    def as_mask(t: Tensor) -> Tensor:  # (B, ...) -> (B, 1, ...) int32, one head for all
        return t.to(torch.int32)[:, None].contiguous().to(dev, non_blocking=True)

    span_dev = span.to(torch.int32).to(dev, non_blocking=True)

    def key_in_row(b, h, q_idx, kv_idx):
        return kv_idx < span_dev[b]

    pack.block_mask = BlockMask.from_kv_blocks(
        as_mask(partial_num), as_mask(partial_idx), as_mask(full_num), as_mask(full_idx),
        BLOCK_SIZE=FLEX_BLOCK, mask_mod=key_in_row, seq_lengths=(pad_len, pad_len))


def _doc_block_mask(doc: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Block-level sparsity of a same-utterance mask, built from the utterance boundaries.

    Every block holds a contiguous range of utterance ids (a run of frames, or the time
    tokens 0..B-1 with padding B), so two blocks share an utterance exactly when their
    [min, max] ranges overlap. Returns (kv_num, kv_idx, full_num, full_idx) for
    ``BlockMask.from_kv_blocks``; a pair is "full" (no per-element mask needed) when both
    blocks lie inside one and the same utterance.
    """
    blocks = doc.view(-1, FLEX_BLOCK).long()
    first, last = blocks.min(dim=1).values, blocks.max(dim=1).values
    overlap = torch.maximum(first[:, None], first[None, :]) <= torch.minimum(last[:, None], last[None, :])
    single = first == last
    full = single[:, None] & single[None, :] & (first[:, None] == first[None, :])
    partial = overlap & ~full

    def ordered(m: Tensor) -> tuple[Tensor, Tensor]:
        num = m.sum(-1).to(torch.int32)
        idx = torch.argsort(m.to(torch.int8), dim=-1, descending=True, stable=True).to(torch.int32)
        return num[None, None].contiguous(), idx[None, None].contiguous()

    return (*ordered(partial), *ordered(full))


def _finish_block_mask(parts, doc: Tensor, total: int):
    from torch.nn.attention.flex_attention import BlockMask

    kv_num, kv_idx, full_num, full_idx = (p.to(doc.device, non_blocking=True) for p in parts)

    def same_utterance(b, h, q_idx, kv_idx):
        return doc[q_idx] == doc[kv_idx]

    return BlockMask.from_kv_blocks(kv_num, kv_idx, full_num, full_idx, BLOCK_SIZE=FLEX_BLOCK,
                                    mask_mod=same_utterance, seq_lengths=(total, total))


def to_padded_rows(x: Tensor, pack: Pack, batch: int) -> Tensor:
    """(N, C) packed tokens -> (B, Lp, C) rows of the flex_padded layout (padding columns
    hold arbitrary tokens, which the block mask hides)."""
    return x.index_select(0, pack.row_src).view(batch, pack.pad_len, x.shape[-1])


def from_padded_rows(rows: Tensor, pack: Pack) -> Tensor:
    """(B, Lp, C) rows -> (N, C) packed tokens (filler tokens get arbitrary rows)."""
    return rows.reshape(-1, rows.shape[-1]).index_select(0, pack.token_row)


def pack_frames(x: Tensor, pack: Pack, time_tokens: Tensor) -> Tensor:
    """(B, T, D) padded frames + (B, D) flow-step tokens -> (N, D) packed tokens."""
    B, T, D = x.shape
    out = x.new_zeros(pack.total, D)
    out[pack.frame_dst] = x.reshape(B * T, D)[pack.frame_src]
    out[pack.time_dst] = time_tokens.to(x.dtype)
    return out


def unpack_frames(y: Tensor, pack: Pack, batch: int) -> Tensor:
    """(F, C) per-real-frame outputs (in packed order) -> (B, T, C), zeros on padding."""
    out = y.new_zeros(batch * pack.max_len, y.shape[-1])
    out[pack.frame_src] = y
    return out.view(batch, pack.max_len, y.shape[-1])
