"""Arguments and wiring shared by the text-driven task commands (tts, edit, denoise, continue, synth)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from voiceflow.bin.infill import add_sampling_args, add_speed_args, sampling_options
from voiceflow.errors import VoiceflowError


def add_task_args(parser: argparse.ArgumentParser, rate: bool = True) -> None:
    parser.add_argument("--checkpoint", required=True, help="audio-model experiment or checkpoint directory")
    parser.add_argument("--duration", default=None,
                        help="duration-model directory (default: <experiment>/duration)")
    parser.add_argument("--vocoder", default=None, help="vocos folder or hub id (default: Griffin-Lim)")
    if rate:
        parser.add_argument("--rate", type=float, default=1.0, help="speaking rate of new speech (1.25 = faster)")
    add_sampling_args(parser)
    add_speed_args(parser)


def check_audio_out(path: str) -> None:
    """An output recording is written as .wav or .flac (its suffix says which)."""
    from voiceflow.audio.io import AUDIO_FORMATS
    from voiceflow.fileio import check_output_path

    check_output_path(path)  # a directory, or a name under a file: said first
    if Path(path).suffix.lower() not in AUDIO_FORMATS:
        raise VoiceflowError(f"--out {path}: name a .wav or .flac file (audio is written in the format its suffix says)")


def check_inputs(args: argparse.Namespace, *wav_args: str) -> dict:
    """Fail early on missing audio files and bad options; returns the sampling keyword arguments."""
    if getattr(args, "out", None):
        check_audio_out(args.out)
    for name in wav_args:
        path = Path(getattr(args, name))
        if not path.is_file():
            raise VoiceflowError(f"{path}: audio file not found")
    if "rate" in vars(args) and args.rate <= 0:
        raise VoiceflowError(f"--rate {args.rate}: must be > 0")
    options = sampling_options(args)
    options.update(nfe=args.nfe, solver=args.solver, guidance=args.guidance, seed=args.seed)
    if "rate" in vars(args):
        options["rate"] = args.rate
    return options


def make_synthesizer(args: argparse.Namespace):
    from voiceflow.infer import Synthesizer

    return Synthesizer(args.checkpoint, device=args.device, vocoder=args.vocoder, weights=args.weights,
                       duration=args.duration, dtype=args.dtype, compile=args.compile)


def write_result(out: str, wav, sample_rate: int, info: dict, source: str | None = None) -> None:
    """Write the result atomically. An unchanged recording (no edit) is copied byte for byte
    when it already is what the output would be (mono, the model's rate, the same format);
    otherwise its samples are written at the model's rate, like every other output."""
    from voiceflow.audio import save_wav
    from voiceflow.fileio import atomic_path

    if source is not None and info.get("changes") == []:
        why = ("the recording already says the whole text" if info.get("task") == "continue"
               else "the text is unchanged")
        import soundfile as sf

        found = sf.info(source)
        if (Path(source).suffix.lower() == Path(out).suffix.lower() and found.samplerate == sample_rate
                and found.channels == 1):
            with atomic_path(out) as tmp:
                shutil.copyfile(source, tmp)
            print(f"{out}: {why}; the input is copied as it was")
            return
        save_wav(out, wav, sample_rate)
        print(f"{out}: {why}; the input is written at {sample_rate} Hz, mono")
        return
    save_wav(out, wav, sample_rate)
    seconds = wav.numel() / sample_rate
    span = f"; span {info['span'][0]:.3f}-{info['span'][1]:.3f} s" if "span" in info else ""
    print(f"{out}: {seconds:.2f} s ({min(info.get('generated_s', 0), seconds):.2f} s generated{span})")
