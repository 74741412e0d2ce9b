"""The trainer on shard sets: exact resume mid-epoch, the same data as from a manifest, clear errors."""

import pytest
import torch

from synthetic_corpus import corpus_overrides, make_corpus
from voiceflow.config import load_config
from voiceflow.data.shard_sampler import ShardBatchSampler
from voiceflow.data.shard_writer import write_shard_set
from voiceflow.errors import VoiceflowError
from voiceflow.train import checkpoint as ckpt


def shard_corpus(tmp_path, n_utts=24):
    c = make_corpus(tmp_path / "c", n_utts=n_utts)
    root = c["root"]
    for split in ("train", "valid"):
        write_shard_set(root / f"{split}.jsonl", root / f"shards_{split}", root / "phones.txt", shard_frames=150,
                        progress=False)
    return c


def trainer(root, exp, shards=True, **kw):
    from accelerate.state import AcceleratorState

    from voiceflow.train.trainer import Trainer

    AcceleratorState._reset_state(reset_partial_state=True)
    data = {"data.train_manifest": root / "shards_train", "data.valid_manifest": root / "shards_valid",
            "data.shard_group": 2} if shards else {}
    return Trainer(load_config(None, corpus_overrides(root, exp, **{**data, **kw})))


def test_resume_on_shards_is_exact(tmp_path):
    root = shard_corpus(tmp_path)["root"]
    kw = dict(max_steps=10, save_every=5, warmup_steps=3, valid_every=5)
    t = trainer(root, tmp_path / "straight", **kw)
    assert isinstance(t.sampler, ShardBatchSampler) and len(t.sampler) < 10  # the run crosses epochs
    t.fit()
    trainer(root, tmp_path / "resumed", **kw).fit(stop_at=5)
    stopped = ckpt.load_trainer_state(ckpt.latest_checkpoint(tmp_path / "resumed"))
    assert 0 < stopped["position"] < len(t.sampler.batches_for_epoch(stopped["epoch"]))  # mid-epoch
    summary = trainer(root, tmp_path / "resumed", **kw).fit()
    assert summary["step"] == 10 and summary["valid"]["valid/loss"] > 0
    a, b = (ckpt.latest_checkpoint(tmp_path / name) for name in ("straight", "resumed"))
    for part in ("model", "ema"):
        wa, wb = ckpt.load_file(a, part), ckpt.load_file(b, part)
        wa, wb = (wa, wb) if part == "model" else (wa["params"], wb["params"])
        assert all(torch.equal(wa[k], wb[k]) for k in wa)
    state = ckpt.load_trainer_state(a)
    assert state["epoch"] >= 1 and state == {**ckpt.load_trainer_state(b), "train_seconds": state["train_seconds"]}


def test_shards_and_manifest_give_the_same_data(tmp_path):
    c = shard_corpus(tmp_path)
    root, seen = c["root"], {}
    for shards in (False, True):
        exp = tmp_path / f"exp{int(shards)}"
        probe = trainer(root, exp, shards=shards)
        steps = len(probe.sampler.batches_for_epoch(0))  # exactly one epoch
        t = trainer(root, tmp_path / f"run{int(shards)}", shards=shards, max_steps=steps, valid_every=100,
                    save_every=100)
        t.fit()
        assert (t.epoch, t.position) == (0, steps)  # the whole first epoch, not a batch more
        seen[shards] = t.frames_seen
    frames = [min(r["frames"], 100) for r in c["rows"][4:]]  # train.jsonl
    assert seen[False] == seen[True] == sum(frames)  # max_utt_frames 100: every utterance once, cropped


def test_shard_set_errors(tmp_path):
    root = shard_corpus(tmp_path, n_utts=12)["root"]
    from voiceflow.text import PhoneInventory

    inv = PhoneInventory.load(root / "phones.txt")
    PhoneInventory(inv.symbols + ["extra"]).save(tmp_path / "other.txt")
    with pytest.raises(VoiceflowError, match="another phone inventory than .*other.txt"):
        trainer(root, tmp_path / "e1", **{"data.phones": tmp_path / "other.txt"})
    (tmp_path / "empty").mkdir()
    with pytest.raises(VoiceflowError, match="without index.json"):
        trainer(root, tmp_path / "e3", **{"data.train_manifest": tmp_path / "empty"})


@pytest.mark.slow
def test_two_processes_on_shards(tmp_path):
    """Two ranks read distinct shards and take the same number of steps (no DDP hang)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    root = shard_corpus(tmp_path)["root"]
    exp = tmp_path / "exp"
    args = corpus_overrides(root, exp, **{"data.train_manifest": root / "shards_train",
                                         "data.valid_manifest": root / "shards_valid", "max_steps": 6})
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(repo)}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "voiceflow.bin.train", "--config", str(repo / "recipes/demo/conf/smoke.yaml"), *args]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    state = json.loads((ckpt.latest_checkpoint(exp) / "trainer.json").read_text())
    assert state["world"] == 2 and state["step"] == 6 and state["epoch"] >= 1  # crossed an epoch boundary
