"""LJSpeech 1.1: one speaker ("LJ"), 13 100 clips, 24 h, 22 050 Hz.

Layout (as unpacked from LJSpeech-1.1.tar.bz2)::

    LJSpeech-1.1/
      metadata.csv        ID|raw transcript|normalized transcript   (no header, UTF-8)
      wavs/ID.wav         22 050 Hz mono 16-bit PCM

Rows: ``id``, ``audio``, ``speaker`` "LJ", ``text`` (the normalized column; the raw one when
it is empty), ``text_original`` (the raw column), ``duration``, ``split``.

Splits (the same on every run and machine): the well-formed metadata lines are ordered by
``sha256("voiceflow-ljspeech:" + ID)``; the first ``valid_size`` (100) are valid, the next
``test_size`` (500) test, the rest train. A corpus too small for that (held-out sets over
half of it, e.g. a test fixture) holds out ``max(1, n // 20)`` valid and ``max(1, n // 10)``
test utterances instead. An audio file found bad later only leaves its own split.

    from voiceflow.data.corpora import prepare
    prepare("ljspeech", "downloads/LJSpeech-1.1", "data/manifests/raw")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

from voiceflow.data.corpora.common import Report, stable_rank
from voiceflow.errors import VoiceflowError

FOLDER = "LJSpeech-1.1"
SPEAKER = "LJ"
SALT = "voiceflow-ljspeech"


def find_root(path: str | os.PathLike) -> Path | None:
    """The LJSpeech folder (with metadata.csv and wavs/): ``path`` itself or ``path/LJSpeech-1.1``."""
    for base in (Path(path), Path(path) / FOLDER):
        if (base / "metadata.csv").is_file() and (base / "wavs").is_dir():
            return base
    return None


def held_out_sizes(n: int, valid_size: int = 100, test_size: int = 500) -> tuple[int, int]:
    """(valid, test) sizes for ``n`` utterances: as asked, or 5 % / 10 % when they exceed half."""
    if n < 3:
        return 0, 0
    if valid_size + test_size > n // 2:
        return max(1, n // 20), max(1, n // 10)
    return valid_size, test_size


def _entries(meta: Path, report: Report) -> list[tuple[str, str, str]]:
    """``(id, text, raw text)`` of every well-formed metadata line; bad lines are reported."""
    out, seen = [], set()
    try:
        lines = meta.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise VoiceflowError(f"{meta}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split("|")
        uid = fields[0].strip()
        if len(fields) < 2 or not uid or " " in uid:
            report.problem(f"{meta}:{n}", "malformed line (expected ID|raw text|normalized text)")
            continue
        raw = fields[1].strip()
        text = (fields[2].strip() if len(fields) > 2 else "") or raw
        if not text:
            report.problem(f"{meta}:{n}", f"empty transcript for {uid}")
            continue
        if uid in seen:
            report.problem(f"{meta}:{n}", f"duplicate id {uid}")
            continue
        seen.add(uid)
        out.append((uid, text, raw))
    if not lines or not any(line.strip() for line in lines):
        raise VoiceflowError(f"{meta}: empty (no ID|raw text|normalized text lines)")
    return out


def scan(root: str | os.PathLike, report: Report, subsets: Iterable[str] | None = None,
         valid_size: int = 100, test_size: int = 500) -> Iterator[dict]:
    """Rows of LJSpeech under ``root`` (the LJSpeech-1.1 folder or its parent), durations to fill."""
    if subsets:
        raise VoiceflowError("ljspeech has no subsets (leave out --subsets)")
    base = find_root(root)
    if base is None:
        raise VoiceflowError(f"{root}: not an LJSpeech copy (expected metadata.csv and wavs/ "
                             f"in it or in {Path(root) / FOLDER})")
    base = Path(os.path.abspath(base))
    entries = _entries(base / "metadata.csv", report)
    n_valid, n_test = held_out_sizes(len(entries), valid_size, test_size)
    ranked = stable_rank([uid for uid, _, _ in entries], SALT)
    split = dict.fromkeys(ranked[:n_valid], "valid")
    split.update(dict.fromkeys(ranked[n_valid:n_valid + n_test], "test"))
    for uid, text, raw in entries:
        yield {"id": uid, "audio": str(base / "wavs" / f"{uid}.wav"), "speaker": SPEAKER, "text": text,
               "text_original": raw, "split": split.get(uid, "train")}
