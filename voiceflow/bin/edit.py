"""Edit a recording's words: regenerate only what changed between its transcript and a new text.

Usage::

    voiceflow edit --checkpoint exp/demo --wav in.wav --text "I saw the cat." \\
        --new-text "I saw the big dog." --out out.wav [--alignment in.TextGrid] [--rate 1.0] \\
        [--nfe 32] [--guidance 0.7] [--seed 0]

A word-level diff finds insertions, deletions and replacements (at the start, middle or
end); the changed words and a one-phone margin around them are regenerated, and the rest
of the recording is kept sample for sample apart from a 10 ms crossfade at each seam. An
identical text writes the input unchanged.
"""

from __future__ import annotations

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.bin.task_args import add_task_args, check_inputs, make_synthesizer, write_result


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow edit", __doc__)
    parser.add_argument("--wav", required=True, help="the recording")
    parser.add_argument("--text", required=True, help="what it says")
    parser.add_argument("--new-text", required=True, help="what it should say")
    parser.add_argument("--out", required=True, help="output wav")
    parser.add_argument("--alignment", default=None,
                        help="the recording's own alignment (TextGrid or JSON) instead of the built-in aligner")
    add_task_args(parser)
    args = parser.parse_args(argv)
    options = check_inputs(args, "wav")
    synth = make_synthesizer(args)
    wav, info = synth.edit(args.wav, args.text, args.new_text, alignment=args.alignment, **options)
    for change in info.get("changes", []):
        print(f"{change['op']}: {change['old']!r} -> {change['new']!r}")
    write_result(args.out, wav, synth.cfg.mel.sample_rate, info, source=args.wav)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
