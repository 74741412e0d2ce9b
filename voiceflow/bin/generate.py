"""Infill every item of a manifest into a self-describing directory of wavs.

Usage::

    voiceflow generate --checkpoint exp/demo --manifest data/test.jsonl --out-root exp/demo/infer \\
        [--span-seconds 1.0,2.0] [--nfe 32] [--solver euler|midpoint|stochastic_euler] \\
        [--schedule uniform|sway] [--sway -1] [--noise-scale 0.5] [--guidance 0.0] [--seed 0] \\
        [--vocoder DIR_OR_HUB_ID] [--device cuda] [--dtype fp32|bf16|fp16] [--compile] [--cuda-graph]

Items need ``id``, ``audio`` and ``alignment``, and either a ``span`` ([start_s, end_s]) or
``--span-seconds LO,HI`` with ``words`` (a run of whole words of that length is drawn with the
seed). Writes ``<out-root>/nfe<N>_<solver>_cfg<a>_seed<s>/{<id>.wav, meta.jsonl}`` (the
solver part names its options: ``stochastic_euler-s0.5``, ``euler_sway-1``; weights other
than fp32 add ``_bf16`` or ``_fp16``) and prints its path. On a GPU, ``--dtype bf16 --compile
--cuda-graph`` is the setup ``tools/benchmark.py infer`` measures.
"""

from __future__ import annotations

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.bin.infill import add_sampling_args, add_speed_args, sampling_options
from voiceflow.errors import VoiceflowError


def parse_range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise VoiceflowError(f"--span-seconds {text!r}: expected LO,HI in seconds") from None
    if not 0 < lo <= hi:
        raise VoiceflowError(f"--span-seconds {text!r}: need 0 < LO <= HI")
    return lo, hi


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow generate", __doc__)
    parser.add_argument("--checkpoint", required=True, help="experiment or checkpoint directory")
    parser.add_argument("--manifest", required=True, help="JSON Lines items: id, audio, alignment, span or words")
    parser.add_argument("--out-root", required=True,
                        help="the run's directory is made under it, named by its sampling options")
    parser.add_argument("--span-seconds", default=None, help="LO,HI: draw word spans of this length")
    parser.add_argument("--vocoder", default=None, help="vocos folder or hub id (default: Griffin-Lim)")
    parser.add_argument("--max-frames", type=int, default=20000, help="frames per sampling batch")
    parser.add_argument("--cuda-graph", action="store_true", help="replay the ODE loop as one CUDA graph")
    add_sampling_args(parser)
    add_speed_args(parser)
    args = parser.parse_args(argv)
    options = sampling_options(args)
    span = parse_range(args.span_seconds)

    from voiceflow.infer import Synthesizer

    synth = Synthesizer(args.checkpoint, device=args.device, vocoder=args.vocoder, weights=args.weights,
                        cuda_graph=args.cuda_graph, dtype=args.dtype, compile=args.compile)
    out = synth.generate(args.manifest, args.out_root, args.nfe, args.solver, args.guidance, args.seed,
                         span, args.max_frames, **options)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
