"""Make the demo corpus offline: several flite voices speaking generated sentences, with
exact phone timings from the synthesizer.

Usage:
    python recipes/demo/local/make_corpus.py --out DIR [--train-per-voice 120]
        [--test-per-voice 12] [--valid-per-voice 4] [--seed 0]
        [--voices slt,rms,awb,kal16] [--jobs J] [--force] [--flite PATH] [--t2p PATH]

Writes
    DIR/wavs/<voice>/<id>.wav              16 kHz mono 16-bit, as flite writes it
    DIR/manifests/demo_train.jsonl         N per voice
    DIR/manifests/demo_valid.jsonl         K per voice (validation loss; not in train)
    DIR/manifests/demo_test.jsonl          M per voice (held out: text never in train/valid)
    DIR/make_corpus_stats.json             counts, drops, timing checks, wall time

One JSON object per line:
    {"id": "slt_train_0000", "audio": "/abs/DIR/wavs/slt/slt_train_0000.wav",
     "speaker": "slt", "text": "Who lent my king against my monkey?", "duration": 2.545,
     "alignment": [["sil", 0.0, 0.161], ["hh_B", 0.161, 0.253], ["uw_E", 0.253, 0.418],
                   ["sil", 0.418, 0.418], ["l_B", 0.418, 0.522], ..., ["sil", 2.298, 2.545]],
     "words": [["Who", 0.161, 0.418], ["lent", 0.418, 0.665], ...]}

Phones are flite's (CMU/US set, no stress), `pau` becomes `sil`; each phone carries its
position in its word (_B, _I, _E, or _S for a one-phone word) and a zero-length ghost
silence ["sil", t, t] sits between two words that touch (Voicebox appendix A.2), both by
voiceflow.align.alignment.add_word_positions. The last end is the wav's exact duration:
flite's last phone end is snapped to it when within 30 ms; the diphone voice kal16 cuts its
audio about 110-120 ms into the final pause, so there the trailing silence is shortened
to the audio (all speech phones lie well inside it); anything else is dropped.
Word boundaries come from `t2p WORD` phone counts; a sentence whose counts do not add up
(post-lexical rules) or whose timings do not match its audio is dropped and another one is
drawn (drops are counted in the stats file). Every sentence is unique across the corpus and
every voice speaks its own sentences, so each voice's test sentences are unseen text.

The run is deterministic for a given seed and voice list, and idempotent: if the three
manifests exist it does nothing (use --force to make the corpus again); if they were made
with other voices, sizes or seed it stops with an error instead of silently keeping them.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import wave
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))
try:
    import voiceflow  # noqa: F401
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(_HERE.parents[2]))

from sentences import SentenceGenerator, words_of  # noqa: E402
from voiceflow.errors import VoiceflowError  # noqa: E402
from voiceflow.fileio import write_json, write_jsonl  # noqa: E402

DEFAULT_VOICES = ["slt", "rms", "awb", "kal16"]
SPLITS = ("train", "valid", "test")
MANIFESTS = {split: f"demo_{split}.jsonl" for split in SPLITS}
SNAP_TOLERANCE_S = 0.030   # last phone end vs audio duration: snap within this, else drop
MIN_TAIL_SIL_S = 0.030     # a clipped trailing silence must keep at least this much
MAX_ROUNDS = 50

# --------------------------------------------------------------------------------------
# One utterance (runs in a worker process)
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def word_phones(t2p: str, word: str) -> tuple[str, ...]:
    """flite's phones for one word on its own (pau's and stress digits removed)."""
    res = subprocess.run([t2p, word], capture_output=True, text=True)
    if res.returncode != 0:
        return ()
    return tuple(re.sub(r"\d", "", p) for p in res.stdout.split() if p != "pau")


def wav_duration(path: str | os.PathLike) -> tuple[float, int]:
    """(duration in seconds, sample rate) from a RIFF/WAVE header."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate(), w.getframerate()


def synthesize(task: dict) -> dict:
    """Speak one sentence; return its phones and words, or why it was dropped.

    Returns {"ok": True, "duration", "phones" (no word positions yet), "words", "end_diff",
    "clipped"} or {"ok": False, "reason", "detail"}; the wav is left at task["wav"] either
    way (the caller renames or removes it).
    """
    text, wav = task["text"], task["wav"]
    res = subprocess.run([task["flite"], "-voice", task["voice"], "-psdur", "-t", text, "-o", wav],
                         capture_output=True, text=True)
    if res.returncode != 0 or not os.path.exists(wav):
        return {"ok": False, "reason": "flite_failed", "detail": res.stderr.strip()[:200]}
    segs = []
    prev = 0.0
    for tok in res.stdout.split():
        ph, _, t = tok.rpartition(":")
        try:
            end = float(t)
        except ValueError:
            return {"ok": False, "reason": "bad_output", "detail": tok}
        if not ph or end < prev:
            return {"ok": False, "reason": "bad_output", "detail": tok}
        ph = "sil" if ph == "pau" else ph
        if ph == "sil" and segs and segs[-1][0] == "sil":
            segs[-1][2] = end                       # merge adjacent pauses
        else:
            segs.append([ph, prev, end])
        prev = end
    if not segs:
        return {"ok": False, "reason": "bad_output", "detail": "no phones"}
    duration, sr = wav_duration(wav)

    # Timings must cover the audio exactly.
    end_diff = segs[-1][2] - duration
    clipped = 0.0
    if abs(end_diff) <= SNAP_TOLERANCE_S:
        segs[-1][2] = duration
    elif end_diff > 0 and segs[-1][0] == "sil" and duration >= segs[-1][1] + MIN_TAIL_SIL_S:
        # The diphone voice (kal16) stops its audio half-way through the final pause: the
        # speech phones are all inside the audio, only the trailing silence is shorter.
        clipped = end_diff
        segs[-1][2] = duration
    else:
        return {"ok": False, "reason": "timing_mismatch",
                "detail": f"last phone ends {segs[-1][2]:.3f}s, audio {duration:.3f}s"}
    if segs[-1][2] <= segs[-1][1] and segs[-1][0] == "sil":
        segs.pop()

    # Words from t2p phone counts.
    words = words_of(text)
    counts = [len(word_phones(task["t2p"], w)) for w in words]
    if any(c == 0 for c in counts):
        return {"ok": False, "reason": "unspeakable_word", "detail": text}
    speech = [s for s in segs if s[0] != "sil"]
    if len(speech) != sum(counts):
        return {"ok": False, "reason": "word_phone_count",
                "detail": f"{len(speech)} phones, t2p gives {sum(counts)}"}
    word_rows = []
    k = 0
    for w, c in zip(words, counts):
        word_rows.append([w, speech[k][1], speech[k + c - 1][2]])
        k += c
    return {"ok": True, "duration": duration, "sample_rate": sr, "phones": segs,
            "words": word_rows, "end_diff": end_diff, "clipped": clipped}


# --------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------


def check_tools(flite: str, t2p: str, voices: list[str]) -> tuple[str, str]:
    flite_path = shutil.which(flite)
    if flite_path is None:
        raise VoiceflowError(f"flite not found ({flite!r}): install Debian's flite "
                             "(apt-get install flite) or pass --flite PATH")
    t2p_path = shutil.which(t2p)
    if t2p_path is None:
        raise VoiceflowError(f"t2p not found ({t2p!r}): it comes with Debian's flite "
                             "(apt-get install flite), or pass --t2p PATH")
    res = subprocess.run([flite_path, "-lv"], capture_output=True, text=True)
    have = res.stdout.replace("Voices available:", "").split()
    missing = [v for v in voices if v not in have]
    if missing:
        raise VoiceflowError(f"flite voice(s) {', '.join(missing)} not available "
                             f"(flite -lv lists: {' '.join(have) or 'none'})")
    return flite_path, t2p_path


def make_corpus(out: Path, voices: list[str], counts: dict[str, int], seed: int | str,
                jobs: int, flite: str, t2p: str, log=print) -> dict:
    """Synthesize the corpus into ``out``; return the stats (also written to a file)."""
    t0 = time.perf_counter()
    out = out.resolve()
    wav_dirs = {v: out / "wavs" / v for v in voices}
    for d in wav_dirs.values():
        d.mkdir(parents=True, exist_ok=True)
        for stale in d.glob(".cand_*.tmp.wav"):
            stale.unlink()

    gens = {v: SentenceGenerator(f"{seed}:{v}") for v in voices}
    seen: set[str] = set()
    accepted = {(v, s): [] for v in voices for s in SPLITS}
    drops = {v: Counter() for v in voices}
    drop_examples: list[dict] = []
    n_tasks = 0

    def draw(voice: str) -> str:
        try:
            return gens[voice].unique(seen)
        except RuntimeError as e:
            raise VoiceflowError(f"sentence generator: {e}") from None

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for _ in range(MAX_ROUNDS):
            tasks = []
            for v in voices:
                for split in SPLITS:
                    for _ in range(counts[split] - len(accepted[(v, split)])):
                        tasks.append({"voice": v, "split": split, "text": draw(v),
                                      "wav": str(wav_dirs[v] / f".cand_{n_tasks}.tmp.wav"),
                                      "flite": flite, "t2p": t2p})
                        n_tasks += 1
            if not tasks:
                break
            for task, res in zip(tasks, pool.map(synthesize, tasks, chunksize=4)):
                if res["ok"]:
                    accepted[(task["voice"], task["split"])].append((task, res))
                else:
                    Path(task["wav"]).unlink(missing_ok=True)
                    drops[task["voice"]][res["reason"]] += 1
                    if len(drop_examples) < 20:
                        drop_examples.append({"voice": task["voice"], "text": task["text"],
                                              "reason": res["reason"], "detail": res["detail"]})
        else:
            raise VoiceflowError(f"could not make enough utterances in {MAX_ROUNDS} rounds "
                                 f"(drops: {({v: dict(c) for v, c in drops.items()})})")

    # Imported here, after the pool is gone: it pulls in torch, which the workers don't need.
    from voiceflow.align.alignment import add_word_positions, validate_alignment

    rows = {s: [] for s in SPLITS}
    timing = {v: {"end_diff_ms_min": None, "end_diff_ms_max": None, "tail_clipped": 0}
              for v in voices}
    for v in voices:
        for split in SPLITS:
            for n, (task, res) in enumerate(accepted[(v, split)]):
                uid = f"{v}_{split}_{n:04d}"
                wav = wav_dirs[v] / f"{uid}.wav"
                alignment = [list(seg) for seg in add_word_positions(res["words"], res["phones"])]
                validate_alignment(alignment, res["duration"], tolerance=1e-6, name=uid)
                os.replace(task["wav"], wav)
                rows[split].append({"id": uid, "audio": str(wav), "speaker": v,
                                    "text": task["text"], "duration": res["duration"],
                                    "alignment": alignment, "words": res["words"]})
                tv = timing[v]
                if res["clipped"]:
                    tv["tail_clipped"] += 1
                ms = round(1000 * res["end_diff"], 2)
                tv["end_diff_ms_min"] = ms if tv["end_diff_ms_min"] is None else min(tv["end_diff_ms_min"], ms)
                tv["end_diff_ms_max"] = ms if tv["end_diff_ms_max"] is None else max(tv["end_diff_ms_max"], ms)

    # Remove wavs of an earlier (--force) run that the new manifests do not list.
    keep = {r["audio"] for split in SPLITS for r in rows[split]}
    for d in sorted(p for p in (out / "wavs").iterdir() if p.is_dir()):
        pattern = re.compile(rf"{re.escape(d.name)}_({'|'.join(SPLITS)})_\d+\.wav")
        for f in d.iterdir():
            if pattern.fullmatch(f.name) and str(f) not in keep:
                f.unlink()
        if d.name not in voices and not any(d.iterdir()):
            d.rmdir()

    elapsed = time.perf_counter() - t0
    stats = {
        "seed": seed, "voices": voices, "per_voice": counts, "jobs": jobs,
        "utterances": {s: len(rows[s]) for s in SPLITS},
        "hours": sum(r["duration"] for s in SPLITS for r in rows[s]) / 3600,
        "synthesized": n_tasks,
        "drops": {v: dict(c) for v, c in drops.items()},
        "drops_total": sum(sum(c.values()) for c in drops.values()),
        "drop_examples": drop_examples,
        "timing": timing,
        "seconds": round(elapsed, 2),
    }
    write_json(out / "make_corpus_stats.json", stats)
    # Manifests last: their presence marks a finished corpus.
    for split in SPLITS:
        write_jsonl(out / "manifests" / MANIFESTS[split], rows[split])
    log(f"made {sum(stats['utterances'].values())} utterances "
        f"({', '.join(f'{s} {n}' for s, n in stats['utterances'].items())}; "
        f"{stats['hours'] * 60:.1f} min of audio) from {n_tasks} synthesized, "
        f"{stats['drops_total']} dropped, in {elapsed:.1f} s -> {out / 'manifests'}")
    for v in voices:
        if drops[v] or timing[v]["tail_clipped"]:
            log(f"  {v}: drops {dict(drops[v]) or 0}, trailing silence clipped in "
                f"{timing[v]['tail_clipped']}, last-phone-end minus audio "
                f"{timing[v]['end_diff_ms_min']}..{timing[v]['end_diff_ms_max']} ms")
    return stats


def _made_with(out: Path) -> dict | None:
    """The settings an existing corpus was made with (from its stats file), if known."""
    try:
        stats = json.loads((out / "make_corpus_stats.json").read_text(encoding="utf-8"))
        return {"voices": stats["voices"], "per_voice": stats["per_voice"], "seed": stats["seed"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path, help="output directory")
    p.add_argument("--train-per-voice", type=int, default=120)
    p.add_argument("--test-per-voice", type=int, default=12)
    p.add_argument("--valid-per-voice", type=int, default=4)
    p.add_argument("--seed", default="0", help="sentence seed (int or string)")
    p.add_argument("--voices", default=",".join(DEFAULT_VOICES),
                   help="comma-separated flite voices (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    p.add_argument("--force", action="store_true", help="make the corpus again even if it exists")
    p.add_argument("--flite", default="flite", help="flite binary (default: from PATH)")
    p.add_argument("--t2p", default="t2p", help="t2p binary (default: from PATH)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        voices = [v.strip() for v in args.voices.split(",") if v.strip()]
        if not voices:
            raise VoiceflowError("--voices: no voice given")
        if len(set(voices)) != len(voices):
            raise VoiceflowError(f"--voices: a voice is listed twice ({args.voices})")
        counts = {"train": args.train_per_voice, "valid": args.valid_per_voice,
                  "test": args.test_per_voice}
        for split, n in counts.items():
            if n < 0:
                raise VoiceflowError(f"--{split}-per-voice must be >= 0 (got {n})")
        if args.jobs < 1:
            raise VoiceflowError(f"--jobs must be >= 1 (got {args.jobs})")
        seed: int | str = int(args.seed) if re.fullmatch(r"-?\d+", args.seed) else args.seed
        mdir = args.out / "manifests"
        paths = [mdir / MANIFESTS[s] for s in SPLITS]
        if all(p.is_file() for p in paths) and not args.force:
            made = _made_with(args.out)
            want = {"voices": voices, "per_voice": counts, "seed": seed}
            if made is not None and made != want:
                diff = ", ".join(f"{k} {made[k]} (asked {want[k]})" for k in want if made[k] != want[k])
                raise VoiceflowError(f"{args.out} already holds a demo corpus made with other "
                                     f"settings: {diff}; use --force to make it again")
            print(f"demo corpus already made in {args.out} (manifests exist); nothing to do "
                  "(use --force to make it again)")
            return 0
        flite, t2p = check_tools(args.flite, args.t2p, voices)
        for p in paths:            # a forced run never leaves old manifests next to new wavs
            p.unlink(missing_ok=True)
        make_corpus(args.out, voices, counts, seed, args.jobs, flite, t2p)
    except VoiceflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
