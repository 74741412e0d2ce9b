"""The files of a shard set that describe all its shards (format: :mod:`voiceflow.data.shards`):
``lengths.npy``, ``phone_lengths.npy`` and ``index.json``, collected shard by shard.

::

    summary = ShardSetSummary()
    for shard, fp in written_shards:        # entries: name, utterances, frames, lengths, ...
        summary.add(shard, fp)
    summary.write(out, mel, phones_sha, summary.acc.result())

A summary keeps a few numbers per utterance (frames and phone runs, int32) and merges the
duration histograms and mel statistics as the shards come, so the writer of a corpus too
large for memory keeps no rows (:mod:`voiceflow.data.shard_writer`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np

from voiceflow.audio import MelStats, StatsAccumulator
from voiceflow.config import MelConfig
from voiceflow.data.shard_durations import log_duration_summary, merge_counts
from voiceflow.data.shards import FORMAT_VERSION, INDEX, LENGTHS, PHONE_LENGTHS
from voiceflow.fileio import atomic_path, write_json


def accumulator(parts: np.ndarray) -> StatsAccumulator:
    """A StatsAccumulator holding a shard's ``stats``: ``[sum, sum of squares, values, frames]``."""
    acc = StatsAccumulator()
    acc.total, acc.total_sq, acc.count, acc.frames = float(parts[0]), float(parts[1]), int(parts[2]), int(parts[3])
    return acc


class ShardSetSummary:
    """Shards in index order with what the set's files need of them (no rows, no mel)."""

    def __init__(self) -> None:
        self.prints: list[str] = []  # fingerprints, for index.json's input_sha
        self.entries: list[dict] = []  # {"name", "utterances", "frames"}
        self.lengths: list[np.ndarray] = []  # per shard, frames of its utterances
        self.phone_lengths: list[np.ndarray] = []  # per shard, phone runs of its utterances
        self.counts: np.ndarray | None = np.zeros(1, np.int64)  # runs per duration; None once a shard lacks it
        self.skipped: list[tuple[str, str]] = []
        self.acc = StatsAccumulator()

    def add(self, shard: dict, fingerprint: str) -> None:
        """Append a shard: ``{"name", "utterances", "frames", "lengths"}``, optionally ``"phone_lengths"``
        with ``"duration_counts"`` (see :func:`~voiceflow.data.shard_durations.phone_summary`), ``"stats"``
        and ``"skipped"`` ([(id, error)])."""
        self.prints.append(fingerprint)
        self.entries.append({"name": shard["name"], "utterances": int(shard["utterances"]),
                             "frames": int(shard["frames"])})
        self.lengths.append(np.asarray(shard["lengths"], dtype=np.int32))
        if self.counts is not None and "phone_lengths" in shard and "duration_counts" in shard:
            self.phone_lengths.append(np.asarray(shard["phone_lengths"], dtype=np.int32))
            self.counts = merge_counts([self.counts, shard["duration_counts"]])
        else:
            self.counts = None
        if "stats" in shard:
            self.acc.merge(accumulator(shard["stats"]))
        self.skipped.extend(shard.get("skipped", ()))

    @property
    def utterances(self) -> int:
        return sum(e["utterances"] for e in self.entries)

    @property
    def frames(self) -> int:
        return sum(e["frames"] for e in self.entries)

    def write(self, out: Path, mel: MelConfig, phones_sha: str, stats: MelStats | None = None) -> None:
        """``lengths.npy``, ``phone_lengths.npy`` (when every shard came with its phone summary), then
        ``index.json`` (the set's commit point)."""
        with atomic_path(out / LENGTHS) as tmp, open(tmp, "wb") as f:
            np.save(f, np.concatenate(self.lengths) if self.lengths else np.zeros(0, np.int32))
        durations = None
        if self.counts is not None:
            with atomic_path(out / PHONE_LENGTHS) as tmp, open(tmp, "wb") as f:
                np.save(f, np.concatenate(self.phone_lengths) if self.phone_lengths else np.zeros(0, np.int32))
            durations = log_duration_summary(self.counts)
        write_json(out / INDEX, {
            "version": FORMAT_VERSION, "n_mels": mel.n_mels, "dtype": "float16", "mel": dataclasses.asdict(mel),
            "phones_sha": phones_sha,
            "input_sha": hashlib.sha256("\n".join(self.prints).encode("utf-8")).hexdigest(),
            "shards": self.entries,
            "stats": None if stats is None else {"mean": stats.mean, "std": stats.std, "frames": stats.frames},
            "skipped": [{"id": i, "error": e} for i, e in self.skipped],
            "durations": durations,
        })


def write_index(out: Path, mel: MelConfig, phones_sha: str, prints: Sequence[str], shards: Sequence[dict],
                stats: MelStats | None = None, skipped: Sequence[tuple[str, str]] = ()) -> None:
    """``lengths.npy``, ``phone_lengths.npy``, then ``index.json`` of ``shards`` (one fingerprint each in
    ``prints``): entries with ``lengths`` and, for the duration model's summary, ``phone_lengths`` and
    ``duration_counts`` (without them in every entry, readers compute those from the metas)."""
    summary = ShardSetSummary()
    for shard, fp in zip(shards, prints, strict=True):
        summary.add({k: v for k, v in shard.items() if k != "skipped"}, fp)
    summary.skipped = list(skipped)
    summary.write(Path(out), mel, phones_sha, stats)
