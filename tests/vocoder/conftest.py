"""Fixtures for the vocoder tests: test signals, the package log-mel, tiny vocos stand-ins.

Nothing here touches the network. The vocos stand-in has the feature extractor and ISTFT
head of ``charactr/vocos-mel-24khz`` and a 2-layer, 64-dim backbone with random weights:
it produces noise, but loading, decoding and length handling are the real code paths.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml

SR, HOP, N_MELS = 24000, 256, 100


@pytest.fixture
def log_mel():
    """The package's log-mel: (B, N) -> (B, 100, N // 256 + 1), or (N,) -> (100, frames)."""
    from voiceflow.audio import log_mel

    return log_mel


def harmonic_sweep(seconds: float = 1.0, f0: float = 120.0, f1: float = 280.0) -> torch.Tensor:
    """A voiced-speech-like test signal (N,): a rising F0 with ~1/k harmonics up to 11 kHz
    under a 3 Hz syllable-rate envelope, peak 0.3; length a whole number of hops."""
    t = torch.arange(int(SR * seconds) // HOP * HOP, dtype=torch.float64) / SR
    phase = 2 * math.pi * torch.cumsum(f0 + (f1 - f0) * t / seconds, 0) / SR
    x = sum(torch.sin(k * phase) / k for k in range(1, int(11000 // f1) + 1))
    envelope = (0.5 * (1 - torch.cos(2 * math.pi * 3 * t))).clamp(min=0.05)
    x = x * envelope
    return (0.3 * x / x.abs().max()).float()


@pytest.fixture
def sweep() -> torch.Tensor:
    return harmonic_sweep()


def tiny_vocos_config(head_padding: str = "center", n_mels: int = N_MELS, **features) -> dict:
    """A vocos ``config.yaml`` (as a dict) with the mel-24khz features and a tiny backbone."""
    init = dict(sample_rate=SR, n_fft=1024, hop_length=HOP, n_mels=n_mels, padding="center")
    init.update(features)
    return {
        "feature_extractor": {
            "class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
            "init_args": init,
        },
        "backbone": {
            "class_path": "vocos.models.VocosBackbone",
            "init_args": dict(input_channels=n_mels, dim=64, intermediate_dim=128, num_layers=2),
        },
        "head": {
            "class_path": "vocos.heads.ISTFTHead",
            "init_args": dict(dim=64, n_fft=1024, hop_length=HOP, padding=head_padding),
        },
    }


def write_tiny_vocos(folder: Path, seed: int = 0, **config_kw):
    """Write ``config.yaml`` + ``pytorch_model.bin`` of a random tiny vocos into ``folder``.

    Returns the directly built ``vocos.Vocos`` (eval mode) holding the saved weights.
    """
    from vocos import Vocos

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(tiny_vocos_config(**config_kw)), encoding="utf-8")
    torch.manual_seed(seed)
    model = Vocos.from_hparams(str(folder / "config.yaml")).eval()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    return model


@pytest.fixture
def make_vocos():
    """The :func:`write_tiny_vocos` factory: ``make_vocos(folder, seed=0, **config_kw) -> model``."""
    return write_tiny_vocos


@pytest.fixture
def tiny_vocos(tmp_path):
    """(folder, model): a tiny vocos stand-in saved in the hub layout under tmp_path."""
    folder = tmp_path / "tiny-vocos"
    return folder, write_tiny_vocos(folder)
