"""Manifests of a speech corpus from its own on-disk layout: <out-dir>/{train,valid,test}.jsonl.

Usage:
    python -m voiceflow.bin.prepare --corpus ljspeech --root downloads/LJSpeech-1.1 --out-dir data/raw
    python -m voiceflow.bin.prepare --corpus libritts_r --root downloads/LibriTTS_R --out-dir data/raw \\
        --subsets train-clean-100,dev-clean,test-clean --jobs 8 --on-error skip
    python -m voiceflow.bin.prepare --corpus vctk --root downloads/VCTK-Corpus-0.92 --out-dir data/raw --mic mic2
    python -m voiceflow.bin.prepare --corpus libriheavy --root downloads/librilight \\
        --cuts downloads/libriheavy --subsets small,dev,test_clean --out-dir data/raw
    python -m voiceflow.bin.prepare --corpus librispeech --root downloads/LibriSpeech --subsets test-clean \\
        --out-dir data/librispeech
    voiceflow prepare ...            (the same)

Corpora: ljspeech, libritts_r, libritts, vctk, libriheavy, librispeech; the exact layouts,
rows and split rules are in voiceflow/data/corpora/<corpus>.py. Each manifest row has id,
audio (absolute path), speaker, text, duration (from the audio header), split and corpus
extras; LibriHeavy rows add offset (seconds into the LibriLight recording).

A bad item (a missing, empty or corrupt audio file, a missing or empty transcript, a
malformed metadata or manifest line) is named with its file: with ``--on-error stop``
(default) the command exits with status 1 and one line ``error: PATH: PROBLEM`` and writes
nothing; with ``skip`` it is left out and listed in <out-dir>/skipped.tsv (path<TAB>problem).
Known holes of a release (VCTK's p315 without transcripts, p280 without mic2) are always
listed there and left out. All files are written under temporary names and renamed at the
end. The summary gives utterances, hours and speakers per split.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.data.corpora import CORPORA, prepare


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = command_parser("voiceflow prepare", __doc__)
    p.add_argument("--corpus", required=True, choices=sorted(CORPORA), help="which corpus layout to read")
    p.add_argument("--root", required=True, type=Path,
                   help="the corpus folder (or its parent); libriheavy: the LibriLight audio root")
    p.add_argument("--out-dir", required=True, type=Path, help="where <split>.jsonl and skipped.tsv go")
    p.add_argument("--subsets", default=None,
                   help="comma-separated subsets of the Libri* corpora (default: the corpus's usual ones found)")
    p.add_argument("--on-error", choices=("stop", "skip"), default="stop",
                   help="a bad item stops the run (default) or is left out and listed in skipped.tsv")
    p.add_argument("--jobs", type=int, default=1, help="worker processes reading audio headers (default: 1)")
    p.add_argument("--mic", choices=("mic1", "mic2"), default=None, help="vctk: which microphone (default: mic1)")
    p.add_argument("--cuts", type=Path, default=None,
                   help="libriheavy: the folder of libriheavy_cuts_<subset>.jsonl.gz")
    p.add_argument("--check-audio", action="store_true",
                   help="libriheavy: read every recording's header, not only check that it exists")
    p.add_argument("--valid-size", type=int, default=None,
                   help="ljspeech: valid utterances (100); vctk: valid utterances per seen speaker (2)")
    p.add_argument("--test-size", type=int, default=None,
                   help="ljspeech: test utterances (500); vctk: unseen test speakers (8)")
    return p.parse_args(argv)


@entry_point
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    t0 = time.perf_counter()
    subsets = [s for s in args.subsets.split(",") if s.strip()] if args.subsets else None
    result = prepare(args.corpus, args.root, args.out_dir, subsets=subsets, on_error=args.on_error,
                     jobs=args.jobs, check_audio=args.check_audio,
                     echo=lambda line: tqdm.write(line, file=sys.stderr),
                     mic=args.mic, cuts=args.cuts, valid_size=args.valid_size, test_size=args.test_size)
    print(f"prepared {args.corpus} from {args.root} in {time.perf_counter() - t0:.1f} s -> {args.out_dir}")
    print(f"  {'split':<8}{'utterances':>12}{'hours':>10}{'speakers':>10}")
    for split, s in result.splits.items():
        print(f"  {split:<8}{s['utterances']:>12}{s['seconds'] / 3600:>10.2f}{s['speakers']:>10}")
    skipped = result.report
    print(f"  skipped {skipped.skipped_utterances} utterances ({len(skipped.entries)} entries in "
          f"{args.out_dir / 'skipped.tsv'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
