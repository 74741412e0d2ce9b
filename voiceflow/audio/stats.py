"""Global log-mel statistics: one scalar mean and std over a whole corpus.

The model sees ``(log_mel - mean) / std`` (docs/DESIGN.md); everything that leaves the model is
de-normalised first. A recipe stage computes the statistics and stores them next to the
features; training and inference read that file::

    acc = StatsAccumulator()
    for wav in corpus:
        acc.add(log_mel(wav))                 # (n_mels, frames), unpadded
    acc.result().save("data/feats/stats.json")

    stats = MelStats.load("data/feats/stats.json")
    x = normalise(mel, stats)                 # model space
    mel = denormalise(x, stats)               # back to log-mel for the vocoder

The file is JSON: ``{"mean": float, "std": float, "frames": int}``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from voiceflow.errors import VoiceflowError
from voiceflow.fileio import read_json, write_json

__all__ = ["MelStats", "StatsAccumulator", "normalise", "denormalise"]


@dataclass
class MelStats:
    """Scalar mean and standard deviation of log-mel values, and how many frames they came from."""

    mean: float
    std: float
    frames: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and math.isfinite(self.std) and self.std > 0):
            raise ValueError(f"MelStats needs a finite mean and a finite std > 0, got mean={self.mean}, std={self.std}")

    def save(self, path: str | os.PathLike) -> None:
        """Write ``{"mean", "std", "frames"}`` as JSON, atomically."""
        write_json(path, {"mean": float(self.mean), "std": float(self.std), "frames": int(self.frames)})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MelStats":
        """Read a stats file written by :meth:`save`; errors name the file and the problem."""
        path = Path(path)
        data = read_json(path)  # raises VoiceflowError for a missing file or invalid JSON
        if not isinstance(data, dict):
            raise VoiceflowError(f"{path}: mel statistics must be a JSON object with mean, std, frames")
        missing = [k for k in ("mean", "std", "frames") if k not in data]
        if missing:
            raise VoiceflowError(f"{path}: mel statistics lack {', '.join(missing)}")
        mean, std, frames = data["mean"], data["std"], data["frames"]
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (mean, std, frames))
        if not numbers or not isinstance(frames, int):
            raise VoiceflowError(f"{path}: mel statistics: mean and std must be numbers, frames an integer")
        try:
            return cls(float(mean), float(std), frames)
        except ValueError as e:
            raise VoiceflowError(f"{path}: invalid mel statistics ({e})") from None


class StatsAccumulator:
    """Accumulates float64 sum, sum of squares and count of log-mel values.

    Feed unpadded log-mels, shape ``(n_mels, frames)`` or ``(batch, n_mels, frames)``;
    padding would bias the statistics. Accumulators of parallel workers combine with
    :meth:`merge`.
    """

    def __init__(self) -> None:
        self.total = 0.0
        self.total_sq = 0.0
        self.count = 0
        self.frames = 0

    def add(self, mel: torch.Tensor) -> None:
        """Add every value of ``mel`` (..., n_mels, frames); a non-finite value is an error."""
        mel = torch.as_tensor(mel)
        if mel.dim() < 2:
            raise ValueError(f"StatsAccumulator.add: expected (..., n_mels, frames), got shape {tuple(mel.shape)}")
        if mel.numel() == 0:
            return
        x = mel.detach().to(torch.float64)
        if not torch.isfinite(x).all():
            raise ValueError("StatsAccumulator.add: log-mel contains NaN or inf")
        self.total += x.sum().item()
        self.total_sq += x.square().sum().item()
        self.count += x.numel()
        self.frames += x.numel() // mel.shape[-2]

    def merge(self, other: "StatsAccumulator") -> None:
        """Add the values another accumulator has seen."""
        self.total += other.total
        self.total_sq += other.total_sq
        self.count += other.count
        self.frames += other.frames

    def result(self) -> MelStats:
        """The mean and (population) std of everything added so far."""
        if self.count == 0:
            raise VoiceflowError("mel statistics: no frames were accumulated")
        mean = self.total / self.count
        var = max(self.total_sq / self.count - mean * mean, 0.0)
        if var == 0.0:
            raise VoiceflowError("mel statistics: every log-mel value is the same (std 0)")
        return MelStats(mean=mean, std=math.sqrt(var), frames=self.frames)


def normalise(mel, stats: MelStats):
    """Log-mel to model space: ``(mel - mean) / std``. Works on tensors and numpy arrays."""
    return (mel - stats.mean) / stats.std


def denormalise(mel, stats: MelStats):
    """Model space back to log-mel: ``mel * std + mean``. Works on tensors and numpy arrays."""
    return mel * stats.std + stats.mean
