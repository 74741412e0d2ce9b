"""Zero-shot TTS: say new text in the voice of a prompt recording.

Usage::

    voiceflow tts --checkpoint exp/demo --prompt-wav prompt.wav --prompt-text "What the prompt says." \\
        --text "Something new to say." --out out.wav [--prompt-alignment prompt.TextGrid] [--keep-prompt] \\
        [--rate 1.0] [--nfe 32] \\
        [--solver euler] [--guidance 0.7] [--seed 0] [--vocoder DIR_OR_HUB_ID] [--duration DIR] [--device cuda]

The prompt is aligned with the built-in aligner, the new phones' durations are predicted
conditioned on the prompt's, and the audio model generates the new speech with the prompt
as context. By default the output holds only the new speech (--keep-prompt: prompt first).
"""

from __future__ import annotations

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.bin.task_args import add_task_args, check_inputs, make_synthesizer, write_result


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow tts", __doc__)
    parser.add_argument("--prompt-wav", required=True, help="recording of the target voice")
    parser.add_argument("--prompt-text", required=True, help="its transcript")
    parser.add_argument("--text", required=True, help="the text to speak")
    parser.add_argument("--out", required=True, help="output wav")
    parser.add_argument("--prompt-alignment", default=None,
                        help="the prompt's own alignment (TextGrid or JSON) instead of the built-in aligner")
    parser.add_argument("--keep-prompt", action="store_true", help="output the prompt followed by the new speech")
    add_task_args(parser)
    args = parser.parse_args(argv)
    options = check_inputs(args, "prompt_wav")
    synth = make_synthesizer(args)
    wav, info = synth.tts(args.prompt_wav, args.prompt_text, args.text, keep_prompt=args.keep_prompt,
                          alignment=args.prompt_alignment, **options)
    write_result(args.out, wav, synth.cfg.mel.sample_rate, info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
