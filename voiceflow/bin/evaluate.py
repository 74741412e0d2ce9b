"""Objective metrics over directories of generated speech (metrics.json + items.csv).

Usage::

    # two systems written by `voiceflow generate` (texts and prompts from their meta.jsonl)
    voiceflow eval --system base=exp/base/infer/nfe32_euler_cfg0.7_seed0 \\
        --system big=exp/big/infer/nfe32_euler_cfg0.7_seed0 --reference data/test_wavs --out exp/eval

    # plain wav directories, chosen metrics and backends
    voiceflow eval --system A=out/a --system B=out/b --texts texts.tsv --prompt prompts/ \\
        --metrics wer,cer,sim_o,sim_r,mos --asr transformers:openai/whisper-large-v3 \\
        --speaker wavlm:microsoft/wavlm-base-plus-sv --vocoder charactr/vocos-mel-24khz --out exp/eval

    # on a CPU: PocketSphinx and pYIN F0 (most of the time) in 8 processes, same results
    voiceflow eval --system A=out/a --reference refs/ --texts texts.tsv --jobs 8 --out exp/eval

Metrics: wer, cer (ASR transcript vs text), sim_o / sim_r (speaker similarity to the prompt /
to the vocoded prompt), mcd, f0 (against --reference), mos (predicted). Without --metrics,
every metric whose inputs exist is computed and the others are skipped with one line.
Backends fall back to the offline ones (pocketsphinx, resemblyzer, distillmos) with one line
when a requested model cannot be loaded. See :mod:`voiceflow.eval`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.errors import VoiceflowError


def parse_systems(values: list[str]) -> dict[str, str]:
    """``["A=dir1", "dir2"]`` -> ``{"A": "dir1", "dir2": "dir2"}`` (a bare DIR is named after itself)."""
    systems: dict[str, str] = {}
    for v in values:
        name, sep, directory = v.partition("=")
        if not sep:
            name, directory = Path(v).name or v, v
        if not name or not directory:
            raise VoiceflowError(f"--system {v!r}: expected NAME=DIR")
        if name in systems:
            raise VoiceflowError(f"--system {name} given twice")
        systems[name] = directory
    return systems


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow eval", __doc__)
    parser.add_argument("--system", action="append", required=True, metavar="NAME=DIR",
                        help="a directory of <id>.wav (+ meta.jsonl); repeat for several systems")
    parser.add_argument("--reference", default=None, metavar="DIR", help="<id>.wav references (mcd, f0)")
    parser.add_argument("--prompt", default=None, metavar="DIR", help="<id>.wav prompts (else meta.jsonl's prompt)")
    parser.add_argument("--texts", default=None, metavar="FILE", help="id/text as .jsonl or id<TAB>text .tsv")
    parser.add_argument("--metrics", default=None, help="comma list of wer,cer,sim_o,sim_r,mcd,f0,mos")
    parser.add_argument("--asr", default="pocketsphinx", help="pocketsphinx | transformers:DIR_OR_HUB_ID")
    parser.add_argument("--speaker", default="resemblyzer", help="resemblyzer | wavlm:DIR_OR_HUB_ID")
    parser.add_argument("--mos", default="distillmos",
                        help="distillmos | utmos (SpeechMOS's UTMOS22 via torch.hub) | utmos:DIR_OR_OWNER/REPO[:REF]")
    parser.add_argument("--vocoder", default=None, help="vocoder for SIM-r: vocos DIR, hub id or griffinlim")
    parser.add_argument("--out", required=True, metavar="DIR", help="writes DIR/metrics.json and DIR/items.csv")
    parser.add_argument("--device", default=None, help="cuda when available, else cpu")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes for PocketSphinx transcripts and F0 tracks (the CPU-bound part)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for WER/CER intervals")
    parser.add_argument("--allow-missing", action="store_true",
                        help="evaluate the items every system has (the others are listed), instead of an error")
    parser.add_argument("--resample", action="store_true",
                        help="accept other sample rates / channel counts (resampled, downmixed), instead of an error")
    args = parser.parse_args(argv)

    from voiceflow.eval import evaluate, markdown_table

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    report = evaluate(parse_systems(args.system), args.out, reference=args.reference, prompt=args.prompt,
                      texts=args.texts, metrics=metrics, asr=args.asr, speaker=args.speaker, mos=args.mos,
                      vocoder=args.vocoder, device=args.device, seed=args.seed, n_boot=args.bootstrap,
                      allow_missing=args.allow_missing, resample=args.resample, jobs=args.jobs,
                      notice=lambda line: print(line, file=sys.stderr))
    print(markdown_table(report))
    print(f"wrote {Path(args.out) / 'metrics.json'} and {Path(args.out) / 'items.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
