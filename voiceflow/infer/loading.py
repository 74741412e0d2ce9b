"""Load a trained audio model for inference: config, phones, statistics and (EMA) weights.

``path`` is an experiment directory (its newest checkpoint is used) or one checkpoint
directory ``<exp>/checkpoints/step-N``; the experiment directory holds ``config.yaml``,
``phones.txt`` and ``stats.json`` written by the trainer::

    loaded = load_audio_model("exp/demo", device="cuda")     # EMA weights by default
    loaded.model, loaded.inventory, loaded.stats, loaded.cfg
    fast = load_audio_model("exp/demo", device="cuda", dtype=DTYPES["bf16"], compile_blocks=True)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from voiceflow.audio.stats import MelStats
from voiceflow.config import Config, load_config
from voiceflow.errors import VoiceflowError
from voiceflow.models import VoiceboxAudioModel
from voiceflow.text import PhoneInventory
from voiceflow.train.checkpoint import load_file, load_trainer_state, resolve_checkpoint


# inference weight types by name (``--dtype``); fp32 is what training's EMA holds
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def dtype_name(dtype: torch.dtype) -> str:
    return {v: k for k, v in DTYPES.items()}[dtype]


@dataclass
class LoadedModel:
    model: VoiceboxAudioModel
    cfg: Config
    inventory: PhoneInventory
    stats: MelStats
    checkpoint: Path
    step: int
    weights: str  # "ema", "model" or "untrained"


def experiment_dir_of(ckpt: Path) -> Path:
    return ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt


def pack_for_inference(model, compiled: bool = False) -> None:
    """Inference packs utterances tightly, whatever training rounded the packed length to
    (``pack_multiple``, e.g. 4096, so that compiled training shapes repeat): sampling one
    300-frame item in 4096 tokens would be 13x the work. Eager models pack exactly (the packed
    FlexAttention layout still rounds to 128); compiled blocks round to 128, so that batches
    of similar lengths share compiled kernels."""
    model.cfg = replace(model.cfg, pack_multiple=128 if compiled else 1)


def build_untrained(cfg: Config, seed: int) -> VoiceboxAudioModel:
    """The model as training initialised it (the trainer seeds with train.seed on rank 0)."""
    from accelerate.utils import set_seed

    set_seed(seed, device_specific=False)
    return VoiceboxAudioModel(cfg.model, cfg.mel.n_mels)


def load_audio_model(path: str | Path, device: str | torch.device = "cpu", weights: str = "ema",
                     dtype: torch.dtype | None = None, compile_blocks: bool = False) -> LoadedModel:
    """``weights``: "ema" (default), "model" (live weights) or "untrained" (the initialisation)."""
    if weights not in ("ema", "model", "untrained"):
        raise ValueError(f"weights must be ema, model or untrained, got {weights!r}")
    ckpt = resolve_checkpoint(path)
    exp = experiment_dir_of(ckpt)
    cfg = load_config(exp / "config.yaml")
    inventory = PhoneInventory.load(exp / "phones.txt")
    stats = MelStats.load(exp / "stats.json")
    if cfg.model.n_phones != len(inventory):
        raise VoiceflowError(f"{exp}: config has n_phones={cfg.model.n_phones} but phones.txt has {len(inventory)}")
    model = build_untrained(cfg, cfg.train.seed)
    if weights != "untrained":
        model.load_state_dict(load_file(ckpt, "model"))
        if weights == "ema":
            model.load_state_dict(load_file(ckpt, "ema")["params"], strict=False)
    model.to(device=device, dtype=dtype).eval().requires_grad_(False)
    pack_for_inference(model, compiled=compile_blocks)
    if compile_blocks:
        model.compile_blocks()
    step = int(load_trainer_state(ckpt)["step"]) if (ckpt / "trainer.json").is_file() else -1
    return LoadedModel(model, cfg, inventory, stats, ckpt, step, weights)
