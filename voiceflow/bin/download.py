"""Download and unpack a public corpus (resumable, checksums verified where published).

Usage:
    python -m voiceflow.bin.download --corpus ljspeech --dest downloads
    python -m voiceflow.bin.download --corpus libritts_r --dest downloads --parts dev_clean,test_clean
    python -m voiceflow.bin.download --corpus librispeech --dest downloads --parts test-clean
    python -m voiceflow.bin.download --corpus libriheavy --dest downloads --parts small,cuts
    voiceflow download ...           (the same)

Corpora (parts; default):
    ljspeech     all                                                    -> DEST/LJSpeech-1.1
    vctk         all                                                    -> DEST/VCTK-Corpus-0.92
    libritts     train-clean-100 ... test-other (7; all)                -> DEST/LibriTTS
    libritts_r   train_clean_100 ... test_other (7; all)                -> DEST/LibriTTS_R
    librispeech  the same 7 (test-clean)                                -> DEST/LibriSpeech
    librilight   small, medium, large (small)                           -> DEST/librilight
    libriheavy   small, medium, large: LibriLight audio -> DEST/librilight; cuts (all eight
                 manifests) or cuts_<subset> -> DEST/libriheavy (small + cuts of small, dev, test_*)

Archives go to DEST/archives/<corpus>/ (FILE.part while downloading: a rerun resumes with an
HTTP Range request), are verified (sha256) before they are accepted, unpacked atomically and
deleted (--keep-archives keeps them); FILE.done marks a part installed so a rerun does
nothing. LibriTTS-R, LibriLight and LibriHeavy publish no checksums: a note says so.
Without network the command fails with one line naming the URL: download the file by hand
and point the recipe at your copy (--corpus-root DIR). The last line printed is the root to
give ``voiceflow prepare --root``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.data.download import PARTS, download


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = command_parser("voiceflow download", __doc__)
    p.add_argument("--corpus", required=True, choices=sorted(PARTS), help="which corpus")
    p.add_argument("--dest", required=True, type=Path, help="where the corpus is unpacked")
    p.add_argument("--parts", default=None, help="comma-separated parts (default: see above)")
    p.add_argument("--no-verify", action="store_true", help="do not check sha256 sums")
    p.add_argument("--keep-archives", action="store_true", help="keep the archives after unpacking")
    return p.parse_args(argv)


@entry_point
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = [s for s in args.parts.split(",") if s.strip()] if args.parts else None
    root = download(args.corpus, args.dest, parts, verify=not args.no_verify, keep_archives=args.keep_archives)
    print(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
