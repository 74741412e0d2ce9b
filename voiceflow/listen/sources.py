"""The inputs of a listening test: directories of wavs matched by item, checked before use.

A source is one directory (a system under test, the reference, or the anchor); its items are
the stems of its ``.wav`` / ``.flac`` files. :func:`check_sources` reads every file's header
and reports all problems at once, each naming its file: unreadable or empty files, more
than one channel, a sample rate other than the test's, items some source lacks (dropped and
listed only with ``allow_missing``)::

    sources = [scan_source("A", "exp/a", "test"), scan_source("B", "exp/b", "test")]
    items, sample_rate, skipped = check_sources(sources)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable
from pathlib import Path

import soundfile

from voiceflow.errors import VoiceflowError
from voiceflow.fileio import read_jsonl

AUDIO_SUFFIXES = (".wav", ".flac")
MAX_LISTED = 12


@dataclass
class Source:
    """One input directory: its name, role ("test", "reference" or "anchor") and files by stem."""

    name: str
    dir: Path
    role: str
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{'system ' + self.name if self.role == 'test' else self.role} ({self.dir})"


def parse_system(spec: str, option: str = "--system") -> tuple[str, Path]:
    """``"NAME=DIR"`` -> ``(NAME, Path(DIR))``."""
    name, sep, directory = spec.partition("=")
    name = name.strip()
    if not sep or not name or not directory:
        raise VoiceflowError(f"{option} {spec!r}: expected NAME=DIR")
    return name, Path(directory)


def scan_source(name: str, directory: str | Path, role: str) -> Source:
    """The audio files of one directory, by stem (hidden files and other suffixes ignored)."""
    source = Source(name, Path(directory), role)
    if not source.dir.is_dir():
        raise VoiceflowError(f"{source.label}: not a directory")
    for path in sorted(source.dir.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file():
            continue
        if path.stem in source.files:
            raise VoiceflowError(f"{source.label}: two files for item {path.stem!r}: "
                                 f"{source.files[path.stem].name} and {path.name}")
        source.files[path.stem] = path
    if not source.files:
        raise VoiceflowError(f"{source.label}: no .wav or .flac files")
    return source


def _listed(things: list[str], limit: int = MAX_LISTED) -> str:
    text = "; ".join(things[:limit])
    return text + (f"; and {len(things) - limit} more" if len(things) > limit else "")


def check_sources(sources: list[Source], sample_rate: int | None = None,
                  allow_missing: bool = False, log: Callable[[str], None] = print) -> tuple[list[str], int, dict]:
    """Check every file and match items; returns (items, sample rate, {skipped item: [sources]}).

    Raises one VoiceflowError listing every unreadable, empty, multi-channel or
    wrong-rate file and (unless ``allow_missing``) every missing counterpart.
    """
    problems, rates = [], {}
    for source in sources:
        for stem, path in source.files.items():
            if path.stat().st_size == 0:
                problems.append(f"{path}: audio file is empty (0 bytes)")
                continue
            try:
                info = soundfile.info(str(path))
            except (soundfile.SoundFileError, RuntimeError) as e:
                reason = (getattr(e, "error_string", None) or str(e)).splitlines()[0]
                problems.append(f"{path}: cannot read audio ({reason})")
                continue
            if info.frames <= 0:
                problems.append(f"{path}: audio is empty (0 samples)")
            if info.channels != 1:
                problems.append(f"{path}: {info.channels} channels (stimuli must be mono)")
            rates[path] = info.samplerate
    if sample_rate is None and rates:
        first = next(p for s in sources for p in s.files.values() if p in rates)
        sample_rate, origin = rates[first], f"the rate of {first}"
    else:
        origin = "--sample-rate"
    origin += "; the page plays files as they are: resample them to one rate first"
    for path, rate in rates.items():
        if rate != sample_rate:
            problems.append(f"{path}: {rate} Hz, but the test's rate is {sample_rate} Hz ({origin})")
    stems = sorted(set().union(*(s.files for s in sources)))
    missing = {stem: [s.label for s in sources if stem not in s.files] for stem in stems}
    missing = {stem: labels for stem, labels in missing.items() if labels}
    if missing and not allow_missing:
        by_source: dict[str, list[str]] = {}
        for stem, labels in missing.items():
            for label in labels:
                by_source.setdefault(label, []).append(stem)
        for label, lacking in by_source.items():
            shown = ", ".join(repr(s) for s in lacking[:5]) + (f" and {len(lacking) - 5} more" if len(lacking) > 5 else "")
            problems.append(f"{label} has no file for item(s) {shown} that other inputs have "
                            "(--allow-missing drops such items, listing them)")
    if problems:
        raise VoiceflowError(f"{len(problems)} problem(s) with the input audio: {_listed(problems)}")
    if missing:
        log(f"warning: dropping {len(missing)} item(s) that some input lacks (--allow-missing):")
        for stem, labels in missing.items():
            log(f"  {stem}: missing from {', '.join(labels)}")
    items = [stem for stem in stems if stem not in missing]
    if not items:
        raise VoiceflowError("no item is present in every input directory")
    return items, int(sample_rate), missing


def read_texts(sources: list[Source], items: list[str]) -> dict[str, str]:
    """Each item's text from the ``meta.jsonl`` of the inputs (the first that has it): what
    its wav says (:func:`voiceflow.eval.items.spoken_text`)."""
    from voiceflow.eval.items import spoken_text

    texts: dict[str, str] = {}
    for source in sources:
        meta = source.dir / "meta.jsonl"
        if meta.is_file():
            for row in read_jsonl(meta):
                text = spoken_text(row)  # an edit's new text; a kept prompt's text first
                if text is not None and "id" in row:
                    texts.setdefault(str(row["id"]), text)
    lacking = [item for item in items if item not in texts]
    if lacking:
        raise VoiceflowError(f"--texts: no text for item(s) {', '.join(repr(i) for i in lacking[:5])}{' and more' if len(lacking) > 5 else ''} in the "
                             f"meta.jsonl of {', '.join(str(s.dir) for s in sources)}")
    return {item: texts[item] for item in items}
