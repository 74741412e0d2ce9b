"""Writing a shard set (format: :mod:`voiceflow.data.shards`) from aligned manifests.

::

    summary = write_shard_set("data/train_aligned.jsonl", "data/shards/train", "data/phones.txt",
                              MelConfig(), jobs=8, on_error="skip", stats_path="data/stats.json")
    summary = write_shard_set(["data/manifests/aligned/train.d"], "data/shards/train", "data/phones.txt")

The input is one manifest or several, read one after the other; a directory stands for its
``*.jsonl`` files in sorted name order. Several manifests are the PIECES of a corpus too large
to read at once (LibriHeavy's ~13 M aligned rows are ~64 GB of JSON), each a random sample of
it: a piece is read, shuffled, cut into shards and its shards written, and only a few numbers
per utterance are kept (:class:`~voiceflow.data.shard_summary.ShardSetSummary`) before the
next piece is read, so memory is bounded by one piece. Shard numbers continue from piece to
piece, and ids must be unique over all pieces. One manifest is the case of one piece.

A piece's rows are shuffled (``shuffle_seed``; None keeps their order) and cut into shards
of about ``shard_frames`` frames (estimated from ``duration``; an hour by default). Piece k
is shuffled by ``random.Random(seed)`` for k = 0 (so one manifest as always) and by
``random.Random(f"{seed}:{k}")`` after. Shuffling first matters: corpora list their
utterances by speaker or book, and a training rank reads a few shards at a time, so shards in
manifest order would give batches of a handful of speakers for hours of training. One shard
is one job of a worker process (:func:`~voiceflow.data.shard_encoder.encode_shard`: audio,
log-mel, alignment checks, phone runs). A bad utterance stops the stage, naming it, before its
shard is written (``on_error="stop"``), or is left out and listed (``"skip"``). A shard's two
files are written under temporary names and renamed, the mel first and the meta last, so a
shard with a meta file is complete. A rerun reuses complete shards and errors when one was
written from other input (its rows, the mel config or the phone inventory); for a changed
piece the error names the piece's shards, and removing them has only those written again.
index.json is removed before the first shard is written; ``lengths.npy``,
``phone_lengths.npy`` and ``index.json`` (with the log-duration summary of
:mod:`voiceflow.data.shard_durations`; its ``input_sha`` covers every shard's fingerprint in
order, so every piece and their order) are written last.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing as mp
import random
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from voiceflow.config import MelConfig
from voiceflow.data.manifest import load_manifest, manifest_files
from voiceflow.data.shard_durations import phone_summary
from voiceflow.data.shard_encoder import encode_shard
from voiceflow.data.shard_summary import ShardSetSummary
from voiceflow.data.shards import FORMAT_VERSION, INDEX, inventory_sha, npy_shape, read_meta, shard_paths
from voiceflow.errors import VoiceflowError
from voiceflow.text import PhoneInventory

SHARD_KEYS = ("id", "audio", "duration", "alignment")
ROWS_CHANGED = "manifest rows, --shard-frames or --seed"


def default_shard_frames(mel: MelConfig) -> int:
    """About one hour of frames."""
    return round(3600 * mel.sample_rate / mel.hop_length)


def plan_shards(rows: list[dict], mel: MelConfig, shard_frames: int) -> list[list[dict]]:
    """Consecutive rows, a shard closed once its estimated frames reach ``shard_frames``."""
    shards, current, frames = [], [], 0
    for row in rows:
        current.append(row)
        frames += int(round(float(row["duration"]) * mel.sample_rate)) // mel.hop_length + 1
        if frames >= shard_frames:
            shards.append(current)
            current, frames = [], 0
    if current:
        shards.append(current)
    return shards


def fingerprint(rows: list[dict], mel: MelConfig, phones_sha: str) -> str:
    """What a shard is written from, as a JSON string: its rows' sha256, the mel config, the inventory's sha."""
    rows_sha = hashlib.sha256(json.dumps(rows, sort_keys=True).encode("utf-8")).hexdigest()
    return json.dumps({"version": FORMAT_VERSION, "rows_sha": rows_sha, "mel": dataclasses.asdict(mel),
                       "phones_sha": phones_sha}, sort_keys=True)


def _complete(out: Path, name: str, expected: str, again: str = "") -> dict | None:
    """The summary of shard ``name`` if it is complete and was written from the same input, None if
    it is absent or incomplete; an error if it was written from other input (``again``: how to have
    it written again, when only its rows changed)."""
    mel_path, meta_path = shard_paths(out, name)
    if not meta_path.is_file():
        return None
    meta = read_meta(meta_path)
    found, want = json.loads(str(meta["fingerprint"])), json.loads(expected)
    rows = "manifest rows, piece order, --shard-frames or --seed" if again else ROWS_CHANGED
    changed = [what for key, what in (("rows_sha", rows), ("mel", "mel config"),
                                      ("phones_sha", "phone inventory"), ("version", "format version"))
               if found.get(key) != want[key]]
    if changed:
        again = f", or {again}" if again and changed == [rows] else ""
        raise VoiceflowError(f"{meta_path}: written from other input (different {'; '.join(changed)}); "
                             f"remove {out} or write to another --out{again}")
    if not mel_path.is_file() or npy_shape(mel_path)[0] != int(meta["offsets"][-1]):
        return None
    phone_lengths, duration_counts = phone_summary(meta["phone_offsets"], meta["phone_frames"])
    return {"name": name, "utterances": len(meta["frames"]), "frames": int(meta["frames"].sum()),
            "lengths": meta["frames"], "stats": meta["stats"], "phone_lengths": phone_lengths,
            "duration_counts": duration_counts,
            "skipped": list(zip(meta["skipped_ids"].tolist(), meta["skipped_errors"].tolist()))}


def _remove_temporaries(out: Path) -> None:
    for tmp in out.glob(".shard-*.tmp"):
        tmp.unlink(missing_ok=True)


class _UniqueIds:
    """Ids unique over all pieces, checked piece by piece with 8 bytes per utterance kept: the sorted
    64-bit blake2b hashes of every earlier piece's ids (a false alarm needs a hash collision: p ~ 1e-5
    at 20 M utterances)."""

    def __init__(self) -> None:
        self.pieces: list[tuple[Path, np.ndarray]] = []

    def check(self, manifest: Path, rows: list[dict]) -> None:
        digests = b"".join(hashlib.blake2b(str(r["id"]).encode("utf-8"), digest_size=8).digest() for r in rows)
        hashes = np.frombuffer(digests, dtype="<u8")
        for earlier, known in self.pieces:
            found = np.flatnonzero(known[np.minimum(np.searchsorted(known, hashes), len(known) - 1)] == hashes)
            if len(found):
                raise VoiceflowError(f"{manifest}:{found[0] + 1}: id {rows[found[0]]['id']!r} is also in {earlier}")
        self.pieces.append((manifest, np.sort(hashes)))


class _SetWriter:
    """The shards of the inputs, piece by piece (:meth:`piece`), into ``summary``; the worker processes
    are started for the first piece with more than one shard to write and kept until :meth:`close`."""

    def __init__(self, inputs: list[Path], out: Path, inventory: PhoneInventory, mel: MelConfig, shard_frames: int,
                 jobs: int, on_error: str, seed: int | None, progress: bool):
        self.inputs, self.out, self.inventory, self.mel, self.shard_frames = inputs, out, inventory, mel, shard_frames
        self.jobs, self.on_error, self.seed, self.progress = jobs, on_error, seed, progress
        self.phones_sha = inventory_sha(inventory)
        self.summary, self.ids, self.written, self.pool = ShardSetSummary(), _UniqueIds(), 0, None
        out.mkdir(parents=True, exist_ok=True)

    @property
    def source(self) -> str:
        return str(self.inputs[0]) if len(self.inputs) == 1 else f"the {len(self.inputs)} manifests"

    def piece(self, k: int) -> None:
        """Read input ``k``, check and plan it, write its shards that are not complete, keep their summaries."""
        manifest, several = self.inputs[k], len(self.inputs) > 1
        rows = load_manifest(manifest, require=SHARD_KEYS)
        if several:
            self.ids.check(manifest, rows)
        if self.seed is not None:
            random.Random(self.seed if k == 0 else f"{self.seed}:{k}").shuffle(rows)
        plan = plan_shards(rows, self.mel, self.shard_frames)
        first = len(self.summary.entries)
        names = [f"shard-{first + j:06d}" for j in range(len(plan))]
        prints = [fingerprint(part, self.mel, self.phones_sha) for part in plan]
        if k == len(self.inputs) - 1:
            self._check_strays(first + len(plan))
        again = f"remove the shards of {manifest} ({names[0]} to {names[-1]}) to have them written again"
        done = {n: _complete(self.out, n, fp, again if several else "") for n, fp in zip(names, prints)}
        left_out = [s for d in done.values() if d for s in d["skipped"]]
        if left_out and self.on_error == "stop":
            raise VoiceflowError(f"{self.out}: shards written with --on-error skip left out {len(left_out)} "
                                 f"utterance(s) ({left_out[0][1]}); rerun with --on-error skip or remove {self.out}")
        todo = [dict(name=n, rows=part, manifest=str(manifest), out=str(self.out), mel=self.mel,
                     inventory=self.inventory, fingerprint=fp, on_error=self.on_error)
                for n, part, fp in zip(names, plan, prints) if done[n] is None]
        del rows, plan  # the rows of the shards to write live on in todo, until they are written
        if todo:
            (self.out / INDEX).unlink(missing_ok=True)  # the set is changing: no index until it is complete
            self._run(todo, manifest)
        self.written += len(todo)
        del todo
        for n, fp in zip(names, prints):
            self.summary.add(done[n] or _complete(self.out, n, fp), fp)

    def _check_strays(self, total: int) -> None:
        names = {f"shard-{k:06d}" for k in range(total)}
        stray = sorted({p.name.split(".")[0] for p in self.out.glob("shard-*.*")} - names)
        if stray:
            produce = "does not produce" if len(self.inputs) == 1 else "do not produce"
            raise VoiceflowError(f"{self.out}: holds {stray[0]}, which {self.source} {produce} (the input changed); "
                                 f"remove {self.out} or write to another --out")

    def _run(self, todo: list[dict], manifest: Path) -> None:
        if self.pool is None and self.jobs > 1 and len(todo) > 1:
            size = self.jobs if len(self.inputs) > 1 else min(self.jobs, len(todo))
            self.pool = mp.get_context("spawn").Pool(size)
        results = self.pool.imap_unordered(encode_shard, todo) if self.pool else map(encode_shard, todo)
        desc = "shards" if len(self.inputs) == 1 else f"shards of {manifest.name}"
        for result in tqdm(results, total=len(todo), desc=desc, dynamic_ncols=True, disable=not self.progress):
            if result["error"] is not None:
                raise VoiceflowError(f"{manifest}: {result['error']} (nothing written for {result['name']})")

    def close(self) -> None:
        if self.pool:
            self.pool.terminate()
            self.pool.join()
            _remove_temporaries(self.out)


def write_shard_set(manifests: str | Path | Sequence[str | Path], out: str | Path, phones: str | Path,
                    mel: MelConfig | None = None, shard_frames: int | None = None, jobs: int = 1,
                    on_error: str = "stop", stats_path: str | Path | None = None, shuffle_seed: int | None = 0,
                    progress: bool = True) -> dict:
    """Write (or complete) the shard set of ``manifests`` (a manifest, a directory of ``*.jsonl``
    pieces, or a list of them) at ``out``; see the module docstring.

    Returns ``{"inputs", "shards", "written", "reused", "utterances", "frames", "skipped": [(id, error)],
    "stats"}``.
    """
    if on_error not in ("stop", "skip"):
        raise ValueError(f"on_error must be stop or skip, got {on_error!r}")
    mel, out, inputs = mel or MelConfig(), Path(out), manifest_files(manifests)
    writer = _SetWriter(inputs, out, PhoneInventory.load(phones), mel, shard_frames or default_shard_frames(mel),
                        jobs, on_error, shuffle_seed, progress)
    _remove_temporaries(out)  # left by a killed run
    try:
        for k in range(len(inputs)):
            writer.piece(k)
    finally:
        writer.close()
    summary = writer.summary
    if summary.acc.count == 0:
        raise VoiceflowError(f"{writer.source}: no utterance could be processed")
    stats = summary.acc.result()
    summary.write(out, mel, writer.phones_sha, stats)
    if stats_path:
        stats.save(stats_path)
    return {"inputs": len(inputs), "shards": len(summary.entries), "written": writer.written,
            "reused": len(summary.entries) - writer.written, "utterances": summary.utterances,
            "frames": summary.frames, "skipped": summary.skipped, "stats": stats}
