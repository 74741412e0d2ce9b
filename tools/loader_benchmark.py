"""Data-loader throughput on a shard set: real frames/s per CPU worker, and workers needed per GPU.

Usage::

    # build a synthetic shard set of 3 hours (random log-mels and phone runs; no corpus needed), measure it
    python tools/loader_benchmark.py --synthetic-hours 3 --shards /tmp/bench_shards --workers 1,2
    # an existing shard set (written by `voiceflow shards`) with a run's batching
    python tools/loader_benchmark.py --shards data/shards/train --workers 1,2,4 --max-frames 20000 \\
        --max-utt-frames 3000 --seconds 20 [--target-frames-per-second 150000] [--group 4]

The measured path is the trainer's: ShardBatchSampler plans frame-budget batches, a
DataLoader with W worker processes runs ShardDataset (memmap read of float16 frames, cast to
float32, normalisation, phone-run expansion) and collate (padding into (B, T, M)). Each W
runs for ``--seconds`` after its first batch (worker start-up excluded); throughput counts
real (unpadded) frames, as the trainer's ``train/frames_per_s`` does. The per-worker rate
is throughput / W; workers needed for a target = ceil(target / per-worker rate at W = 1). The
table also gives real frames per CPU second of the worker processes (robust on a busy machine)
and the main process's CPU share (receiving the batches).
Targets printed: ``--target-frames-per-second`` (default 150 000, the H100 target of the
`paper` preset) and 104 000 (the last measured `paper`-preset training throughput).

Note: a set just written (or small enough) sits in the page cache, so this measures the CPU
cost; from a cold disk each GPU at 150 k frames/s reads 150 k x n_mels x 2 bytes (30 MB/s
with 100 bands), mostly sequentially within ``--group`` shards.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voiceflow.audio import MelStats  # noqa: E402
from voiceflow.config import DataConfig, MelConfig  # noqa: E402
from voiceflow.data.dataset import collate  # noqa: E402
from voiceflow.data.shard_sampler import ShardBatchSampler  # noqa: E402
from voiceflow.data.shard_encoder import write_shard  # noqa: E402
from voiceflow.data.shard_summary import write_index  # noqa: E402
from voiceflow.data.shard_writer import default_shard_frames  # noqa: E402
from voiceflow.data.shards import ShardDataset, ShardIndex, inventory_sha  # noqa: E402
from voiceflow.text import PhoneInventory  # noqa: E402

MEASURED_PAPER = 104_000  # frames/s of the `paper` preset, last measured on an H100


def synthetic_shards(out: Path, hours: float, seed: int = 0, min_s: float = 2.0, max_s: float = 20.0,
                     n_phones: int = 200) -> None:
    """A shard set of ``hours`` of random log-mels: utterances of uniform [min_s, max_s] seconds,
    phone runs of about 8 frames with random ids, one-hour shards, and phones.txt beside the index."""
    mel, rng = MelConfig(), np.random.default_rng(seed)
    inventory = PhoneInventory(["<pad>", "sil", "spn"] + [f"p{i}" for i in range(n_phones - 3)])
    out.mkdir(parents=True, exist_ok=True)
    inventory.save(out / "phones.txt")
    fps = mel.sample_rate / mel.hop_length
    total, per_shard = int(hours * 3600 * fps), default_shard_frames(mel)
    shards, written = [], 0
    while written < total:
        lengths = []
        while sum(lengths) < min(per_shard, total - written):
            lengths.append(int(rng.uniform(min_s, max_s) * fps))
        mels = [(rng.standard_normal((n, mel.n_mels), dtype=np.float32) * 2 - 5).astype(np.float16) for n in lengths]
        runs = [np.diff(np.unique(np.concatenate([[0], rng.integers(1, n, n // 8), [n]]))) for n in lengths]
        k = len(shards)
        entry = write_shard(out, f"shard-{k:06d}", mels, [f"u{k}_{i}" for i in range(len(lengths))],
                            ["spk"] * len(lengths), [rng.integers(1, n_phones, len(r)) for r in runs],
                            [r.astype(np.int32) for r in runs], mel.n_mels, n_phones)
        shards.append({**entry, "lengths": np.array(lengths, np.int32)})
        written += sum(lengths)
        print(f"{out}: wrote {entry['name']} ({entry['frames']} frames)", flush=True)
    write_index(out, mel, inventory_sha(inventory), [s["name"] for s in shards], shards,
                MelStats(-5.0, 2.0, written))


class Epochs:
    """The sampler's batches, epoch after epoch, in one DataLoader (a small set's epochs would
    otherwise restart the workers every few seconds, which a long epoch of a real corpus does not)."""

    def __init__(self, sampler: ShardBatchSampler):
        self.sampler = sampler

    def __iter__(self):
        epoch = 0
        while True:
            self.sampler.set_epoch(epoch)
            yield from self.sampler
            epoch += 1


def measure(ds: ShardDataset, workers: int, seconds: float, data: DataConfig, group: int, seed: int) -> dict:
    """Real frames/s (and batches/s, padded frames/s) of the DataLoader with ``workers`` processes."""
    sampler = ShardBatchSampler(ds.shard_lengths(), data.max_frames, data.max_utt_frames, data.bucket_width,
                                seed=seed, group=group)
    frames = padded = batches = 0
    start, main, procs = None, psutil.Process(), []
    for batch in DataLoader(ds, batch_sampler=Epochs(sampler), num_workers=workers, collate_fn=collate):
        if start is None:  # the first batch pays the workers' start-up
            procs = main.children() if workers else [main]
            cpu0, main0, start = cpu_seconds(procs), cpu_seconds([main]), time.perf_counter()
            continue
        frames += int(batch["lengths"].sum())
        padded += batch["mel"].shape[0] * batch["mel"].shape[1]
        batches += 1
        if time.perf_counter() - start >= seconds:
            cpu, main_cpu, elapsed = cpu_seconds(procs) - cpu0, cpu_seconds([main]) - main0, time.perf_counter() - start
            break
    return {"workers": workers, "batches": batches, "frames_per_s": frames / elapsed,
            "padded_per_s": padded / elapsed, "batches_per_s": batches / elapsed,
            "frames_per_cpu_s": frames / max(cpu, 1e-9), "main_cpu": main_cpu / elapsed}


def cpu_seconds(procs) -> float:
    """User + system CPU seconds of these processes so far."""
    return sum(sum(p.cpu_times()[:2]) for p in procs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", required=True, help="shard set directory (written with --synthetic-hours)")
    parser.add_argument("--synthetic-hours", type=float, help="first write a synthetic set of this many hours")
    parser.add_argument("--workers", default="1,2", help="comma-separated DataLoader worker counts")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per worker count")
    parser.add_argument("--max-frames", type=int, default=DataConfig.max_frames)
    parser.add_argument("--max-utt-frames", type=int, default=DataConfig.max_utt_frames)
    parser.add_argument("--bucket-width", type=int, default=DataConfig.bucket_width)
    parser.add_argument("--group", type=int, default=DataConfig.shard_group)
    parser.add_argument("--target-frames-per-second", type=float, default=150_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    root = Path(args.shards)
    if args.synthetic_hours:
        synthetic_shards(root, args.synthetic_hours, args.seed)
    index = ShardIndex(root)
    stats = index.stats or MelStats(0.0, 1.0, 1)
    ds = ShardDataset(root, None, stats)
    mel = index.data["mel"]
    hours = int(index.lengths().sum()) * mel["hop_length"] / mel["sample_rate"] / 3600
    print(f"{root}: {len(index.names)} shards, {len(ds)} utterances, {hours:.2f} h; batches of {args.max_frames} "
          f"frames (utterances cropped to {args.max_utt_frames}), group {args.group}")
    data = DataConfig(max_frames=args.max_frames, max_utt_frames=args.max_utt_frames, bucket_width=args.bucket_width)
    rows = [measure(ds, int(w), args.seconds, data, args.group, args.seed) for w in args.workers.split(",")]
    print(f"\n{'workers':>7} {'batches':>8} {'batches/s':>10} {'real frames/s':>14} {'per worker':>11} "
          f"{'per worker CPU s':>17} {'main CPU':>9} {'padded frames/s':>16}")
    for r in rows:
        per = r["frames_per_s"] / max(r["workers"], 1)
        print(f"{r['workers']:>7} {r['batches']:>8} {r['batches_per_s']:>10.1f} {r['frames_per_s']:>14,.0f} "
              f"{per:>11,.0f} {r['frames_per_cpu_s']:>17,.0f} {r['main_cpu']:>8.0%} {r['padded_per_s']:>16,.0f}")
    base = next((r for r in rows if r["workers"] == 1), rows[0])
    per_worker = base["frames_per_s"] / max(base["workers"], 1)
    print(f"\nper-worker rate (W = {base['workers']}): {per_worker:,.0f} real frames/s wall clock, "
          f"{base['frames_per_cpu_s']:,.0f} per CPU second of a worker; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    for target, what in ((args.target_frames_per_second, "target"), (MEASURED_PAPER, "measured paper preset")):
        print(f"{target:>9,.0f} frames/s per GPU ({what}): {math.ceil(target / per_worker)} worker(s) "
              f"({target / per_worker:.2f} by wall clock, {target / base['frames_per_cpu_s']:.2f} by CPU time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
