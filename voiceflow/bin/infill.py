"""Regenerate a time span of one recording with a trained audio model.

Usage::

    voiceflow infill --checkpoint exp/demo --wav a.wav --alignment a.TextGrid \\
        --start 1.20 --end 2.40 --out a_infilled.wav [--nfe 32] [--solver euler] \\
        [--schedule uniform|sway] [--sway -1] [--noise-scale 0.5] [--guidance 0.7] [--seed 0] [--vocoder DIR_OR_HUB_ID] [--device cuda]

The alignment is an MFA TextGrid (tiers "words" and "phones") or a JSON list of
[phone, start_s, end_s] in the phone set the model was trained on. The span is snapped to
the nearest phone boundaries (printed with the output); everything outside it is kept as
context. The noise is drawn from --seed and the recording's file name without its suffix
(the item id ``voiceflow generate`` uses, so both give the same wav for the same item).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.errors import VoiceflowError


def add_sampling_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nfe", type=int, default=32, help="function evaluations of the ODE solver")
    parser.add_argument("--solver", default="euler", choices=("euler", "midpoint", "stochastic_euler"),
                        help="ODE solver (midpoint: two evaluations per step; stochastic_euler needs --noise-scale)")
    parser.add_argument("--schedule", default="uniform", choices=("uniform", "sway"), help="time grid")
    parser.add_argument("--sway", type=float, default=-1.0, help="sway coefficient (F5-TTS; -1 to 1.75)")
    parser.add_argument("--noise-scale", type=float, default=0.0,
                        help="stochastic_euler: diffusion strength (0 = the ODE)")
    parser.add_argument("--guidance", type=float, default=0.0, help="classifier-free guidance strength")
    parser.add_argument("--seed", type=int, default=0, help="seeds the noise (with the item's id or content)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--weights", default="ema", choices=("ema", "model", "untrained"),
                        help="the checkpoint's EMA or live weights, or the untrained initialisation")


def add_speed_args(parser: argparse.ArgumentParser) -> None:
    """How the model runs (not what it samples beyond rounding): weight type and compilation."""
    parser.add_argument("--dtype", default="fp32", choices=("fp32", "bf16", "fp16"),
                        help="model weights while sampling (bf16: about twice as fast on a GPU; the ODE state "
                             "stays fp32); not fp32: generate's output directory name ends in _<dtype>")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the transformer blocks (a GPU; the first batch of each shape compiles)")


def sampling_options(args: argparse.Namespace) -> dict:
    """The solver options of :func:`add_sampling_args` as keyword arguments of the synthesizer,
    checked (with the command's ``--out`` / ``--out-dir``, before any work is done)."""
    from voiceflow.flow.solvers import time_grid

    try:
        time_grid(args.nfe, args.solver)
    except ValueError:
        need = "a positive even number (midpoint evaluates twice per step)" if args.solver == "midpoint" \
            else "a positive integer"
        raise VoiceflowError(f"--nfe {args.nfe}: must be {need}") from None
    if args.guidance < 0:
        raise VoiceflowError(f"--guidance {args.guidance}: must be >= 0 (0 = no guidance)")
    check_outputs(args)
    if args.noise_scale < 0:
        raise VoiceflowError(f"--noise-scale {args.noise_scale}: must be >= 0")
    if args.noise_scale and args.solver != "stochastic_euler":
        raise VoiceflowError("--noise-scale needs --solver stochastic_euler")
    if not args.noise_scale and args.solver == "stochastic_euler":
        raise VoiceflowError("--solver stochastic_euler needs --noise-scale > 0 (with 0 it is the Euler solver)")
    from voiceflow.flow.solvers import SWAY_RANGE

    if args.schedule == "sway" and not SWAY_RANGE[0] <= args.sway <= SWAY_RANGE[1]:
        raise VoiceflowError(f"--sway {args.sway}: must be in [{SWAY_RANGE[0]:g}, {SWAY_RANGE[1]:.2f}]")
    return {"schedule": args.schedule, "sway": args.sway, "noise_scale": args.noise_scale}


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse an ``--out`` file or ``--out-dir`` / ``--out-root`` directory that cannot be
    written, before the model loads (:func:`voiceflow.fileio.check_output_path`)."""
    from voiceflow.fileio import check_output_path

    if getattr(args, "out", None):
        check_output_path(args.out)
    if getattr(args, "out_dir", None):
        check_output_path(args.out_dir, is_dir=True, replaces="meta.jsonl")
    if getattr(args, "out_root", None):
        check_output_path(args.out_root, is_dir=True)


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow infill", __doc__)
    parser.add_argument("--checkpoint", required=True, help="experiment or checkpoint directory")
    parser.add_argument("--wav", required=True)
    parser.add_argument("--alignment", required=True, help="TextGrid or JSON alignment of the recording")
    parser.add_argument("--start", type=float, required=True, help="span start (s)")
    parser.add_argument("--end", type=float, required=True, help="span end (s)")
    parser.add_argument("--out", required=True, help="output wav")
    parser.add_argument("--vocoder", default=None, help="vocos folder or hub id (default: Griffin-Lim)")
    add_sampling_args(parser)
    add_speed_args(parser)
    args = parser.parse_args(argv)
    from voiceflow.bin.task_args import check_audio_out

    check_audio_out(args.out)
    options = sampling_options(args)

    from voiceflow.align import read_alignment_file
    from voiceflow.audio import audio_duration, save_wav
    from voiceflow.infer import Synthesizer

    alignment = read_alignment_file(args.alignment, audio_duration(args.wav))
    synth = Synthesizer(args.checkpoint, device=args.device, vocoder=args.vocoder, weights=args.weights,
                        dtype=args.dtype, compile=args.compile)
    # Synthesizer.infill, with the snapped span kept to report it
    item = synth.prepare(Path(args.wav).stem, args.wav, alignment, args.start, args.end, alignment_name=args.alignment)
    wav = synth.to_wave(synth.infill_items([item], args.nfe, args.solver, args.guidance, args.seed, **options)[0])
    save_wav(args.out, wav, synth.cfg.mel.sample_rate)
    start, end = item.meta["span"]
    print(f"{args.out}: {wav.numel() / synth.cfg.mel.sample_rate:.2f} s; {start:.3f}-{end:.3f} s regenerated "
          f"(the span snapped to phone boundaries)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
