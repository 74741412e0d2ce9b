"""One shard of a shard set (format: :mod:`voiceflow.data.shards`): the worker side of
:mod:`voiceflow.data.shard_writer`.

::

    result = encode_shard({"name": "shard-000000", "rows": rows, "manifest": "data/train.jsonl",
                           "out": "data/shards/train", "mel": MelConfig(), "inventory": inventory,
                           "fingerprint": fp, "on_error": "stop"})

For each row it reads the audio (:func:`~voiceflow.data.manifest.load_row_audio`, which
honours ``offset``; relative paths are relative to the row's manifest), computes the log-mel
(the mel contract), checks the alignment against it
(:func:`~voiceflow.align.validate_alignment`, and the manifest duration against the audio)
and turns the alignment into phone runs with frame durations
(:func:`~voiceflow.align.frame_durations`); then it writes the shard's two files
(:func:`write_shard`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from voiceflow.align import frame_durations, validate_alignment
from voiceflow.audio import StatsAccumulator, log_mel
from voiceflow.config import MelConfig
from voiceflow.data.manifest import load_row_audio
from voiceflow.data.shard_durations import phone_summary
from voiceflow.data.shards import shard_paths
from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path
from voiceflow.text import PhoneInventory


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


def encode_shard(job: dict) -> dict:
    """Worker: encode and write one shard; ``{"name", "error"}`` (nothing written) or the shard's summary
    with ``"error": None``. A bad row stops the shard (``job["on_error"] == "stop"``) or is left out."""
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
