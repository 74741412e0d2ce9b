"""Checkpoints: the full training state, written atomically, one directory per step.

Layout of ``<exp_dir>/checkpoints/step-00001000/``::

    model.pt          the live weights (float32 state_dict)
    ema.pt            the EMA state (its ``params`` are what inference uses)
    optimizer.pt      optimizer state (and ``scaler.pt`` under fp16)
    scheduler.pt      learning-rate scheduler state
    trainer.json      step, epoch, position in the epoch, skipped steps, frames seen, training
                      wall time in seconds (summed over resumed runs)
    rng-rank<r>.pt    Python, NumPy, torch and CUDA generator states of every process

The directory is assembled under a temporary name and renamed when complete, and the file
``checkpoints/latest`` names the newest complete one, so a run killed at any moment leaves
either the previous or the new checkpoint, never half of one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path

LATEST = "latest"


def step_dir(exp_dir: str | Path, step: int) -> Path:
    return Path(exp_dir) / "checkpoints" / f"step-{step:08d}"


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(accelerator, exp_dir: str | Path, step: int, tensors: dict[str, object],
                    trainer_state: dict, keep: int) -> Path:
    """Collective: every process calls it. ``tensors`` maps file stem -> object to torch.save."""
    final = step_dir(exp_dir, step)
    tmp = final.with_name(f".{final.name}.tmp")
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    torch.save(rng_state(), tmp / f"rng-rank{accelerator.process_index}.pt")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        for stem, obj in tensors.items():
            torch.save(obj, tmp / f"{stem}.pt")
        (tmp / "trainer.json").write_text(json.dumps(trainer_state, indent=2) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        with atomic_path(final.parent / LATEST) as t:
            Path(t).write_text(final.name + "\n")
        _prune(final.parent, keep)
    accelerator.wait_for_everyone()
    return final


def _prune(ckpt_root: Path, keep: int) -> None:
    if keep <= 0:
        return
    done = sorted(p for p in ckpt_root.glob("step-*") if p.is_dir())
    for old in done[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(exp_dir: str | Path) -> Path | None:
    root = Path(exp_dir) / "checkpoints"
    pointer = root / LATEST
    if pointer.is_file():
        path = root / pointer.read_text().strip()
        if path.is_dir():
            return path
    done = sorted(p for p in root.glob("step-*") if p.is_dir())
    return done[-1] if done else None


def resolve_checkpoint(path: str | Path) -> Path:
    """Accept an experiment directory (newest checkpoint) or one checkpoint directory."""
    path = Path(path)
    if (path / "model.pt").is_file():
        return path
    found = latest_checkpoint(path)
    if found is None:
        raise VoiceflowError(f"{path}: no checkpoint found (expected model.pt or checkpoints/step-*)")
    return found


def load_file(ckpt: Path, stem: str, map_location="cpu"):
    path = ckpt / f"{stem}.pt"
    if not path.is_file():
        raise VoiceflowError(f"{path}: missing from checkpoint")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # a truncated or foreign file
        raise VoiceflowError(f"{path}: unreadable checkpoint file ({type(e).__name__})") from None


def restore_rng(accelerator, ckpt: Path, state: dict) -> None:
    """Restore this rank's RNG states from ``ckpt``; warn (resume not bit-exact) when the
    checkpoint was written by another number of processes."""
    rng_file = ckpt / f"rng-rank{accelerator.process_index}.pt"
    if state.get("world") == accelerator.num_processes and rng_file.is_file():
        set_rng_state(torch.load(rng_file, weights_only=False))
    else:
        accelerator.print(f"warning: {ckpt} was written by {state.get('world')} process(es); "
                          f"resuming on {accelerator.num_processes} is not bit-exact")


def load_trainer_state(ckpt: Path) -> dict:
    return json.loads((ckpt / "trainer.json").read_text())
