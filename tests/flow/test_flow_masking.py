"""Voicebox span masks: rate of full masks, span fractions, contiguity, phone boundaries."""

import random

import pytest
import torch

from voiceflow.flow import padding_mask, phone_boundaries, span_from_times, span_mask
from voiceflow.flow.masking import _mask_from_draws


def make_batch(B, min_len, max_len, max_dur, seed, T=None):
    """Random frame-level phones (adjacent phones differ), junk ids on the padding."""
    rng = random.Random(seed)
    lengths = [rng.randint(min_len, max_len) for _ in range(B)]
    T = T or max(lengths)
    rows = []
    for L in lengths:
        row, pid = [], rng.randint(1, 49)
        while len(row) < L:
            row += [pid] * rng.randint(1, max_dur)
            pid = pid % 49 + 1
        rows.append(row[:L] + [rng.randint(1, 49) for _ in range(T - L)])
    return torch.tensor(rows), torch.tensor(lengths)


def runs(row):
    """(start, end) of the True runs of a 1-D bool tensor."""
    idx = torch.nonzero(row.int().diff(prepend=torch.zeros(1, dtype=torch.int32),
                                      append=torch.zeros(1, dtype=torch.int32))).flatten()
    return list(zip(idx[::2].tolist(), idx[1::2].tolist()))


def is_boundary(phones, L, k):
    return k == 0 or k == L or (0 < k < L and phones[k] != phones[k - 1])


def test_padding_mask_and_boundaries():
    assert torch.equal(padding_mask(torch.tensor([2, 0, 3]), 3),
                       torch.tensor([[1, 1, 0], [0, 0, 0], [1, 1, 1]], dtype=torch.bool))
    ph = torch.tensor([[4, 4, 7, 7, 7, 2, 9, 9]])
    bnd = phone_boundaries(ph, torch.tensor([6]))
    assert torch.nonzero(bnd[0]).flatten().tolist() == [0, 2, 5, 6]


def test_spans_contiguous_on_boundaries_never_padding():
    phones, lengths = make_batch(200, 1, 300, 9, seed=0)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        mask = span_mask(phones, lengths, 0.0, 0.7, 1.0, generator=g)
        assert mask.dtype == torch.bool and mask.shape == phones.shape
        assert not (mask & ~padding_mask(lengths, phones.shape[1])).any()
        for b in range(len(lengths)):
            L = int(lengths[b])
            (s, e), = runs(mask[b])  # exactly one contiguous span
            assert is_boundary(phones[b], L, s) and is_boundary(phones[b], L, e)


def test_never_empty_edge_cases():
    phones = torch.tensor([[3, 0, 0, 0], [5, 5, 5, 5], [1, 2, 0, 0], [0, 0, 0, 0]])
    lengths = torch.tensor([1, 4, 2, 0])
    g = torch.Generator().manual_seed(1)
    for _ in range(50):
        m = span_mask(phones, lengths, 0.3, 0.7, 1.0, generator=g)
        assert m[0].tolist() == [True, False, False, False]
        assert m[1].all()  # a single phone: the span must cover it
        assert m[2, :2].any() and not m[2, 2:].any()
        assert not m[3].any()


def test_full_mask_rate():
    phones, lengths = make_batch(400, 100, 300, 8, seed=1)
    g = torch.Generator().manual_seed(2)
    full, total = 0, 0
    for _ in range(10):
        m = span_mask(phones, lengths, 0.3, 0.7, 0.8, generator=g)
        count = m.sum(1)
        full += int((count == lengths).sum())
        total += len(lengths)
        partial = (count != lengths)
        assert (count[partial] <= 0.8 * lengths[partial] + 8).all()
    assert abs(full / total - 0.3) < 0.03
    assert torch.equal(span_mask(phones, lengths, 1.0, 0.7, 0.8, generator=g),
                       padding_mask(lengths, phones.shape[1]))


def test_span_fraction_distribution():
    phones, lengths = make_batch(400, 150, 400, 6, seed=3)
    g = torch.Generator().manual_seed(4)
    fracs = []
    for _ in range(10):
        m = span_mask(phones, lengths, 0.0, 0.7, 1.0, generator=g)
        frac = m.sum(1) / lengths
        assert (frac >= 0.7 - 6 / lengths).all() and (frac <= 1.0).all()
        fracs.append(frac)
    frac = torch.cat(fracs)
    assert abs(frac.mean().item() - 0.85) < 0.01  # uniform on [0.7, 1.0]
    assert abs((frac < 0.775).float().mean().item() - 0.25) < 0.03
    assert abs((frac < 0.925).float().mean().item() - 0.75) < 0.03


def test_length_exact_without_snapping_and_close_with_it():
    B, L = 300, 120
    lengths = torch.full((B,), L)
    per_frame = torch.arange(1, L + 1).repeat(B, 1)  # every frame its own phone
    m = span_mask(per_frame, lengths, 0.0, 0.5, 0.5, generator=torch.Generator().manual_seed(5))
    assert (m.sum(1) == 60).all()
    starts = m.int().argmax(1)
    assert starts.min() == 0 and starts.max() == L - 60  # start uniform over all positions
    assert abs(starts.float().mean().item() - 30) < 3
    five = (torch.arange(L) // 5 + 1).repeat(B, 1)  # phones of 5 frames
    m = span_mask(five, lengths, 0.0, 0.5, 0.5, generator=torch.Generator().manual_seed(6))
    assert ((m.sum(1) - 60).abs() <= 2).all()


def test_deterministic_with_seed():
    phones, lengths = make_batch(64, 1, 200, 7, seed=7)
    a = span_mask(phones, lengths, 0.3, 0.7, 1.0, generator=torch.Generator().manual_seed(11))
    b = span_mask(phones, lengths, 0.3, 0.7, 1.0, generator=torch.Generator().manual_seed(11))
    c = span_mask(phones, lengths, 0.3, 0.7, 1.0, generator=torch.Generator().manual_seed(12))
    assert torch.equal(a, b) and not torch.equal(a, c)


def reference(phones, L, full, frac, u):
    """One utterance, read straight from the specification."""
    mask = [False] * phones.shape[0]
    if L == 0:
        return mask
    if full:
        return [i < L for i in range(len(mask))]
    span = min(max(round(frac * L), 1), L)
    start = min(int(u * (L - span + 1)), L - span)
    bnds = [k for k in range(L + 1) if is_boundary(phones, L, k)]
    s = min((k for k in bnds if k < L), key=lambda k: (abs(k - start), k))
    e = min((k for k in bnds if k > s), key=lambda k: (abs(k - s - span), k))
    return [s <= i < e for i in range(len(mask))]


def test_vectorised_equals_reference():
    phones, lengths = make_batch(150, 0, 80, 6, seed=8)
    g = torch.Generator().manual_seed(13)
    u = torch.rand(3, 150, generator=g, dtype=torch.float64)
    full, frac = u[0] < 0.3, 0.3 + 0.7 * u[1]
    got = _mask_from_draws(phones, lengths, full, frac, u[2])
    for b in range(150):
        want = reference(phones[b], int(lengths[b]), bool(full[b]), float(frac[b]), float(u[2, b]))
        assert got[b].tolist() == want, b


def test_bad_arguments():
    phones, lengths = make_batch(2, 5, 9, 3, seed=9)
    with pytest.raises(ValueError):
        span_mask(phones, lengths, 0.3, 0.9, 0.7)
    with pytest.raises(ValueError):
        span_mask(phones, lengths[:1], 0.3, 0.7, 1.0)


def test_span_from_times():
    assert span_from_times(2, 5, 7).tolist() == [0, 0, 1, 1, 1, 0, 0]
    assert span_from_times(-3, 99, 4).all()
    assert not span_from_times(3, 3, 6).any()
    with pytest.raises(ValueError):
        span_from_times(5, 2, 7)
