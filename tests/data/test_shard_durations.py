"""The duration model's data from a shard set: the same items as DurationDataset on the aligned
manifest (ghost silences included), phone counts and log-duration statistics with and without
the writer's summary, and the trainer on shards (one epoch of phones, exact resume)."""

import json
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from synthetic_corpus import corpus_overrides, make_corpus
from test_shards import shards
from voiceflow.config import MelConfig, load_config
from voiceflow.data.durations import DurationDataset, collate_durations
from voiceflow.data.shard_durations import ShardDurationDataset
from voiceflow.data.shard_sampler import ShardBatchSampler
from voiceflow.data.shards import PHONE_LENGTHS
from voiceflow.errors import VoiceflowError
from voiceflow.text import PhoneInventory
from voiceflow.train import checkpoint as ckpt

SMALL_DURATION = ["task=duration", "duration.dim=32", "duration.depth=2", "duration.heads=2", "duration.ff_dim=64",
                  "duration.phone_dim=16", "duration.conv_pos_kernel=7", "duration.conv_pos_groups=4",
                  "duration.max_phones=48", "duration.max_utt_phones=12"]


def ghost_corpus(root, n_utts=12):
    """make_corpus with a ghost silence (zero length, between two words) in utt004 and utt009."""
    c = make_corpus(root, n_utts=n_utts)
    for u in (4, 9):
        alignment = c["rows"][u]["alignment"]
        t = alignment[2][2]
        alignment.insert(3, ["sil", t, t])
    for name, part in (("all.jsonl", c["rows"]), ("train.jsonl", c["rows"][2:]), ("valid.jsonl", c["rows"][:2])):
        (c["root"] / name).write_text("".join(json.dumps(r) + "\n" for r in part))
    return c


def assert_same_item(a: dict, b: dict):
    assert a.keys() == b.keys() and a["id"] == b["id"]
    for key in ("phones", "durations"):
        assert a[key].dtype == b[key].dtype == torch.long and torch.equal(a[key], b[key]), key


def test_items_equal_the_manifest_datasets(tmp_path):
    c = ghost_corpus(tmp_path / "c")
    root = c["root"]
    assert shards(root, tmp_path / "sh")["shards"] >= 3
    ds = ShardDurationDataset(tmp_path / "sh", c["inventory"], MelConfig())
    ref = DurationDataset(root / "all.jsonl", c["inventory"], MelConfig())
    row_of = {uid: j for j, uid in enumerate(ref.ids)}
    assert len(ds) == len(ref) == 12
    order = [ds[i]["id"] for i in range(len(ds))]
    assert sorted(order) == ref.ids and order != ref.ids  # shuffled over the shards
    for i, uid in enumerate(order):
        j = row_of[uid]
        n = ref.frames[j]
        assert int(ds.frames[i]) == n == len(c["rows"][j]["alignment"])  # lengths in PHONES
        assert_same_item(ds[i], ref[j])
        for start in range(n):  # every window the sampler may cut
            for length in range(1, n - start + 1):
                assert_same_item(ds[(i, start, length)], ref[(j, start, length)])
    ghosts = [ds[order.index(u)]["durations"] for u in ("utt004", "utt009")]
    assert all(int((d == 0).sum()) == 1 for d in ghosts)  # each ghost silence kept as a 0-frame phone
    assert ds.log_duration_stats() == pytest.approx(ref.log_duration_stats(), rel=1e-12)
    assert [len(s) for s in ds.shard_lengths()] == ds.index.utterances.tolist()
    # batches of the shard sampler, collated as the manifest's
    sampler = ShardBatchSampler(ds.shard_lengths(), 48, 12, 5, seed=1, group=2)
    seen = []
    for batch in DataLoader(ds, batch_sampler=sampler, collate_fn=collate_durations):
        assert int(batch["lengths"].sum()) <= 48 and batch["phones"].shape == batch["durations"].shape
        seen += batch["ids"]
    assert sorted(seen) == ref.ids
    # a worker's copy reads its own metas and gives the same items
    clone = pickle.loads(pickle.dumps(ds))
    assert not clone._open and clone._phones is None
    assert_same_item(clone[(3, 1, 2)], ds[(3, 1, 2)])
    with pytest.raises(IndexError, match="outside utterance"):
        ds[(0, 1, int(ds.frames[0]))]


def test_sets_written_without_the_summary_are_scanned(tmp_path):
    c = ghost_corpus(tmp_path / "c")
    out = tmp_path / "sh"
    shards(c["root"], out)
    index = json.loads((out / "index.json").read_text())
    assert index["durations"]["phones"] == sum(len(r["alignment"]) for r in c["rows"])
    written = ShardDurationDataset(out, c["inventory"])
    frames, stats = np.array(written.frames), written.log_duration_stats()
    (out / PHONE_LENGTHS).unlink()  # as the writer left sets before it stored them
    del index["durations"]
    (out / "index.json").write_text(json.dumps(index))
    scanned = ShardDurationDataset(out, c["inventory"])
    assert np.array_equal(scanned.frames, frames) and scanned.log_duration_stats() == pytest.approx(stats, rel=1e-12)
    assert_same_item(scanned[5], written[5])
    # rewriting the index (a rerun of the writer) stores them again
    shards(c["root"], out)
    assert np.array_equal(np.load(out / PHONE_LENGTHS), frames)


def test_errors_name_the_file(tmp_path):
    c = ghost_corpus(tmp_path / "c")
    out = tmp_path / "sh"
    shards(c["root"], out)
    other = PhoneInventory(c["inventory"].symbols + ["zz_S"])
    with pytest.raises(VoiceflowError, match="another phone inventory"):
        ShardDurationDataset(out, other)
    with pytest.raises(VoiceflowError, match="another mel config: hop_length 256"):
        ShardDurationDataset(out, c["inventory"], MelConfig(hop_length=320))
    np.save(out / PHONE_LENGTHS, np.ones(3, np.int32))
    with pytest.raises(VoiceflowError, match=f"{PHONE_LENGTHS}: 3 phone counts, the index lists 12"):
        ShardDurationDataset(out, c["inventory"])


# ------------------------------------------------------------------------------------ trainer
def trainer(root, exp, shards=True, **kw):
    from accelerate.state import AcceleratorState

    from voiceflow.train.trainer import Trainer

    AcceleratorState._reset_state(reset_partial_state=True)
    data = {"data.train_manifest": root / "shards_train", "data.valid_manifest": root / "shards_valid",
            "data.shard_group": 2} if shards else {}
    args = [o for o in corpus_overrides(root, exp, **{**data, **kw}) if not o.startswith("data.stats=")]
    return Trainer(load_config(None, args + SMALL_DURATION))


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory):
    c = ghost_corpus(tmp_path_factory.mktemp("dur") / "c", n_utts=24)
    for split in ("train", "valid"):
        shards(c["root"], c["root"] / f"shards_{split}", manifest=f"{split}.jsonl")
    return c["root"]


def test_trainer_reads_one_epoch_of_phones(corpus_root, tmp_path):
    probe = trainer(corpus_root, tmp_path / "probe")
    assert isinstance(probe.train_set, ShardDurationDataset) and isinstance(probe.sampler, ShardBatchSampler)
    steps = len(probe.sampler.batches_for_epoch(0))
    t = trainer(corpus_root, tmp_path / "run", max_steps=steps, valid_every=100, save_every=100)
    t.fit()
    assert (t.epoch, t.position) == (0, steps)
    rows = [json.loads(line) for line in (corpus_root / "train.jsonl").read_text().splitlines()]
    assert t.frames_seen == sum(min(len(r["alignment"]), 12) for r in rows)  # every utterance once, cropped
    # the model normalises by the statistics of the manifest's durations
    manifest = trainer(corpus_root, tmp_path / "manifest", shards=False)
    model = manifest.acc.unwrap_model(manifest.model)
    for name in ("log_mean", "log_std"):
        assert float(getattr(model, name)) == pytest.approx(float(getattr(probe.acc.unwrap_model(probe.model), name)))


def test_resume_on_shards_is_exact(corpus_root, tmp_path):
    kw = dict(max_steps=8, save_every=4, warmup_steps=2, valid_every=4)
    t = trainer(corpus_root, tmp_path / "straight", **kw)
    assert len(t.sampler) < 8  # the run crosses epochs
    t.fit()
    trainer(corpus_root, tmp_path / "resumed", **kw).fit(stop_at=4)
    stopped = ckpt.load_trainer_state(ckpt.latest_checkpoint(tmp_path / "resumed"))
    assert 0 < stopped["position"] < len(t.sampler.batches_for_epoch(stopped["epoch"]))  # mid-epoch
    summary = trainer(corpus_root, tmp_path / "resumed", **kw).fit()
    assert summary["step"] == 8 and summary["skipped"] == 0 and summary["valid"]["valid/loss"] > 0
    a, b = (ckpt.latest_checkpoint(tmp_path / name) for name in ("straight", "resumed"))
    for part in ("model", "ema"):
        wa, wb = ckpt.load_file(a, part), ckpt.load_file(b, part)
        wa, wb = (wa, wb) if part == "model" else (wa["params"], wb["params"])
        assert all(torch.equal(wa[k], wb[k]) for k in wa), part
    state = ckpt.load_trainer_state(a)
    assert state["epoch"] >= 1 and state == {**ckpt.load_trainer_state(b), "train_seconds": state["train_seconds"]}
