#!/usr/bin/env python3
"""Simulated listeners for a listening-test key: result files to try the analysis on.

Usage::

    python egs/listening_test/simulate_listeners.py --key page/test.key.json --out results/ \\
        --listeners 12 [--means A=4.2,B=3.6] [--fail-attention 2] [--fail-hidden-ref 1] [--seed 0]

Every system has a true quality on the 1-5 opinion scale (``--means``; by default 4.2,
3.6, 3.0, ... in the key's order; the reference is ``--reference-mean``, the MUSHRA anchor
``--anchor-mean``). Listener ``l`` has a bias ``b_l ~ N(0, bias_sd)`` and every answer a
noise ``e ~ N(0, noise_sd)``:

* MOS / SMOS: ``round(q + b_l + e)`` clipped to 1..5;
* MUSHRA: ``round(25 (q + b_l + e - 1))`` clipped to 0..100; the hidden reference gets
  ``100 - |N(0, 2.5)|`` (listeners chosen by ``--fail-hidden-ref`` rate it 60-85 instead);
* CMOS: ``round(q_second - q_first + e)`` clipped to -3..3;
* A/B: the system with the larger ``q + e`` (independent noises), no preference when the two
  differ by less than ``--tie-margin``.

The ``--fail-attention`` listeners answer every attention trial wrongly (the expected
answer + 1); the others answer them correctly. Files are ``OUT/listener_NN.json`` in the
result format the page writes; everything is seeded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import sys
from pathlib import Path

import numpy as np

from voiceflow.fileio import read_json, write_json
from voiceflow.listen import RESULT_FORMAT


def parse_means(text: str | None, systems: list[str]) -> dict[str, float]:
    means = {s: 4.2 - 0.6 * i for i, s in enumerate(systems)}
    for part in filter(None, (text or "").split(",")):
        name, _, value = part.partition("=")
        if name not in means:
            raise SystemExit(f"error: --means: unknown system {name!r} (systems: {', '.join(systems)})")
        means[name] = float(value)
    return means


def trial_stimuli(key: dict) -> dict[str, list[str]]:
    """The stimuli of every trial: the key's own list when it has one, otherwise built from
    the item's stimuli (rating tests: all of them; CMOS and A/B: reference/system pairs in
    turn over the trials of the item)."""
    by_item: dict[str, dict[str, list[str]]] = {}
    for sid, s in sorted(key["stimuli"].items()):
        by_item.setdefault(s["item"], {}).setdefault(s["role"], []).append(sid)
    attention = sorted(sid for sid, s in key["stimuli"].items() if s["role"] == "attention")
    turn: dict[str, int] = {}
    out = {}
    for tid, t in key["trials"].items():
        if t.get("stimuli"):
            out[tid] = list(t["stimuli"])
            continue
        roles = by_item.get(t["item"], {})
        if t.get("attention"):
            out[tid] = roles.get("attention") or attention[:1]
            continue
        n = turn[t["item"]] = turn.get(t["item"], -1) + 1
        if key["test"] == "cmos":
            tests = roles["test"]
            out[tid] = [roles["reference"][0], tests[n % len(tests)]]
        elif key["test"] == "ab":
            pairs = list(itertools.combinations(roles["test"] + roles.get("reference", []), 2))
            out[tid] = list(pairs[n % len(pairs)])
        else:
            out[tid] = [sid for role in ("reference", "hidden_reference", "test", "anchor")
                        for sid in roles.get(role, [])]
    return out


def simulate(key: dict, n_listeners: int, means: dict[str, float], *, reference_mean=4.6, anchor_mean=1.5,
             bias_sd=0.3, noise_sd=0.6, tie_margin=0.2, fail_attention=0, fail_hidden_ref=0, seed=0) -> list[dict]:
    rng = np.random.default_rng(seed)
    test, stimuli = key["test"], key["stimuli"]
    def quality(sid: str) -> float:  # by role, so an anchor given as NAME=DIR counts as the anchor
        role = stimuli[sid]["role"]
        if role in ("reference", "hidden_reference"):
            return reference_mean
        return anchor_mean if role == "anchor" else means[stimuli[sid]["system"]]

    shown_by_trial = trial_stimuli(key)
    listeners = rng.permutation(n_listeners)
    bad_attention = set(listeners[:fail_attention].tolist())
    bad_ref = set(listeners[fail_attention:fail_attention + fail_hidden_ref].tolist())
    start = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
    results = []
    for listener in range(n_listeners):
        bias = rng.normal(0, bias_sd)
        trials = []
        for position, tid in enumerate(rng.permutation(list(key["trials"])).tolist()):
            info = key["trials"][tid]
            shown = list(shown_by_trial[tid])
            if test != "cmos" or info.get("attention"):
                shown = rng.permutation(shown).tolist()
            elif rng.random() < 0.5:
                shown = shown[::-1]
            trial = {"trial": tid, "attention": bool(info.get("attention")), "position": position,
                     "stimuli": shown, "plays": {sid: 1 for sid in shown}}
            if info.get("attention"):
                expected = info["expected"]
                wrong = expected + 1 if isinstance(expected, (int, float)) else None
                trial["answer"] = wrong if listener in bad_attention else expected
            elif test in ("mos", "smos", "mushra"):
                ratings = {}
                for sid in shown:
                    s = stimuli[sid]
                    if s["role"] == "reference" and test != "mos":
                        continue  # the SMOS target / MUSHRA open reference is not rated
                    if s["role"] == "hidden_reference":
                        ratings[sid] = int(rng.integers(60, 86)) if listener in bad_ref \
                            else int(round(100 - abs(rng.normal(0, 2.5))))
                        continue
                    x = quality(sid) + bias + rng.normal(0, noise_sd)
                    ratings[sid] = (int(np.clip(round(25 * (x - 1)), 0, 100)) if test == "mushra"
                                    else int(np.clip(round(x), 1, 5)))
                trial["ratings"] = ratings
            elif test == "cmos":
                first, second = (quality(sid) for sid in shown)
                trial["cmos"] = int(np.clip(round(second - first + rng.normal(0, noise_sd)), -3, 3))
            else:
                a, b = (quality(sid) + rng.normal(0, noise_sd) for sid in shown)
                trial["choice"] = None if abs(a - b) < tie_margin else shown[0] if a > b else shown[1]
            trials.append(trial)
        began = start + dt.timedelta(hours=listener)
        results.append({"format": RESULT_FORMAT, "test_id": key["test_id"], "test": test,
                        "listener": f"sim{listener:02d}", "started": began.isoformat(),
                        "finished": (began + dt.timedelta(minutes=5 + len(trials))).isoformat(),
                        "user_agent": "voiceflow simulate_listeners", "trials": trials})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True)
    parser.add_argument("--out", required=True, help="directory for listener_NN.json")
    parser.add_argument("--listeners", type=int, default=12)
    parser.add_argument("--means", default=None, help="NAME=q,... true qualities on the 1-5 scale")
    parser.add_argument("--reference-mean", type=float, default=4.6)
    parser.add_argument("--anchor-mean", type=float, default=1.5)
    parser.add_argument("--bias-sd", type=float, default=0.3)
    parser.add_argument("--noise-sd", type=float, default=0.6)
    parser.add_argument("--tie-margin", type=float, default=0.2)
    parser.add_argument("--fail-attention", type=int, default=0, help="listeners who fail every attention check")
    parser.add_argument("--fail-hidden-ref", type=int, default=0, help="MUSHRA listeners who rate the hidden "
                        "reference below 90")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    key = read_json(args.key)
    results = simulate(key, args.listeners, parse_means(args.means, key["systems"]),
                       reference_mean=args.reference_mean, anchor_mean=args.anchor_mean, bias_sd=args.bias_sd,
                       noise_sd=args.noise_sd, tie_margin=args.tie_margin, fail_attention=args.fail_attention,
                       fail_hidden_ref=args.fail_hidden_ref, seed=args.seed)
    out = Path(args.out)
    for n, result in enumerate(results):
        write_json(out / f"listener_{n:02d}.json", result)
    print(f"wrote {len(results)} simulated listeners to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
