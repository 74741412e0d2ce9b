"""Masked-region L1 of a checkpoint against its initialisation and a mean fill (report.json).

Usage::

    voiceflow score --checkpoint exp/demo --manifest data/test.jsonl --out DIR/report.json \\
        [--span-seconds 1.0,2.0] [--nfe 32] [--solver euler] [--guidance 0.7] [--seed 0] [--check] \\
        [--generated exp/demo/infer/nfe32_euler_cfg0_seed0 --generated exp/demo/infer/nfe32_euler_cfg0.7_seed0]

Spans are chosen exactly as ``voiceflow generate`` chooses them for the same seed, so the
report describes the wavs generated next to it. ``--generated`` reads the trained model's
span L1s from those generate directories (unguided and guided) instead of sampling again;
they must hold the same items, checkpoint and settings, or the command fails. See
:mod:`voiceflow.infer.scoring`.
"""

from __future__ import annotations

import json

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.bin.generate import parse_range
from voiceflow.bin.infill import add_sampling_args, sampling_options


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow score", __doc__)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--out", required=True, help="report.json to write")
    parser.add_argument("--span-seconds", default=None)
    parser.add_argument("--max-frames", type=int, default=20000)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless trained <= 0.8 x mean fill and <= 0.5 x untrained")
    parser.add_argument("--generated", action="append", default=[], metavar="DIR",
                        help="a voiceflow generate directory of the same items to read instead of sampling")
    add_sampling_args(parser)
    args = parser.parse_args(argv)
    options = sampling_options(args)
    span = parse_range(args.span_seconds)

    from voiceflow.fileio import write_json
    from voiceflow.infer import Synthesizer
    from voiceflow.infer.loading import load_audio_model
    from voiceflow.infer.scoring import check_report, generated_by_guidance, masked_l1_report

    trained = Synthesizer(args.checkpoint, device=args.device, weights=args.weights)
    device = str(trained.device)
    untrained = Synthesizer(load_audio_model(args.checkpoint, device, weights="untrained"), device=device)
    items = trained.items_from_manifest(args.manifest, span, args.seed)
    report = masked_l1_report(trained, untrained, items, args.nfe, args.solver, args.guidance, args.seed,
                              args.max_frames, generated=generated_by_guidance(args.generated), **options)
    report["checkpoint"] = str(trained.loaded.checkpoint)
    report["step"] = trained.loaded.step
    write_json(args.out, report)
    print(json.dumps(report, indent=2))
    if args.check:
        check_report(report)
        print(f"check passed: trained/mean-fill {report['ratio_trained_to_mean_fill']:.3f}, "
              f"trained/untrained {report['ratio_trained_to_untrained']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
