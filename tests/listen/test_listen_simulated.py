"""The analysis recovers the ordering of simulated listeners (egs/listening_test/simulate_listeners.py),
on hand-made keys of every test type and on keys written by the real page builder."""

import importlib.util
import json
from pathlib import Path

import pytest

from listen_fixtures import by_system, key_file, write
from voiceflow.listen.analyze import analyze

ROOT = Path(__file__).resolve().parents[2]


def _simulator():
    spec = importlib.util.spec_from_file_location("simulate_listeners",
                                                  ROOT / "egs" / "listening_test" / "simulate_listeners.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def simulated_key(tmp_path, test, systems, n_items=6):
    """A key as the builder writes it: per item one stimulus per system (+ reference, anchor),
    one trial per item (per system for CMOS, per pair for A/B), two attention trials."""
    stimuli, trials = {}, {}
    pairs = len(systems) * (len(systems) - 1) // 2
    per_item = {"cmos": len(systems), "ab": pairs}.get(test, 1)
    for i in range(n_items):
        item = f"utt{i}"
        for s in systems:
            stimuli[f"{item}_{s}"] = (s, item, "test")
        if test in ("cmos", "smos", "mushra"):
            stimuli[f"{item}_ref"] = ("reference", item, "reference")
        if test == "mushra":
            stimuli[f"{item}_hid"] = ("reference", item, "hidden_reference")
            stimuli[f"{item}_anc"] = ("anchor", item, "anchor")
        for k in range(per_item):
            trials[f"{item}_{k}"] = {"item": item, "attention": False}
    for k in range(2):
        stimuli[f"att{k}"] = ("attention", f"utt{k}", "attention")
        trials[f"att{k}"] = {"item": f"utt{k}", "attention": True, "expected": 3 + k}
    return key_file(tmp_path, test, systems, stimuli, trials, test_id=f"sim-{test}")


@pytest.mark.parametrize("test", ["mos", "smos", "mushra", "cmos", "ab"])
def test_analysis_recovers_simulated_ordering(tmp_path, test):
    sim = _simulator()
    key = simulated_key(tmp_path, test, ["good", "mid", "bad"])
    means = {"good": 4.3, "mid": 3.5, "bad": 2.7}
    results = sim.simulate(json.loads(key.read_text()), 12, means, fail_attention=2,
                           fail_hidden_ref=1 if test == "mushra" else 0, seed=3)
    for n, res in enumerate(results):
        write(tmp_path / "results" / f"listener_{n:02d}.json", res)
    analysis = analyze(key, [tmp_path / "results"])
    assert analysis["n_listeners_kept"] == (9 if test == "mushra" else 10)
    if test == "ab":
        prefs = {(p["system_a"], p["system_b"]): p["preference_a"] for p in analysis["pairwise"]}
        assert set(prefs) == {("good", "mid"), ("good", "bad"), ("mid", "bad")}
        assert all(v > 0.5 for v in prefs.values())
        assert analysis["pairwise"][1]["significant"]  # good vs bad
    else:
        s = by_system(analysis)
        assert s["good"]["mean"] > s["mid"]["mean"] > s["bad"]["mean"]
        good_bad = next(p for p in analysis["pairwise"] if (p["system_a"], p["system_b"]) == ("good", "bad"))
        assert good_bad["significant"]
        if test == "mushra":
            assert s["reference"]["mean"] > s["good"]["mean"] and s["anchor"]["mean"] < s["bad"]["mean"]


@pytest.mark.parametrize("test", ["mos", "smos", "cmos", "ab", "mushra"])
def test_simulated_listeners_on_a_built_page(tmp_path, test):
    """End to end with the real builder's key: simulated results follow the page's format and
    the analysis ranks the systems as simulated (default true means 4.2 > 3.6 > 3.0)."""
    from listen_fixtures import check_result, make_inputs
    from voiceflow.listen.build import build_test

    inputs = make_inputs(tmp_path / "in", n_items=4, n_systems=3, markup=False, texts=False)
    key = build_test(test, inputs["systems"], tmp_path / "page",
                     reference=inputs["reference"] if test in ("smos", "cmos", "mushra") else None,
                     attention_checks=2, log=lambda message: None)
    sim = _simulator()
    results = sim.simulate(key, 8, sim.parse_means(None, key["systems"]), fail_attention=1,
                           fail_hidden_ref=1 if test == "mushra" else 0, seed=1)
    for n, res in enumerate(results):
        check_result(res, key)
        write(tmp_path / "results" / f"listener_{n:02d}.json", res)
    analysis = analyze(tmp_path / "page.key.json", [tmp_path / "results"])
    assert analysis["n_listeners_kept"] == (6 if test == "mushra" else 7)
    first, second, third = key["systems"]
    if test == "ab":
        prefs = {(p["system_a"], p["system_b"]): p["preference_a"] for p in analysis["pairwise"]}
        assert prefs[(first, second)] > 0.5 and prefs[(first, third)] > 0.5 and prefs[(second, third)] > 0.5
    else:
        s = by_system(analysis)
        assert s[first]["mean"] > s[second]["mean"] > s[third]["mean"]
        assert all(p["test"].startswith("wilcoxon") for p in analysis["pairwise"])  # the designs are paired
