"""voiceflow.audio.stats: global scalar log-mel mean/std, their file, and (de)normalisation."""

import json
import math

import numpy as np
import pytest
import torch

from voiceflow.audio import MelStats, StatsAccumulator, denormalise, normalise
from voiceflow.errors import VoiceflowError


def test_known_values():
    acc = StatsAccumulator()
    acc.add(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))  # (n_mels=2, frames=2)
    stats = acc.result()
    assert stats.mean == pytest.approx(2.5)
    assert stats.std == pytest.approx(math.sqrt(1.25))
    assert stats.frames == 2


def test_matches_float64_reference_over_many_utterances():
    gen = torch.Generator().manual_seed(0)
    mels = [torch.randn(100, n, generator=gen) * 2.5 - 6.0 for n in (17, 300, 5, 120)]
    batch = torch.randn(3, 100, 40, generator=gen) - 6.0  # three unpadded mels of 40 frames
    acc = StatsAccumulator()
    for m in mels:
        acc.add(m)
    acc.add(batch)

    stats = acc.result()

    everything = torch.cat([m.flatten() for m in mels] + [batch.flatten()]).double()
    assert stats.frames == 17 + 300 + 5 + 120 + 3 * 40
    assert stats.mean == pytest.approx(everything.mean().item(), abs=1e-12)
    assert stats.std == pytest.approx(everything.std(unbiased=False).item(), rel=1e-10)


def test_merge_equals_single_pass():
    gen = torch.Generator().manual_seed(1)
    mels = [torch.randn(80, 50, generator=gen) for _ in range(6)]
    single, left, right = StatsAccumulator(), StatsAccumulator(), StatsAccumulator()
    for i, m in enumerate(mels):
        single.add(m)
        (left if i % 2 else right).add(m)
    left.merge(right)
    a, b = left.result(), single.result()
    assert a.frames == b.frames == 300
    assert (a.mean, a.std) == pytest.approx((b.mean, b.std), rel=1e-12)


def test_errors_on_empty_constant_and_nonfinite():
    with pytest.raises(VoiceflowError, match="no frames"):
        StatsAccumulator().result()
    acc = StatsAccumulator()
    acc.add(torch.full((10, 10), -3.0))
    with pytest.raises(VoiceflowError, match="std 0"):
        acc.result()
    with pytest.raises(ValueError, match="NaN"):
        StatsAccumulator().add(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="n_mels, frames"):
        StatsAccumulator().add(torch.zeros(10))


def test_save_load_round_trip(tmp_path):
    stats = MelStats(mean=-5.25, std=2.125, frames=12345)
    path = tmp_path / "feats" / "stats.json"
    stats.save(path)
    assert json.loads(path.read_text()) == {"mean": -5.25, "std": 2.125, "frames": 12345}
    assert [p.name for p in path.parent.iterdir()] == ["stats.json"]
    assert MelStats.load(path) == stats


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "file not found"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"mean": 1.0, "std": 2.0}', "lack frames"),
        ('{"mean": "a", "std": 2.0, "frames": 3}', "must be numbers"),
        ('{"mean": 1.0, "std": 0.0, "frames": 3}', "invalid mel statistics"),
    ],
)
def test_load_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "stats.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(VoiceflowError, match=message) as info:
        MelStats.load(path)
    assert "stats.json" in str(info.value)


def test_normalise_round_trip():
    stats = MelStats(mean=-4.0, std=2.0, frames=1)
    mel = torch.tensor([[-4.0, -2.0, -8.0]])
    x = normalise(mel, stats)
    assert x.tolist() == [[0.0, 1.0, -2.0]]
    assert torch.equal(denormalise(x, stats), mel)
    assert np.allclose(denormalise(normalise(mel.numpy(), stats), stats), mel.numpy())


def test_normalised_corpus_has_zero_mean_unit_std():
    gen = torch.Generator().manual_seed(2)
    mel = torch.randn(100, 500, generator=gen) * 3 - 7
    acc = StatsAccumulator()
    acc.add(mel)
    x = normalise(mel.double(), acc.result())
    assert x.mean().item() == pytest.approx(0.0, abs=1e-9)
    assert x.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-9)
