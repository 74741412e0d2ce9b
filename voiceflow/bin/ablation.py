"""Compare trained models and samplers on the same held-out spans: one ablation table.

Usage::

    voiceflow ablation --checkpoint exp/ot_independent --checkpoint exp/icfm_ot \\
        --manifest data/test.jsonl --out exp/ablation [--nfe 4,8,16,32] \\
        [--samplers euler,midpoint,stochastic_euler,euler_sway] [--noise-scale 0.5] \\
        [--span-seconds 1.0,2.0] [--seed 0] [--max-items N] [--likelihood-steps 16] [--probes 2] \\
        [--no-likelihood]

Writes ``<out>/ablation.json`` and ``<out>/ablation.md`` (masked L1 per model, sampler and
NFE; training steps, time and masked-region NLL per model) and prints the Markdown. See
:mod:`voiceflow.infer.ablation`.
"""

from __future__ import annotations

from pathlib import Path

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.bin.generate import parse_range
from voiceflow.errors import VoiceflowError


def parse_ints(text: str, option: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        raise VoiceflowError(f"{option} {text!r}: expected comma-separated integers") from None
    if not values or min(values) < 1:
        raise VoiceflowError(f"{option} {text!r}: values must be positive")
    return values


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow ablation", __doc__)
    parser.add_argument("--checkpoint", action="append", required=True, help="experiment dir (repeat)")
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--out", required=True, help="directory for ablation.json and ablation.md")
    parser.add_argument("--nfe", default="4,8,16,32")
    parser.add_argument("--samplers", default="euler,midpoint,stochastic_euler,euler_sway")
    parser.add_argument("--noise-scale", type=float, default=0.5, help="of stochastic_euler")
    parser.add_argument("--span-seconds", default="1.0,2.0")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    parser.add_argument("--max-frames", type=int, default=20000)
    parser.add_argument("--max-items", type=int, default=None, help="evaluate this many items, evenly spread")
    parser.add_argument("--likelihood-steps", type=int, default=16, help="midpoint steps of the NLL integration")
    parser.add_argument("--probes", type=int, default=2, help="Hutchinson probes (Rademacher) of the NLL")
    parser.add_argument("--no-likelihood", action="store_true")
    args = parser.parse_args(argv)
    nfes = parse_ints(args.nfe, "--nfe")
    if args.noise_scale < 0:
        raise VoiceflowError(f"--noise-scale {args.noise_scale}: must be >= 0")
    if args.max_items is not None and args.max_items < 1:
        raise VoiceflowError(f"--max-items {args.max_items}: must be positive")
    if args.likelihood_steps < 1 or args.probes < 1:
        raise VoiceflowError("--likelihood-steps and --probes must be positive")
    likelihood = None if args.no_likelihood else {
        "steps": args.likelihood_steps, "method": "midpoint", "estimator": "hutchinson",
        "probes": args.probes, "probe": "rademacher"}

    from voiceflow.fileio import atomic_path, write_json
    from voiceflow.infer.ablation import ablation, to_markdown

    result = ablation(args.checkpoint, args.manifest, nfes, args.samplers.split(","), args.noise_scale,
                      parse_range(args.span_seconds), args.seed, args.device, args.max_frames, likelihood,
                      args.max_items)
    table = to_markdown(result)
    out = Path(args.out)
    with atomic_path(out, is_dir=True) as tmp:
        write_json(Path(tmp) / "ablation.json", result)
        (Path(tmp) / "ablation.md").write_text(table)
    print(table, end="")
    print(out / "ablation.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
