"""Held-out test items of a corpus recipe: infilling rows and zero-shot TTS items.

Usage:
    python recipes/shared/local/heldout_items.py --manifest data/manifests/aligned/test.jsonl \
        --out-dir exp/testsets/heldout [--max-items 200] [--prompt-seconds 3.0] [--seed 0]

Chooses up to --max-items utterances of the aligned test split (a seeded draw spread over
speakers: speakers take turns, so every test speaker is represented) and writes
    OUT/wavs/<id>.wav   each chosen utterance as a 24 kHz file (segments of long recordings,
                        as LibriHeavy's, become files of their own)
    OUT/infill.jsonl    the chosen rows, audio pointing to OUT/wavs (voiceflow generate / score)
    OUT/tts.jsonl       voiceflow synth items: the text of each chosen utterance spoken in the
                        voice of ANOTHER test utterance of the same speaker, cut at the last
                        word boundary within --prompt-seconds (Voicebox sec. 5.2 uses 3 s of
                        another utterance; 0 keeps the whole utterance); the chosen utterance
                        is the reference. Speakers
                        with a single test utterance get no TTS item.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from voiceflow.audio import save_wav  # noqa: E402
from voiceflow.data.evalsets import prompt_cut as evalset_prompt_cut  # noqa: E402
from voiceflow.data.manifest import load_manifest, load_row_audio  # noqa: E402
from voiceflow.errors import VoiceflowError  # noqa: E402
from voiceflow.fileio import atomic_path, write_jsonl  # noqa: E402

SAMPLE_RATE = 24000


def choose(rows: list[dict], max_items: int, seed: int) -> list[dict]:
    """Up to ``max_items`` rows (0: all), speakers taking turns, each speaker's rows shuffled."""
    rng = random.Random(seed)
    by_speaker: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_speaker[str(row["speaker"])].append(row)
    queues = []
    for speaker in sorted(by_speaker):
        utts = list(by_speaker[speaker])
        rng.shuffle(utts)
        queues.append(utts)
    limit = max_items if max_items > 0 else len(rows)
    chosen: list[dict] = []
    while len(chosen) < limit and any(queues):
        for q in queues:
            if q and len(chosen) < limit:
                chosen.append(q.pop())
    return chosen


def prompt_cut(row: dict, seconds: float) -> tuple[float, str]:
    """End time and words of the longest word-aligned prefix of ``row`` within ``seconds``
    (``seconds`` <= 0: the whole utterance), cut as the LibriSpeech sets cut their prompts
    (voiceflow.data.evalsets.prompt_cut: in the pause after the last kept word)."""
    if seconds <= 0:
        return float(row["duration"]), str(row["text"])
    words = [(str(w), float(a), float(b)) for w, a, b in row.get("words", [])]
    if not words:
        raise VoiceflowError(f"{row['id']}: the aligned row has no 'words'")
    try:
        k, end = evalset_prompt_cut(words, float(row["duration"]), seconds)
    except VoiceflowError as e:
        raise VoiceflowError(f"{row['id']}: {e}") from None
    return end, " ".join(w for w, _, _ in words[:k])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--manifest", required=True, type=Path)
    p.add_argument("--out-dir", required=True, type=Path)
    p.add_argument("--max-items", type=int, default=200)
    p.add_argument("--prompt-seconds", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        rows = load_manifest(args.manifest, require=("id", "audio", "speaker", "text", "duration", "alignment"))
        chosen = choose(rows, args.max_items, args.seed)
        with atomic_path(args.out_dir, is_dir=True) as tmp:
            infill = []
            for row in chosen:
                path = tmp / "wavs" / f"{row['id']}.wav"
                save_wav(path, load_row_audio(row, args.manifest, SAMPLE_RATE), SAMPLE_RATE)
                new = {k: v for k, v in row.items() if k not in ("offset", "feats", "frames")}
                infill.append({**new, "audio": str(args.out_dir.resolve() / "wavs" / path.name)})
            by_speaker: dict[str, list[dict]] = defaultdict(list)
            for row in rows:
                by_speaker[str(row["speaker"])].append(row)
            tts = []
            for row in chosen:
                others = [r for r in by_speaker[str(row["speaker"])] if r["id"] != row["id"]]
                if not others:
                    continue
                prompt = others[random.Random(f"{args.seed}:{row['id']}").randrange(len(others))]
                end, prompt_text = prompt_cut(prompt, args.prompt_seconds)
                pwav = load_row_audio(prompt, args.manifest, SAMPLE_RATE)  # prompts may be unchosen rows
                prompt_path = tmp / "prompts" / f"{row['id']}.wav"
                save_wav(prompt_path, pwav[: int(end * SAMPLE_RATE)], SAMPLE_RATE)
                tts.append({"id": row["id"], "task": "tts", "speaker": str(row["speaker"]),
                            "prompt_wav": str(args.out_dir.resolve() / "prompts" / prompt_path.name),
                            "prompt_text": prompt_text, "text": row["text"],
                            "reference": str(args.out_dir.resolve() / "wavs" / f"{row['id']}.wav")})
            if not tts:
                raise VoiceflowError(f"{args.manifest}: no speaker has two test utterances, so no TTS prompt "
                                     "can come from another utterance")
            write_jsonl(tmp / "infill.jsonl", infill)
            write_jsonl(tmp / "tts.jsonl", tts)
    except VoiceflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{args.out_dir}: {len(infill)} infilling rows, {len(tts)} TTS items "
          f"({len({r['speaker'] for r in chosen})} speakers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
