"""Training data of the duration model: per-phone ids and frame durations of each utterance.

Durations come from the manifest's alignment by :func:`voiceflow.align.frame_durations`
(cumulative rounding at the feature hop), so they sum to the utterance's frame count and a
ghost silence gets 0 frames. The frame count is the manifest's ``frames`` (features
manifests) or, without it, ``round(duration * sample_rate) // hop_length + 1`` (the mel
contract). Everything is read once, at construction; no feature files are needed (for a
corpus too large for that, :class:`~voiceflow.data.shard_durations.ShardDurationDataset`
gives the same items from a shard set)::

    ds = DurationDataset("data/manifests/train.jsonl", inventory, cfg.mel)
    sampler = FrameBudgetBatchSampler(ds.frames, max_phones, max_utt_phones, ...)  # lengths in PHONES
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate_durations)

A batch::

    phones     (B, L) int64  phone ids, 0 on padding
    durations  (B, L) int64  frames per phone, 0 on padding
    lengths    (B,)   int64  real phones per utterance
    ids        list[str]
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch.utils.data import Dataset

from voiceflow.align import frame_durations
from voiceflow.config import MelConfig
from voiceflow.data.manifest import load_manifest
from voiceflow.errors import VoiceflowError
from voiceflow.text import PhoneInventory

DURATION_KEYS = ("id", "alignment")


def utterance_frames(row: dict, mel: MelConfig) -> int:
    """The frame count of a manifest row: ``frames``, else from ``duration`` (samples // hop + 1)."""
    if "frames" in row:
        return int(row["frames"])
    if "duration" not in row:
        raise KeyError("frames")
    return int(round(float(row["duration"]) * mel.sample_rate)) // mel.hop_length + 1


class DurationDataset(Dataset):
    """Items are ``(index, start, length)`` phone windows (as the batch sampler yields) or indices.

    ``frames`` holds each utterance's PHONE count: the lengths the frame-budget sampler
    batches by (the name matches :class:`voiceflow.data.dataset.FeatureDataset`).
    """

    def __init__(self, manifest: str | Path, inventory: PhoneInventory, mel: MelConfig):
        self.manifest = Path(manifest)
        rows = load_manifest(manifest, require=DURATION_KEYS)
        self.ids: list[str] = []
        self.phones: list[torch.Tensor] = []
        self.durations: list[torch.Tensor] = []
        for row in rows:
            where = f"{self.manifest}: {row['id']}"
            try:
                frames = utterance_frames(row, mel)
                symbols = [seg[0] for seg in row["alignment"]]
                durs = frame_durations(row["alignment"], frames, mel.sample_rate, mel.hop_length)
                ids = inventory.ids(symbols)
            except KeyError:
                raise VoiceflowError(f"{where}: needs 'frames' or 'duration'") from None
            except VoiceflowError as e:
                raise VoiceflowError(f"{where}: {e}") from None
            self.ids.append(row["id"])
            self.phones.append(torch.tensor(ids, dtype=torch.long))
            self.durations.append(torch.tensor(durs, dtype=torch.long))
        self.frames = [len(p) for p in self.phones]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, item: tuple[int, int, int] | int) -> dict:
        index, start, length = item if isinstance(item, tuple) else (item, 0, self.frames[item])
        window = slice(start, start + length)
        return {"id": self.ids[index], "phones": self.phones[index][window],
                "durations": self.durations[index][window]}

    def log_duration_stats(self) -> tuple[float, float]:
        """Mean and standard deviation of ``log(1 + d)`` over every phone of the set."""
        logs = torch.log1p(torch.cat(self.durations).double())
        std = float(logs.std()) if logs.numel() > 1 else 1.0
        return float(logs.mean()), std if math.isfinite(std) and std > 1e-6 else 1.0


def collate_durations(items: list[dict]) -> dict:
    lengths = torch.tensor([len(it["phones"]) for it in items], dtype=torch.long)
    B, L = len(items), int(lengths.max())
    phones = torch.zeros(B, L, dtype=torch.long)
    durations = torch.zeros(B, L, dtype=torch.long)
    for b, it in enumerate(items):
        n = len(it["phones"])
        phones[b, :n] = it["phones"]
        durations[b, :n] = it["durations"]
    return {"phones": phones, "durations": durations, "lengths": lengths, "ids": [it["id"] for it in items]}
