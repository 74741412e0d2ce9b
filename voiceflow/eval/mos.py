"""MOS predictors: a waveform in, a predicted 1-5 mean opinion score out.

Specs (``--mos``):

- ``distillmos`` (default, offline): DistillMOS 0.9.1, a small model distilled from an SSL
  MOS predictor, weights inside the wheel; 16 kHz input.
- ``utmos`` or ``utmos:<folder or owner/repo[:ref]>``: the UTMOS22 strong learner (Saeki et
  al., 2022) through torch.hub, from SpeechMOS's port (``tarepan/SpeechMOS:v1.2.0``, entry
  point ``utmos22_strong``; ``model(wave (B, T), sr) -> (B,)``) or from a local clone of
  it. A GitHub repo is used when torch's hub cache holds it or github.com answers; its
  weights come through ``torch.hub.load_state_dict_from_url`` (cached after the first use).

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

__all__ = ["FALLBACK", "UTMOS_HUB", "DistillMOS", "UTMOS", "load_mos"]

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


UTMOS_HUB = "tarepan/SpeechMOS:v1.2.0"
UTMOS_ENTRY = "utmos22_strong"


def _github_reachable(timeout: float = 3.0) -> bool:
    import socket

    try:
        with socket.create_connection(("github.com", 443), timeout=timeout):
            return True
    except OSError:
        return False


class UTMOS:
    """A torch.hub UTMOS predictor: ``model(wave (B, T), sr) -> (B,)`` MOS."""

    sample_rate = SAMPLE_RATE

    def __init__(self, source: str = "", device: str | torch.device = "cpu"):
        source = source or UTMOS_HUB
        folder = Path(source).expanduser()
        if folder.is_dir():
            repo, kwargs = str(folder), {"source": "local"}
        elif source.startswith((".", "/", "~")) or folder.exists():
            raise Unavailable(f"no such folder {source}")
        else:
            repo, kwargs = source, {"source": "github", "trust_repo": True}
            owner_name, _, ref = source.partition(":")
            cached = Path(torch.hub.get_dir()) / "_".join([*owner_name.split("/"), (ref or "main").replace("/", "_")])
            if not cached.is_dir() and not _github_reachable():
                raise Unavailable(f"{source} is not in the torch hub cache ({cached}) and github.com is unreachable")
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                model = torch.hub.load(repo, UTMOS_ENTRY, **kwargs)
        except Exception as e:  # no hubconf, no such entry point, weights not downloadable
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise Unavailable(f"cannot load {UTMOS_ENTRY} from {source}: {reason[:160]}") from None
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.name = f"utmos:{source}"

    @torch.inference_mode()
    def score(self, wav: torch.Tensor, path: Path | None = None) -> float:
        """Predicted MOS of a (samples,) float waveform at 16 kHz."""
        return float(self.model(wav[None].to(self.device), self.sample_rate).flatten()[0])


def load_mos(spec: str = "distillmos", device: str | torch.device = "cpu",
             notice: Callable[[str], object] | None = print):
    """A MOS predictor for ``spec``, falling back to distillmos."""
    loaders = {"distillmos": lambda source: DistillMOS(device), "utmos": lambda source: UTMOS(source, device)}
    return load_with_fallback(spec, loaders, FALLBACK, notice)
