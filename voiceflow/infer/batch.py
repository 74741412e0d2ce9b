"""Run a manifest of speech tasks into one self-describing directory (``voiceflow synth``).

One JSON object per line; ``id`` and ``task`` always, then the task's fields (paths are
relative to the manifest's directory unless absolute)::

    {"id": "a", "task": "tts", "prompt_wav": "p.wav", "prompt_text": "...", "text": "..."}
    {"id": "b", "task": "edit", "wav": "in.wav", "text": "old words", "new_text": "new words"}
    {"id": "c", "task": "denoise", "wav": "in.wav", "text": "...", "start": 1.2, "end": 2.0}
    {"id": "d", "task": "continue", "wav": "in.wav", "text": "the whole text"}

Optional per item: ``rate`` (speaking rate), ``seed``, ``keep_prompt`` (tts),
``prompt_text`` (continue), ``alignment`` (the recording's or prompt's own TextGrid or
JSON alignment, instead of the built-in aligner); ``reference`` (a ground-truth wav) and ``speaker`` are only
carried into ``meta.jsonl`` for evaluation. The directory holds ``<id>.wav`` per item and ``meta.jsonl``
(task, texts, prompt, checkpoint, solver, NFE, guidance, seed, what was changed, timings);
it is assembled under a temporary name and renamed when complete (an existing directory is
replaced only if it is such an output). Every item's fields, their types and (unless
skipping) its files are checked before the first item runs. A failing item stops the run
(nothing written) or, with ``on_error="skip"``, is reported, left out and listed in
``failed.jsonl``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from voiceflow.audio import save_wav
from voiceflow.data.manifest import resolve
from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path, check_output_path, read_jsonl, write_jsonl

# task -> (required fields, optional fields); path fields are resolved against the manifest
TASKS = {
    "tts": (("prompt_wav", "prompt_text", "text"), ("rate", "seed", "keep_prompt", "alignment")),
    "edit": (("wav", "text", "new_text"), ("rate", "seed", "alignment")),
    "denoise": (("wav", "text", "start", "end"), ("seed", "alignment")),
    "continue": (("wav", "text"), ("prompt_text", "rate", "seed", "alignment")),
}
PATH_FIELDS = ("prompt_wav", "wav", "alignment")
META_FIELDS = ("reference", "speaker")  # carried into meta.jsonl for evaluation, unused by the tasks


TEXT_FIELDS = ("prompt_wav", "wav", "alignment", "prompt_text", "text", "new_text", "reference")
NUMBER_FIELDS = ("start", "end", "rate")


def _check_field_types(row: dict, where: str, manifest: Path, files: bool) -> None:
    """Each field has its type (texts and paths are strings, times and rates numbers, seed an
    integer, keep_prompt a boolean) and (``files``) every path names an existing file."""
    for key, value in row.items():
        if key in TEXT_FIELDS and not (isinstance(value, str) and value.strip()):
            raise VoiceflowError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
        if key in NUMBER_FIELDS and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise VoiceflowError(f"{where}: {key!r} must be a number, got {value!r}")
        if key == "seed" and (isinstance(value, bool) or not isinstance(value, int)):
            raise VoiceflowError(f"{where}: 'seed' must be an integer, got {value!r}")
        if key == "keep_prompt" and not isinstance(value, bool):
            raise VoiceflowError(f"{where}: 'keep_prompt' must be true or false, got {value!r}")
    if row.get("rate", 1.0) <= 0:
        raise VoiceflowError(f"{where}: 'rate' must be > 0, got {row['rate']!r}")
    for key in (*PATH_FIELDS, "reference") if files else ():
        if key in row and not resolve(row[key], manifest).is_file():
            raise VoiceflowError(f"{where}: {key} {resolve(row[key], manifest)}: file not found")


def check_items(rows: list[dict], manifest: Path, files: bool = True) -> None:
    """Every row names a known task with its fields of the right types, ids are unique, and
    (``files``; not when missing files are to be skipped as failed items) its files exist;
    errors name the row. Run before any item."""
    seen: set[str] = set()
    for n, row in enumerate(rows, 1):
        where = f"{manifest}: item {n}"
        item_id = row.get("id")
        if not isinstance(item_id, str) or not item_id or "/" in item_id:
            raise VoiceflowError(f"{where}: 'id' must be a non-empty string without '/'")
        if item_id in seen:
            raise VoiceflowError(f"{where}: duplicate id {item_id!r}")
        seen.add(item_id)
        task = row.get("task")
        if task not in TASKS:
            raise VoiceflowError(f"{where} ({item_id}): task {task!r} is not one of {', '.join(TASKS)}")
        required, optional = TASKS[task]
        missing = [k for k in required if k not in row]
        if missing:
            raise VoiceflowError(f"{where} ({item_id}): task {task} needs {', '.join(missing)}")
        extra = set(row) - {"id", "task", *required, *optional, *META_FIELDS}
        if extra:
            raise VoiceflowError(f"{where} ({item_id}): unknown field(s) {', '.join(sorted(extra))} for task {task}")
        _check_field_types(row, f"{where} ({item_id})", manifest, files)


def run_item(synth, row: dict, manifest: Path, options: dict):
    """(waveform, info) of one checked item."""
    args = {k: (str(resolve(v, manifest)) if k in PATH_FIELDS else v) for k, v in row.items()
            if k not in ("id", "task", *META_FIELDS)}
    opts = dict(options)
    if "seed" in args:  # an item's own seed wins over the run's
        opts["seed"] = args.pop("seed")
    task = row["task"]
    if task == "tts":
        return synth.tts(args.pop("prompt_wav"), args.pop("prompt_text"), args.pop("text"), **args, **opts)
    if task == "edit":
        return synth.edit(args.pop("wav"), args.pop("text"), args.pop("new_text"), **args, **opts)
    if task == "denoise":
        return synth.denoise(args.pop("wav"), args.pop("text"), float(args.pop("start")), float(args.pop("end")),
                             alignment=args.pop("alignment", None), **opts)
    return synth.continue_(args.pop("wav"), args.pop("text"), args.pop("prompt_text", None), **args, **opts)


def run_batch(synth, manifest: str | Path, out_dir: str | Path, on_error: str = "stop", **options) -> Path:
    if on_error not in ("stop", "skip"):
        raise ValueError(f"on_error must be stop or skip, got {on_error!r}")
    manifest, out_dir = Path(manifest), Path(out_dir)
    rows = read_jsonl(manifest)
    if not rows:
        raise VoiceflowError(f"{manifest}: no items")
    check_items(rows, manifest, files=on_error == "stop")
    check_output_path(out_dir, is_dir=True, replaces="meta.jsonl")
    # (synth.vocoder loads here: a bad --vocoder fails before the first item)
    common = {"checkpoint": str(synth.loaded.checkpoint), "step": synth.loaded.step, "weights": synth.loaded.weights,
              "dtype": synth.dtype, "solver": options.get("solver", "euler"), "nfe": options.get("nfe", 32),
              "guidance": options.get("guidance", 0.0), "seed": options.get("seed", 0),
              "vocoder": synth.vocoder.name}
    meta, failed = [], []
    sr = synth.cfg.mel.sample_rate
    with atomic_path(out_dir, is_dir=True, replaces="meta.jsonl") as tmp:
        for row in rows:
            t0 = time.perf_counter()
            try:
                wav, info = run_item(synth, row, manifest, options)
            except VoiceflowError as e:
                if on_error == "stop":
                    raise VoiceflowError(f"{manifest}: item {row['id']}: {e}") from None
                print(f"skipped {row['id']}: {e}", file=sys.stderr)
                failed.append({"id": row["id"], "task": row["task"], "error": str(e)})
                continue
            save_wav(Path(tmp) / f"{row['id']}.wav", wav, sr, name=out_dir / f"{row['id']}.wav")
            # paths as the run read them (absolute), so that meta.jsonl works from any directory
            fields = {k: (str(resolve(v, manifest).resolve()) if k in PATH_FIELDS + ("reference",) else v)
                      for k, v in row.items() if k not in ("id", "task")}
            meta.append({"id": row["id"], "task": row["task"], **fields, **common, **info,
                         "timings": {"total_s": round(time.perf_counter() - t0, 3),
                                     "audio_s": round(wav.numel() / sr, 3)}})
        write_jsonl(Path(tmp) / "meta.jsonl", meta)
        if failed:
            write_jsonl(Path(tmp) / "failed.jsonl", failed)
    return out_dir
