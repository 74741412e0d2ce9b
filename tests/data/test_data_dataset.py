"""Feature dataset and collate: normalisation, frame-level phones, padding, clear errors."""

import json

import numpy as np
import pytest
import torch

from synthetic_corpus import make_corpus
from voiceflow.audio.stats import MelStats
from voiceflow.config import MelConfig
from voiceflow.data.dataset import FeatureDataset, collate
from voiceflow.data.manifest import load_manifest
from voiceflow.errors import VoiceflowError
from voiceflow.text import PhoneInventory


def dataset(root):
    return FeatureDataset(root / "train.jsonl", PhoneInventory.load(root / "phones.txt"),
                          MelStats.load(root / "stats.json"), MelConfig())


def test_items_are_normalised_and_phones_follow_the_alignment(tmp_path):
    c = make_corpus(tmp_path / "c")
    ds = dataset(c["root"])
    stats = MelStats.load(c["root"] / "stats.json")
    row = ds.rows[0]
    item = ds[0]
    raw = np.load(row["feats"]).T
    torch.testing.assert_close(item["mel"], (torch.from_numpy(raw) - stats.mean) / stats.std)
    inv = c["inventory"]
    first_phone = row["alignment"][1][0]  # after the leading one-frame silence
    assert item["phones"][0] == inv.id("sil") and item["phones"][1] == inv.id(first_phone)
    assert item["phones"].shape[0] == row["frames"]
    # a crop is a window of both
    crop = ds[(0, 2, 5)]
    torch.testing.assert_close(crop["mel"], item["mel"][2:7])
    assert torch.equal(crop["phones"], item["phones"][2:7])


def test_collate_pads_with_zeros(tmp_path):
    ds = dataset(make_corpus(tmp_path / "c")["root"])
    batch = collate([ds[0], ds[1], ds[2]])
    B, T, M = batch["mel"].shape
    assert (B, M) == (3, 100) and T == int(batch["lengths"].max())
    for b in range(3):
        n = int(batch["lengths"][b])
        assert batch["mel"][b, n:].abs().sum() == 0 and batch["phones"][b, n:].sum() == 0
        assert (batch["phones"][b, :n] > 0).all()


def test_bad_inputs_name_the_file(tmp_path):
    c = make_corpus(tmp_path / "c")
    ds = dataset(c["root"])
    bad = ds.rows[0]["feats"]
    with open(bad, "wb") as f:
        f.write(b"not a numpy file")
    with pytest.raises(VoiceflowError, match=str(bad)):
        ds[0]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(VoiceflowError, match="manifest is empty"):
        load_manifest(empty)
    dup = tmp_path / "dup.jsonl"
    row = {"id": "a", "audio": "x.wav", "speaker": "s", "text": "t", "duration": 1.0}
    dup.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(VoiceflowError, match="duplicate id"):
        load_manifest(dup)
