"""Test helpers: a small synthetic feature corpus, written by code (no committed blobs).

Each utterance is a random phone sequence with random durations; its log-mel is a smooth
per-phone spectral template plus a per-speaker offset and a little noise, so a model can
learn something from it in a few steps, and a wav is written beside it so that inference
(which reads audio) works on the same items.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch


SMALL_MODEL = [
    "model.dim=32", "model.depth=3", "model.heads=2", "model.ff_dim=64", "model.phone_dim=16",
    "model.conv_pos_kernel=7", "model.conv_pos_groups=4",
]


def make_corpus(root: Path, n_utts: int = 12, seed: int = 0, n_speakers: int = 2, with_audio: bool = True,
                nan_features: bool = False) -> dict:
    """Write phones.txt, stats.json, train/valid manifests, .npy features and wavs under ``root``."""
    from voiceflow.audio import StatsAccumulator, save_wav
    from voiceflow.text import PhoneInventory

    rng = np.random.default_rng(seed)
    symbols = [f"p{i}_{pos}" for i in range(6) for pos in ("B", "I", "E", "S")]
    inventory = PhoneInventory.build([symbols + ["sil"]])
    root.mkdir(parents=True, exist_ok=True)
    inventory.save(root / "phones.txt")
    templates = {s: rng.normal(-3.0, 1.5, size=100) for s in symbols}
    feats = root / "feats"
    feats.mkdir(exist_ok=True)
    stats = StatsAccumulator()
    rows = []
    sr, hop = 24000, 256
    for u in range(n_utts):
        n_phones = int(rng.integers(4, 9))
        durations = rng.integers(3, 12, size=n_phones)
        frames = int(durations.sum()) + 2
        num_samples = (frames - 1) * hop
        duration = num_samples / sr
        phones = ["sil"] + [symbols[int(k)] for k in rng.integers(0, len(symbols), size=n_phones)] + ["sil"]
        bounds = np.concatenate([[0], np.cumsum([1, *durations, 1])]) * hop / sr
        bounds[-1] = duration
        alignment = [[p, float(bounds[i]), float(bounds[i + 1])] for i, p in enumerate(phones)]
        speaker = f"spk{u % n_speakers}"
        mel = np.concatenate([np.tile(templates.get(p, np.full(100, -8.0))[:, None], (1, d))
                              for p, d in zip(phones, [1, *durations, 1])], axis=1)
        mel = mel + (u % n_speakers) * 0.5 + rng.normal(0, 0.1, size=mel.shape)
        if nan_features:
            mel[:, :] = np.nan
        np.save(feats / f"utt{u:03d}.npy", mel.astype(np.float32))
        if not nan_features:
            stats.add(torch.from_numpy(mel))
        audio = root / "wavs" / f"utt{u:03d}.wav"
        if with_audio:
            t = np.arange(num_samples) / sr
            save_wav(audio, 0.3 * np.sin(2 * np.pi * (120 + 40 * (u % n_speakers)) * t), sr)
        rows.append({"id": f"utt{u:03d}", "audio": str(audio), "speaker": speaker, "text": " ".join(phones),
                     "duration": duration, "alignment": alignment,
                     "words": [[f"w{i}", alignment[i][1], alignment[i][2]] for i in range(1, len(phones) - 1)],
                     "feats": str(feats / f"utt{u:03d}.npy"), "frames": frames})
    if nan_features:
        (root / "stats.json").write_text(json.dumps({"mean": 0.0, "std": 1.0, "frames": 1}))
    else:
        stats.result().save(root / "stats.json")
    n_valid = max(2, n_utts // 6)
    for name, part in (("train.jsonl", rows[n_valid:]), ("valid.jsonl", rows[:n_valid]), ("all.jsonl", rows)):
        (root / name).write_text("".join(json.dumps(r) + "\n" for r in part))
    return {"root": root, "rows": rows, "inventory": inventory}


def corpus_overrides(root: Path, exp_dir: Path, **train) -> list[str]:
    """Config overrides pointing a tiny CPU run at a corpus made by :func:`make_corpus`."""
    base = {
        "data.train_manifest": root / "train.jsonl", "data.valid_manifest": root / "valid.jsonl",
        "data.phones": root / "phones.txt", "data.stats": root / "stats.json", "data.max_frames": 200,
        "data.max_utt_frames": 100, "data.num_workers": 0, "data.valid_batches": 2,
        "train.exp_dir": exp_dir, "train.mixed_precision": "no", "train.max_steps": 4, "train.warmup_steps": 2,
        "train.lr": 1e-3, "train.log_every": 2, "train.valid_every": 2, "train.save_every": 2,
        "train.ema_decay": 0.9,
    }
    base.update({f"train.{k}" if "." not in k else k: v for k, v in train.items()})
    return SMALL_MODEL + [f"{k}={v}" for k, v in base.items()]



def train_tiny(corpus_root: Path, exp_dir: Path, **train) -> Path:
    """Train the small test model on a corpus of :func:`make_corpus` in this process (a fresh
    accelerate state); ``train`` are the overrides of :func:`corpus_overrides`. Returns exp_dir."""
    from accelerate.state import AcceleratorState

    from voiceflow.config import load_config
    from voiceflow.train.trainer import Trainer

    AcceleratorState._reset_state(reset_partial_state=True)
    Trainer(load_config(None, corpus_overrides(corpus_root, exp_dir, **train))).fit()
    return exp_dir
