"""Fill a recipe's RESULTS.md from the metrics stage's outputs.

Usage:
    python recipes/shared/local/write_results.py --results recipes/ljspeech/RESULTS.md --exp exp --corpus ljspeech \
        --setup nfe32_euler_cfg0.7_seed0 --audio-config conf/audio.yaml --sets heldout[,librispeech_cross,...]

Reads EXP/eval/heldout_infill/report.json (voiceflow score: masked-region L1 of held-out
infilling) and EXP/eval/<set>/metrics.json (voiceflow eval: WER, SIM-o, MOS with 95 %
intervals), and the trained steps of the audio, duration and vocoder models. The table
replaces what lies between the markers ``<!-- results:begin -->`` and
``<!-- results:end -->`` in the --results file (the text around them is kept; the file is
rewritten atomically). Every run of the stage rewrites the table: it shows the newest
checkpoint's figures, with the date, the config and the hardware that produced them.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from voiceflow.errors import VoiceflowError  # noqa: E402
from voiceflow.eval import markdown_table  # noqa: E402
from voiceflow.fileio import atomic_path  # noqa: E402
from voiceflow.train.checkpoint import latest_checkpoint, load_trainer_state  # noqa: E402

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
SET_TITLES = {
    "heldout": "Zero-shot TTS of held-out test sentences (3 s prompt from another utterance of the speaker)",
    "librispeech_cross": "LibriSpeech test-clean 4-10 s, cross-sentence prompts (Voicebox sec. 5.2)",
    "librispeech_continuation": "LibriSpeech test-clean 4-10 s, continuation of the first 3 s",
}


def trained_steps(exp_dir: Path) -> str:
    found = latest_checkpoint(exp_dir) if exp_dir.is_dir() else None
    return str(load_trainer_state(found)["step"]) if found is not None else "-"


def hardware() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return f"CPU ({platform.processor() or platform.machine()})"


def results_section(exp: Path, corpus: str, setup: str, audio_config: str, sets: list[str]) -> str:
    lines = [f"Run of {time.strftime('%Y-%m-%d')} on {hardware()}; corpus `{corpus}`, audio config "
             f"`{audio_config}`; sampling `{setup}`. Steps: audio model {trained_steps(exp / 'audio')}, "
             f"duration model {trained_steps(exp / 'audio' / 'duration')}, "
             f"vocoder {trained_steps(exp / 'vocoder')}.", ""]
    report_path = exp / "eval" / "heldout_infill" / "report.json"
    if report_path.is_file():
        r = json.loads(report_path.read_text())
        lines += ["### Held-out infilling (masked-region L1 on normalised mels, lower is better)", "",
                  "| items | trained | trained, guided | untrained | mean fill | trained / mean fill |",
                  "|---:|---:|---:|---:|---:|---:|",
                  f"| {r['items']} | {r['masked_l1_trained']:.3f} | {r['masked_l1_trained_guided']:.3f} | "
                  f"{r['masked_l1_untrained']:.3f} | {r['masked_l1_mean_fill']:.3f} | "
                  f"{r['ratio_trained_to_mean_fill']:.3f} |", ""]
    for name in sets:
        path = exp / "eval" / name / "metrics.json"
        if not path.is_file():
            raise VoiceflowError(f"{path}: missing (run stage 9 of the recipe)")
        report = json.loads(path.read_text())
        backends = ", ".join(f"{k}: {v}" for k, v in report.get("backends", {}).items())
        lines += [f"### {SET_TITLES.get(name, name)}", "", markdown_table(report), "",
                  f"Backends: {backends}; 95 % bootstrap intervals; text normalisation: "
                  f"{report.get('text_normalisation', '-')}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", required=True, type=Path, help="the recipe's RESULTS.md")
    p.add_argument("--exp", required=True, type=Path)
    p.add_argument("--corpus", required=True)
    p.add_argument("--setup", required=True)
    p.add_argument("--audio-config", required=True)
    p.add_argument("--sets", required=True, help="comma list of evaluated sets under EXP/eval")
    args = p.parse_args(argv)
    results = args.results
    try:
        text = results.read_text() if results.is_file() else f"# Results\n\n{BEGIN}\n{END}\n"
        if BEGIN not in text or END not in text or text.index(BEGIN) > text.index(END):
            raise VoiceflowError(f"{results}: the markers {BEGIN} and {END} are missing")
        section = results_section(args.exp, args.corpus, args.setup, args.audio_config,
                                  [s for s in args.sets.split(",") if s])
    except VoiceflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with atomic_path(results) as tmp:
        tmp.write_text(f"{head}{BEGIN}\n{section}{END}{tail}", encoding="utf-8")
    print(f"{results}: results of {args.exp} written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
