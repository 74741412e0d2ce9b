"""Training data of the duration model from a shard set: phone ids and frame durations, no mel.

Each shard's meta file (format: :mod:`voiceflow.data.shards`) holds every utterance's phone
runs with their frames, ghost silences as 0-frame runs: exactly what
:class:`~voiceflow.data.durations.DurationDataset` derives from an aligned manifest, which
at tens of thousands of hours does not fit in memory. This reads the metas only, lazily per
process (so per DataLoader worker), keeping the last ``cache`` of them::

    ds = ShardDurationDataset("data/shards/train", inventory, cfg.mel)
    sampler = ShardBatchSampler(ds.shard_lengths(), max_phones, max_utt_phones, ...)  # lengths in PHONES
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate_durations)

The phone counts the sampler batches by come from the set's ``phone_lengths.npy`` and the
log-duration statistics the model normalises by from its index's ``"durations"``; the
writer stores both (:func:`phone_summary`, :func:`log_duration_summary`). For a set written
without them, both are computed at construction from every meta's ``phone_offsets`` and
``phone_frames``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from voiceflow.config import MelConfig
from voiceflow.data.shards import PHONE_LENGTHS, ShardIndex, read_meta, shard_paths
from voiceflow.errors import VoiceflowError
from voiceflow.text import PhoneInventory

ITEM_KEYS = ("ids", "phone_ids", "phone_frames", "phone_offsets")


def phone_summary(phone_offsets: np.ndarray, phone_frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of one shard's meta: ``(phone runs per utterance int32 (U,), runs per duration int64 (max frames + 1,))``."""
    return np.diff(phone_offsets).astype(np.int32), np.bincount(phone_frames, minlength=1).astype(np.int64)


def merge_counts(counts: Sequence[np.ndarray]) -> np.ndarray:
    """The sum of duration histograms of different lengths (int64 (longest,))."""
    total = np.zeros(max((len(c) for c in counts), default=1), dtype=np.int64)
    for c in counts:
        total[:len(c)] += c
    return total


def log_duration_summary(counts: np.ndarray) -> dict:
    """``{"phones", "log_mean", "log_std"}`` of ``log(1 + d)`` over a duration histogram ``counts``
    (runs of d frames at position d), as :meth:`DurationDataset.log_duration_stats` computes them
    (unbiased std; 1.0 when it is undefined or ~0)."""
    n = int(counts.sum())
    logs = np.log1p(np.arange(len(counts), dtype=np.float64))
    mean = float(counts @ logs) / n if n else 0.0
    std = math.sqrt(float(counts @ (logs - mean) ** 2) / (n - 1)) if n > 1 else 1.0
    return {"phones": n, "log_mean": mean, "log_std": std if math.isfinite(std) and std > 1e-6 else 1.0}


class ShardDurationDataset(Dataset):
    """Items are ``(index, start, length)`` PHONE windows (as the samplers yield) or a global index.

    Global indices are those of :class:`~voiceflow.data.shards.ShardDataset`. An item is
    :class:`~voiceflow.data.durations.DurationDataset`'s: ``{"id": str, "phones": (length,)
    int64 phone ids, "durations": (length,) int64 frames per phone}``. ``frames`` holds each
    utterance's PHONE count (the name the samplers read, as in DurationDataset).
    """

    def __init__(self, root: str | Path, inventory: PhoneInventory | None, mel: MelConfig | None = None,
                 phones_name: str = "the phone inventory", cache: int = 64):
        self.index = ShardIndex(root)
        self.index.check(inventory, mel, phones_name)  # durations are frames of the set's mel config
        self.cache = max(1, cache)
        self._open: OrderedDict[int, dict] = OrderedDict()
        self._phones: np.ndarray | None = None
        self._durations: dict | None = self.index.data.get("durations")
        self.frames  # read (or compute) the phone counts now, so that a bad set fails at construction

    def __len__(self) -> int:
        return int(self.index.starts[-1])

    @property
    def frames(self) -> np.ndarray:
        """Phone runs of every utterance (int32, (utterances,)), shards in index order."""
        if self._phones is None:
            if self._durations is None:
                self._phones, self._durations = self._scan()
            else:
                self._phones = self._load_phone_lengths()
        return self._phones

    def shard_lengths(self) -> list[np.ndarray]:
        """Per shard, the phone counts of its utterances (what :class:`ShardBatchSampler` batches by)."""
        return self.index.split(self.frames)

    def log_duration_stats(self) -> tuple[float, float]:
        """Mean and standard deviation of ``log(1 + d)`` over every phone of the set."""
        self.frames
        return float(self._durations["log_mean"]), float(self._durations["log_std"])

    def __getstate__(self) -> dict:  # pickled to a spawned worker: it reads its own metas, needs no counts
        return {**self.__dict__, "_open": OrderedDict(), "_phones": None}

    def _load_phone_lengths(self) -> np.ndarray:
        path, n = self.index.root / PHONE_LENGTHS, int(self.index.starts[-1])
        try:
            phones = np.load(path, mmap_mode="r") if n else np.zeros(0, np.int32)
        except (OSError, ValueError) as e:
            raise VoiceflowError(f"{path}: unreadable phone counts ({e})") from None
        if phones.shape != (n,):
            raise VoiceflowError(f"{path}: {phones.shape[0]} phone counts, the index lists {n} utterances")
        return phones

    def _read(self, shard: int, keys: Sequence[str]) -> dict[str, np.ndarray]:
        path = shard_paths(self.index.root, self.index.names[shard])[1]
        meta = read_meta(path, keys)
        if len(meta["phone_offsets"]) != self.index.utterances[shard] + 1:
            raise VoiceflowError(f"{path}: {len(meta['phone_offsets']) - 1} utterances, the index lists "
                                 f"{self.index.utterances[shard]}")
        return meta

    def _scan(self) -> tuple[np.ndarray, dict]:
        """Phone counts and the log-duration summary from every meta (a set written without them)."""
        phones, counts = [], []
        for shard in range(len(self.index.names)):
            meta = self._read(shard, ("phone_offsets", "phone_frames"))
            n, c = phone_summary(meta["phone_offsets"], meta["phone_frames"])
            phones.append(n)
            counts.append(c)
        lengths = np.concatenate(phones) if phones else np.zeros(0, np.int32)
        return lengths, log_duration_summary(merge_counts(counts))

    def _meta(self, shard: int) -> dict[str, np.ndarray]:
        if shard in self._open:
            self._open.move_to_end(shard)
            return self._open[shard]
        meta = self._open[shard] = self._read(shard, ITEM_KEYS)
        while len(self._open) > self.cache:
            self._open.popitem(last=False)
        return meta

    def __getitem__(self, item: tuple[int, int, int] | int) -> dict:
        index, start, length = item if isinstance(item, tuple) else (item, 0, None)
        shard, u = self.index.locate(int(index))
        meta = self._meta(shard)
        a, b = int(meta["phone_offsets"][u]), int(meta["phone_offsets"][u + 1])
        length = b - a if length is None else length
        if start < 0 or start + length > b - a:
            raise IndexError(f"window [{start}, {start + length}) outside utterance {meta['ids'][u]} ({b - a} phones)")
        window = slice(a + start, a + start + length)
        return {"id": str(meta["ids"][u]), "phones": torch.from_numpy(meta["phone_ids"][window].astype(np.int64)),
                "durations": torch.from_numpy(meta["phone_frames"][window].astype(np.int64))}
