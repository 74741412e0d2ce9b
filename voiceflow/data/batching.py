"""Frame-budget batching with length bucketing, sharded across ranks, exactly resumable.

A batch holds as many utterances as fit a budget of ``max_frames`` padded frames
(``len(batch) * longest <= max_frames``), not a fixed count. Utterances are shuffled, grouped
by length bucket (``bucket_width`` frames) so that a batch wastes little padding, cut into
batches greedily, and the batches are shuffled again. Everything depends only on
``(seed, epoch)``, so every rank builds the same list and takes its own share
(``batches[rank::world]``, cut to the same count on every rank), and a run resumed at
``(epoch, position)`` sees exactly the batches it would have seen.

Utterances longer than ``max_utt_frames`` are cropped to a window whose start is drawn from
the same epoch generator. Each yielded batch is a list of ``(index, start, length)``.

:func:`crop_items` and :func:`cut_batches` are the batching itself, shared with the
streaming sampler of shard sets (:mod:`voiceflow.data.shard_sampler`).
"""

from __future__ import annotations

import random
from typing import Iterable, Iterator, Sequence

from torch.utils.data import Sampler


Item = tuple[int, int, int]  # (utterance index, crop start, crop length) in frames


def crop_items(indices: Iterable[int], frames: Sequence[int], max_utt_frames: int,
               rng: random.Random | None) -> list[Item]:
    """``(index, start, length)`` per utterance: ``length = min(frames, max_utt_frames)``; the
    window start of a longer utterance is drawn from ``rng`` in order (0 when ``rng`` is None).
    ``frames`` is indexed by position in ``indices`` order (``frames[k]`` for the k-th index)."""
    items = []
    for index, n in zip(indices, frames):
        n = int(n)
        length = min(n, max_utt_frames)
        start = rng.randrange(n - length + 1) if (rng is not None and n > length) else 0
        items.append((int(index), start, length))
    return items


def cut_batches(items: list[Item], max_frames: int, bucket_width: int, rng: random.Random | None) -> list[list[Item]]:
    """Frame-budget batches of ``items``: shuffled (with ``rng``), stably sorted into length
    buckets of ``bucket_width`` frames, cut greedily so that ``len(batch) * longest <= max_frames``,
    and the batches shuffled again (with ``rng``). Without ``rng`` the order is kept."""
    order = list(range(len(items)))
    if rng is not None:
        rng.shuffle(order)
    bucket_width = max(1, bucket_width)
    order.sort(key=lambda i: items[i][2] // bucket_width)  # stable: shuffled within a bucket
    batches, current, longest = [], [], 0
    for i in order:
        length = items[i][2]
        if current and (len(current) + 1) * max(longest, length) > max_frames:
            batches.append(current)
            current, longest = [], 0
        current.append(items[i])
        longest = max(longest, length)
    if current:
        batches.append(current)
    if rng is not None:
        rng.shuffle(batches)
    return batches


class FrameBudgetBatchSampler(Sampler):
    def __init__(self, frames: list[int], max_frames: int, max_utt_frames: int, bucket_width: int = 50,
                 seed: int = 0, shuffle: bool = True, rank: int = 0, world: int = 1):
        if max_utt_frames > max_frames:
            raise ValueError(f"max_utt_frames ({max_utt_frames}) exceeds the batch budget max_frames ({max_frames})")
        if not frames:
            raise ValueError("no utterances to batch")
        self.frames, self.max_frames, self.max_utt = list(frames), max_frames, max_utt_frames
        self.bucket_width, self.seed, self.shuffle = max(1, bucket_width), seed, shuffle
        self.rank, self.world = rank, world
        self.epoch, self.position = 0, 0
        self._cached: tuple[int, list] | None = None

    def batches_for_epoch(self, epoch: int) -> list[list[tuple[int, int, int]]]:
        if self._cached is None or self._cached[0] != epoch:
            self._cached = (epoch, self._build(epoch))
        return self._cached[1]

    def _build(self, epoch: int) -> list[list[tuple[int, int, int]]]:
        rng = random.Random(self.seed * 1_000_003 + epoch)
        items = crop_items(range(len(self.frames)), self.frames, self.max_utt, rng if self.shuffle else None)
        batches = cut_batches(items, self.max_frames, self.bucket_width, rng if self.shuffle else None)
        per_rank = len(batches) // self.world
        if per_rank == 0:
            raise ValueError(f"{len(batches)} batch(es) cannot be shared by {self.world} processes; "
                             "lower data.max_frames or add data")
        return batches[self.rank::self.world][:per_rank]

    def set_epoch(self, epoch: int, position: int = 0) -> None:
        self.epoch, self.position = epoch, position

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        return iter(self.batches_for_epoch(self.epoch)[self.position:])

    def __len__(self) -> int:
        return len(self.batches_for_epoch(self.epoch)) - self.position
