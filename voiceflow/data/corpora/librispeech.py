"""LibriSpeech (openslr 12): 16 kHz read speech; test-clean holds the Voicebox evaluation sets.

Layout (as unpacked from <subset>.tar.gz)::

    LibriSpeech/<subset>/<speaker>/<chapter>/
        <speaker>-<chapter>-<nnnn>.flac      16 kHz mono
        <speaker>-<chapter>.trans.txt        lines "<speaker>-<chapter>-<nnnn> TRANSCRIPT"
                                             (upper case, no punctuation)

Subsets: train-clean-100, train-clean-360, train-other-500, dev-clean, dev-other,
test-clean, test-other; split by subset (train-* train, dev-* valid, test-* test). By
default every subset found on disk is prepared (``--subsets test-clean`` for evaluation).

Rows: ``id``, ``audio``, ``speaker``, ``text``, ``chapter``, ``subset``, ``duration``,
``split``. A transcript line without audio is reported (audio not found), as are audio
without a transcript line and malformed or empty lines (``FILE:LINE``).

    from voiceflow.data.corpora import prepare
    prepare("librispeech", "downloads/LibriSpeech", "data/librispeech", subsets=["test-clean"])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

from voiceflow.data.corpora.common import Report, pick_subsets, split_of_subset, subdirs
from voiceflow.errors import VoiceflowError

FOLDER = "LibriSpeech"
SUBSETS = ("train-clean-100", "train-clean-360", "train-other-500", "dev-clean", "dev-other",
           "test-clean", "test-other")


def find_root(path: str | os.PathLike) -> Path | None:
    """The LibriSpeech folder holding subset folders: ``path`` itself or ``path/LibriSpeech``."""
    for base in (Path(path), Path(path) / FOLDER):
        if any((base / s).is_dir() for s in SUBSETS):
            return base
    return None


def _transcripts(trans: Path, prefix: str, report: Report) -> dict[str, tuple[str, int]]:
    """``{id: (text, line number)}`` of a trans.txt; malformed lines are reported."""
    out: dict[str, tuple[str, int]] = {}
    try:
        lines = trans.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        report.problem(trans, "transcript file is not UTF-8 text")
        return out
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        uid, _, text = line.strip().partition(" ")
        if not uid.startswith(prefix) or not uid[len(prefix):].isdigit():
            report.problem(f"{trans}:{n}", f"malformed line (expected {prefix}NNNN TRANSCRIPT)")
        elif uid in out:
            report.problem(f"{trans}:{n}", f"duplicate id {uid}")
        else:
            out[uid] = (" ".join(text.split()), n)
    return out


def _chapter_rows(subset: str, speaker: str, chapter: str, chapter_dir: Path, report: Report) -> Iterator[dict]:
    prefix = f"{speaker}-{chapter}-"
    trans = chapter_dir / f"{speaker}-{chapter}.trans.txt"
    flacs = {n[:-5] for n in os.listdir(chapter_dir) if n.endswith(".flac")}
    if not trans.is_file():
        report.problem(trans, "transcript file not found", utterances=max(1, len(flacs)))
        return
    texts = _transcripts(trans, prefix, report)
    split = split_of_subset(subset)
    for uid in sorted(set(texts) | flacs):
        audio = chapter_dir / f"{uid}.flac"
        if uid not in texts:
            report.problem(audio, f"no transcript line in {trans.name}")
            continue
        text, line = texts[uid]
        if not text:
            report.problem(f"{trans}:{line}", f"empty transcript for {uid}")
            continue
        yield {"id": uid, "audio": str(audio), "speaker": speaker, "text": text, "chapter": chapter,
               "subset": subset, "split": split}


def scan(root: str | os.PathLike, report: Report, subsets: Iterable[str] | None = None) -> Iterator[dict]:
    """Rows of the chosen subsets under ``root`` (the LibriSpeech folder or its parent)."""
    base = find_root(root)
    if base is None:
        raise VoiceflowError(f"{root}: not a LibriSpeech copy (expected subset folders such as "
                             f"test-clean/ in it or in {Path(root) / FOLDER})")
    base = Path(os.path.abspath(base))
    chosen = pick_subsets(subsets, SUBSETS, SUBSETS, lambda s: base / s if (base / s).is_dir() else None,
                          "LibriSpeech", base)
    for subset in chosen:
        for speaker in subdirs(base / subset):
            for chapter in subdirs(base / subset / speaker):
                yield from _chapter_rows(subset, speaker, chapter, base / subset / speaker / chapter, report)
