"""MOS predictors: a waveform in, a predicted 1-5 mean opinion score out.

Specs (``--mos``):

- ``distillmos`` (default, offline): DistillMOS 0.9.1, a small model distilled from an SSL
  MOS predictor, weights inside the wheel; 16 kHz input.
- ``utmos``: the ``utmos`` package (UTMOS22 strong learner) when it is importable and its
  weights can be fetched or are cached; scored from the wav file itself.

If the requested predictor cannot be loaded, one line says so and distillmos is used.
Predicted MOS ranks systems; it is not a listening test.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Callable

import torch

from voiceflow.eval.backend import Unavailable, load_with_fallback

__all__ = ["FALLBACK", "DistillMOS", "UTMOS", "load_mos"]

FALLBACK = "distillmos"
SAMPLE_RATE = 16000


class DistillMOS:
    sample_rate = SAMPLE_RATE

    def __init__(self, device: str | torch.device = "cpu"):
        try:
            import distillmos
        except ImportError as e:
            raise Unavailable(f"distillmos not installed ({e.name or e}); pip install distillmos==0.9.1") from None
        self.device = torch.device(device)
        with contextlib.redirect_stdout(io.StringIO()):  # it prints where its weights came from
            self.model = distillmos.ConvTransformerSQAModel().to(self.device).eval()
        self.name = "distillmos"

    @torch.inference_mode()
    def score(self, wav: torch.Tensor, path: Path | None = None) -> float:
        """Predicted MOS of a (samples,) float waveform at 16 kHz."""
        return float(self.model(wav[None].to(self.device)).flatten()[0])


class UTMOS:
    sample_rate = SAMPLE_RATE

    def __init__(self, device: str | torch.device = "cpu"):
        try:
            import utmos
        except ImportError as e:
            raise Unavailable(f"utmos not installed ({e.name or e})") from None
        try:
            self.model = utmos.Score()
        except Exception as e:  # its weights come from the network on first use
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise Unavailable(f"utmos weights unavailable ({reason})") from None
        self.name = "utmos"

    def score(self, wav: torch.Tensor, path: Path | None = None) -> float:
        if path is not None:
            return float(self.model.calculate_wav_file(str(path)))
        return float(self.model.calculate_wav(wav, SAMPLE_RATE))


def load_mos(spec: str = "distillmos", device: str | torch.device = "cpu",
             notice: Callable[[str], object] | None = print):
    """A MOS predictor for ``spec``, falling back to distillmos."""
    loaders = {"distillmos": lambda source: DistillMOS(device), "utmos": lambda source: UTMOS(device)}
    return load_with_fallback(spec, loaders, FALLBACK, notice)
