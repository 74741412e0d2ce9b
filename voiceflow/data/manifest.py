"""Manifests: JSON Lines, one utterance per line (docs/DESIGN.md).

Required keys: ``id``, ``audio`` (path), ``speaker``, ``text``, ``duration`` (seconds). Optional
``offset`` (seconds): the utterance is the segment [offset, offset + duration) of the audio
file (LibriHeavy's cuts of long LibriLight recordings); read it with :func:`load_row_audio`. Once
aligned: ``alignment`` (list of [phone, start_s, end_s]) and optionally ``words``. After the
features stage: ``feats`` (path of a .npy log-mel, (n_mels, frames)) and ``frames``.

Stages never edit a manifest in place: they read one and write another (atomically).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

from voiceflow.errors import VoiceflowError
from voiceflow.fileio import iter_jsonl, read_jsonl, write_jsonl

BASE_KEYS = ("id", "audio", "speaker", "text", "duration")


PATH_KEYS = ("audio", "feats")  # paths: absolute, or relative to the manifest's directory
_TEXT_KEYS = ("id", "audio", "speaker", "text", "feats")
_NUMBER_KEYS = ("duration", "offset")


def check_row_types(row: dict, where: str) -> None:
    """The known keys hold what the stages read: strings (``id``, ``audio``, ``speaker`` (or
    an integer), ``text``, ``feats``) and numbers of seconds (``duration``, ``offset``); a null text or a
    duration of "2.4s" is an error here rather than the word "none" or a traceback later."""
    for key in _TEXT_KEYS:
        if key in row and not isinstance(row[key], str) and not (key == "speaker" and type(row[key]) is int):
            raise VoiceflowError(f"{where}: {key!r} must be a string, got {row[key]!r}")
    for key in _NUMBER_KEYS:
        value = row.get(key)
        if key in row and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise VoiceflowError(f"{where}: {key!r} must be a number of seconds, got {value!r}")


def load_manifest(path: str | Path, require: tuple[str, ...] = BASE_KEYS, missing_hint: str = "") -> list[dict]:
    """Read a manifest and check that every row has the ``require``d keys (``missing_hint``:
    appended to that error, e.g. which stage writes them), values of the right types
    (:func:`check_row_types`) and a unique id."""
    rows = read_jsonl(path)
    if not rows:
        raise VoiceflowError(f"{path}: manifest is empty")
    seen: set[str] = set()
    for n, row in enumerate(rows, 1):
        missing = [k for k in require if k not in row]
        if missing:
            raise VoiceflowError(f"{path}:{n}: missing key(s) {', '.join(missing)}{missing_hint}")
        check_row_types(row, f"{path}:{n}")
        if "id" in row:
            if row["id"] in seen:
                raise VoiceflowError(f"{path}:{n}: duplicate id {row['id']!r}")
            seen.add(row["id"])
    return rows


def iter_manifest(path: str | Path, require: tuple[str, ...] = BASE_KEYS) -> Iterator[tuple[int, dict]]:
    """``(line number, row)`` of a manifest, one line at a time (never all rows), checking that every
    row has the ``require``d keys; an empty manifest is an error. Ids are not checked for uniqueness."""
    empty = True
    for n, row in iter_jsonl(path):
        missing = [k for k in require if k not in row]
        if missing:
            raise VoiceflowError(f"{path}:{n}: missing key(s) {', '.join(missing)}")
        check_row_types(row, f"{path}:{n}")
        empty = False
        yield n, row
    if empty:
        raise VoiceflowError(f"{path}: manifest is empty")


def manifest_files(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """The manifests named by ``paths``, in order: a file names itself, a directory its ``*.jsonl``
    files in sorted name order (the pieces of a manifest too large to read at once)."""
    files = []
    for path in map(Path, [paths] if isinstance(paths, (str, os.PathLike)) else paths):
        if path.is_dir():
            pieces = sorted((p for p in path.glob("*.jsonl") if p.is_file()), key=lambda p: p.name)
            if not pieces:
                raise VoiceflowError(f"{path}: directory holds no *.jsonl manifest")
            files.extend(pieces)
        else:
            files.append(path)
    if not files:
        raise ValueError("no manifest given")
    return files


def save_manifest(path: str | Path, rows: list[dict], source: str | Path | None = None) -> None:
    """Write ``rows`` (atomically). ``source``: the manifest they were read from; relative
    paths (``audio``, ``feats``) are rewritten relative to ``path``'s directory, so that they
    name the same files from the new manifest."""
    if source is not None and Path(source).resolve().parent != Path(path).resolve().parent:
        new_dir = Path(path).resolve().parent
        rows = [{**row, **{k: os.path.relpath(resolve(row[k], source).resolve(), new_dir)
                           for k in PATH_KEYS if isinstance(row.get(k), str) and not Path(row[k]).is_absolute()}}
                for row in rows]
    write_jsonl(path, rows)


def resolve(path_in_manifest: str, manifest_path: str | Path) -> Path:
    """Paths in a manifest are absolute or relative to the manifest's directory."""
    p = Path(path_in_manifest)
    return p if p.is_absolute() else Path(manifest_path).parent / p


def load_row_audio(row: dict, manifest_path: str | Path, sample_rate: int):
    """The waveform (samples,) of one manifest row at ``sample_rate``, honouring ``offset``."""
    from voiceflow.audio import load_audio

    path = resolve(str(row["audio"]), manifest_path)
    if "offset" in row:
        return load_audio(path, sample_rate, offset=float(row["offset"]), duration=float(row["duration"]))
    return load_audio(path, sample_rate)
