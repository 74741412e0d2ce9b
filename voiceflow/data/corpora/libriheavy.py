"""LibriHeavy: ~50 k hours of LibriLight audiobooks with cased, punctuated transcripts.

Two parts, downloaded separately:

* the audio: LibriLight's long flac recordings (``small.tar``, ``medium.tar``, ``large.tar``),
  unpacked under one root (``--root``)::

      <root>/small/<speaker>/<book>/<file>.flac      16 kHz, minutes long
      <root>/medium/...   <root>/large/...

* the cut manifests (``--cuts DIR``): ``libriheavy_cuts_<subset>.jsonl.gz`` for subsets
  small, medium, large (disjoint: "large" in the paper is all three), dev, test_clean,
  test_other, test_clean_large, test_other_large; one lhotse MonoCut per line::

      {"id": "small/100/sea_fairies_0812_librivox_64kb_mp3/01_baum_sea_fairies_64kb_0",
       "start": 243.919, "duration": 7.36,
       "supervisions": [{"start": 0, "duration": 7.36, "speaker": "100",
                         "custom": {"texts": [BOOK TEXT, ASR TEXT], "pre_texts": [...], ...}}],
       "recording": {"sources": [{"type": "file", "source":
                         "download/librilight/small/100/sea_fairies_0812_librivox_64kb_mp3/01_baum_sea_fairies_64kb.flac"}],
                     "sampling_rate": 16000, "duration": 597.942, ...}, "type": "MonoCut"}

Sources are relative to LibriHeavy's own working directory (``download/librilight/``): that
prefix is mapped onto the audio root; a source without it is taken as relative to the root,
an absolute one as is. The dev and test cuts point into all of small/, medium/ and large/.

Rows: ``id`` (the cut id with ``/`` -> ``_``, a file-safe name), ``audio``, ``offset`` (cut
start + supervision start, seconds into the recording) and ``duration`` (the
supervision's), ``speaker``, ``text`` (``texts[0]``: the book's text, cased and punctuated),
``text_normalized`` (``texts[1]``: upper case, no punctuation, as LibriHeavy's ASR pass wrote
it), ``cut_id``, ``subset``, ``split``: small/medium/large -> train, dev -> valid, test_* ->
test. Default subsets: small, dev, test_clean, test_other (those whose manifest exists).

At ~20 M cuts the manifests are streamed line by line and each recording is checked once
(that it exists; with ``check_audio`` that its header reads and holds the segment).
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator

from voiceflow.data.corpora.common import Report, pick_subsets
from voiceflow.errors import VoiceflowError

SUBSETS = ("small", "medium", "large", "dev", "test_clean", "test_other", "test_clean_large", "test_other_large")
DEFAULT_SUBSETS = ("small", "dev", "test_clean", "test_other")
AUDIO_PARTS = ("small", "medium", "large")
SOURCE_PREFIX = "download/librilight/"


def split_of(subset: str) -> str:
    return "train" if subset in AUDIO_PARTS else "valid" if subset == "dev" else "test"


def cuts_file(cuts_dir: Path, subset: str) -> Path:
    return Path(cuts_dir) / f"libriheavy_cuts_{subset}.jsonl.gz"


def find_audio_root(path: str | os.PathLike) -> Path | None:
    """LibriLight's audio root (holding small/, medium/ or large/): ``path``, ``path/librilight``
    or ``path/download/librilight``."""
    for base in (Path(path), Path(path) / "librilight", Path(path) / "download" / "librilight"):
        if any((base / p).is_dir() for p in AUDIO_PARTS):
            return base
    return None


def find_cuts_dir(path: str | os.PathLike) -> Path | None:
    """The folder of the cut manifests: ``path`` or ``path/libriheavy``."""
    for base in (Path(path), Path(path) / "libriheavy"):
        if any(cuts_file(base, s).is_file() for s in SUBSETS):
            return base
    return None


def audio_path(source: str, audio_root: Path) -> Path:
    """Where a cut's recording source lies under ``audio_root`` (see the module doc)."""
    if os.path.isabs(source):
        return Path(source)
    parts = PurePosixPath(source).parts
    prefix = PurePosixPath(SOURCE_PREFIX).parts
    if parts[:len(prefix)] == prefix:
        parts = parts[len(prefix):]
    elif parts[:1] == ("librilight",):
        parts = parts[1:]
    return audio_root.joinpath(*parts)


def cut_row(cut: dict, audio_root: Path) -> tuple[dict | None, str | None]:
    """One MonoCut -> ``(row without split, None)`` or ``(None, problem)``."""
    cid = cut.get("id", "?") if isinstance(cut, dict) else "?"
    try:
        sups = cut["supervisions"]
        if len(sups) != 1:
            return None, f"cut {cid}: expected one supervision, found {len(sups)}"
        sup = sups[0]
        texts = (sup.get("custom") or {}).get("texts") or [sup.get("text") or ""]
        text = " ".join(str(texts[0] or "").split())
        if not text:
            return None, f"cut {cid}: empty transcript"
        sources = [s for s in cut["recording"]["sources"] if s.get("type", "file") == "file"]
        if not sources:
            return None, f"cut {cid}: no file source in its recording"
        offset = float(cut["start"]) + float(sup.get("start") or 0.0)
        duration = float(sup.get("duration") or cut["duration"])
        speaker = str(sup.get("speaker") or cid.split("/")[1])
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        name = f"field {e}" if isinstance(e, KeyError) else f"field ({e})"
        return None, f"cut {cid}: missing or malformed {name}"
    if duration <= 0 or offset < 0:
        return None, f"cut {cid}: bad segment (start {offset}, duration {duration})"
    recorded = cut["recording"].get("duration")
    if isinstance(recorded, (int, float)) and offset + duration > recorded + 0.05:
        return None, f"cut {cid}: segment ends at {offset + duration:.3f} s, after its recording ({recorded} s)"
    row = {"id": cid.replace("/", "_"), "audio": str(audio_path(sources[0]["source"], audio_root)),
           "offset": round(offset, 6), "duration": round(duration, 6), "speaker": speaker, "text": text}
    if len(texts) > 1 and texts[1]:
        row["text_normalized"] = " ".join(str(texts[1]).split())
    row["cut_id"] = cid
    return row, None


def read_cuts(path: Path, subset: str, audio_root: Path, report: Report) -> Iterator[dict]:
    """Stream the rows of one cut manifest; bad lines and an unreadable gzip tail are reported."""
    split = split_of(subset)
    n = 0
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = f"{path}:{n}"
                try:
                    cut = json.loads(line.strip())
                except json.JSONDecodeError as e:
                    report.problem(where, f"not valid JSON ({e.msg} at column {e.colno})")
                    continue
                row, problem = cut_row(cut, audio_root)
                if problem is not None:
                    report.problem(where, problem)
                    continue
                row.update(subset=subset, split=split, _where=where)
                yield row
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as e:
        report.problem(f"{path}:{n + 1}", f"unreadable gzip data ({str(e) or type(e).__name__}); "
                                          "the rest of the file is left out")


def scan(root: str | os.PathLike, report: Report, subsets: Iterable[str] | None = None,
         cuts: str | os.PathLike | None = None) -> Iterator[dict]:
    """Stream the rows of the chosen subsets: audio under ``root``, manifests in ``cuts``."""
    audio_root = find_audio_root(root)
    if audio_root is None:
        raise VoiceflowError(f"{root}: no LibriLight audio (expected small/, medium/ or large/ in it)")
    audio_root = Path(os.path.abspath(audio_root))
    cuts_dir = find_cuts_dir(cuts if cuts is not None else root)
    if cuts_dir is None:
        raise VoiceflowError(f"{cuts if cuts is not None else root}: no libriheavy_cuts_*.jsonl.gz (give --cuts DIR; "
                             "voiceflow download --corpus libriheavy --parts cuts fetches them)")
    chosen = pick_subsets(subsets, SUBSETS, DEFAULT_SUBSETS,
                          lambda s: cuts_file(cuts_dir, s) if cuts_file(cuts_dir, s).is_file() else None,
                          "LibriHeavy", cuts_dir)
    for subset in chosen:
        yield from read_cuts(cuts_file(cuts_dir, subset), subset, audio_root, report)
