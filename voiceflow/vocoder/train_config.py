"""Typed configuration of vocoder training (``voiceflow train-vocoder``): YAML + dotted overrides.

One :class:`VocoderTrainingConfig` describes a run::

    cfg = load_vocoder_config("conf/vocos.yaml", ["data.batch_size=8", "train.max_steps=1000"])

It is read with the machinery of :mod:`voiceflow.config` (an unknown key, or a value of the
wrong type, is an error naming the key) and written resolved to ``<exp_dir>/config.yaml``.

The defaults are the published vocos recipe (Siuzdak, 2023; github.com/gemelo-ai/vocos,
``configs/vocos.yaml`` and ``vocos/experiment.py``), so that an empty config trains a model
of the size and on the objective of ``charactr/vocos-mel-24khz``; each value that comes from
there says so. The mel features are the project's mel contract (:class:`MelConfig`), so the
trained vocoder reads exactly the mels the audio model produces.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from voiceflow.config import MelConfig, fill_config, load_config
from voiceflow.errors import VoiceflowError


@dataclass
class VocosModelConfig:
    """Generator (vocos) and discriminator sizes.

    configs/vocos.yaml (vocos-mel-24khz): VocosBackbone dim 512, intermediate_dim 1536,
    num_layers 8; ISTFTHead dim 512, n_fft 1024, hop_length 256, padding center. The head's
    hop is always the mel hop; its n_fft defaults to the mel n_fft.
    """

    dim: int = 512
    intermediate_dim: int = 1536
    num_layers: int = 8
    layer_scale_init_value: float = 0.0  # 0 = vocos's default, 1 / num_layers
    head_n_fft: int = 0  # 0 = mel.n_fft
    # vocos.discriminators defaults: MultiPeriodDiscriminator periods (2, 3, 5, 7, 11) (HiFi-GAN),
    # MultiResolutionDiscriminator fft_sizes (2048, 1024, 512) (DAC). Fewer make a cheaper (test) run.
    mpd_periods: list = field(default_factory=lambda: [2, 3, 5, 7, 11])
    mrd_fft_sizes: list = field(default_factory=lambda: [2048, 1024, 512])


@dataclass
class VocoderDataConfig:
    """Random fixed-length segments of the audio of manifest rows (see :mod:`voiceflow.vocoder.segments`)."""

    train_manifest: str = ""
    valid_manifest: str = ""  # empty: no validation
    segment_samples: int = 16384  # configs/vocos.yaml train num_samples (64 frames at hop 256)
    batch_size: int = 16  # configs/vocos.yaml batch_size, per process
    num_workers: int = 4
    valid_segment_samples: int = 48384  # configs/vocos.yaml val num_samples (the first 2 s of a file)
    valid_items: int = 64  # how many validation rows a validation pass vocodes (0 = all)
    # vocos/dataset.py peak-normalises every training file to a random level in [-6, -1] dBFS
    # (sox "norm") and validation files to -3 dBFS; false keeps the files' own levels
    peak_normalise: bool = True
    train_peak_db: list = field(default_factory=lambda: [-6.0, -1.0])
    valid_peak_db: float = -3.0


@dataclass
class VocoderOptimConfig:
    """Optimisers, schedules and loss weights (vocos/experiment.py unless noted)."""

    lr: float = 5e-4  # configs/vocos.yaml initial_learning_rate, both networks
    betas: list = field(default_factory=lambda: [0.8, 0.9])  # experiment.py AdamW betas, both networks
    weight_decay: float = 0.01  # experiment.py uses torch's AdamW default
    schedule: str = "cosine"  # "cosine" (experiment.py: cosine with warm-up over the run) or "constant"
    warmup_steps: int = 0  # configs/vocos.yaml num_warmup_steps
    grad_clip: float = 0.0  # 0 = no clipping (configs/vocos.yaml sets no gradient_clip_val)
    mel_loss_coeff: float = 45.0  # configs/vocos.yaml mel_loss_coeff
    mrd_loss_coeff: float = 0.1  # configs/vocos.yaml mrd_loss_coeff (experiment.py default 1.0)
    pretrain_mel_steps: int = 0  # generator-only mel-loss steps before the GAN (configs/vocos.yaml: 0)
    decay_mel_coeff: bool = False  # cosine decay of mel_loss_coeff over the run (experiment.py option)


@dataclass
class VocoderRunConfig:
    exp_dir: str = "exp/vocos"
    # configs/vocos.yaml max_steps 2,000,000 Lightning steps = 1 M generator + 1 M discriminator
    # updates; a step here updates both networks once
    max_steps: int = 1_000_000
    mixed_precision: str = "no"  # "no" (vocos trains in float32), "bf16" or "fp16"
    seed: int = 4444  # configs/vocos.yaml seed_everything
    log_every: int = 100  # configs/vocos.yaml log_every_n_steps
    valid_every: int = 5000
    save_every: int = 5000
    keep_checkpoints: int = 3  # configs/vocos.yaml ModelCheckpoint save_top_k


@dataclass
class VocoderTrainingConfig:
    mel: MelConfig = field(default_factory=MelConfig)
    model: VocosModelConfig = field(default_factory=VocosModelConfig)
    data: VocoderDataConfig = field(default_factory=VocoderDataConfig)
    optim: VocoderOptimConfig = field(default_factory=VocoderOptimConfig)
    train: VocoderRunConfig = field(default_factory=VocoderRunConfig)
    # fine-tune: start the generator from a vocos folder or hub id (owner/name[@revision]); empty
    # trains from scratch. A run with a checkpoint in train.exp_dir resumes from it instead.
    init_from: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


CHOICES = {
    "optim.schedule": ("cosine", "constant"),
    "train.mixed_precision": ("no", "bf16", "fp16"),
}


def check_config(cfg: VocoderTrainingConfig) -> None:
    """Value checks beyond types: choices, positive sizes, and features vocos can compute."""
    for key, allowed in CHOICES.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value not in allowed:
            raise VoiceflowError(f"config key {key}: {value!r} is not one of {', '.join(allowed)}")
    positive = {"data.segment_samples": cfg.data.segment_samples, "data.batch_size": cfg.data.batch_size,
                "data.valid_segment_samples": cfg.data.valid_segment_samples,
                "train.max_steps": cfg.train.max_steps, "train.save_every": cfg.train.save_every,
                "train.log_every": cfg.train.log_every, "train.valid_every": cfg.train.valid_every,
                "model.dim": cfg.model.dim, "model.num_layers": cfg.model.num_layers}
    for key, value in positive.items():
        if value <= 0:
            raise VoiceflowError(f"config key {key}: must be positive, got {value}")
    mel, hop = cfg.mel, cfg.mel.hop_length
    for key in ("segment_samples", "valid_segment_samples"):
        if getattr(cfg.data, key) % hop:
            raise VoiceflowError(f"config key data.{key}: {getattr(cfg.data, key)} is not a multiple of "
                                 f"mel.hop_length {hop} (the generator returns whole hops)")
        if getattr(cfg.data, key) <= mel.n_fft // 2:
            raise VoiceflowError(f"config key data.{key}: {getattr(cfg.data, key)} samples are too short "
                                 f"for mel.n_fft {mel.n_fft}")
    if len(cfg.data.train_peak_db) != 2 or not cfg.data.train_peak_db[0] <= cfg.data.train_peak_db[1] <= 0:
        raise VoiceflowError(f"config key data.train_peak_db: expected [low, high] dBFS with low <= high <= 0, "
                             f"got {cfg.data.train_peak_db}")
    if not cfg.model.mpd_periods or not cfg.model.mrd_fft_sizes:
        raise VoiceflowError("config keys model.mpd_periods and model.mrd_fft_sizes must not be empty")
    # vocos's MelSpectrogramFeatures (and the exported config.yaml) only carry sample_rate,
    # n_fft, hop_length and n_mels: window = n_fft, band edges 0..sr/2, log floor 1e-7.
    unsupported = []
    if mel.win_length != mel.n_fft:
        unsupported.append(f"mel.win_length {mel.win_length} != mel.n_fft {mel.n_fft}")
    if mel.f_min != 0:
        unsupported.append(f"mel.f_min {mel.f_min} != 0")
    if mel.f_max not in (0, mel.sample_rate / 2):
        unsupported.append(f"mel.f_max {mel.f_max} != sample_rate / 2")
    if not math.isclose(mel.log_floor, 1e-7):
        unsupported.append(f"mel.log_floor {mel.log_floor} != 1e-7")
    if unsupported:
        raise VoiceflowError("vocos's mel features cannot express this mel config: " + "; ".join(unsupported))


def vocoder_config_from_dict(data: dict | None, overrides: list[str] | None = None) -> VocoderTrainingConfig:
    cfg = fill_config(VocoderTrainingConfig(), data, overrides)
    check_config(cfg)
    return cfg


def load_vocoder_config(path: str | Path | None, overrides: list[str] | None = None) -> VocoderTrainingConfig:
    """Load a YAML config (or the defaults when ``path`` is None), apply overrides, check values."""
    return load_config(path, overrides, from_dict=vocoder_config_from_dict)
