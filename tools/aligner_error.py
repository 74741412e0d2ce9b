"""Measure the built-in aligner against exact phone timings (the flite demo corpus).

Usage:
    python recipes/demo/local/make_corpus.py --out /tmp/aligncorpus --train-per-voice 15 \\
        --valid-per-voice 0 --test-per-voice 0 --jobs 1
    OMP_NUM_THREADS=1 python tools/aligner_error.py \\
        --manifest /tmp/aligncorpus/manifests/demo_train.jsonl \\
        [--frame-rates 100,200] [--json aligner_error.json]

For every utterance the aligner gets the words and the phone sequence of the exact
alignment (word-position suffixes stripped; flite phones, mapped to ARPAbet by upper-casing
and ``ax -> AH``), and its output is compared with the truth:

Boundaries. The boundaries of an utterance are the end of every speech phone (not ``sil``)
and the start of every speech phone that follows a non-empty pause (or the start of the
audio) in the truth. Speech phones are matched by position (both sides hold the same
sequence). The error of a boundary is ``|hyp - truth|``; reported: mean, median, p90, p95,
the share within 20 ms, and the mean signed error (hyp - truth; the bias), per voice and
overall, for each setting:

    fr100        100 frames/s, boundary at the midpoint of the two frames' windows
                 (f * 10 ms + 7.8 ms; the aligner's output)
    fr100-raw    100 frames/s, boundary at the frame start (f * 10 ms)
    fr200 ...    the same at 200 frames/s (5 ms frames; 15 ms minimum phone)

Mismatch. Each utterance is also aligned (with the check off) to the words of the next
utterance of the same voice; the aligner's mismatch score (nats/frame) of matched and
mismatched transcripts is summarised (min / median / max) to choose the threshold.

Real speech (no reference timings): ``--real MANIFEST --g2p cmudict`` aligns each row's
text (G2P phones) and the next row's text, prints the mismatch scores of both, and the
word times of the first row:

    OMP_NUM_THREADS=1 python tools/aligner_error.py --real libri.jsonl --g2p cmudict

Prints a table; with --json writes all figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from voiceflow.align.aligner import _WLEN_S, align_words  # noqa: E402
from voiceflow.audio.io import load_audio  # noqa: E402
from voiceflow.errors import VoiceflowError  # noqa: E402
from voiceflow.fileio import read_jsonl, write_json  # noqa: E402
from voiceflow.text.phones import SIL, strip_word_position  # noqa: E402


def flite_to_arpabet(phone: str) -> list[str]:
    """flite's US phone set is ARPAbet in lower case, with ``ax`` for schwa (ARPAbet AH0)."""
    return ["AH"] if phone == "ax" else [phone.upper()]


def words_of_row(row: dict) -> list[tuple[str, list[str]]]:
    """The row's words with their untagged phones, from the exact alignment's suffixes."""
    groups: list[list[str]] = []
    for phone, _, _ in row["alignment"]:
        if phone == SIL:
            continue
        if phone.endswith(("_B", "_S")) or not groups:
            groups.append([])
        groups[-1].append(strip_word_position(phone))
    texts = [w for w, _, _ in row["words"]]
    if len(texts) != len(groups):
        raise VoiceflowError(f"{row['id']}: {len(texts)} words but {len(groups)} phone groups")
    return list(zip(texts, groups))


def boundaries(alignment) -> list[tuple[int, str, float]]:
    """``(speech phone index, "start"|"end", time)`` of the boundaries defined in the docstring."""
    out = []
    k = 0
    prev_pause = True  # the start of the audio counts as a pause
    for phone, start, end in alignment:
        if phone == SIL:
            if end > start:
                prev_pause = True
            continue
        if prev_pause:
            out.append((k, "start", start))
        out.append((k, "end", end))
        prev_pause = False
        k += 1
    return out


def speech_times(alignment) -> list[tuple[float, float]]:
    return [(s, e) for p, s, e in alignment if p != SIL]


def summarise(errors: list[float], signed: list[float]) -> dict:
    if not errors:
        return {"n": 0}
    ms = sorted(1000 * e for e in errors)

    def pct(q: float) -> float:
        return ms[min(len(ms) - 1, int(round(q * (len(ms) - 1))))]

    return {
        "n": len(ms),
        "mean_ms": round(statistics.fmean(ms), 2),
        "median_ms": round(statistics.median(ms), 2),
        "p90_ms": round(pct(0.90), 2),
        "p95_ms": round(pct(0.95), 2),
        "within_20ms": round(sum(e <= 20 for e in ms) / len(ms), 4),
        "bias_ms": round(1000 * statistics.fmean(signed), 2),
    }


def measure(rows: list[dict], frame_rates: list[int], silprobs: list[float]) -> dict:
    audio = {r["id"]: load_audio(r["audio"], 16000) for r in rows}
    words = {r["id"]: words_of_row(r) for r in rows}
    by_voice: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_voice[r.get("speaker", "all")].append(r)
    report: dict = {"utterances": len(rows), "settings": {}, "mismatch": {}}
    for fr, sp in [(fr, sp) for fr in frame_rates for sp in silprobs]:
        tag = f"fr{fr}" + (f"-sil{sp:g}" if len(silprobs) > 1 else "")
        offset = _WLEN_S / 2 - 0.5 / fr
        errs = {"": defaultdict(list), "-raw": defaultdict(list)}
        signed = {"": defaultdict(list), "-raw": defaultdict(list)}
        matched, mismatched, failed_mismatch, seconds, audio_s = [], [], 0, 0.0, 0.0
        for voice, vrows in by_voice.items():
            for i, r in enumerate(vrows):
                t0 = time.perf_counter()
                res = align_words(audio[r["id"]], 16000, words[r["id"]], flite_to_arpabet, name=r["id"],
                                  frame_rate=fr, check_mismatch=False, silprob=sp)
                seconds += time.perf_counter() - t0
                audio_s += r["duration"]
                matched.append(res.score)
                hyp = speech_times(res.alignment)
                for k, side, t in boundaries(r["alignment"]):
                    h = hyp[k][0 if side == "start" else 1]
                    for variant, hv in (("", h), ("-raw", h - offset if 0 < h < r["duration"] else h)):
                        errs[variant][voice].append(abs(hv - t))
                        signed[variant][voice].append(hv - t)
                other = vrows[(i + 1) % len(vrows)]
                try:
                    bad = align_words(audio[r["id"]], 16000, words[other["id"]], flite_to_arpabet,
                                      name=r["id"], frame_rate=fr, check_mismatch=False, silprob=sp)
                    mismatched.append(bad.score)
                except VoiceflowError:
                    failed_mismatch += 1
        for variant in ("", "-raw"):
            name = f"{tag}{variant}"
            per_voice = {v: summarise(errs[variant][v], signed[variant][v]) for v in by_voice}
            allv = summarise([e for v in by_voice for e in errs[variant][v]],
                             [e for v in by_voice for e in signed[variant][v]])
            report["settings"][name] = {"overall": allv, "per_voice": per_voice}
        report["mismatch"][tag] = {
            "matched": _spread(matched),
            "mismatched": _spread(mismatched),
            "mismatched_alignment_failed": failed_mismatch,
            "real_time_factor": round(seconds / audio_s, 4),
            "seconds_per_utterance": round(seconds / len(rows), 4),
        }
    return report


def _spread(xs: list[float]) -> dict:
    if not xs:
        return {"n": 0}
    return {"n": len(xs), "min": round(min(xs), 3), "median": round(statistics.median(xs), 3),
            "max": round(max(xs), 3)}


def print_table(report: dict) -> None:
    cols = ("n", "mean_ms", "median_ms", "p90_ms", "p95_ms", "within_20ms", "bias_ms")
    print(f"{'setting':<18} {'voice':<8} " + " ".join(f"{c:>11}" for c in cols))
    for name, s in report["settings"].items():
        for voice, summ in [*s["per_voice"].items(), ("ALL", s["overall"])]:
            print(f"{name:<18} {voice:<8} " + " ".join(f"{summ.get(c, ''):>11}" for c in cols))
    print()
    print(f"{'setting':<14} {'matched (min/med/max)':>24} {'mismatched (min/med/max)':>26} {'failed':>7} {'RTF':>7}")
    for name, m in report["mismatch"].items():
        a, b = m["matched"], m["mismatched"]
        fmt = lambda d: f"{d.get('min')}/{d.get('median')}/{d.get('max')}"  # noqa: E731
        print(f"{name:<14} {fmt(a):>24} {fmt(b):>26} {m['mismatched_alignment_failed']:>7} "
              f"{m['real_time_factor']:>7}")


def real_speech(manifest: Path, g2p_name: str, frame_rates: list[int]) -> dict:
    """Mismatch scores of matched and shifted transcripts, word times of the first row."""
    from voiceflow.data.manifest import resolve
    from voiceflow.text.g2p import make_g2p

    g2p = make_g2p(g2p_name)
    rows = read_jsonl(manifest)
    report: dict = {}
    for fr in frame_rates:
        out = []
        for i, r in enumerate(rows):
            wav = load_audio(resolve(r["audio"], manifest), 16000)
            entry = {"id": r["id"], "seconds": round(wav.numel() / 16000, 2)}
            for kind, text in (("matched", r["text"]), ("mismatched", rows[(i + 1) % len(rows)]["text"])):
                ph = g2p.phonemize(text)
                t0 = time.perf_counter()
                try:
                    res = align_words(wav, 16000, list(zip(ph.words, ph.phones)), g2p.to_arpabet,
                                      name=r["id"], frame_rate=fr, check_mismatch=False)
                    entry[kind] = round(res.score, 3)
                    if kind == "matched":
                        entry["align_s"] = round(time.perf_counter() - t0, 3)
                        if i == 0:
                            entry["words"] = [[w, round(s, 3), round(e, 3)] for w, s, e in res.words]
                except VoiceflowError as e:
                    entry[kind] = f"failed: {e}"
            out.append(entry)
            print(f"fr{fr} {r['id']:<44} {entry['seconds']:>6} s  matched {entry['matched']}  "
                  f"mismatched {entry['mismatched']}  ({entry.get('align_s')} s)")
        report[f"fr{fr}"] = out
    first = report[f"fr{frame_rates[0]}"][0]
    if "words" in first:
        print(f"\nwords of {first['id']} (fr{frame_rates[0]}):")
        for w, s0, e0 in first["words"]:
            print(f"  {w:<12} {s0:7.3f} {e0:7.3f}")
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", type=Path, help="manifest with exact alignments")
    p.add_argument("--real", type=Path, help="manifest of real speech (id, audio, text)")
    p.add_argument("--g2p", default="cmudict", help="G2P backend for --real (default: %(default)s)")
    p.add_argument("--frame-rates", default="100,200", help="comma-separated (default: %(default)s)")
    p.add_argument("--silprobs", default="0.1", help="optional-silence probabilities (default: %(default)s)")
    p.add_argument("--limit", type=int, default=0, help="first N rows only (0: all)")
    p.add_argument("--json", type=Path, help="write the report here")
    args = p.parse_args(argv)
    try:
        frame_rates = [int(x) for x in args.frame_rates.split(",")]
        if args.real:
            report = real_speech(args.real, args.g2p, frame_rates)
            if args.json:
                write_json(args.json, report)
            return 0
        if not args.manifest:
            raise VoiceflowError("give --manifest (exact timings) or --real")
        rows = read_jsonl(args.manifest)
        if args.limit:
            rows = rows[: args.limit]
        report = measure(rows, frame_rates, [float(x) for x in args.silprobs.split(",")])
    except VoiceflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    report["manifest"] = str(args.manifest)
    print_table(report)
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
