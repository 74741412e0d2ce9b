"""Shard sets: the writer (round trip, stats, idempotence, changed input, bad utterances), the
reader, and the streaming sampler (coverage, distinct ranks, equal counts, budget, resume)."""

import json
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from synthetic_corpus import make_corpus
from voiceflow.align import frame_phone_ids
from voiceflow.audio import MelStats, load_audio, log_mel
from voiceflow.config import MelConfig
from voiceflow.data.dataset import collate
from voiceflow.data.shard_sampler import ShardBatchSampler
from voiceflow.data.shard_writer import write_shard_set
from voiceflow.data.shards import ShardDataset, ShardIndex, read_meta, shard_paths
from voiceflow.errors import VoiceflowError
from voiceflow.text import PhoneInventory

IDENTITY = MelStats(0.0, 1.0, 1)


def shards(root: Path, out: Path, manifest="all.jsonl", **kw):
    kw = {"shard_frames": 150, "progress": False, **kw}
    return write_shard_set(root / manifest, out, root / "phones.txt", **kw)


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob(".*"))


def test_round_trip_equals_log_mel_and_frame_phone_ids(tmp_path):
    c = make_corpus(tmp_path / "c", n_utts=12)
    rows = c["rows"]
    t = rows[4]["alignment"][2][2]
    rows[4]["alignment"].insert(3, ["sil", t, t])  # a ghost silence between two words: zero frames
    (c["root"] / "all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = shards(c["root"], tmp_path / "sh")
    assert summary["shards"] >= 3 and summary["utterances"] == 12 and not summary["skipped"]
    ds = ShardDataset(tmp_path / "sh", c["inventory"], IDENTITY, MelConfig())
    assert len(ds) == 12
    order = [ds[i]["id"] for i in range(12)]
    assert sorted(order) == [r["id"] for r in rows] and order != sorted(order)  # shuffled over the shards
    for i, row in ((order.index(r["id"]), r) for r in rows):
        item = ds[i]
        mel = log_mel(load_audio(row["audio"], 24000)).T  # (frames, n_mels)
        assert item["mel"].dtype == torch.float32
        torch.testing.assert_close(item["mel"], mel, rtol=1e-3, atol=1e-3)  # float16 storage
        phones = frame_phone_ids(row["alignment"], c["inventory"], mel.shape[0], 24000, 256)
        assert torch.equal(item["phones"], phones)
        assert int(ds.frames[i]) == mel.shape[0] == row["frames"]
    shards(c["root"], tmp_path / "kept", shuffle_seed=None)
    kept = ShardDataset(tmp_path / "kept", None, IDENTITY)
    assert [kept[i]["id"] for i in range(12)] == [r["id"] for r in rows]  # --keep-order
    crop = ds[(3, 4, 9)]
    assert torch.equal(crop["mel"], ds[3]["mel"][4:13]) and torch.equal(crop["phones"], ds[3]["phones"][4:13])
    meta = read_meta(shard_paths(tmp_path / "sh", "shard-000000")[1])
    speaker = {r["id"]: r["speaker"] for r in rows}
    assert meta["phone_ids"].dtype == np.int16 and meta["speakers"][0] == speaker[str(meta["ids"][0])]
    a, b = meta["phone_offsets"][:2]
    assert meta["phone_frames"][a:b].sum() == meta["frames"][0] and len(meta["ids"]) == len(meta["frames"])
    meta4 = read_meta(shard_paths(tmp_path / "sh", ds.index.names[ds.locate(order.index("utt004"))[0]])[1])
    assert (meta4["phone_frames"] == 0).sum() == 1  # the ghost silence keeps its zero-length run
    # normalised as FeatureDataset does
    stats = MelStats(-4.0, 2.5, 1)
    normed = ShardDataset(tmp_path / "sh", c["inventory"], stats, MelConfig())[5]["mel"]
    torch.testing.assert_close(normed, (ds[5]["mel"] - stats.mean) / stats.std)


def test_stats_and_cli_match_the_features_stage(tmp_path, capsys):
    from voiceflow.bin import features
    from voiceflow.bin import shards as shards_cli

    c = make_corpus(tmp_path / "c", n_utts=8)
    root = c["root"]
    features.main(["--manifest", str(root / "all.jsonl"), "--out-manifest", str(tmp_path / "f.jsonl"),
                   "--feats-dir", str(tmp_path / "feats"), "--stats", str(tmp_path / "f_stats.json"), "--jobs", "1"])
    shards_cli.main(["--manifest", str(root / "all.jsonl"), "--out", str(tmp_path / "sh"), "--phones",
                     str(root / "phones.txt"), "--stats", str(tmp_path / "s_stats.json"), "--shard-frames", "120",
                     "--jobs", "2"])
    assert "utterances" in capsys.readouterr().out
    a, b = MelStats.load(tmp_path / "f_stats.json"), MelStats.load(tmp_path / "s_stats.json")
    assert a.frames == b.frames and a.mean == pytest.approx(b.mean, rel=1e-9) and a.std == pytest.approx(b.std, rel=1e-9)
    assert ShardIndex(tmp_path / "sh").stats.mean == pytest.approx(b.mean)
    # two workers write the same bytes as one
    shards(root, tmp_path / "one", shard_frames=120)
    for name in ShardIndex(tmp_path / "sh").names:
        assert shard_paths(tmp_path / "sh", name)[0].read_bytes() == shard_paths(tmp_path / "one", name)[0].read_bytes()


def test_rerun_reuses_shards_and_changed_input_is_an_error(tmp_path):
    c = make_corpus(tmp_path / "c", n_utts=12)
    root, out = c["root"], tmp_path / "sh"
    first = shards(root, out)
    times = {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*")}
    again = shards(root, out)
    assert again["written"] == 0 and again["reused"] == first["shards"]
    assert times == {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*")}
    assert again["stats"] == first["stats"]
    # an interrupted run: a shard without its meta file is written again, the rest reused
    shard_paths(out, "shard-000001")[1].unlink()
    assert shards(root, out)["written"] == 1
    # another phone inventory
    inv = PhoneInventory(c["inventory"].symbols + ["zz_S"])
    inv.save(tmp_path / "phones2.txt")
    with pytest.raises(VoiceflowError, match="different phone inventory"):
        write_shard_set(root / "all.jsonl", out, tmp_path / "phones2.txt", shard_frames=150, progress=False)
    # another manifest (one row's text changed)
    rows = [json.loads(line) for line in (root / "all.jsonl").read_text().splitlines()]
    rows[0]["text"] = "changed"
    (root / "changed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(VoiceflowError, match="different manifest rows"):
        shards(root, out, manifest="changed.jsonl")
    with pytest.raises(VoiceflowError, match="does not produce"):  # fewer shards than are there
        shards(root, out, shard_frames=10_000)
    # the trainer-side check
    with pytest.raises(VoiceflowError, match="another phone inventory"):
        ShardDataset(out, inv, IDENTITY, MelConfig())
    with pytest.raises(VoiceflowError, match="another mel config"):
        ShardDataset(out, c["inventory"], IDENTITY, MelConfig(n_mels=80))


def test_bad_utterances_stop_or_are_skipped(tmp_path):
    c = make_corpus(tmp_path / "c", n_utts=12)
    root, out = c["root"], tmp_path / "sh"
    keep = {"shuffle_seed": None}  # manifest order: utt002 is in the first shard
    Path(c["rows"][7]["audio"]).write_bytes(b"not a wav at all")
    rows = [json.loads(line) for line in (root / "all.jsonl").read_text().splitlines()]
    rows[2]["alignment"][-1][2] += 0.5  # does not cover the audio
    (root / "bad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(VoiceflowError, match="utt002: alignment does not cover"):
        shards(root, out, manifest="bad.jsonl", **keep)
    assert not (out / "index.json").exists() and not leftovers(out)
    assert not shard_paths(out, "shard-000000")[1].exists()  # utt002's shard: nothing written
    with pytest.raises(VoiceflowError, match=r"utt00[27]: "):  # the same through worker processes
        shards(root, out, manifest="bad.jsonl", jobs=2, **keep)
    assert not (out / "index.json").exists() and not leftovers(out)
    assert not shard_paths(out, "shard-000000")[1].exists()
    summary = shards(root, out, manifest="bad.jsonl", on_error="skip", **keep)
    assert [uid for uid, _ in summary["skipped"]] == ["utt002", "utt007"]
    assert "cannot read audio" in summary["skipped"][1][1]
    index = json.loads((out / "index.json").read_text())
    assert [s["id"] for s in index["skipped"]] == ["utt002", "utt007"]
    ds = ShardDataset(out, c["inventory"], IDENTITY)
    assert len(ds) == 10 and "utt007" not in {ds[i]["id"] for i in range(len(ds))}
    clone = pickle.loads(pickle.dumps(ds))  # as a spawned DataLoader worker gets it: maps reopened there
    assert not clone._open and clone.index._lengths is None and torch.equal(clone[9]["mel"], ds[9]["mel"])
    with pytest.raises(VoiceflowError, match="--on-error skip left out 2"):
        shards(root, out, manifest="bad.jsonl", **keep)  # a stop-mode rerun does not accept the skips silently


# ----------------------------------------------------------------------------- sampler
def shard_lengths(n_shards=12, per_shard=40, seed=0):
    rng = random.Random(seed)
    return [[rng.randint(20, 400) for _ in range(rng.randint(per_shard // 2, per_shard))] for _ in range(n_shards)]


def owners(lengths):
    """shard of every global index"""
    return [k for k, s in enumerate(lengths) for _ in s]


def test_sampler_covers_every_utterance_within_budget():
    lengths = shard_lengths()
    flat = [n for s in lengths for n in s]
    sampler = ShardBatchSampler(lengths, max_frames=2000, max_utt_frames=300, bucket_width=25, seed=1, group=3)
    batches = list(sampler)
    seen = [i for b in batches for i, _, _ in b]
    assert sorted(seen) == list(range(len(flat)))  # every utterance exactly once
    for b in batches:
        assert len(b) * max(length for _, _, length in b) <= 2000
        for i, start, length in b:
            assert length == min(flat[i], 300) and 0 <= start <= flat[i] - length
        assert len({owners(lengths)[i] for i, _, _ in b}) <= 3  # batches come from one group of shards
    real = sum(length for b in batches for _, _, length in b)
    padded = sum(len(b) * max(length for _, _, length in b) for b in batches)
    assert real / padded > 0.8


def test_ranks_read_distinct_shards_and_equal_counts():
    lengths = shard_lengths(n_shards=13)
    world = 3
    samplers = [ShardBatchSampler(lengths, 2000, 300, seed=3, rank=r, world=world, group=2) for r in range(world)]
    shares = [list(s) for s in samplers]
    assert len({len(s) for s in shares}) == 1 and len(shares[0]) > 0
    shard_of = owners(lengths)
    read = [{shard_of[i] for b in s for i, _, _ in b} for s in shares]
    assert all(not (read[a] & read[b]) for a in range(world) for b in range(a + 1, world))
    # before the cut, the ranks' batches hold every utterance exactly once; the cut drops little
    ranks = samplers[0].assignment(0)
    full = [samplers[0].rank_batches(0, r, ranks[r]) for r in range(world)]
    every = sorted(i for batches in full for b in batches for i, _, _ in b)
    assert every == list(range(len(shard_of)))
    assert all(full[r][:len(shares[r])] == shares[r] for r in range(world))
    loads = [sum(s[2] for s in (samplers[0].pieces[p] for p in ranks[r])) for r in range(world)]
    assert max(loads) - min(loads) <= max(sum(s) for s in lengths)  # balanced by frames


def test_sampler_is_deterministic_and_resumes_mid_epoch():
    lengths = shard_lengths()
    a = ShardBatchSampler(lengths, 2000, 300, seed=5, rank=1, world=2)
    b = ShardBatchSampler(lengths, 2000, 300, seed=5, rank=1, world=2)
    a.set_epoch(2)
    b.set_epoch(2)
    full = list(a)
    assert full == list(b)
    b.set_epoch(2, position=4)
    assert list(b) == full[4:] and len(b) == len(full) - 4
    a.set_epoch(3)
    assert list(a) != full
    assert ShardBatchSampler(lengths, 2000, 300, seed=6, rank=1, world=2).batches_for_epoch(2) != full


def test_fewer_shards_than_ranks_and_validation_order():
    lengths = shard_lengths(n_shards=2, per_shard=30)
    shares = [list(ShardBatchSampler(lengths, 1000, 300, shuffle=False, rank=r, world=4)) for r in range(4)]
    assert len({len(s) for s in shares}) == 1 and len(shares[0]) > 0
    ids = [{i for b in s for i, _, _ in b} for s in shares]
    assert sum(len(s) for s in ids) == len(set().union(*ids))  # still disjoint
    assert all(start == 0 for s in shares for b in s for _, start, _ in b)
    assert shares == [list(ShardBatchSampler(lengths, 1000, 300, shuffle=False, rank=r, world=4)) for r in range(4)]
    with pytest.raises(ValueError, match="cannot be shared"):
        list(ShardBatchSampler([[10, 10]], max_frames=100, max_utt_frames=50, world=4))
    with pytest.raises(ValueError, match="exceeds the batch budget"):
        ShardBatchSampler([[10]], max_frames=100, max_utt_frames=200)


def test_loader_with_workers_keeps_the_order(tmp_path):
    c = make_corpus(tmp_path / "c", n_utts=12)
    shards(c["root"], tmp_path / "sh")
    ds = ShardDataset(tmp_path / "sh", c["inventory"], IDENTITY)
    sampler = ShardBatchSampler(ds.shard_lengths(), 200, 60, seed=2, group=2)
    sampler.set_epoch(1, position=1)
    plain = list(DataLoader(ds, batch_sampler=sampler, collate_fn=collate))
    workers = list(DataLoader(ds, batch_sampler=sampler, collate_fn=collate, num_workers=2))
    assert [b["ids"] for b in plain] == [b["ids"] for b in workers]
    assert all(torch.equal(x["mel"], y["mel"]) and torch.equal(x["phones"], y["phones"])
               for x, y in zip(plain, workers))
    assert [b["lengths"].tolist() for b in plain] == [[n for _, _, n in b] for b in sampler]
