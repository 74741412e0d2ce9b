"""Listening tests: build a static test page from wav directories, analyse the results.

Usage::

    # MOS over two systems, 20 random items, 3 attention checks; open web/mos1/index.html
    voiceflow listen build --test mos --system A=exp/a/nfe32_euler --system B=exp/b/nfe32_euler \\
        --out web/mos1 --items 20 --attention-checks 3 --texts

    # MUSHRA against the ground truth (hidden reference and a 3.5 kHz low-pass anchor added)
    voiceflow listen build --test mushra --reference data/test_wavs --system A=... --system B=... \\
        --out web/mushra1 --title "Speech quality" --instructions my_instructions.txt

    # CMOS (system vs reference) and A/B (every pair of systems), results also POSTed
    voiceflow listen build --test cmos --reference data/test_wavs --system ours=... --out web/cmos1
    voiceflow listen build --test ab --system A=... --system B=... --out web/ab1 \\
        --post-url https://example.org/collect

    # analyse the collected results (files, or folders of *.json) against the key
    voiceflow listen analyze --key web/mos1.key.json results/ --out web/mos1_analysis

The page folder (index.html + audio/) works from a folder or any static host; the key is
written beside it as OUT.key.json and must not be uploaded. See voiceflow/listen/build.py
for the tests, the results and key formats, and the design of the attention checks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.errors import VoiceflowError


# --- `voiceflow listen build` (voiceflow/listen/build.py) -----------------------------------

def add_build_parser(sub) -> None:
    p = sub.add_parser("build", help="a static listening-test page from wav directories",
                       description="Build a static MOS/SMOS/CMOS/AB/MUSHRA page folder and its key.")
    p.add_argument("--test", required=True, choices=["mos", "smos", "cmos", "ab", "mushra"])
    p.add_argument("--system", action="append", default=[], metavar="NAME=DIR",
                   help="a system's wav directory (repeat); items are matched by file stem")
    p.add_argument("--reference", metavar="DIR",
                   help="smos: speaker reference per item; cmos: what each system is compared with (played as "
                        "A or B, balanced per listener); mushra: the explicit and hidden reference")
    p.add_argument("--anchor", metavar="NAME=DIR",
                   help="mushra: the anchor (default: the reference low-passed at 3.5 kHz)")
    p.add_argument("--out", required=True, metavar="DIR", help="the page folder; the key goes to DIR.key.json")
    p.add_argument("--title", default="Listening test")
    p.add_argument("--instructions", metavar="FILE", help="a text file shown (as text) before the test")
    p.add_argument("--items", type=int, metavar="N", help="a random subset of N items (seeded)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--attention-checks", type=int, default=2, metavar="K",
                   help="beep-count attention trials (default 2)")
    p.add_argument("--post-url", metavar="URL",
                   help="also POST each listener's results there as JSON (the endpoint must allow cross-origin "
                        "POSTs with a Content-Type header: a page opened from a file has origin null)")
    p.add_argument("--texts", action="store_true", help="show each item's text from meta.jsonl")
    p.add_argument("--allow-missing", action="store_true",
                   help="drop (and list) items that some input lacks instead of failing")
    p.add_argument("--sample-rate", type=int, metavar="HZ",
                   help="the test's sample rate (default: that of the first input file)")


def run_build(args: argparse.Namespace) -> int:
    from voiceflow.listen.build import build_test
    from voiceflow.listen.sources import parse_system

    instructions = None
    if args.instructions:
        path = Path(args.instructions)
        if not path.is_file():
            raise VoiceflowError(f"--instructions {path}: file not found")
        instructions = path.read_text(encoding="utf-8").strip()
    build_test(args.test, [parse_system(s) for s in args.system], args.out,
               reference=args.reference,
               anchor=parse_system(args.anchor, "--anchor") if args.anchor else None,
               title=args.title, instructions=instructions, items=args.items, seed=args.seed,
               attention_checks=args.attention_checks, post_url=args.post_url, texts=args.texts,
               allow_missing=args.allow_missing, sample_rate=args.sample_rate)
    return 0


# --- `voiceflow listen analyze` (voiceflow/listen/analyze.py) -------------------------------
#     voiceflow listen analyze --key web/mos1.key.json results/ --out web/mos1_analysis \
#         [--min-attention 1.0] [--mushra-hidden-ref-min 90 --mushra-hidden-ref-fraction 0.15] [--alpha 0.05]

def add_analyze_parser(sub) -> None:
    p = sub.add_parser("analyze", help="scores, screening and significance tests over collected results",
                       description="Analyse listening-test results against the key: per-system scores with "
                                   "95 % intervals, listener screening, Holm-corrected pairwise tests; writes "
                                   "summary.md/.csv, pairwise.csv, listeners.csv, scores.png, analysis.json.")
    p.add_argument("--key", required=True, metavar="KEY", help="the OUT.key.json written by `voiceflow listen build`")
    p.add_argument("results", nargs="+", metavar="RESULTS",
                   help="result files, or directories of *.json result files (*.key.json skipped)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (other files in it are kept)")
    p.add_argument("--min-attention", type=float, default=1.0, metavar="F",
                   help="exclude listeners who pass a smaller fraction of attention checks (default 1.0)")
    p.add_argument("--mushra-hidden-ref-min", type=float, default=90.0, metavar="R",
                   help="MUSHRA: a hidden-reference rating below R counts against the listener (default 90)")
    p.add_argument("--mushra-hidden-ref-fraction", type=float, default=0.15, metavar="F",
                   help="MUSHRA: exclude listeners with such ratings in more than F of their trials (default 0.15)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level after Holm (default 0.05)")


def run_analyze(args: argparse.Namespace) -> int:
    from voiceflow.listen.analyze import Settings, analyze
    from voiceflow.listen.report import write_report

    if not 0 < args.alpha < 1:
        raise VoiceflowError(f"--alpha {args.alpha}: expected a value between 0 and 1")
    if not 0 <= args.min_attention <= 1 or not 0 <= args.mushra_hidden_ref_fraction <= 1:
        raise VoiceflowError("--min-attention and --mushra-hidden-ref-fraction are fractions between 0 and 1")
    settings = Settings(min_attention=args.min_attention, hidden_ref_min=args.mushra_hidden_ref_min,
                        hidden_ref_fraction=args.mushra_hidden_ref_fraction, alpha=args.alpha)
    analysis = analyze(args.key, args.results, settings, skip_dir=args.out)
    print(write_report(analysis, args.out), end="")
    return 0


SUBCOMMANDS = {
    "build": (add_build_parser, run_build),
    "analyze": (add_analyze_parser, run_analyze),
}


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow listen", __doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}")
    for add_parser, _ in SUBCOMMANDS.values():
        add_parser(sub)
    args = parser.parse_args(argv)
    return SUBCOMMANDS[args.command][1](args)


if __name__ == "__main__":
    raise SystemExit(main())
