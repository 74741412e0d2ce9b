"""Split a large manifest into pieces that are random samples of it (streamed, bounded memory).

Usage:
    python recipes/shared/local/split_manifest.py --manifest data/manifests/raw/train.jsonl \
        --out-dir data/manifests/raw/train.d [--rows-per-piece 200000] [--seed 0]

The corpus recipes align and shard a training set piece by piece, so that no stage holds
LibriHeavy's ~13 M rows at once. Corpora list utterances by speaker or book; a piece made of
consecutive lines would hold a few speakers only, so each row goes to the piece chosen by a
seeded hash of its id: every piece is a random sample of the corpus, and the assignment
never depends on the machine or the run. Rows keep their text exactly, except that a
relative audio path is made absolute (the pieces sit one folder deeper than the manifest).
Writes OUT/piece-0000.jsonl ... (ceil(rows / rows-per-piece) pieces) atomically: the pieces
appear together or not at all. Reads the manifest twice (count, then deal) and keeps one
open file per piece.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from voiceflow.data.manifest import resolve  # noqa: E402
from voiceflow.errors import VoiceflowError  # noqa: E402
from voiceflow.fileio import atomic_path  # noqa: E402


def piece_of(row_id: str, seed: int, pieces: int) -> int:
    digest = hashlib.blake2b(f"{seed}:{row_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % pieces


def split(manifest: Path, out_dir: Path, rows_per_piece: int, seed: int) -> list[int]:
    """Deal the rows of ``manifest`` into pieces under ``out_dir``; returns the rows per piece."""
    if rows_per_piece < 1:
        raise VoiceflowError(f"--rows-per-piece must be >= 1 (got {rows_per_piece})")
    if not manifest.is_file():
        raise VoiceflowError(f"{manifest}: manifest not found")
    with open(manifest, encoding="utf-8") as f:
        total = sum(1 for line in f if line.strip())
    if total == 0:
        raise VoiceflowError(f"{manifest}: manifest is empty")
    pieces = math.ceil(total / rows_per_piece)
    counts = [0] * pieces
    with atomic_path(out_dir, is_dir=True) as tmp:
        files = [open(tmp / f"piece-{k:04d}.jsonl", "w", encoding="utf-8") for k in range(pieces)]
        try:
            with open(manifest, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                        row_id = row["id"]
                    except (json.JSONDecodeError, KeyError, TypeError):
                        raise VoiceflowError(f"{manifest}:{n}: not a JSON object with an id") from None
                    if "audio" in row and not Path(str(row["audio"])).is_absolute():
                        # the pieces live one folder deeper: keep the row's audio where it was
                        row["audio"] = str(resolve(str(row["audio"]), manifest).resolve())
                        line = json.dumps(row, ensure_ascii=False) + "\n"
                    k = piece_of(str(row_id), seed, pieces)
                    files[k].write(line if line.endswith("\n") else line + "\n")
                    counts[k] += 1
        finally:
            for handle in files:
                handle.close()
        for k, count in enumerate(counts):  # a hash can leave a piece empty: drop it
            if count == 0:
                (tmp / f"piece-{k:04d}.jsonl").unlink()
    return counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--manifest", required=True, type=Path)
    p.add_argument("--out-dir", required=True, type=Path)
    p.add_argument("--rows-per-piece", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        counts = split(args.manifest, args.out_dir, args.rows_per_piece, args.seed)
    except VoiceflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    kept = [c for c in counts if c]
    print(f"{args.out_dir}: {sum(counts)} rows in {len(kept)} piece(s) of {min(kept)}-{max(kept)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
