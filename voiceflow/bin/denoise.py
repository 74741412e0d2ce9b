"""Denoise a span of a recording: regenerate it from its transcript with the rest as context.

Usage::

    voiceflow denoise --checkpoint exp/demo --wav noisy.wav --text "Its transcript." \\
        --start 1.2 --end 2.0 --out clean.wav [--alignment noisy.TextGrid] [--nfe 32] [--guidance 0.7] [--seed 0]

The span is widened to the phone boundaries around it in the recording's alignment (the built-in
aligner's, or ``--alignment``: an MFA TextGrid or JSON list in the model's phone set);
the phones and their durations stay as they were, and outside the span the recording is
kept sample for sample apart from a 10 ms crossfade at each seam.
"""

from __future__ import annotations

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.bin.task_args import add_task_args, check_inputs, make_synthesizer, write_result


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow denoise", __doc__)
    parser.add_argument("--wav", required=True, help="the recording")
    parser.add_argument("--text", required=True, help="its transcript")
    parser.add_argument("--start", type=float, required=True, help="span start (s)")
    parser.add_argument("--end", type=float, required=True, help="span end (s)")
    parser.add_argument("--out", required=True, help="output wav")
    parser.add_argument("--alignment", default=None,
                        help="the recording's own alignment (TextGrid or JSON) instead of the built-in aligner")
    add_task_args(parser, rate=False)
    args = parser.parse_args(argv)
    options = check_inputs(args, "wav")
    synth = make_synthesizer(args)
    wav, info = synth.denoise(args.wav, args.text, args.start, args.end, alignment=args.alignment, **options)
    write_result(args.out, wav, synth.cfg.mel.sample_rate, info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
