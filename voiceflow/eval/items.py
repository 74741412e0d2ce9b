"""Discover what to score and check it before any model loads.

Inputs:

- **systems**: directories of generated speech, one ``<id>.wav`` per item. A directory with a
  ``meta.jsonl`` (what ``voiceflow generate`` writes; docs/DESIGN.md "Manifests and outputs")
  gives each item's ``text`` and prompt (``prompt``, or a synth item's ``prompt_wav`` / the
  ``wav`` a continue item continues); the wavs and the rows must then match one to one.
  A plain directory of wavs works too, with texts from ``--texts``.
- **texts** (``--texts``): JSON Lines with ``id`` and ``text``, or a TSV ``id<TAB>text``;
  it overrides meta.jsonl. Texts that differ between two systems' meta.jsonl are an error.
- **references** (``--reference DIR``): ``DIR/<id>.wav`` for every item (MCD, F0).
- **prompts** (``--prompt DIR``): ``DIR/<id>.wav`` for every item, else meta.jsonl's
  ``prompt`` (absolute, relative to the working directory, or relative to the meta.jsonl).

Checks (each a one-line :class:`VoiceflowError` naming the files or ids):

- every system holds the same item ids; ``allow_missing`` evaluates the intersection and
  reports what was left out instead;
- every wav, reference and prompt is readable; generated wavs and references share one
  sample rate (the most common rate among generated files) and are mono. ``resample``
  accepts other rates and channel counts (they are resampled / downmixed on reading).
  Prompts may have any rate (speaker models resample them) but must be mono too.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import soundfile

from voiceflow.errors import VoiceflowError
from voiceflow.fileio import read_jsonl

__all__ = ["System", "Item", "discover_system", "read_texts", "build_items", "check_audio", "show_ids"]


@dataclass
class System:
    name: str
    dir: Path
    wavs: dict[str, Path]
    meta: dict[str, dict] | None = None


@dataclass
class Item:
    id: str
    text: str | None = None
    prompt: Path | None = None
    reference: Path | None = None
    wavs: dict[str, Path] = field(default_factory=dict)  # system name -> wav


def show_ids(ids, limit: int = 8) -> str:
    ids = sorted(ids)
    head = ", ".join(ids[:limit])
    return head + (f", ... and {len(ids) - limit} more" if len(ids) > limit else "")


def discover_system(name: str, directory: str | Path) -> System:
    d = Path(directory)
    if not d.is_dir():
        raise VoiceflowError(f"{d}: system directory not found (system {name})")
    from voiceflow.listen.sources import scan_source  # one rule for both tools: .wav/.flac, no hidden files

    wavs = scan_source(name, d, "test").files
    meta = None
    if (d / "meta.jsonl").is_file():
        meta = {}
        for n, row in enumerate(read_jsonl(d / "meta.jsonl"), 1):
            if "id" not in row:
                raise VoiceflowError(f"{d / 'meta.jsonl'}:{n}: row has no 'id'")
            meta[str(row["id"])] = row
        no_wav, no_row = set(meta) - set(wavs), set(wavs) - set(meta)
        if no_wav:
            raise VoiceflowError(f"{d}: meta.jsonl lists {len(no_wav)} item(s) with no wav ({show_ids(no_wav)})")
        if no_row:
            raise VoiceflowError(f"{d}: {len(no_row)} wav(s) have no row in meta.jsonl ({show_ids(no_row)})")
    return System(name, d, wavs, meta)


def read_texts(path: str | Path) -> dict[str, str]:
    """``id -> text`` from JSON Lines (``id``, ``text``) or a TSV ``id<TAB>text``."""
    path = Path(path)
    if not path.is_file():
        raise VoiceflowError(f"{path}: texts file not found")
    texts: dict[str, str] = {}
    if path.suffix in (".jsonl", ".gz"):
        pairs = []
        for n, row in enumerate(read_jsonl(path), 1):
            if "id" not in row or "text" not in row:
                raise VoiceflowError(f"{path}:{n}: expected 'id' and 'text'")
            pairs.append((n, str(row["id"]), str(row["text"])))
    else:
        with open(path, encoding="utf-8", newline="") as f:
            pairs = []
            for n, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
                if not row or not "".join(row).strip():
                    continue
                if len(row) != 2:
                    raise VoiceflowError(f"{path}:{n}: expected 'id<TAB>text', got {len(row)} field(s)")
                pairs.append((n, row[0].strip(), row[1].strip()))
    for n, item_id, text in pairs:
        if item_id in texts:
            raise VoiceflowError(f"{path}:{n}: duplicate id {item_id}")
        texts[item_id] = text
    return texts


def meta_prompt(row: dict) -> str | None:
    """The prompt recording of a meta.jsonl row: ``prompt`` (voiceflow generate), ``prompt_wav``
    (a synth tts item) or, for a synth continue item, the recording it continues (``wav``)."""
    value = row.get("prompt") or row.get("prompt_wav") or (row.get("wav") if row.get("task") == "continue" else None)
    return str(value) if value else None


def spoken_text(row: dict) -> str | None:
    """What the wav of a meta.jsonl row says: an edit's ``new_text``; a tts item kept with its
    prompt (``keep_prompt``) says the prompt's text first; otherwise ``text``."""
    if row.get("task") == "edit" and row.get("new_text") is not None:
        return str(row["new_text"])
    if row.get("task") == "tts" and row.get("keep_prompt") and row.get("text") is not None:
        return f"{row.get('prompt_text', '')} {row['text']}".strip()
    return None if row.get("text") is None else str(row["text"])


def _resolve_prompt(value: str, meta_dir: Path) -> Path:
    p = Path(value).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return meta_dir / p


def build_items(systems: list[System], reference_dir: str | Path | None = None, prompt_dir: str | Path | None = None,
                texts: dict[str, str] | None = None, allow_missing: bool = False,
                notice: Callable[[str], object] | None = print) -> tuple[list[Item], list[str]]:
    """Items common to all systems, with text, prompt and reference; and the ids left out."""
    names = [s.name for s in systems]
    if len(set(names)) != len(names):
        raise VoiceflowError(f"system names must be unique, got {', '.join(names)}")
    union = set().union(*(s.wavs for s in systems))
    common = set.intersection(*(set(s.wavs) for s in systems))
    excluded = sorted(union - common)
    if excluded:
        lacking = "; ".join(f"{s.name} lacks {len(union - set(s.wavs))} of {len(union)} items "
                            f"({show_ids(union - set(s.wavs))})" for s in systems if union - set(s.wavs))
        if not allow_missing:
            raise VoiceflowError(f"missing counterparts between systems: {lacking} "
                                 f"(pass --allow-missing to evaluate the {len(common)} items all systems have)")
        if not common:
            raise VoiceflowError(f"no item is in every system: {lacking}")
        if notice is not None:
            notice(f"eval: --allow-missing: evaluating the {len(common)} items all systems have; "
                   f"left out {len(excluded)}: {', '.join(excluded)}")
    items = []
    for item_id in sorted(common):
        item = Item(item_id, wavs={s.name: s.wavs[item_id] for s in systems})
        for s in systems:
            row = (s.meta or {}).get(item_id, {})
            text = spoken_text(row)
            if text is not None and texts is None:
                if item.text is not None and str(text) != item.text:
                    raise VoiceflowError(f"item {item_id}: meta.jsonl text differs between systems "
                                         f"({item.text!r} vs {str(text)!r} in {s.name}; give --texts to choose)")
                item.text = str(text)
            prompt = meta_prompt(row)
            if prompt and item.prompt is None:
                item.prompt = _resolve_prompt(prompt, s.dir)
        if texts is not None:
            item.text = texts.get(item_id)
        if prompt_dir is not None:
            item.prompt = Path(prompt_dir) / f"{item_id}.wav"
        if reference_dir is not None:
            item.reference = Path(reference_dir) / f"{item_id}.wav"
        items.append(item)
    for label, directory, attr in (("reference", reference_dir, "reference"), ("prompt", prompt_dir, "prompt")):
        if directory is not None:
            if not Path(directory).is_dir():
                raise VoiceflowError(f"{directory}: {label} directory not found")
            missing = [i.id for i in items if not getattr(i, attr).is_file()]
            if missing:
                raise VoiceflowError(f"{directory}: no {label} wav for {len(missing)} of {len(items)} items "
                                     f"({show_ids(missing)})")
    for item in items:
        if prompt_dir is None and item.prompt is not None and not item.prompt.is_file():
            raise VoiceflowError(f"prompt of item {item.id} not found: {item.prompt}")
    return items, excluded


def _probe(path: Path) -> tuple[int, int]:
    if path.stat().st_size == 0:
        raise VoiceflowError(f"{path}: audio file is empty (0 bytes)")
    try:
        info = soundfile.info(path)
    except (soundfile.SoundFileError, RuntimeError) as e:
        reason = (getattr(e, "error_string", None) or str(e) or type(e).__name__).splitlines()[0].rstrip(".")
        raise VoiceflowError(f"{path}: cannot read audio ({reason})") from None
    if info.frames == 0:
        raise VoiceflowError(f"{path}: audio is empty (0 samples)")
    return int(info.samplerate), int(info.channels)


def check_audio(items: list[Item], resample: bool = False) -> int:
    """Probe every file's header; returns the common sample rate of generated wavs and references."""
    compared = [p for i in items for p in list(i.wavs.values()) + ([i.reference] if i.reference else [])]
    prompts = sorted({i.prompt for i in items if i.prompt is not None})
    info = {p: _probe(p) for p in compared + prompts}
    rates = Counter(info[p][0] for i in items for p in i.wavs.values())
    rate = rates.most_common(1)[0][0]
    if resample:
        return rate
    for p in compared + prompts:
        channels = info[p][1]
        if channels != 1:
            raise VoiceflowError(f"{p}: {channels} channels, expected mono (pass --resample to downmix)")
    for p in compared:
        if info[p][0] != rate:
            raise VoiceflowError(f"{p}: sample rate {info[p][0]} Hz, expected {rate} Hz like the other "
                                 "generated and reference files (pass --resample to resample)")
    return rate
