"""The text stage of a recipe: normalise every transcript and check that the G2P can say it.

Usage::

    python -m voiceflow.bin.phonemize --manifest data/manifests/raw/train.jsonl \\
        --out data/manifests/text/train.jsonl --g2p espeak [--language en-us] [--jobs 4] \\
        [--on-error stop|skip] [--unknown error|spn]
    voiceflow phonemize ...            (the same)

Each row gains ``text_normalized`` (voiceflow.text.normalize: numbers, dates, currency,
abbreviations spelled out) and ``n_phones`` (how many phones the G2P gives it); its other
keys are kept and rows keep their order. A transcript with a word the G2P cannot
pronounce (only the ``cmudict`` and ``flite`` lexicons can miss one) or with no words at
all is an error of that row: ``--on-error stop`` (default) exits with status 1 naming the
row and writes nothing; ``skip`` leaves the row out, says so on stderr, counts it and lists it
(id, reason) in ``OUT.skipped.tsv``.
``--unknown spn`` instead keeps such rows and speaks the unknown words as ``spn`` (the
aligner then treats them as garbage speech). The output is written atomically; the last
line is a summary with the number of distinct unknown words.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections import Counter
from pathlib import Path

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.errors import VoiceflowError

_G2P = None  # per worker process


def _init(name: str, language: str) -> None:
    global _G2P
    from voiceflow.text.g2p import make_g2p

    _G2P = make_g2p(name, language)


def phonemize_row(task: tuple[dict, str]) -> tuple[dict | None, list[str], str | None]:
    """Worker: (row, on_unknown) -> (row with text_normalized and n_phones, unknown words, problem)."""
    from voiceflow.text.normalize import normalize_text

    row, on_unknown = task
    try:
        if not str(row.get("text", "")).strip():
            raise VoiceflowError("empty transcript")
        result = _G2P.phonemize(str(row["text"]), on_unknown=on_unknown)
    except VoiceflowError as e:
        return None, [], str(e)
    n_phones = sum(len(p) for p in result.phones)
    return {**row, "text_normalized": normalize_text(str(row["text"])), "n_phones": n_phones}, result.unknown, None


@entry_point
def main(argv: list[str] | None = None) -> int:
    p = command_parser("voiceflow phonemize", __doc__)
    p.add_argument("--manifest", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--g2p", required=True, choices=("flite", "cmudict", "espeak"))
    p.add_argument("--language", default="en-us")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--on-error", choices=("stop", "skip"), default="stop")
    p.add_argument("--unknown", choices=("error", "spn"), default="error",
                   help="a word the G2P cannot say is an error of its row (default) or spoken as spn")
    args = p.parse_args(argv)
    from tqdm import tqdm

    from voiceflow.data.manifest import load_manifest, save_manifest
    from voiceflow.fileio import write_skipped

    rows = load_manifest(args.manifest, require=("id", "text"))
    _init(args.g2p, args.language)  # a missing backend fails here, once
    tasks = [(row, args.unknown) for row in rows]
    if args.jobs > 1:
        pool = multiprocessing.get_context("spawn").Pool(args.jobs, initializer=_init,
                                                           initargs=(args.g2p, args.language))
        results = pool.imap(phonemize_row, tasks, chunksize=256)
    else:
        pool, results = None, map(phonemize_row, tasks)
    out, skipped, unknown = [], [], Counter()
    try:
        for row, (new, words, problem) in zip(rows, tqdm(results, total=len(rows), desc="phonemize",
                                                            unit="utt", disable=None, file=sys.stderr)):
            if problem is None:
                out.append(new)
                unknown.update(words)
                continue
            message = f"{args.manifest}: row {row.get('id', '?')}: {problem}"
            if args.on_error == "stop":
                raise VoiceflowError(message)
            skipped.append((row.get("id", "?"), problem))
            tqdm.write(f"skipped: {message}", file=sys.stderr)
    finally:
        if pool is not None:
            pool.terminate()
    if not out:
        raise VoiceflowError(f"{args.manifest}: no row could be phonemized ({len(skipped)} skipped)")
    save_manifest(args.out, out, source=args.manifest)
    listed = write_skipped(f"{args.out}.skipped.tsv", skipped)
    most = ", ".join(f"{w} ({n})" for w, n in unknown.most_common(10))
    print(f"phonemized {len(out)}, skipped {len(skipped)}"
          + (f" (listed in {listed})" if listed else "") + f", {len(unknown)} distinct unknown word(s)"
          + (f" [{most}]" if most else "") + f" -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
