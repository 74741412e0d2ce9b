"""Choosing and snapping the span of an utterance to regenerate.

Spans are given in seconds and snapped to phone boundaries of the alignment at the
feature hop, so that the regenerated region starts and ends between phones::

    f0, f1 = snap_span(alignment, 1.20, 2.45, num_frames, 24000, 256)
    start, end, words = choose_word_span(words, rng, min_s=1.0, max_s=2.0)
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from typing import Sequence

from voiceflow.align import frame_boundaries
from voiceflow.errors import VoiceflowError


def snap_span(alignment: Sequence, start_s: float, end_s: float, num_frames: int,
              sample_rate: int, hop_length: int, outward: bool = False) -> tuple[int, int]:
    """Frame range [f0, f1) of the span, both ends moved to the nearest phone boundary
    (``outward``: to the boundary at or before the start and at or after the end, so that
    the range covers the whole span, as denoising a noisy span must)."""
    if not end_s > start_s:
        raise VoiceflowError(f"span end {end_s:.3f} s must come after its start {start_s:.3f} s")
    duration = num_frames * hop_length / sample_rate  # the mel's frames cover the audio
    if start_s < 0 or end_s > duration + hop_length / sample_rate:
        raise VoiceflowError(f"span {start_s:.3f}-{end_s:.3f} s lies outside the recording (0-{duration:.3f} s)")
    bounds = sorted(set([0] + frame_boundaries(alignment, num_frames, sample_rate, hop_length)))
    fps = sample_rate / hop_length

    def nearest(frame: float) -> int:
        i = bisect_left(bounds, frame)
        candidates = bounds[max(0, i - 1): i + 1]
        return min(candidates, key=lambda b: (abs(b - frame), b))

    if outward:
        start_f, end_f = start_s * fps, min(end_s * fps, bounds[-1])
        f0 = bounds[max(bisect_right(bounds, start_f + 1e-6) - 1, 0)]
        f1 = bounds[min(bisect_left(bounds, end_f - 1e-6), len(bounds) - 1)]
        if f1 <= f0:
            raise VoiceflowError(f"span {start_s:.3f}-{end_s:.3f} s covers no frames")
        return f0, f1
    f0, f1 = nearest(start_s * fps), nearest(end_s * fps)
    if f1 <= f0:  # a span inside one phone: take that whole phone
        i = bisect_left(bounds, start_s * fps)
        f0, f1 = bounds[max(0, i - 1)], bounds[min(i, len(bounds) - 1)]
        if f1 <= f0:
            raise VoiceflowError(f"span {start_s:.3f}-{end_s:.3f} s covers no frames")
    return f0, f1


def choose_word_span(words: Sequence, rng: random.Random, min_s: float = 1.0,
                     max_s: float = 2.0) -> tuple[float, float, str]:
    """A random run of whole consecutive words lasting between ``min_s`` and ``max_s``.

    ``words`` is a list of (word, start_s, end_s). Returns (start_s, end_s, text of the run).
    Among runs of acceptable length one is drawn uniformly; when none fits, the run whose
    length is closest to the range is taken.
    """
    if not words:
        raise VoiceflowError("cannot choose a word span: the utterance has no words")
    runs = []
    for i in range(len(words)):
        for j in range(i, len(words)):
            runs.append((float(words[j][2]) - float(words[i][1]), i, j))
    fitting = [r for r in runs if min_s <= r[0] <= max_s]
    if fitting:
        _, i, j = fitting[rng.randrange(len(fitting))]
    else:
        _, i, j = min(runs, key=lambda r: max(min_s - r[0], r[0] - max_s))
    text = " ".join(str(w[0]) for w in words[i:j + 1])
    return float(words[i][1]), float(words[j][2]), text
