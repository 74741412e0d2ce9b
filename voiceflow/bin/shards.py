"""Shard set of aligned manifests: log-mels, phone runs and durations in a few large files.

Usage::

    python -m voiceflow.bin.shards --manifest data/train_aligned.jsonl --out data/shards/train \\
        --phones data/phones.txt --stats data/shards/stats.json [--config conf.yaml] \\
        [--shard-frames 337500] [--jobs 8] [--on-error stop|skip] [--seed 0 | --keep-order]
    # a manifest too large for memory, in pieces (piece-0000.jsonl, piece-0001.jsonl, ...):
    python -m voiceflow.bin.shards --manifest data/manifests/aligned/train.d --out data/shards/train \\
        --phones data/phones.txt --stats data/shards/stats.json

Then train on it by naming the directory as the manifest: ``data.train_manifest=data/shards/train``.

``--manifest`` is repeatable, and a directory stands for its ``*.jsonl`` files in sorted name
order: the pieces (random samples) of a corpus whose aligned manifest does not fit in memory.
They are written one after the other into one set (shard numbers go on), so memory is bounded
by one piece; each piece is shuffled on its own (seeded by ``--seed`` and its position).

The log-mels are computed straight from the audio (the ``mel`` section of ``--config``;
default: vocos 24 kHz), in shards of about ``--shard-frames`` frames (default one hour),
one shard per job, ``--jobs`` worker processes. The utterances are shuffled (``--seed``)
before they are cut into shards, so that a shard mixes speakers and books; ``--keep-order``
keeps the manifests' order. The format is described in
:mod:`voiceflow.data.shards`. A bad utterance (unreadable audio, an alignment that does
not cover it, an unknown phone) stops the stage with its name and nothing half-written,
or with ``--on-error skip`` is reported and left out (index.json lists it). A rerun reuses
the complete shards; a changed manifest, mel config or phone inventory is an error (for a
changed piece, the error names its shards: remove them to have only those written again).
``--stats`` receives the global mel mean/std of the set (the format of ``voiceflow features
--stats``); index.json holds them too.
"""

from __future__ import annotations

import os

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.config import load_config


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow shards", __doc__)
    parser.add_argument("--manifest", action="append", required=True,
                        help="aligned manifest (JSON Lines with alignment), or a directory of *.jsonl pieces "
                             "(repeatable; read one at a time, in order)")
    parser.add_argument("--out", required=True, help="shard set directory")
    parser.add_argument("--phones", required=True, help="phone inventory (phones.txt); ids are its positions")
    parser.add_argument("--stats", help="write the global mel mean/std of the set here")
    parser.add_argument("--config", help="YAML whose mel section defines the features (default: vocos 24 kHz)")
    parser.add_argument("--shard-frames", type=int, help="frames per shard (default: one hour)")
    parser.add_argument("--jobs", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--on-error", choices=("stop", "skip"), default="stop")
    parser.add_argument("--seed", type=int, default=0, help="shuffle of the utterances over the shards")
    parser.add_argument("--keep-order", action="store_true", help="shards in manifest order (no shuffle)")
    args = parser.parse_args(argv)
    if args.shard_frames is not None and args.shard_frames <= 0:
        parser.error("--shard-frames must be positive")

    from voiceflow.data.shard_writer import write_shard_set

    summary = write_shard_set(args.manifest, args.out, args.phones, load_config(args.config).mel,
                              shard_frames=args.shard_frames, jobs=args.jobs, on_error=args.on_error,
                              stats_path=args.stats, shuffle_seed=None if args.keep_order else args.seed)
    for _, error in summary["skipped"]:
        print(f"skipped: {error}")
    stats = summary["stats"]
    if args.stats:
        print(f"{args.stats}: mean {stats.mean:.4f}, std {stats.std:.4f} over {stats.frames} frames")
    pieces = f" from {summary['inputs']} manifests" if summary["inputs"] > 1 else ""
    print(f"{args.out}: {summary['shards']} shards{pieces} ({summary['written']} written, {summary['reused']} reused), "
          f"{summary['utterances']} utterances, {summary['frames']} frames"
          + (f", {len(summary['skipped'])} skipped" if summary["skipped"] else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
