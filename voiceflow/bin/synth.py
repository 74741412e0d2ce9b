"""Run any mix of tts / edit / denoise / continue items from a manifest into one directory.

Usage::

    voiceflow synth --checkpoint exp/demo --manifest items.jsonl --out-dir exp/demo/synth/run1 \\
        [--on-error stop|skip] [--nfe 32] [--solver euler] [--guidance 0.7] [--seed 0] [--vocoder DIR]

Items (one JSON object per line; see voiceflow.infer.batch for every field)::

    {"id": "a", "task": "tts", "prompt_wav": "p.wav", "prompt_text": "...", "text": "..."}
    {"id": "b", "task": "edit", "wav": "in.wav", "text": "old words", "new_text": "new words"}
    {"id": "c", "task": "denoise", "wav": "in.wav", "text": "...", "start": 1.2, "end": 2.0}
    {"id": "d", "task": "continue", "wav": "in.wav", "text": "the whole text"}

The output directory holds <id>.wav per item and meta.jsonl describing each (task, texts,
prompt, checkpoint, solver, NFE, guidance, seed, changes, timings).
"""

from __future__ import annotations

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.bin.task_args import add_task_args, check_inputs, make_synthesizer


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow synth", __doc__)
    parser.add_argument("--manifest", required=True, help="JSON Lines of task items")
    parser.add_argument("--out-dir", required=True, help="output directory (replaced when complete)")
    parser.add_argument("--on-error", default="stop", choices=("stop", "skip"),
                        help="stop at a failing item (nothing written) or skip it (listed in failed.jsonl)")
    add_task_args(parser, rate=False)
    args = parser.parse_args(argv)
    options = check_inputs(args)
    from pathlib import Path

    from voiceflow.fileio import read_jsonl
    from voiceflow.infer.batch import check_items

    manifest = Path(args.manifest)
    rows = read_jsonl(manifest)
    check_items(rows, manifest, files=args.on_error == "stop")  # bad items fail before the model loads
    synth = make_synthesizer(args)
    out = synth.synth(manifest, args.out_dir, on_error=args.on_error, **options)
    written = len(read_jsonl(out / "meta.jsonl"))
    failed = len(rows) - written
    print(f"{out}: {written} of {len(rows)} items" + (f" ({failed} failed: {out / 'failed.jsonl'})" if failed else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
