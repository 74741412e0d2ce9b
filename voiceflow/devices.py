"""The torch device of an entry point's ``--device`` option, checked before any work::

    resolve_device(None)      # cuda when a CUDA device is available, else cpu
    resolve_device("cuda:1")  # VoiceflowError (one line) when there is no such device
"""

from __future__ import annotations

import torch

from voiceflow.errors import VoiceflowError


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise VoiceflowError(f"--device {device!r}: not a torch device (cpu, cuda, cuda:1, ...)") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise VoiceflowError(f"--device {device}: no CUDA device is available here (use cpu)")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise VoiceflowError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    return resolved
