"""What every corpus preparer shares: problem reports, held-out rules, header reads, split files.

A corpus module's ``scan(root, report, subsets=None, **options)`` yields manifest rows
(``id``, ``audio`` (absolute path), ``speaker``, ``text``, ``split`` and extras). Then::

    report = Report("skip")                       # or "stop": the first problem raises
    rows = measure(scan(root, report), report, jobs=4)
    stats = write_splits(rows, "data/manifests", report)

:func:`measure` gives rows without ``duration`` theirs from the audio header (over ``jobs``
worker processes); rows that carry ``offset`` and ``duration`` (segments of a long
recording, LibriHeavy) only get their recording checked, once per recording.
:func:`write_splits` streams the rows into ``<out>/<split>.jsonl`` plus ``skipped.tsv``
under temporary names and renames them all at the end: a failed run writes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator

from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path

SPLITS = ("train", "valid", "test")
SEGMENT_TOLERANCE_S = 0.05  # a cut may end this much after its recording's header duration


class Report:
    """Problems met while preparing a corpus, each ``(path, problem)``.

    ``problem()``: with ``on_error="stop"`` it raises ``VoiceflowError("PATH: PROBLEM")`` (the
    run then writes nothing); with ``"skip"`` the item is left out and the problem listed.
    ``gap()``: a known hole of the released corpus (VCTK's p315 has no transcripts, p280 no
    mic2 recordings): listed and left out, never stopping the run. A path reported again
    (another cut of the same missing recording) only adds to its utterance count.
    """

    def __init__(self, on_error: str = "stop", echo: Callable[[str], None] | None = None):
        if on_error not in ("stop", "skip"):
            raise ValueError(f"on_error must be 'stop' or 'skip', got {on_error!r}")
        self.on_error = on_error
        self.echo = echo
        self.entries: dict[str, list] = {}  # path -> [problem, utterances, times reported]

    def problem(self, path, problem: str, utterances: int = 1) -> None:
        if self.on_error == "stop":
            raise VoiceflowError(f"{path}: {problem}")
        self._add(path, problem, utterances)

    def gap(self, path, problem: str, utterances: int = 1) -> None:
        self._add(path, problem, utterances)

    def _add(self, path, problem: str, utterances: int) -> None:
        entry = self.entries.get(str(path))
        if entry is not None:
            entry[1] += utterances
            entry[2] += 1
            return
        self.entries[str(path)] = [problem, utterances, 1]
        if self.echo is not None:
            self.echo(f"skipped: {path}: {problem}")

    @property
    def skipped_utterances(self) -> int:
        return sum(entry[1] for entry in self.entries.values())

    def tsv(self) -> str:
        """``skipped.tsv``: a header line, then ``path<TAB>problem`` per entry."""
        lines = ["path\tproblem"]
        for path, (problem, n, times) in self.entries.items():
            note = f" ({n} utterances)" if times > 1 else ""
            lines.append(f"{path}\t{problem}{note}".replace("\n", " "))
        return "\n".join(lines) + "\n"


def stable_rank(keys: Iterable[str], salt: str) -> list[str]:
    """``keys`` sorted by ``sha256(salt + ":" + key)``: a fixed pseudo-random order.

    The order of a key never depends on the input order or on which other keys exist, so
    held-out sets drawn from it are the same on every run and machine.
    """
    return sorted(keys, key=lambda k: hashlib.sha256(f"{salt}:{k}".encode("utf-8")).hexdigest())


def split_of_subset(subset: str) -> str:
    """Libri* subset -> split: ``train*`` -> train, ``dev*`` -> valid, ``test*`` -> test."""
    for prefix, split in (("train", "train"), ("dev", "valid"), ("test", "test")):
        if subset.startswith(prefix):
            return split
    raise ValueError(f"no split for subset {subset!r}")


def pick_subsets(requested: Iterable[str] | None, known: tuple[str, ...], default: tuple[str, ...],
                 present: Callable[[str], Path | None], corpus: str, where: Path) -> list[str]:
    """The subsets to prepare, in the corpus's own spelling (``-`` and ``_`` are interchangeable).

    ``requested`` None: every default subset found on disk (error if none is). A requested
    subset that is unknown, or missing on disk, is an error naming it.
    """
    spelling = {s.replace("-", "_"): s for s in known}
    if requested is None:
        chosen = [s for s in default if present(s) is not None]
        if not chosen:
            raise VoiceflowError(f"{where}: none of the {corpus} subsets {', '.join(default)} found")
        return chosen
    chosen = []
    for name in requested:
        subset = spelling.get(name.strip().replace("-", "_"))
        if subset is None:
            raise VoiceflowError(f"unknown {corpus} subset {name!r} (one of: {', '.join(known)})")
        if present(subset) is None:
            raise VoiceflowError(f"{where}: {corpus} subset {subset} not found")
        if subset not in chosen:
            chosen.append(subset)
    return chosen


def read_transcript(path: Path, report: Report) -> str | None:
    """A one-utterance text file's content on one line, or None (reported) if missing or empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        report.problem(path, "transcript not found")
        return None
    except UnicodeDecodeError:
        report.problem(path, "transcript is not UTF-8 text")
        return None
    text = " ".join(text.split())
    if not text:
        report.problem(path, "empty transcript")
        return None
    return text


def subdirs(path: Path) -> list[str]:
    """Names of the directories in ``path``, sorted ([] if ``path`` is not a directory)."""
    try:
        return sorted(e.name for e in os.scandir(path) if e.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _probe(path: str) -> tuple[float | None, str | None]:
    """Worker: ``(duration in seconds, None)`` from the header, or ``(None, problem)``."""
    from voiceflow.audio.io import audio_duration

    try:
        seconds = audio_duration(path)
    except VoiceflowError as e:
        message = str(e)
        return None, message[len(path) + 2:] if message.startswith(f"{path}: ") else message
    if seconds <= 0:
        return None, "audio is empty (0 samples)"
    return seconds, None


def _exists(path: str) -> tuple[float | None, str | None]:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return None, "recording not found"
    except OSError as e:
        return None, f"cannot read recording ({e.strerror})"
    return (None, "recording is empty (0 bytes)") if size == 0 else (0.0, None)


def _chunks(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def measure(rows: Iterable[dict], report: Report, jobs: int = 1, check_audio: bool = False,
            progress: bool | None = None) -> Iterator[dict]:
    """Rows with their audio checked; problems go to ``report`` and the row is left out.

    A row without ``duration`` gets the duration of its audio file's header (a missing,
    empty or corrupt file is a problem). A row with ``offset`` (a segment of a long
    recording) keeps its duration; its recording is checked once: that it exists, or with
    ``check_audio`` that its header reads and the segment lies inside it. Headers are read
    over ``jobs`` worker processes, in chunks, so a stream of any length runs in bounded
    memory. ``progress`` None shows a tqdm bar when stderr is a terminal.
    """
    from tqdm import tqdm

    if jobs < 1:
        raise VoiceflowError(f"--jobs must be >= 1 (got {jobs})")
    recordings: dict[str, tuple[float | None, str | None]] = {}
    total = len(rows) if hasattr(rows, "__len__") else None
    pool = multiprocessing.get_context("spawn").Pool(jobs) if jobs > 1 else None
    bar = tqdm(total=total, desc="prepare", unit="utt", file=sys.stderr,
               disable=None if progress is None else not progress)
    try:
        for chunk in _chunks(rows, 64 * jobs):
            headers = [r["audio"] for r in chunk if "duration" not in r]
            if check_audio:
                todo = {r["audio"] for r in chunk if "offset" in r and r["audio"] not in recordings}
                headers += sorted(todo)
            results = dict(zip(headers, pool.map(_probe, headers, chunksize=8) if pool else map(_probe, headers)))
            for row in chunk:
                bar.update(1)
                where = row.pop("_where", None)
                path = row["audio"]
                if "duration" not in row:
                    seconds, problem = results[path]
                    if problem is not None:
                        report.problem(path, problem)
                        continue
                    row["duration"] = seconds
                elif "offset" in row:
                    if path not in recordings:
                        recordings[path] = results[path] if check_audio else _exists(path)
                        if recordings[path][1] is not None:
                            report.problem(path, f"{recordings[path][1]} (cut {row['id']}, {where})")
                            continue
                    seconds, problem = recordings[path]
                    if problem is not None:
                        report.problem(path, problem)  # counted under the same entry
                        continue
                    end = row["offset"] + row["duration"]
                    if check_audio and end > seconds + SEGMENT_TOLERANCE_S:
                        report.problem(where or path, f"cut {row['id']}: segment ends at {end:.3f} s, after "
                                                      f"the end of {path} ({seconds:.3f} s)")
                        continue
                yield row
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()


def write_splits(rows: Iterable[dict], out_dir: str | os.PathLike, report: Report, what: str) -> dict[str, dict]:
    """Write rows to ``<out_dir>/<split>.jsonl`` by their ``split`` key, and ``skipped.tsv``.

    All files are written under temporary names and renamed at the end, so an error (or a
    ``stop`` problem) leaves ``out_dir`` as it was. A split file of an earlier run that
    this run leaves empty is removed, so the directory never mixes two runs.

    Returns:
        ``{split: {"utterances": int, "seconds": float, "speakers": int}}`` for every split
        written (train, valid, test first).
    """
    out_dir = Path(out_dir)
    counts: dict[str, list] = {}  # split -> [utterances, seconds, speakers]
    created = not out_dir.exists()
    try:
        files = _write(rows, out_dir, report, what, counts)
    except BaseException:
        if created and out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()  # leave no trace of a failed run
        raise
    for split in SPLITS:
        if split not in files:
            (out_dir / f"{split}.jsonl").unlink(missing_ok=True)
    order = [s for s in SPLITS if s in counts] + sorted(set(counts) - set(SPLITS))
    return {s: {"utterances": counts[s][0], "seconds": counts[s][1], "speakers": len(counts[s][2])} for s in order}


def _write(rows: Iterable[dict], out_dir: Path, report: Report, what: str, counts: dict) -> dict:
    """Stream rows into temporary split files; every file is renamed into place on success."""
    with contextlib.ExitStack() as stack:
        files = {}
        for row in rows:
            split = row["split"]
            f = files.get(split)
            if f is None:
                tmp = stack.enter_context(atomic_path(out_dir / f"{split}.jsonl"))
                f = files[split] = stack.enter_context(open(tmp, "w", encoding="utf-8"))
                counts[split] = [0, 0.0, set()]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            c = counts[split]
            c[0] += 1
            c[1] += row["duration"]
            c[2].add(row["speaker"])
        if not files:
            raise VoiceflowError(f"{what}: no utterance could be prepared "
                                 f"({report.skipped_utterances} skipped)")
        with atomic_path(out_dir / "skipped.tsv") as tmp:
            tmp.write_text(report.tsv(), encoding="utf-8")
    return files
