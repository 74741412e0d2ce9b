"""VCTK 0.92: 110 English speakers, 44 h, 48 kHz flac from two microphones.

Layout (as unpacked from VCTK-Corpus-0.92.zip, which has no top folder of its own)::

    VCTK-Corpus-0.92/
      speaker-info.txt                          ID AGE GENDER ACCENTS REGION COMMENTS
      txt/<spk>/<spk>_<nnn>.txt                 one sentence
      wav48_silence_trimmed/<spk>/<spk>_<nnn>_mic1.flac   (and _mic2.flac)

Rows: ``id`` (``p225_001``), ``audio`` (the ``mic`` file, mic1 by default), ``speaker``,
``text``, ``mic``, ``gender`` and ``accent`` (from speaker-info.txt), ``duration``,
``split``.

Known holes of the release are reported in skipped.tsv and never stop the run: p315 has
recordings but no transcripts, p280 has no mic2 files, a few transcripts of p362 have no
recordings. So any recording without a transcript, or transcript without a recording of
the chosen mic, is listed and left out whatever ``on_error`` says. An empty transcript or a
corrupt audio file follows ``on_error``.

Splits (fixed: the same on every run and machine):
  test  -- ``test_size`` (8) unseen speakers: the speakers with transcripts ordered by
           ``sha256("voiceflow-vctk-test:" + speaker)``, taken alternately from the female
           and male lists of speaker-info.txt (4 F + 4 M); never more than a quarter
           of the speakers (at least 1; a fixture of 4 speakers holds out 1).
  valid -- of every other speaker, the ``valid_size`` (2) utterances first in the order of
           ``sha256("voiceflow-vctk-valid:" + id)`` (at most all but one of its utterances).
  train -- the rest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

from voiceflow.data.corpora.common import Report, read_transcript, stable_rank, subdirs
from voiceflow.errors import VoiceflowError

FOLDER = "VCTK-Corpus-0.92"
AUDIO = "wav48_silence_trimmed"
MICS = ("mic1", "mic2")


def find_root(path: str | os.PathLike) -> Path | None:
    """The VCTK folder (txt/ and wav48_silence_trimmed/): ``path`` or ``path/VCTK-Corpus-0.92``."""
    for base in (Path(path), Path(path) / FOLDER):
        if (base / "txt").is_dir() and (base / AUDIO).is_dir():
            return base
    return None


def speaker_info(path: Path) -> dict[str, dict]:
    """``{speaker: {"age", "gender", "accent"}}`` from speaker-info.txt ({} if absent)."""
    if not path.is_file():
        return {}
    info = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split()
        if not fields or fields[0].upper() == "ID":
            continue
        speaker = fields[0] if fields[0][0].isalpha() else f"p{fields[0]}"  # VCTK 0.80 wrote 225
        info[speaker] = {"age": fields[1] if len(fields) > 1 else "",
                         "gender": fields[2].upper() if len(fields) > 2 else "",
                         "accent": fields[3] if len(fields) > 3 else ""}
    return info


def test_speakers(speakers: list[str], info: dict[str, dict], test_size: int = 8) -> list[str]:
    """The held-out speakers: hash-ranked, alternately female and male (see the module doc)."""
    if len(speakers) < 2:
        return []
    n = min(test_size, max(1, len(speakers) // 4))
    groups: dict[str, list[str]] = {}
    for spk in stable_rank(speakers, "voiceflow-vctk-test"):
        groups.setdefault(info.get(spk, {}).get("gender") or "?", []).append(spk)
    queues = [groups[g] for g in sorted(groups)]  # F, M, then unknown
    picked: list[str] = []
    while len(picked) < n:
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    return picked


def _speaker_items(base: Path, spk: str, mic: str, report: Report) -> list[tuple[str, Path, str]]:
    """``(id, audio, text)`` of one speaker's utterances with a transcript and a ``mic`` recording."""
    audio_dir = base / AUDIO / spk
    texts = sorted(n[:-4] for n in os.listdir(base / "txt" / spk) if n.endswith(".txt"))
    recorded = {n[:-len(f"_{mic}.flac")] for n in os.listdir(audio_dir)
                if n.endswith(f"_{mic}.flac")} if audio_dir.is_dir() else set()
    if not recorded:
        report.gap(audio_dir, f"no {mic} recordings of speaker {spk} ({len(texts)} transcripts left out)",
                   utterances=max(1, len(texts)))
        return []
    items = []
    for uid in texts:
        if uid not in recorded:
            report.gap(audio_dir / f"{uid}_{mic}.flac", f"no {mic} recording of {uid} (the transcript has none)")
            continue
        text = read_transcript(base / "txt" / spk / f"{uid}.txt", report)
        if text is not None:
            items.append((uid, audio_dir / f"{uid}_{mic}.flac", text))
    for uid in sorted(recorded - set(texts)):
        report.gap(audio_dir / f"{uid}_{mic}.flac", f"no transcript (txt/{spk}/{uid}.txt) for this recording")
    return items


def scan(root: str | os.PathLike, report: Report, subsets: Iterable[str] | None = None, mic: str = "mic1",
         valid_size: int = 2, test_size: int = 8) -> Iterator[dict]:
    """Rows of VCTK under ``root`` (the VCTK-Corpus-0.92 folder or its parent)."""
    if subsets:
        raise VoiceflowError("vctk has no subsets (leave out --subsets)")
    if mic not in MICS:
        raise VoiceflowError(f"unknown VCTK microphone {mic!r} (one of: {', '.join(MICS)})")
    base = find_root(root)
    if base is None:
        raise VoiceflowError(f"{root}: not a VCTK 0.92 copy (expected txt/ and {AUDIO}/ in it "
                             f"or in {Path(root) / FOLDER})")
    base = Path(os.path.abspath(base))
    info = speaker_info(base / "speaker-info.txt")
    with_text = subdirs(base / "txt")
    for spk in sorted(set(subdirs(base / AUDIO)) - set(with_text)):
        n = sum(1 for name in os.listdir(base / AUDIO / spk) if name.endswith(f"_{mic}.flac"))
        if n:
            report.gap(base / "txt" / spk, f"no transcripts for speaker {spk} ({n} {mic} recordings left out)",
                       utterances=n)
    items = {spk: _speaker_items(base, spk, mic, report) for spk in with_text}
    held_out = set(test_speakers([s for s in with_text if items[s]], info, test_size))
    for spk in with_text:
        valid = set()
        if spk not in held_out:
            k = min(valid_size, len(items[spk]) - 1)
            valid = set(stable_rank([uid for uid, _, _ in items[spk]], "voiceflow-vctk-valid")[:max(0, k)])
        extras = {key: info[spk][key] for key in ("gender", "accent") if info.get(spk, {}).get(key)}
        for uid, audio, text in items[spk]:
            split = "test" if spk in held_out else "valid" if uid in valid else "train"
            yield {"id": uid, "audio": str(audio), "speaker": spk, "text": text, "mic": mic, **extras,
                   "split": split}
