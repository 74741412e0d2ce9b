"""Streaming frame-budget batches over a shard set: distinct shards per rank, exactly resumable.

The plan of an epoch depends only on ``(seed, epoch, world, rank)``::

    shards (pieces)  --shuffle(seed, epoch)-->  order
    order            --greedy by frames-->      rank r's pieces (the least-loaded rank takes the next)
    rank r's pieces  --groups of `group`-->     per group: utterances cropped, shuffled, bucketed by
                                                length, cut into frame-budget batches and the batches
                                                shuffled (crop_items / cut_batches, as
                                                FrameBudgetBatchSampler does over the whole corpus)
    every rank       --cut to the minimum-->    the same batch count on every rank (DDP never waits)

So ranks read distinct data, and a rank reads a few shards at a time (``group`` of them: its
shuffle buffer), mostly sequentially. The batch counts of all ranks come from the utterance
lengths alone (``lengths.npy``), no mel is read. When a set has fewer shards than ranks (a
small validation set), each shard is split into contiguous pieces so that every rank gets
one. Each yielded batch is a list of ``(global index, start, length)``, as
:class:`~voiceflow.data.batching.FrameBudgetBatchSampler` yields, for
:class:`~voiceflow.data.shards.ShardDataset`; ``set_epoch(epoch, position)`` resumes mid-epoch.
"""

from __future__ import annotations

import math
import random
from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from voiceflow.data.batching import Item, crop_items, cut_batches


class ShardBatchSampler(Sampler):
    """Args:
        shard_lengths: per shard, the frames of its utterances (global indices run through the
            shards in this order, as in :class:`~voiceflow.data.shards.ShardDataset`).
        max_frames, max_utt_frames, bucket_width, seed, shuffle, rank, world: as
            :class:`~voiceflow.data.batching.FrameBudgetBatchSampler`.
        group: shards whose utterances are shuffled and batched together.
    """

    def __init__(self, shard_lengths: Sequence[Sequence[int]], max_frames: int, max_utt_frames: int,
                 bucket_width: int = 50, seed: int = 0, shuffle: bool = True, rank: int = 0, world: int = 1,
                 group: int = 4):
        if max_utt_frames > max_frames:
            raise ValueError(f"max_utt_frames ({max_utt_frames}) exceeds the batch budget max_frames ({max_frames})")
        self.lengths = [np.asarray(s) for s in shard_lengths]
        if not sum(len(s) for s in self.lengths):
            raise ValueError("no utterances to batch")
        self.max_frames, self.max_utt, self.bucket_width = max_frames, max_utt_frames, max(1, bucket_width)
        self.seed, self.shuffle, self.rank, self.world, self.group = seed, shuffle, rank, world, max(1, group)
        self.epoch, self.position = 0, 0
        self.pieces = self._pieces()
        self._cached: tuple[int, list] | None = None

    def _pieces(self) -> list[tuple[int, int, int, int, int]]:
        """``(first global index, end, frames, shard, first index in the shard)`` of each unit given to
        ranks: the non-empty shards, split into contiguous parts when there are fewer than ranks."""
        starts = np.concatenate([[0], np.cumsum([len(s) for s in self.lengths])])
        full = [k for k, s in enumerate(self.lengths) if len(s)]
        parts = math.ceil(self.world / len(full)) if len(full) < self.world else 1
        pieces = []
        for k in full:
            n = len(self.lengths[k])
            for j in range(parts):
                a, b = n * j // parts, n * (j + 1) // parts
                if b > a:
                    pieces.append((int(starts[k]) + a, int(starts[k]) + b, int(self.lengths[k][a:b].sum()), k, a))
        return pieces

    def assignment(self, epoch: int) -> list[list[int]]:
        """Per rank, its pieces in reading order (see the module docstring)."""
        order = list(range(len(self.pieces)))
        if self.shuffle:
            random.Random(self.seed * 1_000_003 + epoch).shuffle(order)
        ranks: list[list[int]] = [[] for _ in range(self.world)]
        load = [0] * self.world
        for p in order:
            r = min(range(self.world), key=lambda i: (load[i], i))
            ranks[r].append(p)
            load[r] += self.pieces[p][2]
        return ranks

    def rank_batches(self, epoch: int, rank: int, pieces: list[int]) -> list[list[Item]]:
        """The batches of ``pieces`` (rank ``rank``'s share of ``epoch``), before the cut to the common count."""
        batches = []
        for g in range(0, len(pieces), self.group):
            rng = random.Random(f"{self.seed}:{epoch}:{self.world}:{rank}:{g}") if self.shuffle else None
            indices, lengths = [], []
            for first, end, _, shard, a in (self.pieces[p] for p in pieces[g:g + self.group]):
                indices += range(first, end)
                lengths += self.lengths[shard][a:a + end - first].tolist()
            batches += cut_batches(crop_items(indices, lengths, self.max_utt, rng), self.max_frames,
                                   self.bucket_width, rng)
        return batches

    def batches_for_epoch(self, epoch: int) -> list[list[Item]]:
        if self._cached is None or self._cached[0] != epoch:
            ranks = self.assignment(epoch)
            counts, mine = [], None
            for r, pieces in enumerate(ranks):
                batches = self.rank_batches(epoch, r, pieces)
                counts.append(len(batches))
                mine = batches if r == self.rank else mine
            common = min(counts)
            if common == 0:
                raise ValueError(f"{len(self.pieces)} shard piece(s) cannot be shared by {self.world} processes; "
                                 "write smaller shards, lower data.max_frames or add data")
            self._cached = (epoch, mine[:common])
        return self._cached[1]

    def set_epoch(self, epoch: int, position: int = 0) -> None:
        self.epoch, self.position = epoch, position

    def __iter__(self) -> Iterator[list[Item]]:
        return iter(self.batches_for_epoch(self.epoch)[self.position:])

    def __len__(self) -> int:
        return len(self.batches_for_epoch(self.epoch)) - self.position
