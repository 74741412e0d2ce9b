"""Zero-shot TTS items for the demo: unseen sentences in the voices of held-out prompts.

Usage:
    python local/make_tts_items.py --manifest data/corpus/manifests/demo_test.jsonl \
        --out exp/demo/tts/items.jsonl [--per-voice 6]

For each voice, held-out utterance i is the prompt and the text of held-out utterance i+1
of the same voice is what to say (test sentences never occur in training, so the text is
unseen; its flite recording is the ground truth for the WER comparison). Writes one
`voiceflow synth` item per pair: {"id", "task": "tts", "prompt_wav", "prompt_text", "text",
"reference", "speaker"}.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from voiceflow.data.manifest import load_manifest, resolve  # noqa: E402
from voiceflow.errors import VoiceflowError  # noqa: E402
from voiceflow.fileio import write_jsonl  # noqa: E402


def make_items(manifest: Path, per_voice: int) -> list[dict]:
    rows = load_manifest(manifest, require=("id", "audio", "speaker", "text"))
    by_voice: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_voice[row["speaker"]].append(row)
    items = []
    for voice in sorted(by_voice):
        utts = by_voice[voice]
        if len(utts) < 2:
            raise VoiceflowError(f"{manifest}: voice {voice} has {len(utts)} test utterance(s); 2 are needed")
        for i in range(min(per_voice, len(utts))):
            prompt, target = utts[i], utts[(i + 1) % len(utts)]
            items.append({"id": f"{voice}_tts_{i:02d}", "task": "tts", "speaker": voice,
                          "prompt_wav": str(resolve(prompt["audio"], manifest)), "prompt_text": prompt["text"],
                          "text": target["text"], "reference": str(resolve(target["audio"], manifest))})
    return items


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--manifest", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--per-voice", type=int, default=6)
    args = p.parse_args(argv)
    try:
        items = make_items(args.manifest, args.per_voice)
    except VoiceflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    write_jsonl(args.out, items)
    print(f"{args.out}: {len(items)} zero-shot TTS items")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
