"""Build a Voicebox evaluation set on LibriSpeech test-clean as a `voiceflow synth` manifest.

Usage:
    python -m voiceflow.bin.evalset \\
        --list recipes/shared/evalsets/librispeech_test_clean_4to10s_cross_sentence.tsv \\
        --librispeech /data/LibriSpeech --task cross|continuation --out-dir exp/testsets/ls_cross \\
        [--prompt-seconds 3.0] [--g2p flite|cmudict|espeak] [--max-items N] [--jobs N] \\
        [--on-error stop|skip]
    voiceflow evalset ...          (the same)

    # then, for example
    voiceflow synth --checkpoint exp/audio --manifest exp/testsets/ls_cross/items.jsonl --out-dir ...

--librispeech is the folder holding LibriSpeech/test-clean, or test-clean itself; the
transcripts (<spk>-<chapter>.trans.txt) and flacs of every listed utterance are read there.

--task cross (Voicebox sec. 5.2): one `tts` item per list line, id = the target id; the
prompt is the prompt utterance cut at a word boundary to at most --prompt-seconds (found
with the built-in aligner and the --g2p phones), prompt_text = the words inside it;
--prompt-seconds 0 keeps the whole prompt utterance (the F5-TTS setting).
--task continuation: one `continue` item per distinct target, id = <target>_cont; the
recording is the target's first <= --prompt-seconds (3 s) cut at a word boundary,
prompt_text its words, text the whole transcript. Both carry reference (the target's
flac, the ground truth) and speaker.

OUT-DIR gets items.jsonl, prompts/*.wav (16 kHz) and, when items were skipped,
skipped.jsonl; it is assembled under a temporary name and renamed when complete. A
missing utterance or a prompt that cannot be cut: with --on-error stop (default) the
command exits with status 1 and one line ``error: LIST:LINE: UTTERANCE: PROBLEM`` and writes
nothing; with skip the line goes to stderr and the item is listed in skipped.jsonl. The
list and its checks: recipes/shared/evalsets/README.md; the code: voiceflow.data.evalsets.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from voiceflow.bin.common import command_parser, entry_point


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = command_parser("voiceflow evalset", __doc__)
    p.add_argument("--list", required=True, type=Path, help="the stored pair list (TSV)")
    p.add_argument("--librispeech", required=True, type=Path, help="folder holding LibriSpeech/test-clean")
    p.add_argument("--task", required=True, choices=("cross", "continuation"), help="which set to build")
    p.add_argument("--out-dir", required=True, type=Path, help="output directory (replaced when complete)")
    p.add_argument("--prompt-seconds", type=float, default=3.0,
                   help="longest prompt, cut at a word boundary; 0: the whole prompt utterance (default: %(default)s)")
    p.add_argument("--g2p", choices=("flite", "cmudict", "espeak"), default="espeak",
                   help="phones for the aligner that finds the word boundaries (default: %(default)s)")
    p.add_argument("--max-items", type=int, default=0, help="only the first N items (0: all, the default)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for the prompt cuts (default: %(default)s)")
    p.add_argument("--on-error", choices=("stop", "skip"), default="stop",
                   help="a missing utterance or failed cut stops the run (default) or is skipped and listed")
    return p.parse_args(argv)


@entry_point
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from voiceflow.data.evalsets import make_evalset

    t0 = time.perf_counter()
    summary = make_evalset(args.list, args.librispeech, args.task, args.out_dir, prompt_seconds=args.prompt_seconds,
                           g2p=args.g2p, max_items=args.max_items, jobs=args.jobs, on_error=args.on_error)
    print(f"{args.task}: {summary['items']} items, {summary['prompts_cut']} prompts cut, {summary['skipped']} skipped, "
          f"in {time.perf_counter() - t0:.1f} s -> {args.out_dir / 'items.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
