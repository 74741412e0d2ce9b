"""Analysis of listening-test results: screening, per-system scores, pairwise tests.

Usage::

    voiceflow listen analyze --key page/test.key.json results/ --out analysis/
    voiceflow listen analyze --key KEY RESULT.json ... --out DIR [--min-attention 1.0] \\
        [--mushra-hidden-ref-min 90 --mushra-hidden-ref-fraction 0.15] [--alpha 0.05]

Inputs are the key written by ``voiceflow listen build`` (never shown to listeners; it maps
the page's opaque stimulus ids to systems) and the listeners' result files (files, or
directories whose ``*.json`` are read; ``*.key.json`` there are skipped). Every file is
validated against the key first: malformed JSON, another format tag, another test id or
test type, unknown trial or stimulus ids and out-of-range answers stop the analysis with
one line naming the file. Several files of one listener are merged; a trial answered twice
is an error. :func:`voiceflow.listen.report.write_report` writes the outputs.

Statistics (all computed by :mod:`voiceflow.listen.stats`; conventions follow ITU-T P.800
and P.800.2 for MOS/CMOS reporting and ITU-R BS.1534-3 for MUSHRA, in our own wording):

1. **Screening, per listener, before anything else.** *Attention*: the fraction of attention
   trials answered as the key expects (numbers compare numerically; a missing answer is
   wrong); a listener below ``--min-attention`` (default 1.0: every check must be passed)
   is excluded; a listener with no attention trials is not screened by it. *Hidden
   reference* (MUSHRA only, BS.1534-3 post-screening): a listener who rates the hidden
   reference below ``--mushra-hidden-ref-min`` (90) in more than
   ``--mushra-hidden-ref-fraction`` (15 %) of the trials is excluded. An excluded listener's
   ratings are all dropped; ``listeners.csv`` says who and why.
2. **Per-system score** (MOS, SMOS, MUSHRA; CMOS per system): the unit is the single
   rating. We report the mean, the sample standard deviation and the two-sided 95 %
   Student-t interval ``mean +- t(0.975, n-1) s / sqrt(n)`` over the n ratings (the P.800.2
   convention). Ratings of one listener are correlated, so this interval is optimistic;
   beside it we report the listener-level interval: the same t interval over the per-
   listener means (``n_listeners - 1`` degrees of freedom), which treats listeners as the
   independent units. In SMOS and MUSHRA the reference and anchor are listed as systems
   ``reference`` / ``anchor`` when they were rated.
3. **Pairwise tests** between the systems under test (the key's ``systems``; reference and
   anchor are not in the family). Two systems are compared *paired* when every
   (listener, item) that has a rating of one also has a rating of the other (always so in
   MUSHRA; in MOS when each listener heard every system on every item): the Wilcoxon
   signed-rank test of the per-(listener, item) differences (ratings of a cell averaged).
   Otherwise (e.g. a Latin-square MOS design) the Mann-Whitney U test of all ratings. All
   tests are two-sided; p-values are Holm-Bonferroni adjusted over the pairs of one
   analysis and a difference is significant when the adjusted ``p < alpha``.
4. **CMOS**: each answer is the score of the second stimulus relative to the first; it is
   sign-mapped to *system minus reference* (negated when the system was played first).
   Per system: mean and t interval as in 2, and a one-sample Wilcoxon signed-rank test of
   the values against 0, Holm-adjusted over the systems; pairwise tests as in 3.
5. **A/B preference**: per pair of systems, wins, losses and ties (a null choice). The
   preference rate of X over Y is ``wins / (wins + losses)``, ties reported separately, with
   a Wilson 95 % interval and an exact two-sided binomial test against 1/2 (ties
   excluded), Holm-adjusted over the pairs.
"""

from __future__ import annotations

import math
import numbers
from collections import defaultdict
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

from voiceflow.errors import VoiceflowError
from voiceflow.fileio import read_json
from voiceflow.listen import KEY_FORMAT, RESULT_FORMAT, TESTS
from voiceflow.listen import stats

# the same tags as voiceflow.listen.build (not imported: the analysis needs no audio stack)
ANALYSIS_FORMAT = "voiceflow-listening-analysis/1"
ROLES = ("test", "reference", "hidden_reference", "anchor", "attention")
RATING_RANGE = {"mos": (1, 5), "smos": (1, 5), "mushra": (0, 100)}
CMOS_RANGE = (-3, 3)


@dataclass
class Settings:
    min_attention: float = 1.0
    hidden_ref_min: float = 90.0
    hidden_ref_fraction: float = 0.15
    alpha: float = 0.05


# --------------------------------------------------------------------------- loading

def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def load_key(path: str | Path) -> dict:
    """Read and check a key file; errors name the file."""
    path = Path(path)
    key = read_json(path)
    if not isinstance(key, dict) or "format" not in key:
        raise VoiceflowError(f"{path}: not a listening-test key (no format tag)")
    if key["format"] != KEY_FORMAT:
        raise VoiceflowError(f"{path}: format is {key['format']!r}, expected {KEY_FORMAT!r}")
    for field, kind in (("test_id", str), ("test", str), ("systems", list), ("stimuli", dict), ("trials", dict)):
        if not isinstance(key.get(field), kind):
            raise VoiceflowError(f"{path}: key field {field!r} is missing or not a {kind.__name__}")
    if key["test"] not in TESTS:
        raise VoiceflowError(f"{path}: unknown test {key['test']!r} (one of: {', '.join(TESTS)})")
    for sid, stim in key["stimuli"].items():
        if not isinstance(stim, dict) or stim.get("role") not in ROLES or not isinstance(stim.get("system"), str):
            raise VoiceflowError(f"{path}: stimulus {sid!r} needs a system and a role (one of: {', '.join(ROLES)})")
    for tid, trial in key["trials"].items():
        if not isinstance(trial, dict) or "item" not in trial:
            raise VoiceflowError(f"{path}: trial {tid!r} needs an item")
        if trial.get("attention") and "expected" not in trial:
            raise VoiceflowError(f"{path}: attention trial {tid!r} has no expected answer")
    return key


def result_paths(inputs: list[str | Path], key_path: str | Path | None = None,
                 skip_dir: str | Path | None = None) -> list[Path]:
    """Files as given, and the ``*.json`` of directories (minus ``*.key.json``), deduplicated."""
    skip = {Path(p).resolve() for p in (key_path,) if p}
    skip_dir = Path(skip_dir).resolve() if skip_dir else None
    paths, seen = [], set()
    for entry in map(Path, inputs):
        if entry.is_dir():
            found = [p for p in sorted(entry.glob("*.json"))
                     if not p.name.endswith(".key.json") and p.resolve() not in skip
                     and p.resolve().parent != skip_dir]
            if not found:
                inside_out = skip_dir is not None and entry.resolve() == skip_dir
                raise VoiceflowError(f"{entry}: no result files (*.json) in this directory" + (
                    " (it is also --out, whose files are never read as results: give another --out)"
                    if inside_out else ""))
        elif entry.is_file():
            found = [entry]
        else:
            raise VoiceflowError(f"{entry}: file not found")
        for p in found:
            if p.resolve() not in seen:
                seen.add(p.resolve())
                paths.append(p)
    if not paths:
        raise VoiceflowError("no result files given")
    return paths


def _check_rating(path, tid, sid, value, test):
    """Ratings are whole numbers of the test's scale (the page's buttons and slider give
    nothing else)."""
    low, high = RATING_RANGE[test]
    if not _is_number(value) or not low <= value <= high or value != int(value):
        raise VoiceflowError(f"{path}: trial {tid!r}: rating {value!r} of stimulus {sid!r} is not a whole number "
                             f"in {low}..{high}")


def load_result(path: str | Path, key: dict) -> dict:
    """Read one result file and check it against ``key``; errors name the file."""
    path = Path(path)
    res = read_json(path)
    if not isinstance(res, dict) or "format" not in res:
        raise VoiceflowError(f"{path}: not a listening-test result (no format tag)")
    if res["format"] != RESULT_FORMAT:
        raise VoiceflowError(f"{path}: format is {res['format']!r}, expected {RESULT_FORMAT!r}")
    if res.get("test_id") != key["test_id"]:
        raise VoiceflowError(f"{path}: results of test {res.get('test_id')!r}, but the key is for test "
                             f"{key['test_id']!r}")
    if res.get("test") != key["test"]:
        raise VoiceflowError(f"{path}: a {res.get('test')!r} result, but the key is for a {key['test']!r} test")
    if not isinstance(res.get("listener"), str) or not res["listener"].strip():
        raise VoiceflowError(f"{path}: no listener id")
    if not isinstance(res.get("trials"), list):
        raise VoiceflowError(f"{path}: 'trials' is missing or not a list")
    test, stimuli, seen = key["test"], key["stimuli"], set()
    for n, trial in enumerate(res["trials"]):
        if not isinstance(trial, dict) or not isinstance(trial.get("trial"), str):
            raise VoiceflowError(f"{path}: trials[{n}] has no trial id")
        tid = trial["trial"]
        if tid not in key["trials"]:
            raise VoiceflowError(f"{path}: trial {tid!r} is not in the key")
        if tid in seen:
            raise VoiceflowError(f"{path}: trial {tid!r} is answered twice")
        seen.add(tid)
        shown = trial.get("stimuli", [])
        ratings = trial.get("ratings") or {}
        if not isinstance(shown, list) or not isinstance(ratings, dict):
            raise VoiceflowError(f"{path}: trial {tid!r}: 'stimuli' must be a list and 'ratings' an object")
        plays = trial.get("plays") or {}
        if not isinstance(plays, dict):
            raise VoiceflowError(f"{path}: trial {tid!r}: 'plays' must be an object")
        choice = [trial["choice"]] if trial.get("choice") is not None else []
        used = list(shown) + list(ratings) + list(plays) + choice
        for sid in used:
            if not isinstance(sid, str) or sid not in stimuli:
                raise VoiceflowError(f"{path}: trial {tid!r}: unknown stimulus id {sid!r}")
        if key["trials"][tid].get("attention"):
            continue
        item = key["trials"][tid]["item"]
        for sid in used:
            if stimuli[sid]["item"] != item:
                raise VoiceflowError(f"{path}: trial {tid!r}: stimulus {sid!r} is of item "
                                     f"{stimuli[sid]['item']!r}, the trial of item {item!r}")
        if test in RATING_RANGE:
            if not ratings:
                raise VoiceflowError(f"{path}: trial {tid!r}: no ratings")
            for sid, value in ratings.items():
                _check_rating(path, tid, sid, value, test)
        elif test == "cmos":
            value = trial.get("cmos")
            if not _is_number(value) or value != int(value) or not CMOS_RANGE[0] <= value <= CMOS_RANGE[1]:
                raise VoiceflowError(f"{path}: trial {tid!r}: cmos {value!r} is not an integer in -3..3")
            roles = [stimuli[sid]["role"] for sid in shown]
            if len(shown) != 2 or roles.count("reference") != 1:
                raise VoiceflowError(f"{path}: trial {tid!r}: a CMOS trial shows one reference and one system "
                                     f"stimulus, not {shown!r}")
        elif test == "ab":
            if len(shown) != 2 or stimuli[shown[0]]["system"] == stimuli[shown[1]]["system"]:
                raise VoiceflowError(f"{path}: trial {tid!r}: an A/B trial shows two systems' stimuli, "
                                     f"not {shown!r}")
            if "choice" not in trial:
                raise VoiceflowError(f"{path}: trial {tid!r}: no choice (null for no preference)")
            if trial["choice"] is not None and trial["choice"] not in shown:
                raise VoiceflowError(f"{path}: trial {tid!r}: choice {trial['choice']!r} was not shown")
    res["_path"] = str(path)
    return res


# --------------------------------------------------------------------------- screening

def _same_answer(answer, expected) -> bool:
    if _is_number(answer) and _is_number(expected):
        return abs(answer - expected) < 1e-9
    return answer is not None and answer == expected


def screen(results: list[dict], key: dict, settings: Settings) -> list[dict]:
    """One record per listener: files, counts, attention and hidden-reference screening, kept or not."""
    by_listener: dict[str, dict] = {}
    for res in results:
        rec = by_listener.setdefault(res["listener"], {"listener": res["listener"], "files": [], "trials": {}})
        for trial in res["trials"]:
            if trial["trial"] in rec["trials"]:
                raise VoiceflowError(f"{res['_path']}: listener {res['listener']!r} already answered trial "
                                     f"{trial['trial']!r} in {rec['trials'][trial['trial']][0]}")
            rec["trials"][trial["trial"]] = (res["_path"], trial)
        rec["files"].append(res["_path"])
    records = []
    for name in sorted(by_listener):
        rec = by_listener[name]
        trials = [t for _, t in rec.pop("trials").values()]
        attention = [t for t in trials if key["trials"][t["trial"]].get("attention")]
        correct = sum(_same_answer(t.get("answer"), key["trials"][t["trial"]]["expected"]) for t in attention)
        rec.update(n_trials=len(trials) - len(attention), attention_correct=correct,
                   attention_total=len(attention),
                   attention_fraction=correct / len(attention) if attention else None,
                   hidden_ref_low=None, hidden_ref_trials=None, hidden_ref_fraction=None, reasons=[])
        if attention and rec["attention_fraction"] < settings.min_attention:
            rec["reasons"].append(f"attention checks {correct}/{len(attention)} correct "
                                  f"(< {settings.min_attention:g})")
        if key["test"] == "mushra":
            low = total = 0
            for t in trials:
                if key["trials"][t["trial"]].get("attention"):
                    continue
                refs = [v for sid, v in (t.get("ratings") or {}).items()
                        if key["stimuli"][sid]["role"] == "hidden_reference"]
                if refs:
                    total += 1
                    low += any(v < settings.hidden_ref_min for v in refs)
            fraction = low / total if total else None
            rec.update(hidden_ref_low=low, hidden_ref_trials=total, hidden_ref_fraction=fraction)
            if total and fraction > settings.hidden_ref_fraction:
                rec["reasons"].append(f"hidden reference below {settings.hidden_ref_min:g} in {low}/{total} trials "
                                      f"(> {settings.hidden_ref_fraction:.0%})")
        rec["kept"] = not rec["reasons"]
        rec["_trials"] = trials
        records.append(rec)
    return records


# --------------------------------------------------------------------------- observations

def observations(listeners: list[dict], key: dict) -> list[dict]:
    """Scores of kept listeners, one dict per answer: listener, item, system, value (+ AB fields).

    Rating tests give one row per rated stimulus; CMOS one row per trial with the value
    sign-mapped to system minus reference; A/B one row per trial with both systems and the
    chosen one (None for a tie).
    """
    test, stimuli, rows = key["test"], key["stimuli"], []
    for rec in listeners:
        if not rec["kept"]:
            continue
        for t in rec["_trials"]:
            info = key["trials"][t["trial"]]
            if info.get("attention"):
                continue
            base = {"listener": rec["listener"], "item": info["item"], "trial": t["trial"]}
            if test in RATING_RANGE:
                for sid, value in t["ratings"].items():
                    if stimuli[sid]["role"] not in ("attention",):
                        rows.append({**base, "system": stimuli[sid]["system"], "value": float(value)})
            elif test == "cmos":
                first, second = t["stimuli"]
                system_second = stimuli[first]["role"] == "reference"
                system = stimuli[second if system_second else first]["system"]
                value = float(t["cmos"]) if system_second else -float(t["cmos"])
                rows.append({**base, "system": system, "value": value, "system_first": not system_second})
            else:
                a, b = (stimuli[sid]["system"] for sid in t["stimuli"])
                choice = stimuli[t["choice"]]["system"] if t["choice"] is not None else None
                rows.append({**base, "systems": (a, b), "choice": choice})
    return rows


def _ordered_systems(key: dict, seen) -> list[str]:
    systems = list(key["systems"])
    extra = [s for s in ("reference", "anchor") if s in seen and s not in systems]
    rest = sorted(s for s in seen if s not in systems and s not in extra)
    return systems + extra + rest


def _score_summary(rows: list[dict], systems: list[str], alpha: float) -> list[dict]:
    out = []
    for system in systems:
        values = [r["value"] for r in rows if r["system"] == system]
        per_listener = defaultdict(list)
        for r in rows:
            if r["system"] == system:
                per_listener[r["listener"]].append(r["value"])
        ci = stats.t_interval(values, alpha)
        by_listener = stats.t_interval([sum(v) / len(v) for v in per_listener.values()], alpha)
        out.append({"system": system, "n_ratings": ci["n"], "n_listeners": len(per_listener),
                    "n_items": len({r["item"] for r in rows if r["system"] == system}),
                    "mean": ci["mean"], "std": ci["std"], "t_quantile": ci["t"],
                    "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
                    "ci_listener_low": by_listener["ci_low"], "ci_listener_high": by_listener["ci_high"]})
    return out


def _cells(rows, system) -> dict:
    cells = defaultdict(list)
    for r in rows:
        if r["system"] == system:
            cells[(r["listener"], r["item"])].append(r["value"])
    return {k: sum(v) / len(v) for k, v in cells.items()}


def _pairwise_scores(rows: list[dict], systems: list[str], alpha: float) -> list[dict]:
    out = []
    for a, b in combinations(systems, 2):
        va = [r["value"] for r in rows if r["system"] == a]
        vb = [r["value"] for r in rows if r["system"] == b]
        ca, cb = _cells(rows, a), _cells(rows, b)
        row = {"system_a": a, "system_b": b, "n_a": len(va), "n_b": len(vb),
               "mean_a": sum(va) / len(va) if va else None, "mean_b": sum(vb) / len(vb) if vb else None}
        row["difference"] = row["mean_a"] - row["mean_b"] if va and vb else None
        if ca and set(ca) == set(cb):
            cells = sorted(ca)
            res = stats.wilcoxon_signed_rank([ca[c] - cb[c] for c in cells])
            row.update(test="wilcoxon signed-rank (paired)", n_pairs=len(cells), n_zero=res["n_zero"],
                       statistic=res["statistic"], method=res["method"], p=res["p"])
        else:
            res = stats.mann_whitney(va, vb)
            row.update(test="mann-whitney u", n_pairs=None, n_zero=None,
                       statistic=res["statistic"], method=res["method"], p=res["p"])
        out.append(row)
    _add_holm(out, alpha)
    return out


def _add_holm(rows: list[dict], alpha: float) -> None:
    for row, adjusted in zip(rows, stats.holm([r["p"] for r in rows])):
        row["p_holm"] = adjusted
        row["significant"] = adjusted < alpha


def _ab(rows: list[dict], systems: list[str], alpha: float) -> tuple[list[dict], list[dict]]:
    order = {s: i for i, s in enumerate(systems)}
    counts = defaultdict(lambda: {"wins_a": 0, "wins_b": 0, "ties": 0, "listeners": set()})
    for r in rows:
        a, b = sorted(r["systems"], key=order.get)
        c = counts[(a, b)]
        c["listeners"].add(r["listener"])
        c["wins_a" if r["choice"] == a else "wins_b" if r["choice"] == b else "ties"] += 1
    pairwise = []
    for (a, b) in sorted(counts, key=lambda p: (order[p[0]], order[p[1]])):
        c = counts[(a, b)]
        n = c["wins_a"] + c["wins_b"]
        low, high = stats.wilson_interval(c["wins_a"], n, alpha)
        pairwise.append({"system_a": a, "system_b": b, "wins_a": c["wins_a"], "wins_b": c["wins_b"],
                         "ties": c["ties"], "n_listeners": len(c["listeners"]),
                         "preference_a": c["wins_a"] / n if n else None, "ci_low": low, "ci_high": high,
                         "test": "exact binomial (ties excluded)", "p": stats.binomial_two_sided(c["wins_a"], n)})
    _add_holm(pairwise, alpha)
    summary = []
    for s in systems:
        mine = [p for p in pairwise if s in (p["system_a"], p["system_b"])]
        wins = sum(p["wins_a"] if p["system_a"] == s else p["wins_b"] for p in mine)
        losses = sum(p["wins_b"] if p["system_a"] == s else p["wins_a"] for p in mine)
        ties = sum(p["ties"] for p in mine)
        low, high = stats.wilson_interval(wins, wins + losses, alpha)
        summary.append({"system": s, "wins": wins, "losses": losses, "ties": ties,
                        "preference": wins / (wins + losses) if wins + losses else None,
                        "ci_low": low, "ci_high": high})
    return summary, pairwise


# --------------------------------------------------------------------------- analysis

def analyze(key_path: str | Path, inputs: list[str | Path], settings: Settings | None = None,
            skip_dir: str | Path | None = None) -> dict:
    """Validate, screen and analyse; returns the analysis (what ``analysis.json`` holds)."""
    settings = settings or Settings()
    key = load_key(key_path)
    paths = result_paths(inputs, key_path, skip_dir)
    results = [load_result(p, key) for p in paths]
    listeners = screen(results, key, settings)
    kept = [r for r in listeners if r["kept"]]
    if not kept:
        reasons = "; ".join(f"{r['listener']}: {', '.join(r['reasons'])}" for r in listeners)
        raise VoiceflowError(f"all {len(listeners)} listeners were excluded by screening ({reasons})")
    rows = observations(listeners, key)
    test = key["test"]
    if test == "ab":
        seen = {s for r in rows for s in r["systems"]}
        systems = _ordered_systems(key, seen)
        summary, pairwise = _ab(rows, systems, settings.alpha)
        n_answers = len(rows)
    else:
        seen = {r["system"] for r in rows}
        systems = _ordered_systems(key, seen)
        summary = _score_summary(rows, systems, settings.alpha)
        tested = [s for s in key["systems"] if s in seen]
        pairwise = _pairwise_scores(rows, tested, settings.alpha)
        n_answers = len(rows)
        if test == "cmos":
            for row in summary:
                res = stats.wilcoxon_signed_rank([r["value"] for r in rows if r["system"] == row["system"]])
                row.update(p_vs_zero=res["p"], n_zero=res["n_zero"])
            _holm_vs_zero(summary, settings.alpha)
    for rec in listeners:
        rec.pop("_trials")
    return {"format": ANALYSIS_FORMAT, "test_id": key["test_id"], "test": test, "key": str(key_path),
            "result_files": [str(p) for p in paths], "settings": asdict(settings),
            "n_listeners": len(listeners), "n_listeners_kept": len(kept),
            "n_listeners_excluded": len(listeners) - len(kept), "n_answers": n_answers,
            "systems": summary, "pairwise": pairwise, "listeners": listeners}


def _holm_vs_zero(summary: list[dict], alpha: float) -> None:
    adjusted = stats.holm([row["p_vs_zero"] for row in summary])
    for row, p in zip(summary, adjusted):
        row["p_vs_zero_holm"] = p
        row["significant"] = p < alpha
