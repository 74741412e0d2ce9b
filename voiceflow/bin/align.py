"""Force-align a manifest with the built-in aligner (pocketsphinx en-us, the G2P's phones),
or import the user's Montreal Forced Aligner TextGrids for it.

Usage:
    python -m voiceflow.bin.align --manifest IN.jsonl --out OUT.jsonl --g2p flite|cmudict|espeak
        [--language en-us] [--jobs N] [--on-error stop|skip] [--frame-rate 100|200]
    voiceflow align ...            (the same)
    voiceflow align --manifest IN.jsonl --out OUT.jsonl --textgrids MFA_OUT_DIR [--on-error skip]

With ``--textgrids`` nothing is aligned: each row's TextGrid is found anywhere under the
directory (MFA mirrors the corpus folders) as ``<audio file stem>.TextGrid`` or
``<id>.TextGrid`` and imported (tiers "words" and "phones", see
voiceflow.align.alignment_from_textgrid); its phones are MFA's (english_us_arpa: set
``text.g2p: cmudict`` so that inference spells new text alike). A row without a TextGrid,
or with one that does not cover its audio, is an error of that row (stop or skip).

For every row (``id``, ``audio``, ``text``, ...) the text is phonemized with
``voiceflow.text.g2p.make_g2p(G2P).phonemize(text)``, the audio is aligned to the words and
their phones (voiceflow.align.aligner.align_words) and the row is written with
``alignment`` (the alignment contract, docs/DESIGN.md) and ``words`` (``[word, start, end]``)
added; other keys are kept, rows keep their order. OUT is written atomically (temporary
name, then rename).

A row that fails (unreadable audio, a word the G2P cannot say, silent audio, a transcript
that does not match the audio, ...): with ``--on-error stop`` (default) the command exits
with status 1 and one line ``error: IN: row ID: PROBLEM``, and writes nothing; with
``skip`` the line goes to stderr, the row is left out of OUT, counted and listed (id, reason)
in ``OUT.skipped.tsv``. The last line is a summary: ``aligned N, skipped M, in S s -> OUT``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Iterator

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.errors import VoiceflowError

_G2P = None  # per process: (name, language, G2P)


def _g2p(name: str, language: str):
    global _G2P
    if _G2P is None or _G2P[:2] != (name, language):
        from voiceflow.text.g2p import make_g2p

        _G2P = (name, language, make_g2p(name, language))
    return _G2P[2]


def align_row(task: tuple[dict, str, str, str, int]) -> tuple[dict | None, str | None]:
    """Align one row: ``(row with alignment and words, None)`` or ``(None, problem)``."""
    row, manifest, g2p_name, language, frame_rate = task
    from voiceflow.align.aligner import align_words
    from voiceflow.data.manifest import load_row_audio

    uid = str(row.get("id", "?"))
    try:
        missing = [k for k in ("id", "audio", "text") if k not in row]
        if missing:
            raise VoiceflowError(f"missing key(s) {', '.join(missing)}")
        g2p = _g2p(g2p_name, language)
        ph = g2p.phonemize(str(row["text"]))
        wav = load_row_audio(row, manifest, 16000)
        res = align_words(wav, 16000, list(zip(ph.words, ph.phones)), g2p.to_arpabet, name=uid,
                          frame_rate=frame_rate)
    except VoiceflowError as e:
        problem = str(e)
        if problem.startswith(f"{uid}: "):
            problem = problem[len(uid) + 2:]
        return None, problem
    out = dict(row)
    out["alignment"] = [[p, round(s, 4), round(e, 4)] for p, s, e in res.alignment]
    out["words"] = [[w, round(s, 4), round(e, 4)] for w, s, e in res.words]
    return out, None


def textgrid_row(task: tuple[dict, Path | None, Path]) -> tuple[dict | None, str | None]:
    """Worker: (row, its TextGrid or None, the --textgrids root) -> (row with alignment and
    words, None) or (None, problem)."""
    from voiceflow.align import alignment_from_textgrid

    row, path, root = task
    if path is None:
        names = [f"{row.get('id')}.TextGrid"]
        if "offset" not in row:
            names.append(f"{Path(str(row['audio'])).stem}.TextGrid")
        return None, f"no TextGrid for it under {root} (looked for {' or '.join(dict.fromkeys(names))})"
    try:
        phones, words = alignment_from_textgrid(path, float(row["duration"]))
    except VoiceflowError as e:
        return None, str(e)
    return {**row, "alignment": [[p, round(s, 4), round(e, 4)] for p, s, e in phones],
            "words": [[w, round(s, 4), round(e, 4)] for w, s, e in words]}, None


def find_textgrids(root: Path, rows: list[dict]) -> list[Path | None]:
    """Each row's TextGrid under ``root`` by audio stem, else by id (a stem found twice is an error)."""
    if not root.is_dir():
        raise VoiceflowError(f"{root}: --textgrids is not a directory")
    by_stem: dict[str, Path] = {}
    for path in root.rglob("*.TextGrid"):
        if path.stem in by_stem:
            raise VoiceflowError(f"{root}: two TextGrids named {path.name} ({by_stem[path.stem]}, {path})")
        by_stem[path.stem] = path
    found = []
    for row in rows:
        stem = Path(str(row["audio"])).stem
        # a segment of a long recording (LibriHeavy) is named by its id, never by the shared file
        found.append(by_stem.get(str(row["id"])) or (None if "offset" in row else by_stem.get(stem)))
    return found


def _results(worker, tasks: list, jobs: int) -> Iterator[tuple[dict | None, str | None]]:
    if jobs == 1:
        yield from map(worker, tasks)
        return
    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding torch threads
    with ctx.Pool(jobs) as pool:
        yield from pool.imap(worker, tasks, chunksize=1 if worker is align_row else 64)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = command_parser("voiceflow align", __doc__)
    p.add_argument("--manifest", required=True, type=Path, help="input manifest (JSON Lines)")
    p.add_argument("--out", required=True, type=Path, help="output manifest")
    p.add_argument("--g2p", choices=("flite", "cmudict", "espeak"), help="G2P backend (built-in aligner)")
    p.add_argument("--textgrids", type=Path, help="import MFA TextGrids from this directory instead of aligning")
    p.add_argument("--language", default="en-us", help="G2P language (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default: %(default)s)")
    p.add_argument("--on-error", choices=("stop", "skip"), default="stop",
                   help="a failing row stops the run (default) or is left out")
    p.add_argument("--frame-rate", type=int, choices=(100, 200), default=None,
                   help="pocketsphinx frames/s (default: the aligner's, see docs/aligner.md)")
    return p.parse_args(argv)


@entry_point
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    from voiceflow.align.aligner import DEFAULT_FRAME_RATE
    from voiceflow.data.manifest import load_manifest, save_manifest
    from voiceflow.fileio import write_skipped

    if args.jobs < 1:
        raise VoiceflowError(f"--jobs must be >= 1 (got {args.jobs})")
    t0 = time.perf_counter()
    rows = load_manifest(args.manifest, require=("id", "audio", "text"))
    if args.textgrids is not None:
        worker = textgrid_row
        tasks = [(row, path, args.textgrids) for row, path in zip(rows, find_textgrids(args.textgrids, rows))]
    elif args.g2p is None:
        raise VoiceflowError("give --g2p (built-in aligner) or --textgrids (MFA TextGrids)")
    else:
        _g2p(args.g2p, args.language)  # a missing backend fails here, once, not per row
        frame_rate = args.frame_rate or DEFAULT_FRAME_RATE
        worker = align_row
        tasks = [(row, str(args.manifest), args.g2p, args.language, frame_rate) for row in rows]
    out: list[dict] = []
    skipped: list[tuple[str, str]] = []
    with tqdm(total=len(rows), desc="align", unit="utt", disable=None, file=sys.stderr) as bar:
        for row, (aligned, problem) in zip(rows, _results(worker, tasks, args.jobs)):
            bar.update(1)
            if problem is None:
                out.append(aligned)
                continue
            message = f"{args.manifest}: row {row.get('id', '?')}: {problem}"
            if args.on_error == "stop":
                raise VoiceflowError(message)
            skipped.append((row.get("id", "?"), problem))
            tqdm.write(f"skipped: {message}", file=sys.stderr)
    if not out:
        raise VoiceflowError(f"{args.manifest}: no row could be aligned ({len(skipped)} skipped)")
    save_manifest(args.out, out, source=args.manifest)
    listed = write_skipped(f"{args.out}.skipped.tsv", skipped)
    print(f"aligned {len(out)}, skipped {len(skipped)}"
          + (f" (listed in {listed})" if listed else "") + f", in {time.perf_counter() - t0:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
