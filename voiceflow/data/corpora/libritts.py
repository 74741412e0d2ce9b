"""LibriTTS-R (openslr 141) and LibriTTS (openslr 60): 585 h, 2 456 speakers, 24 kHz.

Both unpack to the same layout, under ``LibriTTS_R/`` or ``LibriTTS/``::

    LibriTTS_R/<subset>/<speaker>/<chapter>/
        <speaker>_<chapter>_<paragraph>_<sentence>.wav             24 kHz mono
        <speaker>_<chapter>_<paragraph>_<sentence>.normalized.txt  the text used here
        <speaker>_<chapter>_<paragraph>_<sentence>.original.txt    kept as text_original
        <speaker>_<chapter>.book.tsv, <speaker>_<chapter>.trans.tsv (not read)

Subsets: train-clean-100, train-clean-360, train-other-500, dev-clean, dev-other,
test-clean, test-other. Split by subset: train-* -> train, dev-* -> valid, test-* -> test.
By default every subset of train-*, dev-clean and test-clean found on disk is prepared;
dev-other and test-other are taken when named (``--subsets``; ``_`` spellings work too).

Rows: ``id``, ``audio``, ``speaker``, ``text``, ``text_original`` (when the file exists),
``chapter``, ``subset``, ``duration``, ``split``. An utterance is found from its .wav or its
.normalized.txt, so a transcript without audio is reported (audio not found), as is audio
without a transcript.

    from voiceflow.data.corpora import prepare
    prepare("libritts_r", "downloads/LibriTTS_R", "data/manifests/raw", subsets=["train-clean-100"])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

from voiceflow.data.corpora.common import Report, pick_subsets, read_transcript, split_of_subset, subdirs
from voiceflow.errors import VoiceflowError

SUBSETS = ("train-clean-100", "train-clean-360", "train-other-500", "dev-clean", "dev-other",
           "test-clean", "test-other")
DEFAULT_SUBSETS = ("train-clean-100", "train-clean-360", "train-other-500", "dev-clean", "test-clean")
NORMALIZED, ORIGINAL = ".normalized.txt", ".original.txt"


def find_root(path: str | os.PathLike, folder: str = "LibriTTS_R") -> Path | None:
    """The corpus folder holding subset folders: ``path`` itself or ``path/<folder>``."""
    for base in (Path(path), Path(path) / folder):
        if any((base / s).is_dir() for s in SUBSETS):
            return base
    return None


def _utterances(chapter_dir: Path) -> list[str]:
    stems = set()
    for name in os.listdir(chapter_dir):
        if name.endswith(".wav"):
            stems.add(name[:-4])
        elif name.endswith(NORMALIZED):
            stems.add(name[:-len(NORMALIZED)])
    return sorted(stems)


def _chapter_rows(subset: str, speaker: str, chapter: str, chapter_dir: Path, report: Report) -> Iterator[dict]:
    split = split_of_subset(subset)
    for stem in _utterances(chapter_dir):
        audio = chapter_dir / f"{stem}.wav"
        parts = stem.split("_")
        if len(parts) != 4 or parts[:2] != [speaker, chapter]:
            report.problem(audio, f"unexpected file name (expected {speaker}_{chapter}_PARAGRAPH_SENTENCE)")
            continue
        text = read_transcript(chapter_dir / f"{stem}{NORMALIZED}", report)
        if text is None:
            continue
        row = {"id": stem, "audio": str(audio), "speaker": speaker, "text": text}
        original = chapter_dir / f"{stem}{ORIGINAL}"
        if original.is_file():
            row["text_original"] = " ".join(original.read_text(encoding="utf-8", errors="replace").split())
        row.update(chapter=chapter, subset=subset, split=split)
        yield row


def scan(root: str | os.PathLike, report: Report, subsets: Iterable[str] | None = None,
         folder: str = "LibriTTS_R") -> Iterator[dict]:
    """Rows of the chosen subsets under ``root`` (the corpus folder or its parent)."""
    base = find_root(root, folder)
    if base is None:
        raise VoiceflowError(f"{root}: not a {folder} copy (expected subset folders such as "
                             f"train-clean-100/ in it or in {Path(root) / folder})")
    base = Path(os.path.abspath(base))
    corpus = folder.replace("_", "-")
    chosen = pick_subsets(subsets, SUBSETS, DEFAULT_SUBSETS,
                          lambda s: base / s if (base / s).is_dir() else None, corpus, base)
    for subset in chosen:
        for speaker in subdirs(base / subset):
            for chapter in subdirs(base / subset / speaker):
                yield from _chapter_rows(subset, speaker, chapter, base / subset / speaker / chapter, report)
