"""Writing a shard set (format: :mod:`voiceflow.data.shards`) from an aligned manifest.

::

    summary = write_shard_set("data/train_aligned.jsonl", "data/shards/train", "data/phones.txt",
                              MelConfig(), jobs=8, on_error="skip", stats_path="data/stats.json")

The manifest's rows are shuffled (``shuffle_seed``; None keeps the manifest's order) and cut
into shards of about ``shard_frames`` frames (estimated from ``duration``; an hour by
default). Shuffling first matters: corpora list their utterances by speaker or book, and a
training rank reads a few shards at a time, so shards in manifest order would give batches
of a handful of speakers for hours of training. One shard is one job of a worker
process: for each utterance it reads the audio (:func:`~voiceflow.data.manifest.load_row_audio`,
which honours ``offset``), computes the log-mel (the mel contract), checks the alignment
against it (:func:`~voiceflow.align.validate_alignment`, and the manifest duration against
the audio) and turns the alignment into phone runs with frame durations
(:func:`~voiceflow.align.frame_durations`). A bad utterance stops the stage, naming it,
before its shard is written (``on_error="stop"``), or is left out and listed
(``"skip"``). A shard's two files are written under temporary names and renamed, the mel
first and the meta last, so a shard with a meta file is complete; a rerun reuses complete
shards and errors when one was written from other input (its rows, the mel config or the
phone inventory). ``lengths.npy``, ``phone_lengths.npy`` and ``index.json`` (with the
log-duration summary of :mod:`voiceflow.data.shard_durations`) are written last.
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
import torch
from tqdm.auto import tqdm

from voiceflow.align import frame_durations, validate_alignment
from voiceflow.audio import MelStats, StatsAccumulator, log_mel
from voiceflow.config import MelConfig
from voiceflow.data.manifest import load_manifest, load_row_audio
from voiceflow.data.shard_durations import log_duration_summary, merge_counts, phone_summary
from voiceflow.data.shards import (FORMAT_VERSION, INDEX, LENGTHS, PHONE_LENGTHS, inventory_sha, npy_shape,
                                   read_meta, shard_paths)
from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path, write_json
from voiceflow.text import PhoneInventory

SHARD_KEYS = ("id", "audio", "duration", "alignment")


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


def encode_utterance(row: dict, manifest: str | Path, mel: MelConfig, inventory: PhoneInventory):
    """``(log-mel (n_mels, frames) float32, phone ids (P,), frames per phone (P,))`` of one row."""
    uid = str(row["id"])
    try:
        x = log_mel(load_row_audio(row, manifest, mel.sample_rate), mel)
        frames, hop_s = int(x.shape[1]), mel.hop_length / mel.sample_rate
        alignment, duration = row["alignment"], float(row["duration"])
        validate_alignment(alignment, duration, name=uid)
        if abs(duration - (frames - 1) * hop_s) > 2 * hop_s:
            raise VoiceflowError(f"manifest duration {duration:.3f} s does not match the audio "
                                 f"({(frames - 1) * hop_s:.3f} s)")
        ids = np.asarray(inventory.ids(str(p) for p, _, _ in alignment), dtype=np.int64)
        durations = np.asarray(frame_durations(alignment, frames, mel.sample_rate, mel.hop_length), dtype=np.int32)
        if not torch.isfinite(x).all():
            raise VoiceflowError("log-mel is not finite")
    except VoiceflowError as e:
        text = str(e)
        raise VoiceflowError(text if text.startswith(f"{uid}: ") else f"{uid}: {text}") from None
    return x, ids, durations


def write_shard(out: Path, name: str, mels: Sequence[np.ndarray], ids: Sequence[str], speakers: Sequence[str],
                phone_ids: Sequence[np.ndarray], phone_frames: Sequence[np.ndarray], n_mels: int, n_phones: int,
                fingerprint: str = "{}", stats: np.ndarray | None = None,
                skipped: Sequence[tuple[str, str]] = ()) -> dict:
    """Write one shard atomically (mel, then meta); ``mels`` are (frames, n_mels). Returns its index entry,
    with its phone summary (``phone_lengths``, ``duration_counts``: see :func:`phone_summary`)."""
    frames = np.array([m.shape[0] for m in mels], dtype=np.int32)
    runs = np.array([len(p) for p in phone_ids], dtype=np.int64)
    mel = np.concatenate(list(mels), axis=0).astype(np.float16) if mels else np.zeros((0, n_mels), np.float16)
    phone_dtype = np.int16 if n_phones <= np.iinfo(np.int16).max else np.int32
    cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype))
    meta = {
        "ids": np.array([str(i) for i in ids], dtype=str), "speakers": np.array([str(s) for s in speakers], dtype=str),
        "offsets": np.concatenate([[0], np.cumsum(frames, dtype=np.int64)]), "frames": frames,
        "phone_ids": cat(phone_ids, phone_dtype), "phone_frames": cat(phone_frames, np.int32),
        "phone_offsets": np.concatenate([[0], np.cumsum(runs)]), "fingerprint": np.array(fingerprint),
        "stats": np.zeros(4) if stats is None else np.asarray(stats, dtype=np.float64),
        "skipped_ids": np.array([i for i, _ in skipped], dtype=str),
        "skipped_errors": np.array([e for _, e in skipped], dtype=str),
    }
    mel_path, meta_path = shard_paths(out, name)
    with atomic_path(mel_path) as tmp, open(tmp, "wb") as f:
        np.save(f, mel)
    with atomic_path(meta_path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **meta)
    phone_lengths, duration_counts = phone_summary(meta["phone_offsets"], meta["phone_frames"])
    return {"name": name, "utterances": len(frames), "frames": int(frames.sum()), "phone_lengths": phone_lengths,
            "duration_counts": duration_counts}


def _shard_job(job: dict) -> dict:
    """Worker: encode and write one shard; ``{"name", "error"}`` or the shard's summary."""
    torch.set_num_threads(1)
    mels, ids, speakers, phone_ids, phone_frames, skipped = [], [], [], [], [], []
    acc = StatsAccumulator()
    for row in job["rows"]:
        try:
            x, pid, dur = encode_utterance(row, job["manifest"], job["mel"], job["inventory"])
        except VoiceflowError as e:
            if job["on_error"] == "stop":
                return {"name": job["name"], "error": str(e)}
            skipped.append((str(row["id"]), str(e)))
            continue
        acc.add(x)
        mels.append(x.T.numpy().astype(np.float16))
        ids.append(str(row["id"]))
        speakers.append(str(row.get("speaker", "")))
        phone_ids.append(pid)
        phone_frames.append(dur)
    parts = np.array([acc.total, acc.total_sq, acc.count, acc.frames], dtype=np.float64)
    entry = write_shard(Path(job["out"]), job["name"], mels, ids, speakers, phone_ids, phone_frames,
                        job["mel"].n_mels, len(job["inventory"]), job["fingerprint"], parts, skipped)
    return {**entry, "error": None}


def _complete(out: Path, name: str, expected: str) -> dict | None:
    """The summary of shard ``name`` if it is complete and was written from the same input, None if
    it is absent or incomplete; an error if it was written from other input."""
    mel_path, meta_path = shard_paths(out, name)
    if not meta_path.is_file():
        return None
    meta = read_meta(meta_path)
    found, want = json.loads(str(meta["fingerprint"])), json.loads(expected)
    changed = [what for key, what in (("rows_sha", "manifest rows, --shard-frames or --seed"), ("mel", "mel config"),
                                      ("phones_sha", "phone inventory"), ("version", "format version"))
               if found.get(key) != want[key]]
    if changed:
        raise VoiceflowError(f"{meta_path}: written from other input (different {'; '.join(changed)}); "
                             f"remove {out} or write to another --out")
    if not mel_path.is_file() or npy_shape(mel_path)[0] != int(meta["offsets"][-1]):
        return None
    phone_lengths, duration_counts = phone_summary(meta["phone_offsets"], meta["phone_frames"])
    return {"name": name, "utterances": len(meta["frames"]), "frames": int(meta["frames"].sum()),
            "lengths": meta["frames"], "stats": meta["stats"], "phone_lengths": phone_lengths,
            "duration_counts": duration_counts,
            "skipped": list(zip(meta["skipped_ids"].tolist(), meta["skipped_errors"].tolist()))}


def _accumulator(parts: np.ndarray) -> StatsAccumulator:
    """A StatsAccumulator holding ``[sum, sum of squares, values, frames]``."""
    acc = StatsAccumulator()
    acc.total, acc.total_sq, acc.count, acc.frames = float(parts[0]), float(parts[1]), int(parts[2]), int(parts[3])
    return acc


def _remove_temporaries(out: Path) -> None:
    for tmp in out.glob(".shard-*.tmp"):
        tmp.unlink(missing_ok=True)


def write_shard_set(manifest: str | Path, out: str | Path, phones: str | Path, mel: MelConfig | None = None,
                    shard_frames: int | None = None, jobs: int = 1, on_error: str = "stop",
                    stats_path: str | Path | None = None, shuffle_seed: int | None = 0, progress: bool = True) -> dict:
    """Write (or complete) the shard set of ``manifest`` at ``out``; see the module docstring.

    Returns ``{"shards", "written", "reused", "utterances", "frames", "skipped": [(id, error)], "stats"}``.
    """
    if on_error not in ("stop", "skip"):
        raise ValueError(f"on_error must be stop or skip, got {on_error!r}")
    mel, out = mel or MelConfig(), Path(out)
    inventory = PhoneInventory.load(phones)
    phones_sha = inventory_sha(inventory)
    rows = load_manifest(manifest, require=SHARD_KEYS)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(rows)
    plan = plan_shards(rows, mel, shard_frames or default_shard_frames(mel))
    names = [f"shard-{k:06d}" for k in range(len(plan))]
    prints = [fingerprint(part, mel, phones_sha) for part in plan]
    out.mkdir(parents=True, exist_ok=True)
    stray = sorted({p.name.split(".")[0] for p in out.glob("shard-*.*")} - set(names))
    if stray:
        raise VoiceflowError(f"{out}: holds {stray[0]}, which {manifest} does not produce (the input changed); "
                             f"remove {out} or write to another --out")
    _remove_temporaries(out)  # left by a killed run
    done = {n: _complete(out, n, fp) for n, fp in zip(names, prints)}
    left_out = [s for d in done.values() if d for s in d["skipped"]]
    if left_out and on_error == "stop":
        raise VoiceflowError(f"{out}: shards written with --on-error skip left out {len(left_out)} utterance(s) "
                             f"({left_out[0][1]}); rerun with --on-error skip or remove {out}")
    todo = [dict(name=n, rows=part, manifest=str(manifest), out=str(out), mel=mel, inventory=inventory,
                 fingerprint=fp, on_error=on_error)
            for n, part, fp in zip(names, plan, prints) if done[n] is None]
    pool = mp.get_context("spawn").Pool(min(jobs, len(todo))) if jobs > 1 and len(todo) > 1 else None
    try:
        results = pool.imap_unordered(_shard_job, todo) if pool else map(_shard_job, todo)
        for result in tqdm(results, total=len(todo), desc="shards", dynamic_ncols=True, disable=not progress):
            if result["error"] is not None:
                raise VoiceflowError(f"{manifest}: {result['error']} (nothing written for {result['name']})")
    finally:
        if pool:
            pool.terminate()
            pool.join()
            _remove_temporaries(out)
    shards = [done[n] or _complete(out, n, fp) for n, fp in zip(names, prints)]
    acc = StatsAccumulator()
    for shard in shards:
        acc.merge(_accumulator(shard["stats"]))
    if acc.count == 0:
        raise VoiceflowError(f"{manifest}: no utterance could be processed")
    stats = acc.result()
    skipped = [s for shard in shards for s in shard["skipped"]]
    write_index(out, mel, phones_sha, prints, shards, stats, skipped)
    if stats_path:
        stats.save(stats_path)
    return {"shards": len(names), "written": len(todo), "reused": len(names) - len(todo),
            "utterances": sum(s["utterances"] for s in shards), "frames": sum(s["frames"] for s in shards),
            "skipped": skipped, "stats": stats}


def write_index(out: Path, mel: MelConfig, phones_sha: str, prints: Sequence[str], shards: Sequence[dict],
                stats: MelStats | None = None, skipped: Sequence[tuple[str, str]] = ()) -> None:
    """``lengths.npy``, ``phone_lengths.npy``, then ``index.json`` (the set's commit point). ``shards``:
    entries with ``lengths`` and, for the duration model's summary, ``phone_lengths`` and ``duration_counts``
    (without them in every entry, readers compute those from the metas)."""
    lengths = [np.asarray(s["lengths"], dtype=np.int32) for s in shards]
    with atomic_path(out / LENGTHS) as tmp, open(tmp, "wb") as f:
        np.save(f, np.concatenate(lengths) if lengths else np.zeros(0, np.int32))
    durations = None
    if all("phone_lengths" in s and "duration_counts" in s for s in shards):
        phones = [np.asarray(s["phone_lengths"], dtype=np.int32) for s in shards]
        with atomic_path(out / PHONE_LENGTHS) as tmp, open(tmp, "wb") as f:
            np.save(f, np.concatenate(phones) if phones else np.zeros(0, np.int32))
        durations = log_duration_summary(merge_counts([s["duration_counts"] for s in shards]))
    write_json(out / INDEX, {
        "version": FORMAT_VERSION, "n_mels": mel.n_mels, "dtype": "float16", "mel": dataclasses.asdict(mel),
        "phones_sha": phones_sha, "input_sha": hashlib.sha256("\n".join(prints).encode("utf-8")).hexdigest(),
        "shards": [{"name": s["name"], "utterances": int(s["utterances"]), "frames": int(s["frames"])}
                   for s in shards],
        "stats": None if stats is None else {"mean": stats.mean, "std": stats.std, "frames": stats.frames},
        "skipped": [{"id": i, "error": e} for i, e in skipped],
        "durations": durations,
    })
