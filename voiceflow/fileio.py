"""Small file helpers shared by every stage: atomic writes and JSON Lines.

No stage leaves a half-written file behind: outputs are written under a temporary name in
the destination directory and renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from voiceflow.errors import VoiceflowError


def check_output_path(path: str | os.PathLike, is_dir: bool = False, replaces: str | None = None) -> Path:
    """Refuse, before any work is done, an output that could not be written or would destroy
    something else: a file name that is a directory, a directory name that is a file, a
    parent that is a file, and (``replaces``: the file every output directory of this kind
    holds, e.g. ``meta.jsonl``) a non-empty directory that is not such an output."""
    path = Path(path)
    if is_dir:
        if path.exists() and not path.is_dir():
            raise VoiceflowError(f"{path}: exists and is not a directory")
        if replaces and path.is_dir() and any(path.iterdir()) and not (path / replaces).is_file():
            raise VoiceflowError(f"{path}: exists and is not an output directory (no {replaces}); "
                                 "choose another name or remove it")
    elif path.is_dir():
        raise VoiceflowError(f"{path}: is a directory; give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise VoiceflowError(f"{path}: cannot be created: {parent} is not a directory")
            break
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once: os.umask can only be read by setting it


def give_default_mode(path: Path) -> None:
    """The permissions an ordinary ``open`` / ``mkdir`` would give under the umask (0644 and
    0755 with the usual 022): the temporary names of mkstemp / mkdtemp are private (0600 /
    0700), and renaming keeps that, which would hide every output from other users (a
    shared data directory that other nodes' jobs read)."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, is_dir: bool = False, replaces: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds.

    Works for files and (with ``is_dir=True``) directories; an existing directory is
    replaced as a whole (with ``replaces``, only one holding that file: see
    :func:`check_output_path`). On an exception the temporary file or directory is removed
    and ``path`` is left untouched.
    """
    path = check_output_path(path, is_dir, replaces)
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_dir:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    give_default_mode(tmp)
    try:
        yield tmp
        if is_dir and path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def _open_text(path: Path, mode: str):
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """``(line number, row)`` of a JSON Lines file (optionally gzip-compressed), one line at a
    time; blank lines are skipped; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise VoiceflowError(f"{path}: file not found")
    with _open_text(path, "r") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise VoiceflowError(f"{path}:{n}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise VoiceflowError(f"{path}:{n}: expected a JSON object per line")
            yield n, row


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read a JSON Lines file (optionally gzip-compressed); errors name the file and line."""
    return [row for _, row in iter_jsonl(path)]


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> None:
    """Write rows as JSON Lines atomically (gzip if the name ends in .gz)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        opener = gzip.open(tmp, "wt", encoding="utf-8") if path.suffix == ".gz" else open(tmp, "w", encoding="utf-8")
        with opener as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_json(path: str | os.PathLike, obj) -> None:
    """Write one JSON document atomically, pretty-printed."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: str | os.PathLike):
    path = Path(path)
    if not path.is_file():
        raise VoiceflowError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise VoiceflowError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None


def write_skipped(path: str | os.PathLike, skipped: Iterable[tuple[str, str]]) -> Path | None:
    """The rows a stage left out (``--on-error skip``), one ``id<TAB>reason`` line each, in
    ``path`` (written atomically); with none, a stale list from an earlier run is removed.
    Returns the path when something was skipped."""
    path = Path(path)
    rows = [(str(uid), " ".join(str(reason).split())) for uid, reason in skipped]
    if not rows:
        path.unlink(missing_ok=True)
        return None
    with atomic_path(path) as tmp:
        tmp.write_text("".join(f"{uid}\t{reason}\n" for uid, reason in rows), encoding="utf-8")
    return path
