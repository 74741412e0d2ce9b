"""Typed configuration: dataclasses, YAML files and dotted ``key=value`` overrides.

A run is described by one :class:`Config`. It is read from YAML, then overridden from the
command line with dotted keys::

    cfg = load_config("recipes/demo/conf/demo.yaml", ["model.depth=6", "train.max_steps=200"])

An unknown key, or a value of the wrong type, is an error naming the key. The model section
may name a ``preset`` (``paper``, ``small``, ``tiny``); the preset's values are applied
first and any key given beside it wins. The resolved config is written next to every
experiment (``exp_dir/config.yaml``) so that inference and resumption read exactly what
training used.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from voiceflow.errors import VoiceflowError


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false, so that ``mixed_precision: no`` stays a string."""


_Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _yaml_load(text: str):
    return yaml.load(text, Loader=_Loader)


@dataclass
class MelConfig:
    """The mel contract (docs/DESIGN.md): vocos-mel-24khz features by default."""

    sample_rate: int = 24000
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 100
    f_min: float = 0.0
    f_max: float = 0.0  # 0 means sample_rate / 2
    log_floor: float = 1e-7


# Sizes of the audio model. `paper` is the Voicebox audio model (Le et al., 2023, sec. 5.1:
# 24 layers, 16 heads, 1024 embedding, 4096 feed-forward, ~330 M parameters).
MODEL_PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(dim=1024, depth=24, heads=16, ff_dim=4096, phone_dim=1024),
    "small": dict(dim=512, depth=12, heads=8, ff_dim=2048, phone_dim=256),
    "tiny": dict(dim=128, depth=4, heads=4, ff_dim=512, phone_dim=64),
}


@dataclass
class ModelConfig:
    preset: str = "tiny"
    dim: int = 128
    depth: int = 4
    heads: int = 4
    ff_dim: int = 512
    phone_dim: int = 64
    n_phones: int = 0  # size of the phone inventory including padding; set from the inventory
    conv_pos_kernel: int = 31
    conv_pos_groups: int = 16
    dropout: float = 0.0
    # "auto": FlexAttention on CUDA, exact per-utterance SDPA elsewhere; or "flex" / "flex_padded" /
    # "sdpa" (models/packing.py: packed sequence, padded rows, exact padded batch)
    attention: str = "auto"
    compile: bool = False  # torch.compile each transformer block (CUDA)
    # the packed token count is rounded up to a multiple of this (fewer distinct shapes to compile)
    pack_multiple: int = 1


@dataclass
class FlowConfig:
    """OT-CFM and the Voicebox masking / guidance-dropout rules (Le et al., 2023, sec. 3.3, 5.1)."""

    path: str = "ot"  # "ot" (Lipman et al., the Voicebox path) or "icfm" (Tong et al.)
    sigma_min: float = 1e-5  # width of the ot path at t = 1
    icfm_sigma: float = 0.1  # the fixed width of the icfm path around the noise-data line
    coupling: str = "independent"  # "independent" or "ot" (minibatch OT pairing, Tong et al.)
    p_full_mask: float = 0.3  # mask the whole utterance with this probability
    span_min: float = 0.7  # otherwise one contiguous span of 70-100 % of the frames
    span_max: float = 1.0
    p_uncond: float = 0.2  # drop context and phones together (classifier-free guidance)


@dataclass
class DataConfig:
    train_manifest: str = ""  # a features manifest, or a shard set directory (voiceflow shards)
    valid_manifest: str = ""
    phones: str = ""  # phone inventory, one symbol per line, line 0 is padding
    stats: str = ""  # global mel statistics written by the features stage
    max_frames: int = 20000  # frame budget of one batch on one device
    max_utt_frames: int = 3000  # longer utterances are cropped to this many frames
    bucket_width: int = 50  # length-bucket width in frames
    num_workers: int = 2
    valid_batches: int = 8  # how many validation batches a validation pass uses
    shard_group: int = 4  # shard sets: shards shuffled and batched together (a rank's shuffle buffer)


@dataclass
class TrainConfig:
    exp_dir: str = "exp/run"
    max_steps: int = 500_000  # Voicebox trains the audio model for 500 k updates
    mixed_precision: str = "bf16"  # "no", "bf16", "fp16"
    grad_accum: int = 1
    grad_clip: float = 0.2  # Voicebox clips the gradient norm at 0.2
    lr: float = 1e-4  # Voicebox peak learning rate
    warmup_steps: int = 5000  # Voicebox linear warm-up
    final_lr_ratio: float = 0.0  # linear decay to lr * final_lr_ratio at max_steps
    betas: list = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0
    ema_decay: float = 0.9999
    ema_warmup: bool = True
    seed: int = 1234
    log_every: int = 50
    valid_every: int = 1000
    save_every: int = 5000
    keep_checkpoints: int = 3


@dataclass
class SampleConfig:
    solver: str = "euler"  # "euler", "midpoint" or "stochastic_euler"
    nfe: int = 32
    schedule: str = "uniform"  # time grid: "uniform" or "sway" (F5-TTS sway sampling)
    sway: float = -1.0  # sway coefficient s (F5-TTS default -1: more steps near t = 0)
    noise_scale: float = 0.0  # stochastic_euler: diffusion strength (0 = the ODE)
    guidance: float = 0.0  # classifier-free guidance strength a: v = (1 + a) v_c - a v_u
    seed: int = 0


@dataclass
class TextConfig:
    """How text becomes the phones of the training alignments (inference must spell them alike)."""

    g2p: str = "espeak"  # "espeak" (phonemizer + bundled espeak-ng 1.52), "cmudict" (ARPAbet) or "flite" (t2p)
    language: str = "en-us"  # espeak voice / language code
    aligner: str = "pocketsphinx"  # the built-in aligner used for prompts and edited recordings


@dataclass
class DurationConfig:
    """The Voicebox duration model (Le et al., 2023, sec. 3.3 "Duration model", sec. 5.1).

    ``kind`` "regression" (Dur-Regr: masked L1 on log(1 + d), the default) or "flow" (Dur-FM:
    OT-CFM on the same feature; the probability path is ``flow.path`` / ``flow.sigma_min``).
    Batches are built by a PHONE budget: ``max_phones`` per batch, utterances longer than
    ``max_utt_phones`` are cropped to a phone window (``data.max_frames`` is not used).
    """

    kind: str = "regression"
    # Voicebox sec. 5.1: the duration model is the same transformer with 8 layers, 8 heads,
    # 512 embedding and 2048 feed-forward dims
    dim: int = 512
    depth: int = 8
    heads: int = 8
    ff_dim: int = 2048
    phone_dim: int = 256
    conv_pos_kernel: int = 31
    conv_pos_groups: int = 16
    dropout: float = 0.0
    attention: str = "auto"  # as model.attention
    pack_multiple: int = 1
    # masking over phones and guidance dropout; Voicebox sec. 5.1 trains the duration model with
    # p_drop 0.2 (whole utterance masked), otherwise one span of 10-100 % of the phones, and
    # p_uncond 0.2 (dropout of phones and context, flow variant only)
    p_full_mask: float = 0.2
    span_min: float = 0.1
    span_max: float = 1.0
    p_uncond: float = 0.2
    max_phones: int = 4000  # phone budget of one batch on one device
    max_utt_phones: int = 400  # longer utterances are cropped to this many phones
    # sampling of the flow variant (regression ignores these)
    solver: str = "euler"
    nfe: int = 16
    guidance: float = 0.0


@dataclass
class Config:
    task: str = "audio"  # what train trains: "audio" (the audio model) or "duration" (the duration model)
    mel: MelConfig = field(default_factory=MelConfig)
    text: TextConfig = field(default_factory=TextConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    duration: DurationConfig = field(default_factory=DurationConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _check_value(key: str, value: Any, annotation: Any) -> Any:
    """Check ``value`` against a field's annotation; ints are accepted for floats."""
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is float and isinstance(value, str):
        try:  # YAML 1.1 reads "3e-4" (no dot) as a string
            return float(value)
        except ValueError:
            pass
    origin = typing.get_origin(annotation) or annotation
    if origin is list:
        if not isinstance(value, list):
            raise VoiceflowError(f"config key {key}: expected a list, got {value!r}")
        return value
    if origin is bool:
        if not isinstance(value, bool):
            raise VoiceflowError(f"config key {key}: expected true/false, got {value!r}")
        return value
    if origin in (int, float, str):
        if isinstance(value, bool) or not isinstance(value, origin):
            raise VoiceflowError(f"config key {key}: expected {origin.__name__}, got {value!r}")
        return value
    return value


# keys that take one of a fixed set of values (checked when a config is read)
CHOICES: dict[str, tuple[str, ...]] = {
    "task": ("audio", "duration"),
    "duration.kind": ("regression", "flow"),
    "duration.solver": ("euler", "midpoint", "stochastic_euler"),
    "flow.path": ("ot", "icfm"),
    "flow.coupling": ("independent", "ot"),
    "sample.solver": ("euler", "midpoint", "stochastic_euler"),
    "sample.schedule": ("uniform", "sway"),
    "text.g2p": ("espeak", "cmudict", "flite"),
}


def _apply(obj: Any, data: dict, prefix: str) -> None:
    if not isinstance(data, dict):
        raise VoiceflowError(f"config section {prefix.rstrip('.') or '<root>'}: expected a mapping")
    hints = typing.get_type_hints(type(obj))
    names = {f.name for f in dataclasses.fields(obj)}
    if "preset" in data and isinstance(obj, ModelConfig):
        _apply_preset(obj, data["preset"], prefix)
    for key, value in data.items():
        full = prefix + key
        if key not in names:
            close = difflib.get_close_matches(str(key), sorted(names), n=1)
            raise VoiceflowError(f"unknown config key: {full}" + (f" (did you mean {prefix}{close[0]}?)" if close else ""))
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            _apply(current, value, full + ".")
        else:
            value = _check_value(full, value, hints[key])
            if full in CHOICES and value not in CHOICES[full]:
                raise VoiceflowError(f"config key {full}: {value!r} is not one of {', '.join(CHOICES[full])}")
            setattr(obj, key, value)


def _apply_preset(model: ModelConfig, name: Any, prefix: str) -> None:
    if name not in MODEL_PRESETS:
        raise VoiceflowError(
            f"config key {prefix}preset: unknown preset {name!r} (known: {', '.join(MODEL_PRESETS)})"
        )
    model.preset = name
    for key, value in MODEL_PRESETS[name].items():
        setattr(model, key, value)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into its key path and a YAML-parsed value."""
    if "=" not in text:
        raise VoiceflowError(f"override {text!r}: expected key=value")
    key, raw = text.split("=", 1)
    try:
        value = _yaml_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def fill_config(cfg, data: dict | None, overrides: list[str] | None = None):
    """Apply a YAML mapping, then dotted ``key=value`` overrides, to the dataclass ``cfg``
    (any config tree of dataclasses; an unknown key or a wrong type is an error naming it)."""
    _apply(cfg, data or {}, "")
    for text in overrides or []:
        try:
            path, value = parse_override(text)
            nested: Any = value
            for part in reversed(path):
                nested = {part: nested}
            _apply(cfg, nested, "")
        except VoiceflowError as e:
            raise OverrideError(f"command-line override {text!r}: {e}") from None
    return cfg


class OverrideError(VoiceflowError):
    """A ``key=value`` override that does not fit the config (not the YAML file's fault)."""


def config_from_dict(data: dict | None, overrides: list[str] | None = None) -> Config:
    cfg = fill_config(Config(), data, overrides)
    if cfg.task == "audio" and cfg.data.max_utt_frames > cfg.data.max_frames:
        raise VoiceflowError(f"data.max_utt_frames ({cfg.data.max_utt_frames}) exceeds data.max_frames "
                             f"({cfg.data.max_frames}): a batch must hold the longest (cropped) utterance; "
                             "lower data.max_utt_frames with it")
    return cfg


def load_config(path: str | Path | None, overrides: list[str] | None = None, from_dict=config_from_dict):
    """Load a YAML config (or the defaults when ``path`` is None) and apply overrides.

    ``from_dict(data, overrides)`` builds the config: :func:`config_from_dict` (a run's
    :class:`Config`) by default; other config trees (the vocoder's) pass their own."""
    data = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise VoiceflowError(f"{path}: config file not found")
        try:
            data = _yaml_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise VoiceflowError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    try:
        return from_dict(data, overrides)
    except OverrideError:
        raise
    except VoiceflowError as e:
        raise VoiceflowError(f"{path}: {e}" if path is not None else str(e)) from None


def save_config(cfg: Config, path: str | Path) -> None:
    from voiceflow.fileio import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
