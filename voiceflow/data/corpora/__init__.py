"""Manifests of public speech corpora, read from each corpus's own on-disk layout.

One module per corpus scans its exact released layout (the module docs show it):

============  =============================================  ====================================
name          corpus                                         splits
============  =============================================  ====================================
ljspeech      LJSpeech 1.1                                   fixed hashed 100 valid / 500 test
libritts_r    LibriTTS-R (openslr 141)                       by subset (train-*, dev-, test-)
libritts      LibriTTS (openslr 60), same layout             by subset
vctk          VCTK 0.92 (mic1 or mic2)                       unseen test speakers, valid utts
libriheavy    LibriHeavy cuts of LibriLight recordings       by subset (small.., dev, test_*)
librispeech   LibriSpeech (openslr 12; test-clean for eval)  by subset
============  =============================================  ====================================

Every row has ``id``, ``audio`` (absolute path), ``speaker``, ``text``, ``duration``
(seconds, from the audio header), ``split`` and corpus extras (``text_original``, ...);
LibriHeavy rows add ``offset`` (seconds into a long recording)::

    from voiceflow.data.corpora import prepare
    result = prepare("vctk", "downloads/VCTK-Corpus-0.92", "data/manifests/raw",
                     on_error="skip", jobs=8, mic="mic1")
    result.splits    # {"train": {"utterances": ..., "seconds": ..., "speakers": ...}, ...}

writes ``data/manifests/raw/{train,valid,test}.jsonl`` and ``skipped.tsv`` (all or nothing).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from voiceflow.data.corpora import libriheavy, librispeech, libritts, ljspeech, vctk
from voiceflow.data.corpora.common import Report, measure, write_splits
from voiceflow.errors import VoiceflowError


@dataclass(frozen=True)
class Corpus:
    """A registered corpus: ``scan(root, report, subsets=None, **options)`` yields its rows."""

    scan: Callable
    options: tuple[str, ...] = ()   # keyword options ``scan`` takes beyond ``subsets``
    streaming: bool = False         # rows are streamed (no total count) rather than listed first
    about: str = ""


CORPORA: dict[str, Corpus] = {
    "ljspeech": Corpus(ljspeech.scan, ("valid_size", "test_size"), about="LJSpeech 1.1"),
    "libritts_r": Corpus(functools.partial(libritts.scan, folder="LibriTTS_R"), about="LibriTTS-R"),
    "libritts": Corpus(functools.partial(libritts.scan, folder="LibriTTS"), about="LibriTTS"),
    "vctk": Corpus(vctk.scan, ("mic", "valid_size", "test_size"), about="VCTK 0.92"),
    "libriheavy": Corpus(libriheavy.scan, ("cuts",), streaming=True, about="LibriHeavy (LibriLight audio)"),
    "librispeech": Corpus(librispeech.scan, about="LibriSpeech"),
}


@dataclass
class Prepared:
    """What :func:`prepare` wrote: per-split counts and the skipped problems."""

    out_dir: Path
    splits: dict[str, dict]
    report: Report = field(repr=False)

    @property
    def skipped(self) -> dict[str, list]:
        return self.report.entries


def prepare(corpus: str, root: str | os.PathLike, out_dir: str | os.PathLike, *,
            subsets: Iterable[str] | None = None, on_error: str = "stop", jobs: int = 1,
            check_audio: bool = False, echo: Callable[[str], None] | None = None,
            progress: bool | None = None, **options) -> Prepared:
    """Scan ``corpus`` under ``root`` and write ``<out_dir>/<split>.jsonl`` and ``skipped.tsv``.

    Args:
        corpus: a name of :data:`CORPORA`.
        root: the corpus folder (or its parent); for libriheavy the LibriLight audio root.
        subsets: subset names (Libri* corpora); None takes the corpus's defaults found on disk.
        on_error: "stop" -- the first bad item raises VoiceflowError naming its file and
            nothing is written; "skip" -- it is left out and listed in skipped.tsv.
        jobs: worker processes reading audio headers.
        check_audio: libriheavy: read every recording's header (not only check it exists).
        echo: called with one line per skipped item (e.g. ``tqdm.write``).
        options: corpus options (``mic`` for vctk, ``cuts`` for libriheavy, ``valid_size`` and
            ``test_size`` for ljspeech and vctk); None values are ignored.
    """
    spec = CORPORA.get(corpus)
    if spec is None:
        raise VoiceflowError(f"unknown corpus {corpus!r} (one of: {', '.join(CORPORA)})")
    if jobs < 1:
        raise VoiceflowError(f"--jobs must be >= 1 (got {jobs})")
    options = {k: v for k, v in options.items() if v is not None}
    extra = sorted(set(options) - set(spec.options))
    if extra:
        names = ", ".join("--" + k.replace("_", "-") for k in extra)
        raise VoiceflowError(f"{names}: not an option of {corpus}")
    report = Report(on_error, echo)
    rows = spec.scan(Path(root), report, subsets=subsets, **options)
    if not spec.streaming:
        rows = list(rows)
    rows = measure(rows, report, jobs=jobs, check_audio=check_audio, progress=progress)
    splits = write_splits(rows, out_dir, report, what=f"{corpus} at {root}")
    return Prepared(Path(out_dir), splits, report)


__all__ = ["CORPORA", "Corpus", "Prepared", "Report", "prepare"]
