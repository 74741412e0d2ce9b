"""Frame-budget batching: budget, coverage, sharding across ranks, determinism, resume."""

import random

import pytest

from voiceflow.data.batching import FrameBudgetBatchSampler


def lengths(n=200, seed=0):
    rng = random.Random(seed)
    return [rng.randint(20, 400) for _ in range(n)]


def test_budget_and_coverage_of_one_epoch():
    frames = lengths()
    sampler = FrameBudgetBatchSampler(frames, max_frames=2000, max_utt_frames=300, bucket_width=25, seed=1)
    batches = list(sampler)
    seen = [i for b in batches for i, _, _ in b]
    assert sorted(seen) == list(range(len(frames)))  # every utterance exactly once
    for b in batches:
        assert len(b) * max(length for _, _, length in b) <= 2000
        for i, start, length in b:
            assert length == min(frames[i], 300) and 0 <= start <= frames[i] - length
    # bucketing keeps padding low: real frames / padded frames
    real = sum(length for b in batches for _, _, length in b)
    padded = sum(len(b) * max(length for _, _, length in b) for b in batches)
    assert real / padded > 0.85


def test_ranks_get_disjoint_equal_shares():
    frames = lengths()
    shares = [list(FrameBudgetBatchSampler(frames, 2000, 300, seed=3, rank=r, world=3)) for r in range(3)]
    assert len({len(s) for s in shares}) == 1
    ids = [{i for b in s for i, _, _ in b} for s in shares]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2]) and not (ids[0] & ids[2])


def test_deterministic_per_epoch_and_resumable():
    frames = lengths()
    a = FrameBudgetBatchSampler(frames, 2000, 300, seed=5)
    b = FrameBudgetBatchSampler(frames, 2000, 300, seed=5)
    a.set_epoch(2)
    b.set_epoch(2)
    full = list(a)
    assert full == list(b)
    b.set_epoch(2, position=7)
    assert list(b) == full[7:] and len(b) == len(full) - 7
    a.set_epoch(3)
    assert list(a) != full


def test_errors_are_explicit():
    with pytest.raises(ValueError, match="exceeds the batch budget"):
        FrameBudgetBatchSampler([10], max_frames=100, max_utt_frames=200)
    with pytest.raises(ValueError, match="cannot be shared"):
        list(FrameBudgetBatchSampler([10, 10], max_frames=100, max_utt_frames=50, world=4))
