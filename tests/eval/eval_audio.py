"""Sound for the evaluation tests: synthetic tones, wav writing, flite speech (imported by
the tests and by conftest.py under this unique name, so that other directories' conftest
modules never shadow it)."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

SENTENCES = {
    "u1": "the quick brown fox jumps over the lazy dog",
    "u2": "she sells sea shells by the sea shore",
    "u3": "a bird in the hand is worth two in the bush",
}


def tone(f0: float = 200.0, seconds: float = 1.0, sr: int = 24000, harmonics: int = 8) -> np.ndarray:
    """A voiced-like harmonic tone (peak 0.3) with 20 ms fades."""
    t = np.arange(int(sr * seconds)) / sr
    x = sum(np.sin(2 * math.pi * k * f0 * t) / k for k in range(1, harmonics + 1) if k * f0 < sr / 2)
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
    return (0.3 * x * fade / np.abs(x).max()).astype(np.float32)


def write(path: Path, wav: np.ndarray, sr: int = 24000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, wav, sr, subtype="PCM_16")
    return path


def flite(text: str, voice: str, path: Path) -> Path:
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed (apt-get install flite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True, timeout=60)
    return path
