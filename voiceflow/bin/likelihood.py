"""Masked-region negative log-likelihood of a checkpoint on the items of a manifest.

Usage::

    voiceflow likelihood --checkpoint exp/demo --manifest data/test.jsonl --out exp/demo/nll.jsonl \\
        [--span-seconds 1.0,2.0] [--estimator exact|hutchinson] [--probes 4] \\
        [--probe gaussian|rademacher] [--steps 32] [--solver euler|midpoint] [--guidance 0.0] \\
        [--seed 0] [--device cuda] [--weights ema|model|untrained] [--max-frames 20000]

Items need ``id``, ``audio`` and ``alignment``, and either a ``span`` ([start_s, end_s]) or
``words`` to draw a span of ``--span-seconds`` from. The flow is integrated backwards from
each recording to noise over the span's frames (the rest held on its training path) while
the divergence of the velocity is accumulated, exactly (one vector-Jacobian product per
dimension: small inputs only) or with Hutchinson's estimator. Writes one JSON line per item
(nats per dim, bits per frame, their standard errors over the probes, in the normalised-mel
space; see :mod:`voiceflow.infer.likelihood`) and prints a one-line summary.
"""

from __future__ import annotations

import math

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.bin.generate import parse_range
from voiceflow.errors import VoiceflowError


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow likelihood", __doc__)
    parser.add_argument("--checkpoint", required=True, help="experiment or checkpoint directory")
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--out", required=True, help="output JSON Lines, one row per item")
    parser.add_argument("--span-seconds", default="1.0,2.0", help="LO,HI: word spans for items without 'span'")
    parser.add_argument("--estimator", default="hutchinson", choices=("exact", "hutchinson"))
    parser.add_argument("--probes", type=int, default=4, help="Hutchinson probes per item")
    parser.add_argument("--probe", default="rademacher", choices=("gaussian", "rademacher"))
    parser.add_argument("--steps", type=int, default=32, help="solver steps from data to noise")
    parser.add_argument("--solver", default="midpoint", choices=("euler", "midpoint"))
    parser.add_argument("--guidance", type=float, default=0.0, help="classifier-free guidance of the field")
    parser.add_argument("--seed", type=int, default=0, help="spans, path noise and probes")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--weights", default="ema", choices=("ema", "model", "untrained"))
    parser.add_argument("--max-frames", type=int, default=20000, help="padded frames per batch")
    args = parser.parse_args(argv)
    for name in ("probes", "steps", "max_frames"):
        if getattr(args, name) < 1:
            raise VoiceflowError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be >= 1")
    if args.guidance < 0:
        raise VoiceflowError(f"--guidance {args.guidance}: must be >= 0 (0 = no guidance)")
    span = parse_range(args.span_seconds)

    from voiceflow.fileio import check_output_path, write_jsonl

    check_output_path(args.out)
    from voiceflow.infer import Synthesizer
    from voiceflow.infer.likelihood import masked_likelihood

    synth = Synthesizer(args.checkpoint, device=args.device, weights=args.weights)
    items = synth.items_from_manifest(args.manifest, span, args.seed)
    rows = masked_likelihood(synth.loaded, items, args.steps, args.solver, args.estimator, args.probes, args.probe,
                             args.seed, args.max_frames, args.guidance)
    common = {"checkpoint": str(synth.loaded.checkpoint), "step": synth.loaded.step, "weights": synth.loaded.weights}
    write_jsonl(args.out, [{**row, **common} for row in rows])
    nats = [r["nll_nats_per_dim"] for r in rows]
    mean = sum(nats) / len(nats)
    se = math.sqrt(sum((x - mean) ** 2 for x in nats) / (len(nats) - 1) / len(nats)) if len(nats) > 1 else 0.0
    bits = sum(r["nll_bits_per_frame"] for r in rows) / len(rows)
    print(f"{len(rows)} items: NLL {mean:.4f} ± {se:.4f} nats/dim (SE over items), {bits:.1f} bits/frame"
          f" -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
