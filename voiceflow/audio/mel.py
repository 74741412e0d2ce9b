"""THE mel definition (docs/DESIGN.md, "The mel contract"): one log-mel for training, inference and vocoding.

With the default :class:`~voiceflow.config.MelConfig` these are exactly the features of the
vocos-mel-24khz vocoder (``vocos.feature_extractors.MelSpectrogramFeatures``):

* 24 kHz mono input; STFT with n_fft 1024, hop 256, a 1024-sample Hann window,
  ``center=True`` with reflect padding; magnitude (power 1);
* 100 mel bands, HTK scale, no filter normalisation, f_min 0, f_max = sample_rate / 2
  (``f_max: 0`` in the config);
* ``log(clamp(x, 1e-7))``.

Shapes: ``waveform (..., samples) -> log-mel (..., n_mels, frames)`` with
``frames = samples // hop_length + 1`` (:func:`num_frames`)::

    from voiceflow.audio import log_mel, load_audio

    mel = log_mel(load_audio("a.wav", 24000))      # (100, frames)
    mels = log_mel(torch.randn(4, 24000))          # (4, 100, 94)

The paper's 16 kHz / 80-bin / hop-160 features are another ``MelConfig``, not another code path.
"""

from __future__ import annotations

import dataclasses

import torch
import torchaudio

from voiceflow.config import MelConfig

__all__ = ["LogMel", "log_mel", "num_frames"]


def num_frames(num_samples: int, hop_length: int) -> int:
    """Number of mel frames for ``num_samples`` samples (``center=True``): ``samples // hop + 1``."""
    if num_samples < 0 or hop_length <= 0:
        raise ValueError(f"num_frames: need num_samples >= 0 and hop_length > 0, got {num_samples}, {hop_length}")
    return num_samples // hop_length + 1


class LogMel(torch.nn.Module):
    """Waveform to log-mel, as a module (it moves with ``.to(device)``; it has no trainable weights).

    Args:
        cfg: the mel definition; the defaults are vocos-mel-24khz.

    Shapes:
        forward: ``waveform (..., samples)`` -> ``(..., n_mels, frames)``, float32, with
        ``frames = samples // hop_length + 1``. Inputs of another dtype are computed in
        float32. Reflect padding needs ``samples > n_fft // 2``.
    """

    def __init__(self, cfg: MelConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg if cfg is not None else MelConfig()
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=cfg.sample_rate,
            n_fft=cfg.n_fft,
            win_length=cfg.win_length,
            hop_length=cfg.hop_length,
            f_min=cfg.f_min,
            f_max=cfg.f_max if cfg.f_max > 0 else None,
            n_mels=cfg.n_mels,
            window_fn=torch.hann_window,
            power=1.0,
            normalized=False,
            center=True,
            pad_mode="reflect",
            norm=None,
            mel_scale="htk",
        )

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        samples = waveform.shape[-1]
        if samples <= self.cfg.n_fft // 2:
            raise ValueError(
                f"log-mel needs more than n_fft // 2 = {self.cfg.n_fft // 2} samples "
                f"(reflect padding), got {samples}"
            )
        if waveform.dtype != torch.float32:
            waveform = waveform.float()
        return self.mel(waveform).clamp(min=self.cfg.log_floor).log()


_CACHE: dict[tuple, LogMel] = {}


def _cached(cfg: MelConfig, device: torch.device) -> LogMel:
    key = (dataclasses.astuple(cfg), device)
    module = _CACHE.get(key)
    if module is None:
        module = LogMel(cfg).to(device)
        _CACHE[key] = module
    return module


def log_mel(waveform: torch.Tensor, cfg: MelConfig | None = None) -> torch.Tensor:
    """Log-mel of a waveform (or a batch of equal-length waveforms), by the mel contract.

    One :class:`LogMel` per (config values, device) is built on first use and reused.

    Args:
        waveform: ``(samples,)`` or ``(batch, samples)``; a torch tensor or numpy array,
            at ``cfg.sample_rate``.
        cfg: the mel definition; ``None`` means the defaults (vocos-mel-24khz).

    Returns:
        ``(n_mels, frames)`` for a 1-D input, ``(batch, n_mels, frames)`` for a 2-D one,
        float32 on the input's device.
    """
    if not isinstance(waveform, torch.Tensor):
        waveform = torch.as_tensor(waveform)
    if waveform.dim() not in (1, 2):
        raise ValueError(f"log_mel: expected (samples,) or (batch, samples), got shape {tuple(waveform.shape)}")
    return _cached(cfg if cfg is not None else MelConfig(), waveform.device)(waveform)
