"""Vocoder training data: fixed-length waveform segments cut from the audio of manifest rows.

A vocoder learns from audio alone, so any manifest with ``id`` and ``audio`` works (the
rows' text, speaker and alignment are not read; ``offset``/``duration`` cuts are honoured
through :func:`~voiceflow.data.manifest.load_row_audio`).

Items are addressed by ``(epoch, index)``: ``dataset[(epoch, i)]`` is a (S,) float32 segment
(S = ``segment_samples``) of row ``i`` whose crop position and gain are drawn from a NumPy
generator seeded with ``(seed, epoch, i)``. The draw depends on nothing else (not on the
worker, the process or the global RNG), so a resumed run sees exactly the segments the
uninterrupted run would have seen. :class:`SegmentBatchSampler` yields those keys in a
per-epoch shuffled order, sharded over processes, from any position inside an epoch.

Following vocos/dataset.py (Siuzdak, 2023): every file is peak-normalised to a random level
in [-6, -1] dBFS for training (sox ``norm``; -3 dBFS for validation), an utterance shorter
than S is repeated until it fills S, and validation takes the first S samples of each file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from torch.utils.data import Dataset

from voiceflow.data.manifest import load_manifest, load_row_audio
from voiceflow.errors import VoiceflowError


class SegmentDataset(Dataset):
    """Segments of the audio of a manifest's rows.

    Args:
        manifest: JSON Lines manifest; rows need ``id`` and ``audio``.
        sample_rate: rate the audio is read (and resampled) at.
        segment_samples: S, the length of every item.
        seed: with (epoch, index), seeds the crop and gain of an item.
        random_crop: a random window of a long utterance (training); otherwise its first S samples.
        peak_db: (low, high): the item's peak is set to a level drawn uniformly in
            [low, high] dBFS (low == high: fixed); None keeps the file's level.
        limit: use only the first ``limit`` rows (0 = all).

    ``dataset[(epoch, index)]`` -> (S,) float32 tensor.

    Raises:
        VoiceflowError: the manifest is missing or malformed, or (when an item is read) its
            audio file is missing, corrupt or empty; the message names the file.
    """

    def __init__(self, manifest: str | Path, sample_rate: int, segment_samples: int, seed: int,
                 random_crop: bool = True, peak_db: tuple[float, float] | None = (-6.0, -1.0), limit: int = 0):
        self.manifest = Path(manifest)
        rows = load_manifest(self.manifest, require=("id", "audio"))
        self.rows = rows[:limit] if limit > 0 else rows
        self.sample_rate, self.segment_samples, self.seed = int(sample_rate), int(segment_samples), int(seed)
        self.random_crop = random_crop
        self.peak_db = None if peak_db is None else (float(peak_db[0]), float(peak_db[1]))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        epoch, index = key
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        wav = load_row_audio(self.rows[index], self.manifest, self.sample_rate)  # (N,)
        return self.cut(wav, rng)

    def cut(self, wav: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """(N,) waveform -> (S,) segment: repeat-pad or crop, then set the peak level."""
        size = self.segment_samples
        if wav.numel() < size:  # vocos/dataset.py: repeat the utterance to fill the segment
            wav = wav.repeat(-(-size // wav.numel()))[:size]
        else:
            start = int(rng.integers(0, wav.numel() - size + 1)) if self.random_crop else 0
            wav = wav[start:start + size]
        if self.peak_db is not None:
            low, high = self.peak_db
            level = float(rng.uniform(low, high)) if high > low else low
            peak = wav.abs().max()
            if peak > 0:  # a silent segment stays silent
                wav = wav * (10.0 ** (level / 20.0) / peak)
        return wav.float().contiguous()


class SegmentBatchSampler:
    """Batches of ``(epoch, index)`` keys for :class:`SegmentDataset`, sharded over processes.

    Each epoch is a permutation of the rows (seeded by ``(seed, epoch)``; the identity when
    ``shuffle`` is false), cut to a multiple of ``world`` and dealt round-robin, so every
    process gets the same number of batches and no row twice. ``drop_last`` drops a short
    final batch (training batches all have ``batch_size`` items, one compiled shape).
    :meth:`set_epoch` picks the epoch and the first batch to yield (a resumed position).
    """

    def __init__(self, n_items: int, batch_size: int, seed: int, shuffle: bool = True,
                 rank: int = 0, world: int = 1, drop_last: bool = True):
        self.n_items, self.batch_size, self.seed = int(n_items), int(batch_size), int(seed)
        self.shuffle, self.rank, self.world, self.drop_last = shuffle, int(rank), int(world), drop_last
        self.epoch, self.start = 0, 0

    def batches_for_epoch(self, epoch: int) -> list[list[tuple[int, int]]]:
        order = (np.random.default_rng([self.seed, int(epoch)]).permutation(self.n_items)
                 if self.shuffle else np.arange(self.n_items))
        per_rank = self.n_items // self.world if self.drop_last else -(-self.n_items // self.world)
        mine = [int(i) for i in order[self.rank::self.world][:per_rank]]
        stop = len(mine) - len(mine) % self.batch_size if self.drop_last else len(mine)
        return [[(int(epoch), i) for i in mine[b:b + self.batch_size]] for b in range(0, stop, self.batch_size)]

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = int(epoch), int(start)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        yield from self.batches_for_epoch(self.epoch)[self.start:]

    def __len__(self) -> int:
        return max(len(self.batches_for_epoch(self.epoch)) - self.start, 0)


def _original_message(error: VoiceflowError) -> str:
    """The one-line message of an error re-raised from a DataLoader worker.

    A worker's exception comes back as ``Caught VoiceflowError in DataLoader worker process
    0.\\nOriginal Traceback ...\\nvoiceflow.errors.VoiceflowError: <message>``: keep the message.
    """
    text = str(error)
    if "Original Traceback" not in text:
        return text
    last = [line for line in text.splitlines() if line.strip()][-1]
    return last.split("VoiceflowError: ", 1)[-1].strip()


def one_line_errors(batches: Iterable) -> Iterator:
    """Iterate ``batches``, turning a VoiceflowError raised in a worker back into its one line."""
    iterator = iter(batches)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except VoiceflowError as e:
            raise VoiceflowError(_original_message(e)) from None
        yield batch
