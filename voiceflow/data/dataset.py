"""Training data: normalised log-mel frames with frame-level phone ids.

Each item is one utterance of a features manifest (see :mod:`voiceflow.data.manifest`),
optionally cropped to a window chosen by the batch sampler. The collate function pads a
list of items into a batch dictionary::

    mel     (B, T, M) float32  normalised log-mel, zero on padding
    phones  (B, T)    int64    frame-level phone ids, 0 on padding
    lengths (B,)      int64    real frames per utterance
    ids     list[str]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from voiceflow.align import frame_phone_ids
from voiceflow.audio.stats import MelStats
from voiceflow.config import MelConfig
from voiceflow.data.manifest import load_manifest, resolve
from voiceflow.errors import VoiceflowError
from voiceflow.text import PhoneInventory

FEATURE_KEYS = ("id", "feats", "frames", "alignment")


def load_features(path: Path, n_mels: int) -> np.ndarray:
    """Read one (n_mels, frames) log-mel .npy file, with errors naming the file."""
    try:
        mel = np.load(path)
    except FileNotFoundError:
        raise VoiceflowError(f"{path}: feature file not found (run the features stage)") from None
    except (ValueError, OSError) as e:
        raise VoiceflowError(f"{path}: unreadable feature file ({e})") from None
    if mel.ndim != 2 or mel.shape[0] != n_mels:
        raise VoiceflowError(f"{path}: expected a ({n_mels}, frames) log-mel, got shape {mel.shape}")
    return mel


def check_phones(rows: list[dict], inventory: PhoneInventory, manifest: Path) -> None:
    """Every phone of every row's alignment is in the inventory: checked when the dataset is
    built, not at the first batch (or the first validation) that holds the row."""
    for n, row in enumerate(rows, 1):
        unknown = sorted({str(seg[0]) for seg in row["alignment"] if str(seg[0]) not in inventory})
        if unknown:
            raise VoiceflowError(f"{manifest}:{n}: {row.get('id')}: phone(s) {', '.join(unknown)} not in "
                                 f"{inventory} (build phones.txt from every split's alignments)")


class FeatureDataset(Dataset):
    """Items are ``(index, crop_start)`` pairs, as yielded by the frame-budget sampler."""

    def __init__(self, manifest: str | Path, inventory: PhoneInventory, stats: MelStats, mel_cfg: MelConfig):
        self.manifest = Path(manifest)
        self.rows = load_manifest(manifest, require=FEATURE_KEYS, missing_hint=(
            " (training reads the manifest that voiceflow features writes, or a directory of voiceflow shards)"))
        self.inventory, self.stats, self.mel_cfg = inventory, stats, mel_cfg
        self.frames = [int(r["frames"]) for r in self.rows]
        check_phones(self.rows, inventory, self.manifest)

    def __len__(self) -> int:
        return len(self.rows)

    def phone_ids(self, index: int) -> torch.Tensor:
        row = self.rows[index]
        return frame_phone_ids(row["alignment"], self.inventory, self.frames[index],
                               self.mel_cfg.sample_rate, self.mel_cfg.hop_length)

    def __getitem__(self, item: tuple[int, int, int] | int) -> dict:
        index, start, length = item if isinstance(item, tuple) else (item, 0, self.frames[item])
        row = self.rows[index]
        mel = load_features(resolve(row["feats"], self.manifest), self.mel_cfg.n_mels)
        if mel.shape[1] != self.frames[index]:
            raise VoiceflowError(f"{self.manifest}: {row['id']}: manifest says {self.frames[index]} frames, "
                                 f"features have {mel.shape[1]}")
        mel = torch.from_numpy(np.ascontiguousarray(mel[:, start:start + length].T)).float()
        mel = (mel - self.stats.mean) / self.stats.std
        return {"id": row["id"], "mel": mel, "phones": self.phone_ids(index)[start:start + length]}


def collate(items: list[dict]) -> dict:
    lengths = torch.tensor([it["mel"].shape[0] for it in items], dtype=torch.long)
    B, T, M = len(items), int(lengths.max()), items[0]["mel"].shape[1]
    mel = torch.zeros(B, T, M)
    phones = torch.zeros(B, T, dtype=torch.long)
    for b, it in enumerate(items):
        n = it["mel"].shape[0]
        mel[b, :n] = it["mel"]
        phones[b, :n] = it["phones"]
    return {"mel": mel, "phones": phones, "lengths": lengths, "ids": [it["id"] for it in items]}
