"""Splice regenerated speech into a recording: kept audio sample for sample, short crossfades.

A task's output is a sequence of runs over the new utterance's frames: kept runs copy the
original waveform (frame ``g`` of a mel starts at sample ``g * hop``), generated runs take
the vocoded new mel. At each seam the two sources are mixed with a raised-cosine crossfade
of ``crossfade`` samples centred on the seam; every other sample is exactly one source's::

    runs = runs_from_tokens(tokens, durations)        # [(new_f0, new_f1, orig_f0 or None)]
    wav = splice(original, generated, runs, hop=256, orig_frames=T, crossfade=240)
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from voiceflow.infer.tokens import Token

Run = tuple[int, int, "int | None"]  # new frames [f0, f1); original start frame, or None if generated


def runs_from_tokens(tokens: Sequence[Token], durations: Sequence[int]) -> list[Run]:
    """Maximal runs of kept tokens whose original frames are contiguous, and of generated ones."""
    runs: list[list] = []
    f = 0
    for tok, n in zip(tokens, durations):
        if n == 0:
            continue
        src = tok.source if tok.kept else None
        if runs:
            last = runs[-1]
            if src is None and last[2] is None:
                last[1] = f + n
                f += n
                continue
            if src is not None and last[2] is not None and last[2] + (last[1] - last[0]) == src:
                last[1] = f + n
                f += n
                continue
        runs.append([f, f + n, src])
        f += n
    return [tuple(r) for r in runs]


def _piece(source: torch.Tensor, start: int, end: int) -> torch.Tensor:
    """source[start:end], zero-padded where the range leaves the source."""
    out = torch.zeros(max(end - start, 0), dtype=source.dtype)
    lo, hi = max(start, 0), min(end, source.numel())
    if hi > lo:
        out[lo - start: hi - start] = source[lo:hi]
    return out


def splice(original: torch.Tensor, generated: torch.Tensor, runs: Sequence[Run], hop: int,
           orig_frames: int, crossfade: int = 240) -> torch.Tensor:
    """The output waveform of ``runs`` (1-D tensors in, 1-D out).

    A kept run that reaches the original's last frame continues to the original's last
    sample; a generated run at the end stops as many samples short of its frames' end as the
    original does of its own (so regenerating a recording's end keeps its length), with
    zeros where the vocoder's waveform is shorter (Griffin-Lim gives ``(frames - 1) * hop``).
    """
    if not runs:
        return torch.zeros(0, dtype=original.dtype)
    tail_short = max(orig_frames * hop - original.numel(), 0)  # mel frames reach past the last sample
    pieces, spans = [], []  # spans: (source, source start sample) of each piece
    for k, (f0, f1, src) in enumerate(runs):
        last = k == len(runs) - 1
        if src is None:
            a, b = f0 * hop, f1 * hop
            if last:
                b = max(b - tail_short, a)
            pieces.append(_piece(generated, a, b))
            spans.append((generated, a))
        else:
            a = src * hop
            b = original.numel() if last and src + (f1 - f0) >= orig_frames else (src + f1 - f0) * hop
            pieces.append(_piece(original, a, b))
            spans.append((original, a))
    out = torch.cat(pieces)
    half = crossfade // 2
    if half <= 0:
        return out
    pos = 0
    fade = 0.5 - 0.5 * torch.cos(torch.linspace(0, math.pi, 2 * half + 2, dtype=out.dtype)[1:-1])  # 0 -> 1
    for k in range(1, len(pieces)):
        pos += pieces[k - 1].numel()
        lo, hi = max(pos - half, 0), min(pos + half, out.numel())
        if hi <= lo:
            continue
        prev_src, prev_start = spans[k - 1]
        next_src, next_start = spans[k]
        # the previous source continued past the seam, the next one begun before it
        prev = _piece(prev_src, prev_start + (lo - (pos - pieces[k - 1].numel())),
                      prev_start + (hi - (pos - pieces[k - 1].numel())))
        nxt = _piece(next_src, next_start + (lo - pos), next_start + (hi - pos))
        w = fade[lo - (pos - half): hi - (pos - half)]
        out[lo:hi] = (1 - w) * prev + w * nxt
    return out
