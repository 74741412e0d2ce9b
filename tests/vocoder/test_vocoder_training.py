"""Vocoder training (voiceflow.vocoder.training) on the CPU: a tiny vocos GAN trains on
generated tones, resumes exactly, exports a folder load_vocoder reads, fine-tunes from that
folder, and fails with one line on bad input."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from voiceflow.errors import VoiceflowError
from voiceflow.train import checkpoint as ckpt
from voiceflow.vocoder.train_config import load_vocoder_config

SR = 24000
# a small backbone, one period and one resolution discriminator, 2048-sample segments
TINY = ["data.segment_samples=2048", "data.valid_segment_samples=4096", "data.batch_size=2",
        "data.num_workers=0", "model.dim=32", "model.intermediate_dim=64", "model.num_layers=1",
        "model.mpd_periods=[2]", "model.mrd_fft_sizes=[512]", "train.log_every=1", "train.valid_every=2",
        "train.save_every=2"]


def write_corpus(root, n=6):
    """n tone-plus-noise wavs (one at 16 kHz, one shorter than a segment) and train/valid manifests."""
    root.mkdir(parents=True, exist_ok=True)
    rng, rows = np.random.default_rng(0), []
    for i in range(n):
        sr = 16000 if i == 2 else SR
        samples = int(sr * (0.05 if i == 3 else 0.4 + 0.1 * i))
        t = np.arange(samples) / sr
        x = sum(np.sin(2 * np.pi * k * (100 + 30 * i) * t) / k for k in range(1, 20))
        x = x + 0.05 * rng.standard_normal(samples)
        sf.write(root / f"u{i}.wav", (0.3 * x / np.abs(x).max()).astype(np.float32), sr)
        rows.append({"id": f"u{i}", "audio": f"u{i}.wav", "speaker": "s", "text": "", "duration": samples / sr})
    for name, part in (("train.jsonl", rows), ("valid.jsonl", rows[:2])):
        (root / name).write_text("".join(json.dumps(r) + "\n" for r in part))
    return root


def overrides(corpus, exp, **kw):
    args = TINY + [f"data.train_manifest={corpus}/train.jsonl", f"data.valid_manifest={corpus}/valid.jsonl",
                   f"train.exp_dir={exp}"]
    return args + [f"{k.replace('__', '.')}={v}" for k, v in kw.items()]


def train(corpus, exp, stop_at=None, **kw):
    from accelerate.state import AcceleratorState

    from voiceflow.vocoder.training import VocoderTrainer

    AcceleratorState._reset_state(reset_partial_state=True)  # a fresh accelerate state per run
    trainer = VocoderTrainer(load_vocoder_config(None, overrides(corpus, exp, **kw)))
    return trainer, trainer.fit(stop_at=stop_at)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 4-step run (1 mel-only + 3 GAN steps) straight, and the same run stopped at 2 and resumed."""
    root = tmp_path_factory.mktemp("vocoder_training")
    corpus = write_corpus(root / "corpus")
    kw = dict(train__max_steps=4, optim__pretrain_mel_steps=1, train__keep_checkpoints=1)
    _, straight = train(corpus, root / "straight", **kw)
    train(corpus, root / "resumed", stop_at=2, **kw)
    _, resumed = train(corpus, root / "resumed", **kw)
    return {"root": root, "corpus": corpus, "straight": straight, "resumed": resumed}


def test_training_resumes_exactly_and_keeps_the_newest_checkpoint(runs):
    root = runs["root"]
    assert runs["straight"]["step"] == runs["resumed"]["step"] == 4
    assert runs["straight"]["skipped"] == {"generator": 0, "discriminator": 0}
    assert math.isfinite(runs["straight"]["valid"]["valid/mel_l1"])
    a, b = ckpt.latest_checkpoint(root / "straight"), ckpt.latest_checkpoint(root / "resumed")
    assert a.name == "step-00000004" and [p.name for p in a.parent.glob("step-*")] == [a.name]  # keep 1
    for stem in ("generator", "discriminators"):
        wa, wb = ckpt.load_file(a, stem), ckpt.load_file(b, stem)
        assert all(torch.equal(wa[k], wb[k]) for k in wa), stem
    oa, ob = ckpt.load_file(a, "opt_d")["state"], ckpt.load_file(b, "opt_d")["state"]
    assert all(torch.equal(oa[k]["exp_avg_sq"], ob[k]["exp_avg_sq"]) for k in oa)
    state = ckpt.load_trainer_state(a)
    assert state["step"] == 4 and state["segments_seen"] == 8
    assert (state["epoch"], state["position"]) == (1, 1)  # 3 batches an epoch
    assert list((root / "straight" / "tb").rglob("events.out.tfevents.*"))
    assert not list((root / "straight").rglob("*.tmp"))


def test_export_loads_through_load_vocoder(runs):
    from voiceflow.vocoder import VocosVocoder, load_vocoder

    folder = runs["root"] / "straight" / "vocos"
    vocoder = load_vocoder(folder)
    assert isinstance(vocoder, VocosVocoder)
    wav = vocoder(torch.randn(1, 100, 40) - 4.0)
    assert wav.shape == (1, 39 * 256) and torch.isfinite(wav).all()
    exported = torch.load(folder / "pytorch_model.bin", weights_only=True)
    trained = ckpt.load_file(ckpt.latest_checkpoint(runs["root"] / "straight"), "generator")
    assert all(torch.equal(v, trained[f"vocos.{k}"]) for k, v in exported.items())


def test_mel_loss_falls_on_a_fixed_batch(runs, tmp_path):
    trainer, _ = train(runs["corpus"], tmp_path / "exp", train__max_steps=1, optim__pretrain_mel_steps=100)
    audio = next(trainer._batches())  # (2, 2048)
    losses = [trainer.train_step(audio)["mel_loss"] for _ in range(25)]
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < 0.8 * losses[0], losses
    trainer.step = 200  # past pretrain_mel_steps: the adversarial terms join
    stats = trainer.train_step(audio)
    assert all(math.isfinite(stats[k]) for k in ("d_loss", "g_adv_mpd", "g_fm_mrd", "grad_norm_d"))
    before = {k: v.clone() for k, v in trainer.acc.unwrap_model(trainer.gen).state_dict().items()}
    audio[0, 100] = float("nan")  # non-finite losses: both updates are skipped and counted
    stats = trainer.train_step(audio)
    assert math.isnan(stats["g_loss"]) and trainer.skipped == {"generator": 1, "discriminator": 1}
    after = trainer.acc.unwrap_model(trainer.gen).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_fine_tune_starts_from_an_exported_folder(runs, tmp_path):
    from accelerate.state import AcceleratorState

    from voiceflow.vocoder.training import VocoderTrainer

    folder = runs["root"] / "straight" / "vocos"
    AcceleratorState._reset_state(reset_partial_state=True)
    cfg = load_vocoder_config(None, overrides(runs["corpus"], tmp_path / "ft", init_from=folder,
                                              train__max_steps=1, optim__pretrain_mel_steps=1))
    trainer = VocoderTrainer(cfg)
    exported = torch.load(folder / "pytorch_model.bin", weights_only=True)
    start = trainer.acc.unwrap_model(trainer.gen).vocos.state_dict()
    assert all(torch.equal(start[k], v) for k, v in exported.items())
    assert trainer.fit()["step"] == 1
    with pytest.raises(VoiceflowError, match=r"init_from .*dim 32 vs 48"):
        VocoderTrainer(load_vocoder_config(None, overrides(runs["corpus"], tmp_path / "bad", init_from=folder,
                                                           model__dim=48)))


def run_cli(capsys, args):
    from voiceflow.bin.train_vocoder import main

    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return e.value.code, err.strip().splitlines()[-1]  # the lines before: warnings, progress


def test_cli_reports_bad_input_in_one_line(runs, tmp_path, capsys):
    from accelerate.state import AcceleratorState

    corpus = runs["corpus"]
    code, err = run_cli(capsys, overrides(corpus, tmp_path / "e1", data__train_manifest=tmp_path / "none.jsonl"))
    assert code == 1 and err.startswith("error: ") and "none.jsonl" in err and "\n" not in err

    code, err = run_cli(capsys, overrides(corpus, tmp_path / "e2", model__widht=3))
    assert code == 1 and "unknown config key: model.widht" in err

    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 8)
    rows = [{"id": "good", "audio": str(corpus / "u0.wav")}, {"id": "bad", "audio": str(tmp_path / "bad.wav")}]
    (tmp_path / "bad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    AcceleratorState._reset_state(reset_partial_state=True)
    exp = tmp_path / "e3"
    code, err = run_cli(capsys, overrides(corpus, exp, data__train_manifest=tmp_path / "bad.jsonl",
                                          data__num_workers=1, train__max_steps=2))
    assert code == 1 and "\n" not in err and "bad.wav: cannot read audio" in err, err
    assert not list(exp.glob("checkpoints/*")) and not (exp / "vocos").exists()
    assert not list(exp.rglob("*.tmp"))


@pytest.mark.slow
def test_two_process_accelerate_launch_on_cpu(runs, tmp_path):
    from voiceflow.vocoder import load_vocoder

    exp, repo = tmp_path / "exp", Path(__file__).resolve().parents[2]
    # two CPU processes over gloo (ACCELERATE_USE_CPU with the multi-process launcher), batch 1 each
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(repo)}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "voiceflow.bin.train_vocoder",
           *overrides(runs["corpus"], exp, data__batch_size=1, train__max_steps=2, optim__pretrain_mel_steps=1)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    latest = ckpt.latest_checkpoint(exp)
    assert (latest / "rng-rank0.pt").is_file() and (latest / "rng-rank1.pt").is_file()
    state = ckpt.load_trainer_state(latest)
    assert state["world"] == 2 and state["step"] == 2 and state["segments_seen"] == 4
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["skipped"] == {"generator": 0, "discriminator": 0}
    assert load_vocoder(exp / "vocos").num_samples(11) == 10 * 256
