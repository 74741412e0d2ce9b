"""Log-mel features for a manifest, and (for the training set) the global mel statistics.

Usage::

    python -m voiceflow.bin.features --manifest data/train.jsonl --out-manifest data/train_feats.jsonl \\
        --feats-dir data/feats --stats data/stats.json [--config conf.yaml] [--jobs 2] [--on-error stop]

Each utterance's audio is read at the mel rate, its log-mel (the mel contract of
docs/DESIGN.md; ``mel`` section of the config) is saved as ``<feats-dir>/<id>.npy`` of shape
(n_mels, frames), and its alignment is checked against the audio. The output manifest adds
``feats`` and ``frames`` to every row. A bad utterance (unreadable audio, an alignment that
does not cover it) stops the stage with its name, or with ``--on-error skip`` is reported
and left out. Existing feature files are reused unless ``--force``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from voiceflow.align import validate_alignment
from voiceflow.audio import StatsAccumulator, log_mel
from voiceflow.bin.common import command_parser, entry_point
from voiceflow.config import MelConfig, load_config
from voiceflow.data.manifest import load_manifest, load_row_audio, save_manifest
from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path


def _feature_job(job: tuple[dict, str, str, MelConfig, bool]) -> tuple[dict | None, str | None, list | None]:
    """Worker: (row, manifest path, feats dir, mel config, force) -> (new row, error, stats parts)."""
    row, manifest, feats_dir, mel_cfg, force = job
    torch.set_num_threads(1)
    out_path = Path(feats_dir) / f"{row['id']}.npy"
    try:
        if out_path.is_file() and not force:
            mel = torch.from_numpy(np.load(out_path))
        else:
            wav = load_row_audio(row, manifest, mel_cfg.sample_rate)
            mel = log_mel(wav, mel_cfg)
            with atomic_path(out_path) as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, mel.numpy().astype(np.float32))
        duration = (mel.shape[1] - 1) * mel_cfg.hop_length / mel_cfg.sample_rate
        if "alignment" in row:
            validate_alignment(row["alignment"], float(row["duration"]), name=str(row["id"]))
            if abs(float(row["duration"]) - duration) > 2 * mel_cfg.hop_length / mel_cfg.sample_rate:
                raise VoiceflowError(f"{row['id']}: manifest duration {row['duration']:.3f} s does not match "
                                     f"the audio ({duration:.3f} s)")
    except VoiceflowError as e:
        return None, str(e), None
    stats = StatsAccumulator()
    stats.add(mel)
    return {**row, "feats": str(out_path.resolve()), "frames": int(mel.shape[1])}, None, stats


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow features", __doc__)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--out-manifest", required=True)
    parser.add_argument("--feats-dir", required=True)
    parser.add_argument("--stats", help="write global mean/std of this manifest's features here")
    parser.add_argument("--config", help="YAML whose mel section defines the features (default: vocos 24 kHz)")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 1)))
    parser.add_argument("--on-error", choices=("stop", "skip"), default="stop")
    parser.add_argument("--force", action="store_true", help="recompute existing feature files")
    args = parser.parse_args(argv)

    mel_cfg = load_config(args.config).mel
    rows = load_manifest(args.manifest)
    Path(args.feats_dir).mkdir(parents=True, exist_ok=True)
    jobs = [(row, args.manifest, args.feats_dir, mel_cfg, args.force) for row in rows]
    out_rows, skipped, total = [], [], StatsAccumulator()
    pool = mp.get_context("spawn").Pool(args.jobs) if args.jobs > 1 else None
    try:
        results = pool.imap(_feature_job, jobs, chunksize=4) if pool else map(_feature_job, jobs)
        for new_row, error, stats in tqdm(results, total=len(jobs), desc="features", dynamic_ncols=True):
            if error is not None:
                if args.on_error == "stop":
                    raise VoiceflowError(f"{args.manifest}: {error}")
                print(f"skipped: {error}")
                skipped.append(error)
                continue
            out_rows.append(new_row)
            total.merge(stats)
    finally:
        if pool:
            pool.terminate()
    if not out_rows:
        raise VoiceflowError(f"{args.manifest}: no utterance could be processed")
    save_manifest(args.out_manifest, out_rows, source=args.manifest)
    if args.stats:
        result = total.result()
        result.save(args.stats)
        print(f"{args.stats}: mean {result.mean:.4f}, std {result.std:.4f} over {result.frames} frames")
    print(f"{args.out_manifest}: {len(out_rows)} utterances" + (f", {len(skipped)} skipped" if skipped else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
