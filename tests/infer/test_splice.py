"""Splicing regenerated audio into a recording: kept samples exact, crossfades only at seams."""

import torch

from voiceflow.infer.splice import runs_from_tokens, splice
from voiceflow.infer.tokens import Token

HOP = 256


def test_runs_merge_contiguous_kept_tokens_and_generated_ones():
    tokens = [Token("sil", 3, 0), Token("A_B", 4, 3), Token("B_E", 2, 7, regenerate=True), Token("sil"),
              Token("C_S"), Token("D_S", 5, 20)]
    runs = runs_from_tokens(tokens, [3, 4, 2, 1, 6, 5])
    assert runs == [(0, 7, 0), (7, 16, None), (16, 21, 20)]


def test_kept_regions_are_bit_identical_outside_the_seams():
    g = torch.Generator().manual_seed(0)
    T = 40
    original = torch.rand(T * HOP - 100, generator=g) - 0.5  # frames = samples // hop + 1
    generated = torch.rand(45 * HOP, generator=g) - 0.5
    # kept frames 0-10, 10 new frames, then original frames 15-40 (5 deleted)
    runs = [(0, 10, 0), (10, 20, None), (20, 45, 15)]
    cf = 64
    out = splice(original, generated, runs, HOP, T, crossfade=cf)
    assert out.numel() == 20 * HOP + original.numel() - 15 * HOP
    half = cf // 2
    s1, s2 = 10 * HOP, 20 * HOP
    assert torch.equal(out[:s1 - half], original[:s1 - half])
    assert torch.equal(out[s1 + half:s2 - half], generated[s1 + half:s2 - half])
    assert torch.equal(out[s2 + half:], original[15 * HOP + half:])
    # inside a seam the output is a mix of the two sources
    mid = out[s1 - half:s1 + half]
    a, b = original[s1 - half:s1 + half], generated[s1 - half:s1 + half]
    w = (mid - a) / (b - a)
    assert torch.all((w > -1e-4) & (w < 1 + 1e-4))
    assert w[0] < 0.05 and w[-1] > 0.95


def test_no_crossfade_is_a_plain_cut():
    original = torch.arange(10 * HOP, dtype=torch.float32)
    generated = -torch.arange(10 * HOP, dtype=torch.float32)
    out = splice(original, generated, [(0, 4, 0), (4, 6, None), (6, 11, 6)], HOP, 11, crossfade=0)
    assert torch.equal(out[:4 * HOP], original[:4 * HOP])
    assert torch.equal(out[4 * HOP:6 * HOP], generated[4 * HOP:6 * HOP])
    assert torch.equal(out[6 * HOP:], original[6 * HOP:])


def test_regenerating_the_end_keeps_the_recordings_length():
    """A generated last run ends as far before its frames' end as the original does; a
    vocoder waveform one frame short (Griffin-Lim) is completed with zeros."""
    T = 12
    original = torch.ones(T * HOP - 40)
    generated = -torch.ones((T - 1) * HOP)
    out = splice(original, generated, [(0, 8, 0), (8, T, None)], HOP, T, crossfade=0)
    assert out.numel() == original.numel()
    assert torch.equal(out[8 * HOP:(T - 1) * HOP], generated[8 * HOP:]) and not out[(T - 1) * HOP:].any()
    # an edit that makes the recording two frames longer ends two frames later
    longer = splice(original, -torch.ones((T + 1) * HOP), [(0, 8, 0), (8, T + 2, None)], HOP, T, crossfade=0)
    assert longer.numel() == original.numel() + 2 * HOP


def test_denoising_spans_widen_to_the_boundaries_around_them():
    from voiceflow.infer.spans import snap_span

    # phones ending at frames 10, 20, 30, 40 (hop 240 at 24 kHz: 100 frames/s)
    alignment = [["a", 0.0, 0.1], ["b", 0.1, 0.2], ["c", 0.2, 0.3], ["d", 0.3, 0.4]]
    assert snap_span(alignment, 0.14, 0.26, 40, 24000, 240) == (10, 30)            # nearest
    assert snap_span(alignment, 0.14, 0.26, 40, 24000, 240, outward=True) == (10, 30)
    assert snap_span(alignment, 0.16, 0.24, 40, 24000, 240, outward=True) == (10, 30)
    assert snap_span(alignment, 0.2, 0.4, 40, 24000, 240, outward=True) == (20, 40)  # on boundaries: unchanged
