"""The vocoder contract: un-normalised log-mel in, waveform of exactly matching length out.

Every backend (vocos, the Griffin-Lim fallback, a vocoder we train ourselves) is a
:class:`Vocoder`. Callers never need to know which one they hold::

    voc = load_vocoder(spec, cfg.mel, device="cuda")
    wav = voc(mel)          # (B, n_mels, T) -> (B, (T - 1) * hop_length)

Input: the log-mel of the mel contract (docs/DESIGN.md, :class:`voiceflow.config.MelConfig`):
``log(clamp(mel_magnitude, log_floor))`` with an HTK, un-normalised filterbank over the
magnitude STFT (power 1, ``center=True``). It must be **de-normalised**: the model's
(x - mean) / std has to be undone before vocoding.

Output length: analysis with ``center=True`` gives ``T = samples // hop + 1`` frames, so
the shortest waveform with ``T`` frames has ``(T - 1) * hop`` samples, and frame ``t`` is
centred on sample ``t * hop``. Every backend returns exactly that many samples with that
alignment, so a generated waveform lines up sample-for-sample with the mel it came from
(and with the source audio when the mel came from a recording whose length is a multiple
of the hop).

Shapes: B batch, M mel bands (``n_mels``), T frames, N = (T - 1) * hop samples.
"""

from __future__ import annotations

import torch
from torch import nn

from voiceflow.config import MelConfig
from voiceflow.errors import VoiceflowError


def fit_length(wav: torch.Tensor, length: int) -> torch.Tensor:
    """Crop or zero-pad the last axis of ``wav`` (..., N') to exactly ``length`` samples."""
    have = wav.shape[-1]
    if have >= length:
        return wav[..., :length]
    return nn.functional.pad(wav, (0, length - have))


class Vocoder(nn.Module):
    """Base class of all vocoders: log-mel (B, M, T) -> waveform (B, (T - 1) * hop).

    Subclasses implement :meth:`decode` and set :attr:`name`. The base class does the
    shape handling, the device / dtype move, ``no_grad`` and the exact output length.
    Being an ``nn.Module``, a vocoder moves with ``.to(device)`` and is always in eval mode.

    Attributes:
        name: short backend name for logs and ``meta.jsonl`` (``"vocos"``, ``"griffinlim"``).
        sample_rate: output sample rate in Hz (the mel config's).
        hop_length: samples per mel frame.
        n_mels: expected number of mel bands.
        mel_cfg: the :class:`MelConfig` this vocoder expects.
    """

    name: str = "vocoder"

    def __init__(self, mel_cfg: MelConfig):
        super().__init__()
        self.mel_cfg = mel_cfg
        self.sample_rate = int(mel_cfg.sample_rate)
        self.hop_length = int(mel_cfg.hop_length)
        self.n_mels = int(mel_cfg.n_mels)
        # An empty buffer that follows .to(device), so that .device works for every backend.
        self.register_buffer("_anchor", torch.empty(0), persistent=False)
        self.training = False  # inference-only; submodules are put in eval mode by subclasses

    @property
    def device(self) -> torch.device:
        return self._anchor.device

    def num_samples(self, frames: int) -> int:
        """Samples returned for ``frames`` mel frames: ``(frames - 1) * hop_length``."""
        return max(int(frames) - 1, 0) * self.hop_length

    def train(self, mode: bool = True) -> "Vocoder":
        # Vocoders here are inference-only; training a vocoder uses the underlying model.
        return super().train(False)

    def decode(self, mel: torch.Tensor) -> torch.Tensor:
        """Backend hook: log-mel (B, M, T) float32 on :attr:`device` -> waveform (B, N').

        Sample 0 of the result must be the centre of frame 0; N' may differ from
        ``(T - 1) * hop`` (the base class crops or zero-pads the end).
        """
        raise NotImplementedError

    @torch.no_grad()
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Vocode un-normalised log-mels.

        Args:
            mel: (B, M, T) or (M, T) log-mel, any float dtype, any device.

        Returns:
            float32 waveform on :attr:`device`: (B, (T - 1) * hop), or ((T - 1) * hop,)
            for a 2-D input.
        """
        if mel.dim() not in (2, 3):
            shape = tuple(mel.shape)
            raise ValueError(f"mel must be (n_mels, frames) or (batch, n_mels, frames), got {shape}")
        if mel.shape[-2] != self.n_mels:
            raise VoiceflowError(
                f"vocoder {self.name}: got a mel with {mel.shape[-2]} bands, expected {self.n_mels} "
                "(mel config and vocoder disagree)"
            )
        single = mel.dim() == 2
        batch = mel.unsqueeze(0) if single else mel
        batch = batch.to(device=self.device, dtype=torch.float32)
        length = self.num_samples(batch.shape[-1])
        if length == 0:
            wav = batch.new_zeros(batch.shape[0], 0)
        else:
            wav = fit_length(self.decode(batch), length)
        return wav[0] if single else wav

    def extra_repr(self) -> str:
        return (
            f"name={self.name}, sample_rate={self.sample_rate}, "
            f"hop_length={self.hop_length}, n_mels={self.n_mels}"
        )
