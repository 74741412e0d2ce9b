"""Add the zero-shot TTS results to the demo's report.json (and print them).

Usage:
    python local/tts_report.py --synth-dir exp/demo/tts/nfe16_euler_cfg0.7_seed0 \
        --report exp/demo/infer/nfe16_euler_cfg0_seed0/report.json [--jobs 2] [--check]

Adds "tts": pocketsphinx WER of the generated speech beside the WER of the ground truth of
the same sentences, and resemblyzer speaker similarity: each output's mean cosine to the
prompts of its own voice and of the other voices (voiceflow.eval.zero_shot). With --check the
script fails unless every output is closer to its own voice than to the others on average.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from voiceflow.errors import VoiceflowError  # noqa: E402
from voiceflow.eval.zero_shot import zero_shot_report  # noqa: E402
from voiceflow.fileio import write_json  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synth-dir", required=True, type=Path)
    p.add_argument("--report", required=True, type=Path, help="report.json to extend (created if missing)")
    p.add_argument("--check", action="store_true")
    p.add_argument("--jobs", type=int, default=1, help="processes for the speech recogniser")
    args = p.parse_args(argv)
    try:
        tts = zero_shot_report(args.synth_dir, jobs=args.jobs)
    except VoiceflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    report = json.loads(args.report.read_text()) if args.report.is_file() else {}
    tts["synth_dir"] = str(args.synth_dir)
    passed = tts["closer_to_own_share"] == 1.0
    tts["check"] = {"every_output_closer_to_own_voice": passed}
    report["tts"] = tts
    write_json(args.report, report)
    gt = tts["wer_ground_truth"]
    print(json.dumps({"tts_items": tts["items"], "wer_generated": round(tts["wer_generated"]["value"], 4),
                      "wer_ground_truth": round(gt["value"], 4) if gt else None,
                      "sim_own_voice": round(tts["sim_own_speaker"]["value"], 4),
                      "sim_other_voices": round(tts["sim_other_speakers"]["value"], 4),
                      "closer_to_own_share": round(tts["closer_to_own_share"], 4)}, indent=1))
    if args.check and not passed:
        print(f"error: {args.report}: only {tts['closer_to_own_share']:.0%} of the outputs are closer to their own "
              "voice than to the others", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
