#!/usr/bin/env python3
"""The systems of the demo listening test: ground truth and vocoder resynthesis beside voiceflow.

Usage::

    python egs/listening_test/prepare_systems.py --generated DIR --out SYSTEMS_DIR \\
        [--vocoder DIR_OR_HUB_ID]

``DIR`` is a directory written by ``voiceflow generate`` (``<id>.wav`` + ``meta.jsonl``,
whose rows name each item's recording in ``prompt``). For every item this writes
``SYSTEMS_DIR/ground_truth/<id>.wav`` (the recording at the model's rate, 24 kHz mono) and
``SYSTEMS_DIR/resynthesis/<id>.wav`` (the recording's mel through the vocoder: pass the
``--vocoder`` the generation used; Griffin-Lim by default; the vocoder's own ceiling), so that the three
systems have the same items at the same rate. Each folder is written under a temporary name
and renamed when complete.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from voiceflow.audio import load_audio, log_mel, save_wav
from voiceflow.config import MelConfig
from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path, read_jsonl
from voiceflow.vocoder import load_vocoder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", required=True, help="a voiceflow generate output directory")
    parser.add_argument("--out", required=True, help="directory for ground_truth/ and resynthesis/")
    parser.add_argument("--vocoder", default=None, help="vocos folder or hub id (default: Griffin-Lim)")
    args = parser.parse_args(argv)
    meta = Path(args.generated) / "meta.jsonl"
    if not meta.is_file():
        raise VoiceflowError(f"{meta}: not found (is {args.generated} a voiceflow generate directory?)")
    rows = read_jsonl(meta)
    mel_cfg = MelConfig()
    vocoder = load_vocoder(args.vocoder, mel_cfg)
    used = {row.get("vocoder") for row in rows}
    if used != {vocoder.name}:
        print(f"warning: the generated wavs used {', '.join(map(str, sorted(used, key=str)))}; "
              f"resynthesis uses {vocoder.name} (pass the generation's --vocoder)", file=sys.stderr)
    out = Path(args.out)
    with atomic_path(out / "ground_truth", is_dir=True) as gt, atomic_path(out / "resynthesis", is_dir=True) as rs:
        for row in rows:
            if not row.get("prompt"):
                raise VoiceflowError(f"{meta}: {row.get('id')}: no 'prompt' (the recording) in the row")
            wav = load_audio(row["prompt"], mel_cfg.sample_rate)
            save_wav(Path(gt) / f"{row['id']}.wav", wav, mel_cfg.sample_rate)
            with torch.inference_mode():
                resynth = vocoder(log_mel(wav, mel_cfg)[None])[0].float()
            save_wav(Path(rs) / f"{row['id']}.wav", resynth, mel_cfg.sample_rate)
    print(f"{len(rows)} items -> {out}/ground_truth, {out}/resynthesis ({vocoder.name})")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except VoiceflowError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(1)
