"""Continue a recording: speak the rest of a text in the recording's voice (``voiceflow continue``).

Usage::

    voiceflow continue --checkpoint exp/demo --wav start.wav --text "The whole sentence it begins." \\
        --out out.wav [--prompt-text "The whole"] \\
        [--alignment start.TextGrid] [--rate 1.0] [--nfe 32] [--guidance 0.7] [--seed 0]

The recording says the first words of --text: --prompt-text names them, --alignment (the
recording's own) counts them, otherwise the prefix whose forced alignment fits the
recording best is taken. The output is the recording
(kept sample for sample up to its last word, 10 ms crossfade) followed by the new speech.
When the recording already says the whole text, the input is written unchanged.
"""

from __future__ import annotations

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.bin.task_args import add_task_args, check_inputs, make_synthesizer, write_result


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow continue", __doc__)
    parser.add_argument("--wav", required=True, help="the recording")
    parser.add_argument("--text", required=True, help="the whole text; the recording says its beginning")
    parser.add_argument("--prompt-text", default=None, help="what the recording says (default: found by alignment)")
    parser.add_argument("--out", required=True, help="output wav")
    parser.add_argument("--alignment", default=None,
                        help="the recording's own alignment (TextGrid or JSON) instead of the built-in aligner")
    add_task_args(parser)
    args = parser.parse_args(argv)
    options = check_inputs(args, "wav")
    synth = make_synthesizer(args)
    wav, info = synth.continue_(args.wav, args.text, args.prompt_text, alignment=args.alignment, **options)
    write_result(args.out, wav, synth.cfg.mel.sample_rate, info, source=args.wav)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
