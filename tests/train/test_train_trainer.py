"""The accelerate training loop on the CPU: exact resume, skipped non-finite steps,
checkpoints, logs, and a two-process ``accelerate launch --cpu`` run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from synthetic_corpus import corpus_overrides, make_corpus
from voiceflow.config import load_config
from voiceflow.train import checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[2]


def train(root, exp, stop_at=None, **kw):
    from accelerate.state import AcceleratorState

    from voiceflow.train.trainer import Trainer

    AcceleratorState._reset_state(reset_partial_state=True)  # a fresh accelerate state per run
    cfg = load_config(None, corpus_overrides(root, exp, **kw))
    trainer = Trainer(cfg)  # its own Accelerator, as `voiceflow train` builds it
    return trainer, trainer.fit(stop_at=stop_at)


def weights(exp):
    path = ckpt.latest_checkpoint(exp)
    return ckpt.load_file(path, "model"), ckpt.load_file(path, "ema"), ckpt.load_file(path, "optimizer")


def test_resumed_run_continues_exactly(tmp_path):
    c = make_corpus(tmp_path / "c", n_utts=24)
    root = c["root"]
    # 2N steps straight (N = 6 spans more than one epoch of this corpus)
    train(root, tmp_path / "straight", max_steps=12, save_every=6, warmup_steps=3)
    # N steps, stop, then the same command again with the full budget: resumes at step N
    train(root, tmp_path / "resumed", stop_at=6, max_steps=12, save_every=6, warmup_steps=3)
    assert ckpt.load_trainer_state(ckpt.latest_checkpoint(tmp_path / "resumed"))["step"] == 6
    trainer, summary = train(root, tmp_path / "resumed", max_steps=12, save_every=6, warmup_steps=3)
    assert summary["step"] == 12
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    for name in a[0]:
        assert torch.equal(a[0][name], b[0][name]), name
        assert torch.equal(a[1]["params"][name], b[1]["params"][name]), name
    sa, sb = a[2]["state"], b[2]["state"]
    assert all(torch.equal(sa[k]["exp_avg_sq"], sb[k]["exp_avg_sq"]) for k in sa)
    state = ckpt.load_trainer_state(ckpt.latest_checkpoint(tmp_path / "straight"))
    assert state["epoch"] >= 1  # the stop fell mid-run, across an epoch boundary


def test_non_finite_steps_are_skipped_and_counted(tmp_path):
    c = make_corpus(tmp_path / "c", nan_features=True)
    trainer, summary = train(c["root"], tmp_path / "exp", max_steps=3, valid_every=100)
    assert summary["skipped"] == 3
    init = weights(tmp_path / "exp")
    from voiceflow.infer.loading import build_untrained

    fresh = build_untrained(trainer.cfg, trainer.cfg.train.seed).state_dict()
    for name, value in fresh.items():  # not one update went through
        assert torch.equal(init[0][name], value), name
        assert torch.equal(init[1]["params"][name], value), name


def test_checkpoints_are_complete_and_pruned(tmp_path):
    c = make_corpus(tmp_path / "c")
    exp = tmp_path / "exp"
    train(c["root"], exp, max_steps=6, save_every=2, keep_checkpoints=2)
    done = sorted(p.name for p in (exp / "checkpoints").glob("step-*"))
    assert done == ["step-00000004", "step-00000006"]
    latest = ckpt.latest_checkpoint(exp)
    assert latest.name == "step-00000006"
    assert {p.name for p in latest.iterdir()} == {"model.pt", "ema.pt", "optimizer.pt", "scheduler.pt",
                                                  "trainer.json", "rng-rank0.pt"}
    assert not list((exp / "checkpoints").glob(".*.tmp"))  # no half-written directory left
    # the experiment holds everything inference needs
    assert {"config.yaml", "phones.txt", "stats.json"} <= {p.name for p in exp.iterdir()}
    # TensorBoard scalars were written
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(next((exp / "tb").rglob("events.out.tfevents.*")).parent))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/grad_norm", "train/lr", "train/frames_per_s", "train/skipped_steps",
            "valid/loss", "valid/loss_ema"} <= tags


def test_schedule_and_ema():
    from voiceflow.train.ema import EMA
    from voiceflow.train.schedule import warmup_linear_decay

    assert warmup_linear_decay(0, 10, 110) == pytest.approx(0.1)
    assert warmup_linear_decay(9, 10, 110) == pytest.approx(1.0)
    assert warmup_linear_decay(60, 10, 110) == pytest.approx(0.5)
    assert warmup_linear_decay(110, 10, 110) == pytest.approx(0.0)
    model = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema = EMA(model, decay=0.5, warmup=False)
    with torch.no_grad():
        model.weight.fill_(3.0)
    ema.update(model)
    assert torch.allclose(ema.params["weight"], torch.full((1, 2), 2.0))


@pytest.mark.slow
def test_two_process_accelerate_launch_on_cpu(tmp_path):
    c = make_corpus(tmp_path / "c", n_utts=24)
    exp = tmp_path / "exp"
    args = corpus_overrides(c["root"], exp)
    # `accelerate launch --cpu` starts several processes only through mpirun; its torchrun
    # launcher with ACCELERATE_USE_CPU=1 runs them on the CPU, talking over gloo (MULTI_CPU)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "voiceflow.bin.train", "--config", str(ROOT / "recipes/demo/conf/smoke.yaml"), *args]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    latest = ckpt.latest_checkpoint(exp)
    assert (latest / "rng-rank0.pt").is_file() and (latest / "rng-rank1.pt").is_file()
    state = json.loads((latest / "trainer.json").read_text())
    assert state["world"] == 2 and state["step"] == 4 and state["skipped"] == 0
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["step"] == 4 and summary["valid"]["valid/loss"] > 0


def test_gradient_accumulation_consumes_micro_batches(tmp_path):
    c = make_corpus(tmp_path / "c", n_utts=24)
    trainer, summary = train(c["root"], tmp_path / "exp", max_steps=3, grad_accum=2, valid_every=100)
    sampler = trainer._sampler(trainer.train_set, shuffle=True)
    expected, epoch = [], 0
    while len(expected) < 6:  # the first six batches of the run, across epochs
        expected += sampler.batches_for_epoch(epoch)
        epoch += 1
    frames = sum(length for batch in expected[:6] for _, _, length in batch)
    assert summary["step"] == 3 and trainer.frames_seen == frames


@pytest.mark.parametrize("path,coupling", [("icfm", "independent"), ("ot", "ot"), ("icfm", "ot")])
def test_paths_and_couplings_train_and_resume_exactly(tmp_path, path, coupling):
    c = make_corpus(tmp_path / "c")
    variant = {"flow.path": path, "flow.coupling": coupling, "valid_every": 100}
    train(c["root"], tmp_path / "straight", max_steps=4, save_every=2, warmup_steps=2, **variant)
    train(c["root"], tmp_path / "resumed", stop_at=2, max_steps=4, save_every=2, warmup_steps=2, **variant)
    trainer, summary = train(c["root"], tmp_path / "resumed", max_steps=4, save_every=2, warmup_steps=2, **variant)
    assert summary["step"] == 4 and summary["skipped"] == 0
    (model_a, ema_a, _), (model_b, ema_b, _) = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    for name in model_a:  # the coupling's assignment and the path's extra noise resume exactly too
        assert torch.equal(model_a[name], model_b[name]), name
        assert torch.equal(ema_a["params"][name], ema_b["params"][name]), name
    baseline = tmp_path / "baseline"
    train(c["root"], baseline, max_steps=4, save_every=2, warmup_steps=2, valid_every=100)
    changed = weights(tmp_path / "straight")[0]
    assert any(not torch.equal(changed[k], v) for k, v in weights(baseline)[0].items())  # the variant mattered
    state = ckpt.load_trainer_state(ckpt.latest_checkpoint(tmp_path / "resumed"))
    assert state["train_seconds"] > 0  # wall time summed over the two runs


def test_a_run_that_cannot_start_leaves_the_experiment_as_it_was(tmp_path):
    """Resuming into an experiment with a model of another size is refused in one line, and
    its config.yaml (what inference reads) stays the one its checkpoints were trained with."""
    from voiceflow.errors import VoiceflowError

    c = make_corpus(tmp_path / "c", n_utts=8)
    exp = tmp_path / "exp"
    train(c["root"], exp, max_steps=2, save_every=2)
    before = (exp / "config.yaml").read_text()
    with pytest.raises(VoiceflowError, match="step-00000002: this checkpoint does not fit the model of the given config"):
        train(c["root"], exp, max_steps=4, **{"model.ff_dim": 96})
    assert (exp / "config.yaml").read_text() == before
    # a run whose manifest is missing writes nothing at all
    fresh = tmp_path / "fresh"
    with pytest.raises(VoiceflowError, match="not found"):
        train(c["root"], fresh, **{"data.train_manifest": tmp_path / "none.jsonl"})
    assert not fresh.exists()
    with pytest.raises(VoiceflowError, match="data.phones, data.stats not set"):
        train(c["root"], fresh, **{"data.phones": "", "data.stats": ""})
