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
    # values of the wrong type are refused when read, naming the line and the key
    for key, value, message in (("text", None, "'text' must be a string, got None"),
                                ("duration", "2.4s", "'duration' must be a number of seconds, got '2.4s'"),
                                ("duration", True, "'duration' must be a number")):
        typed = tmp_path / "typed.jsonl"
        typed.write_text(json.dumps({**row, key: value}) + "\n")
        with pytest.raises(VoiceflowError, match=f"typed.jsonl:1: {message}"):
            load_manifest(typed)
    assert load_manifest(_write(tmp_path / "ok.jsonl", {**row, "speaker": 19}))[0]["speaker"] == 19  # ids of speakers


def _write(path, row):
    path.write_text(json.dumps(row) + "\n")
    return path


def test_unknown_phones_and_aligned_manifests_are_refused_when_the_dataset_is_built(tmp_path):
    c = make_corpus(tmp_path / "c")
    rows = [json.loads(x) for x in (c["root"] / "train.jsonl").read_text().splitlines()]
    rows[3]["alignment"][1][0] = "ZZ_B"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    inventory, stats = PhoneInventory.load(c["root"] / "phones.txt"), MelStats.load(c["root"] / "stats.json")
    with pytest.raises(VoiceflowError, match=rf"bad.jsonl:4: {rows[3]['id']}: phone\(s\) ZZ_B not in"):
        FeatureDataset(bad, inventory, stats, MelConfig())
    aligned = tmp_path / "aligned.jsonl"
    aligned.write_text("".join(json.dumps({k: v for k, v in r.items() if k not in ("feats", "frames")}) + "\n"
                               for r in rows[:2]))
    with pytest.raises(VoiceflowError, match="missing key.*training reads the manifest that voiceflow features"):
        FeatureDataset(aligned, inventory, stats, MelConfig())


def test_a_manifest_written_elsewhere_keeps_naming_the_same_files(tmp_path):
    from voiceflow.data.manifest import resolve, save_manifest

    src = tmp_path / "data" / "in.jsonl"
    src.parent.mkdir()
    rows = [{"id": "a", "audio": "wavs/a.wav", "feats": "/abs/a.npy"}]
    out = tmp_path / "work" / "deeper" / "out.jsonl"
    save_manifest(out, rows, source=src)
    written = json.loads(out.read_text())
    assert resolve(written["audio"], out).resolve() == (tmp_path / "data" / "wavs" / "a.wav").resolve()
    assert written["audio"] == "../../data/wavs/a.wav" and written["feats"] == "/abs/a.npy"  # absolute kept
    save_manifest(src.with_name("same_dir.jsonl"), rows, source=src)  # same directory: unchanged
    assert json.loads(src.with_name("same_dir.jsonl").read_text())["audio"] == "wavs/a.wav"
