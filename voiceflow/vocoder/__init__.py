"""Vocoders: un-normalised log-mel (B, n_mels, T) -> waveform (B, (T - 1) * hop).

``load_vocoder(spec, mel_cfg)`` turns a user's ``--vocoder`` value into a :class:`Vocoder`:

- None or "": the Griffin-Lim fallback, with a one-line notice;
- "griffinlim" (or "griffin-lim"): the Griffin-Lim fallback, silently;
- an existing folder: vocos from its config.yaml + pytorch_model.bin;
- "owner/name" or "owner/name@revision": vocos from the Hugging Face hub (or its cache);
- anything else: a VoiceflowError.

An existing path always wins over a hub id of the same spelling.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import torch

from voiceflow.config import MelConfig
from voiceflow.errors import VoiceflowError
from voiceflow.vocoder.base import Vocoder, fit_length
from voiceflow.vocoder.griffinlim import GriffinLimVocoder
from voiceflow.vocoder.vocos_backend import HubFetchError, VocosVocoder

__all__ = [
    "FALLBACK_NOTICE",
    "GriffinLimVocoder",
    "HubFetchError",
    "Vocoder",
    "VocosVocoder",
    "fit_length",
    "load_vocoder",
]

FALLBACK_NOTICE = (
    "vocoder: no vocos weights given; using the Griffin-Lim fallback (intelligible, not natural) "
    "- pass --vocoder DIR or a hub id (e.g. charactr/vocos-mel-24khz) for vocos"
)
GRIFFINLIM_NAMES = {"griffinlim", "griffin-lim"}
# owner/name[@revision], the Hugging Face repo-id alphabet; no leading dot, no extra slash.
_HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?:@(?P<rev>[\w./-]+))?$")


def load_vocoder(
    spec: str | Path | None,
    mel_cfg: MelConfig | None = None,
    device: str | torch.device = "cpu",
    notice: Callable[[str], object] | None = print,
) -> Vocoder:
    """Resolve ``spec`` (see the module docstring) to a vocoder on ``device``, in eval mode.

    Args:
        spec: None / "" / "griffinlim", a vocos folder, or a hub id ``owner/name[@revision]``.
        mel_cfg: the mel contract the caller's mels follow (default: vocos-mel-24khz).
        device: where the vocoder runs.
        notice: called once with :data:`FALLBACK_NOTICE` when no vocoder was given
            (``None`` silences it).

    Raises:
        VoiceflowError: a missing folder, an unreachable hub repo, or weights whose mel
            features differ from ``mel_cfg``.
    """
    mel_cfg = mel_cfg or MelConfig()
    text = str(spec).strip() if spec is not None else ""
    if not text:
        if notice is not None:
            notice(FALLBACK_NOTICE)
        return GriffinLimVocoder(mel_cfg).to(device)
    if text.lower() in GRIFFINLIM_NAMES:
        return GriffinLimVocoder(mel_cfg).to(device)
    path = Path(text).expanduser()
    if path.is_dir():
        return VocosVocoder.from_local(path, mel_cfg).to(device)
    if path.exists():
        raise VoiceflowError(f"{text}: expected a vocos folder (config.yaml + pytorch_model.bin), got a file")
    hub = _HUB_ID.match(text)
    if hub:
        try:
            vocoder = VocosVocoder.from_hub(hub["repo"], mel_cfg, revision=hub["rev"])
        except HubFetchError as e:
            raise HubFetchError(f"{e} (and no local folder {text} exists)") from e
        return vocoder.to(device)
    raise VoiceflowError(
        f"{text}: vocoder not found (give a vocos folder with config.yaml and pytorch_model.bin, "
        "a hub id such as charactr/vocos-mel-24khz, or griffinlim)"
    )
