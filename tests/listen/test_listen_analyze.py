"""`voiceflow listen analyze` on small result sets whose numbers are computed by hand below.

Constants used in the comments (two-sided 95 %):
    t(0.975, 1) = 12.706205, t(0.975, 2) = 4.302653, t(0.975, 5) = 2.570582, z(0.975) = 1.959964
"""

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from listen_fixtures import by_system, key_file, result, write
from voiceflow.bin.listen import main
from voiceflow.listen import stats
from voiceflow.listen.analyze import Settings, analyze

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = {"summary.md", "summary.csv", "pairwise.csv", "listeners.csv", "scores.png", "analysis.json"}


# ----------------------------------------------------------------------------- helpers

def run_cli(capsys, *argv):
    """``voiceflow listen analyze ARGV`` in this process: (exit status, captured output)."""
    try:
        code = main(["analyze", *map(str, argv)])
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr()


# ----------------------------------------------------------------------------- statistics

def test_holm_by_hand():
    # raw (0.01, 0.04, 0.03): sorted 0.01, 0.03, 0.04 -> 3*0.01 = 0.03, 2*0.03 = 0.06, 1*0.04 = 0.04,
    # running maximum -> 0.03, 0.06, 0.06; back in input order:
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06], abs=1e-12)
    # capped at 1: (0.5, 0.6) -> min(1, 2*0.5) = 1, max(1, 0.6) = 1
    assert stats.holm([0.5, 0.6]) == [1.0, 1.0]
    assert stats.holm([0.02]) == [0.02] and stats.holm([]) == []


def test_binomial_wilson_t_by_hand():
    # 8 of 10: P(X >= 8) = (45 + 10 + 1) / 1024, doubled (symmetric null) = 112 / 1024
    assert stats.binomial_two_sided(8, 10) == pytest.approx(0.109375, abs=1e-12)
    assert stats.binomial_two_sided(2, 10) == pytest.approx(0.109375, abs=1e-12)
    # Wilson 8/10: centre (0.8 + z^2/20) / (1 + z^2/10) = 0.716740,
    # half z sqrt(0.016 + z^2/400) / (1 + z^2/10) = 0.226578
    low, high = stats.wilson_interval(8, 10)
    assert (low, high) == pytest.approx((0.490162, 0.943318), abs=1e-6)
    assert stats.wilson_interval(10, 10)[1] == 1.0 and stats.wilson_interval(0, 10)[0] == 0.0
    ci = stats.t_interval([1, 2, 3])  # mean 2, s 1, se 1/sqrt(3), t(0.975, 2) = 4.302653
    assert ci["t"] == pytest.approx(4.302653, abs=1e-6)
    assert ci["ci_high"] - 2 == pytest.approx(4.302653 / math.sqrt(3), abs=1e-6)
    assert stats.t_interval([3])["ci_low"] is None


def test_wilcoxon_rules_by_hand():
    # 6 distinct positive differences: T- = 0 has probability 1/2^6 per tail -> p = 2/64
    res = stats.wilcoxon_signed_rank([1, 2, 3, 4, 5, 6])
    assert res["method"] == "exact" and res["p"] == pytest.approx(0.03125, abs=1e-12)
    # tied |d| (1, 1, 1, 1, 2) after dropping the 0: midranks 2.5 x 4 and 5, T+ = 15 is the largest
    # of the 32 equally likely sign assignments -> p = 2/32
    res = stats.wilcoxon_signed_rank([1, 2, 1, 1, 1, 0])
    assert (res["method"], res["n"], res["n_zero"], res["statistic"]) == ("enumeration", 5, 1, 15.0)
    assert res["p"] == pytest.approx(0.0625, abs=1e-12)
    assert stats.wilcoxon_signed_rank([0, 0])["p"] == 1.0


# ----------------------------------------------------------------------------- MOS

def mos_setup(tmp_path):
    """2 systems x 2 items, multi-stimulus trials, one attention trial; L4 fails it."""
    key = key_file(tmp_path, "mos", ["A", "B"],
                   {"s01": ("A", "i1", "test"), "s02": ("B", "i1", "test"),
                    "s03": ("A", "i2", "test"), "s04": ("B", "i2", "test"),
                    "s05": ("attention", "i1", "attention")},
                   {"t1": {"item": "i1", "attention": False}, "t2": {"item": "i2", "attention": False},
                    "t3": {"item": "i1", "attention": True, "expected": 3}})
    table = {  # listener: ((A i1, B i1), (A i2, B i2), attention answer)
        "L1": ((4, 3), (5, 3), 3),
        "L2": ((3, 2), (4, 3), 3),
        "L3": ((4, 3), (4, 4), 3),
        "L4": ((1, 5), (1, 5), 4),   # wrong beep count -> excluded
    }
    results = tmp_path / "results"
    for name, ((a1, b1), (a2, b2), answer) in table.items():
        write(results / f"{name}.json", result("mos", name, [
            {"trial": "t2", "stimuli": ["s04", "s03"], "ratings": {"s03": a2, "s04": b2}},
            {"trial": "t3", "attention": True, "stimuli": ["s05"], "answer": answer},
            {"trial": "t1", "stimuli": ["s01", "s02"], "ratings": {"s01": a1, "s02": b1}},
        ]))
    return key, results


def test_mos_by_hand(tmp_path, capsys):
    key, results = mos_setup(tmp_path)
    out = tmp_path / "analysis"
    code, captured = run_cli(capsys, "--key", key, results, "--out", out)
    assert code == 0, captured.err
    analysis = json.loads((out / "analysis.json").read_text())
    assert (analysis["n_listeners"], analysis["n_listeners_kept"], analysis["n_listeners_excluded"]) == (4, 3, 1)
    a, b = by_system(analysis)["A"], by_system(analysis)["B"]
    # A: 4 3 4 | 5 4 4 -> mean 24/6 = 4; deviations 0,-1,0,1,0,0 -> s^2 = 2/5, se = sqrt(0.4/6) = 0.258199
    # half-width t(0.975, 5) * se = 2.570582 * 0.258199 = 0.663721
    assert (a["n_ratings"], a["n_listeners"], a["n_items"]) == (6, 3, 2)
    assert a["mean"] == pytest.approx(4.0) and a["std"] == pytest.approx(math.sqrt(0.4))
    assert a["t_quantile"] == pytest.approx(2.570582, abs=1e-6)
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((4 - 0.663721, 4 + 0.663721), abs=1e-6)
    # B: 3 2 3 | 3 3 4 -> mean 3, same spread
    assert b["mean"] == pytest.approx(3.0)
    assert (b["ci_low"], b["ci_high"]) == pytest.approx((3 - 0.663721, 3 + 0.663721), abs=1e-6)
    # listener level, A: listener means 4.5, 3.5, 4.0 -> s = 0.5; 4.302653 * 0.5 / sqrt(3) = 1.242069
    assert (a["ci_listener_low"], a["ci_listener_high"]) == pytest.approx((4 - 1.242069, 4 + 1.242069), abs=1e-6)
    # paired (every listener rated both on both items): differences 1,2,1,1,1,0 -> p = 2/32 (see above)
    (pair,) = analysis["pairwise"]
    assert pair["test"].startswith("wilcoxon") and pair["n_pairs"] == 6
    assert pair["difference"] == pytest.approx(1.0)
    assert pair["p"] == pytest.approx(0.0625) and pair["p_holm"] == pytest.approx(0.0625)
    assert pair["significant"] is False
    listeners = {r["listener"]: r for r in csv.DictReader((out / "listeners.csv").open())}
    assert listeners["L4"]["kept"] == "no" and "attention checks 0/1 correct" in listeners["L4"]["reasons"]
    assert listeners["L1"]["kept"] == "yes" and listeners["L1"]["attention_fraction"] == "1"
    # the printed report is summary.md
    assert captured.out == (out / "summary.md").read_text()
    assert "| A | 6 | 3 | 4.00 | [3.34, 4.66] | [2.76, 5.24] |" in captured.out
    assert "L4: attention checks 0/1 correct" in captured.out
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["system"] for r in rows] == ["A", "B"] and rows[0]["mean"] == "4"


def test_mos_without_attention_screening(tmp_path):
    key, results = mos_setup(tmp_path)
    analysis = analyze(key, [results], Settings(min_attention=0.0))
    # L4 kept: A = (24 + 1 + 1) / 8 = 3.25, B = (18 + 5 + 5) / 8 = 3.5
    assert analysis["n_listeners_kept"] == 4
    assert by_system(analysis)["A"]["mean"] == pytest.approx(3.25)
    assert by_system(analysis)["B"]["mean"] == pytest.approx(3.5)


def test_unpaired_design_uses_mann_whitney(tmp_path):
    # Latin square: L1 hears A on i1 and B on i2, L2 the other way round.
    key = key_file(tmp_path, "mos", ["A", "B"],
                   {"a1": ("A", "i1", "test"), "b1": ("B", "i1", "test"),
                    "a2": ("A", "i2", "test"), "b2": ("B", "i2", "test")},
                   {"t1": {"item": "i1"}, "t2": {"item": "i2"}})
    r1 = write(tmp_path / "r" / "1.json", result("mos", "L1", [
        {"trial": "t1", "stimuli": ["a1"], "ratings": {"a1": 5}},
        {"trial": "t2", "stimuli": ["b2"], "ratings": {"b2": 2}}]))
    r2 = write(tmp_path / "r" / "2.json", result("mos", "L2", [
        {"trial": "t1", "stimuli": ["b1"], "ratings": {"b1": 1}},
        {"trial": "t2", "stimuli": ["a2"], "ratings": {"a2": 4}}]))
    (pair,) = analyze(key, [r1, r2])["pairwise"]
    # A = {5, 4}, B = {2, 1}: U = 4 is the most extreme of C(4, 2) = 6 equally likely splits -> p = 2/6
    assert pair["test"] == "mann-whitney u" and pair["method"] == "exact"
    assert pair["statistic"] == 4 and pair["p"] == pytest.approx(1 / 3)


# ----------------------------------------------------------------------------- MUSHRA

def mushra_setup(tmp_path):
    stimuli, trials = {}, {}
    for item in ("i1", "i2"):
        stimuli.update({f"open_{item}": ("reference", item, "reference"),
                        f"ref_{item}": ("reference", item, "hidden_reference"),
                        f"anc_{item}": ("anchor", item, "anchor"),
                        f"a_{item}": ("A", item, "test"), f"b_{item}": ("B", item, "test")})
        trials[f"t_{item}"] = {"item": item, "attention": False}
    key = key_file(tmp_path, "mushra", ["A", "B"], stimuli, trials)
    table = {  # listener: {item: (hidden ref, anchor, A, B)}
        "M1": {"i1": (100, 20, 80, 79), "i2": (100, 30, 70, 68)},
        "M2": {"i1": (95, 25, 60, 57), "i2": (100, 20, 75, 71)},
        "M3": {"i1": (100, 10, 85, 80), "i2": (92, 15, 90, 84)},
        "M4": {"i1": (70, 50, 10, 90), "i2": (100, 50, 10, 90)},  # hidden ref < 90 in 1 of 2 trials
    }
    results = tmp_path / "results"
    for name, items in table.items():
        trials_out = []
        for item, values in items.items():
            ids = [f"ref_{item}", f"anc_{item}", f"a_{item}", f"b_{item}"]
            trials_out.append({"trial": f"t_{item}", "stimuli": ids[::-1], "ratings": dict(zip(ids, values))})
        write(results / f"{name}.json", result("mushra", name, trials_out))
    return key, results


def test_mushra_hidden_reference_screening(tmp_path):
    key, results = mushra_setup(tmp_path)
    analysis = analyze(key, [results])
    # M4: 1 of 2 trials (50 %) with the hidden reference below 90 > 15 % -> excluded
    assert analysis["n_listeners_kept"] == 3
    m4 = next(r for r in analysis["listeners"] if r["listener"] == "M4")
    assert not m4["kept"] and (m4["hidden_ref_low"], m4["hidden_ref_trials"]) == (1, 2)
    s = by_system(analysis)
    assert list(s) == ["A", "B", "reference", "anchor"]
    assert s["A"]["mean"] == pytest.approx(460 / 6)        # 80 70 60 75 85 90
    assert s["B"]["mean"] == pytest.approx(439 / 6)        # 79 68 57 71 80 84
    assert s["reference"]["mean"] == pytest.approx(587 / 6)
    assert s["anchor"]["mean"] == pytest.approx(20.0)
    # paired A - B = 1, 2, 3, 4, 5, 6 (all distinct, all positive): exact p = 2/2^6
    (pair,) = analysis["pairwise"]
    assert pair["method"] == "exact" and pair["p"] == pytest.approx(0.03125) and pair["significant"] is True
    # "more than" the fraction: 50 % is not more than 50 %
    assert analyze(key, [results], Settings(hidden_ref_fraction=0.5))["n_listeners_kept"] == 4


# ----------------------------------------------------------------------------- CMOS

def test_cmos_sign_follows_presentation_order(tmp_path):
    key = key_file(tmp_path, "cmos", ["A", "B"],
                   {"r1": ("reference", "i1", "reference"), "r2": ("reference", "i2", "reference"),
                    "a1": ("A", "i1", "test"), "a2": ("A", "i2", "test"),
                    "b1": ("B", "i1", "test"), "b2": ("B", "i2", "test")},
                   {"ta1": {"item": "i1"}, "ta2": {"item": "i2"}, "tb1": {"item": "i1"}, "tb2": {"item": "i2"}})
    res = write(tmp_path / "r.json", result("cmos", "C1", [
        {"trial": "ta1", "stimuli": ["r1", "a1"], "cmos": 2},    # A second: A - ref = +2
        {"trial": "ta2", "stimuli": ["a2", "r2"], "cmos": -1},   # A first: ref - A = -1 -> A - ref = +1
        {"trial": "tb1", "stimuli": ["b1", "r1"], "cmos": 2},    # B first: B - ref = -2
        {"trial": "tb2", "stimuli": ["r2", "b2"], "cmos": -1},   # B second: B - ref = -1
    ]))
    analysis = analyze(key, [res])
    s = by_system(analysis)
    assert list(s) == ["A", "B"]
    # without the sign mapping both would be (2 - 1) / 2 = 0.5
    assert s["A"]["mean"] == pytest.approx(1.5) and s["B"]["mean"] == pytest.approx(-1.5)
    # A: t(0.975, 1) * sd(2, 1) / sqrt(2) = 12.706205 * 0.5
    assert s["A"]["ci_high"] == pytest.approx(1.5 + 6.3531025, abs=1e-6)
    # one-sample Wilcoxon of (2, 1): both positive, exact p = 2/4; Holm over 2 systems: min(1, 2*0.5) = 1
    assert s["A"]["p_vs_zero"] == pytest.approx(0.5) and s["A"]["p_vs_zero_holm"] == pytest.approx(1.0)
    assert s["B"]["p_vs_zero"] == pytest.approx(0.5)
    (pair,) = analysis["pairwise"]
    assert pair["difference"] == pytest.approx(3.0)


# ----------------------------------------------------------------------------- A/B

def test_ab_preference_by_hand(tmp_path, capsys):
    stimuli = {}
    trials = {"att": {"item": "i1", "attention": True, "expected": 3}}
    for n in range(6):
        stimuli[f"x{n}"] = ("X", f"i{n}", "test")
        stimuli[f"y{n}"] = ("Y", f"i{n}", "test")
        trials[f"t{n}"] = {"item": f"i{n}", "attention": False}
    stimuli["beep"] = ("attention", "i1", "attention")
    key = key_file(tmp_path, "ab", ["X", "Y"], stimuli, trials)
    # each listener: X wins on items 0-3, Y on item 4, no preference on item 5; orders alternate
    for listener in ("L1", "L2"):
        out = [{"trial": "att", "attention": True, "stimuli": ["beep"], "answer": 3}]
        for n, pick in enumerate("XXXXY-"):
            shown = [f"x{n}", f"y{n}"] if n % 2 else [f"y{n}", f"x{n}"]
            choice = None if pick == "-" else f"{pick.lower()}{n}"
            out.append({"trial": f"t{n}", "stimuli": shown, "choice": choice})
        write(tmp_path / "res" / f"{listener}.json", result("ab", listener, out))
    code, captured = run_cli(capsys, "--key", key, tmp_path / "res", "--out", tmp_path / "out")
    assert code == 0, captured.err
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    (pair,) = analysis["pairwise"]
    # X 8, Y 2, ties 2: rate 8 / 10; exact p = 112/1024; Wilson [0.490162, 0.943318]
    assert (pair["wins_a"], pair["wins_b"], pair["ties"]) == (8, 2, 2)
    assert pair["preference_a"] == pytest.approx(0.8)
    assert pair["p"] == pytest.approx(0.109375) and pair["p_holm"] == pytest.approx(0.109375)
    assert (pair["ci_low"], pair["ci_high"]) == pytest.approx((0.490162, 0.943318), abs=1e-6)
    assert pair["significant"] is False
    s = by_system(analysis)
    assert (s["Y"]["wins"], s["Y"]["losses"], s["Y"]["ties"]) == (2, 8, 2)
    assert "| X vs Y | 8 | 2 | 2 | 0.800 | [0.490, 0.943] | 0.1094 | 0.1094 | no |" in captured.out


def test_ab_unanimous_preference_plots(tmp_path, capsys):
    # 3 of 3 for X: p = 2/8; Wilson upper bound exactly 1 (the error bar must not go negative)
    key = key_file(tmp_path, "ab", ["X", "Y"],
                   {f"{s}{n}": (s.upper(), f"i{n}", "test") for s in "xy" for n in range(3)},
                   {f"t{n}": {"item": f"i{n}"} for n in range(3)})
    res = write(tmp_path / "r.json", result("ab", "L1", [
        {"trial": f"t{n}", "stimuli": [f"y{n}", f"x{n}"], "choice": f"x{n}"} for n in range(3)]))
    code, captured = run_cli(capsys, "--key", key, res, "--out", tmp_path / "out")
    assert code == 0, captured.err
    (pair,) = json.loads((tmp_path / "out" / "analysis.json").read_text())["pairwise"]
    assert pair["p"] == pytest.approx(0.25) and pair["ci_high"] == 1.0


# ----------------------------------------------------------------------------- outputs

def test_outputs_are_complete_and_atomic(tmp_path, capsys, monkeypatch):
    key, results = mos_setup(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("kept")
    assert run_cli(capsys, "--key", key, results, "--out", out)[0] == 0
    assert {p.name for p in out.iterdir()} == OUTPUTS | {"notes.txt"}  # no temporary names left
    assert (out / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    header = (out / "pairwise.csv").read_text().splitlines()[0]
    assert header.startswith("system_a,system_b,") and "p_holm" in header
    # a failure part-way (the PNG half written) leaves the previous outputs and no temporary file
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    from matplotlib.figure import Figure

    def broken_savefig(self, path, **kwargs):
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        main(["analyze", "--key", str(key), str(results), "--out", str(out), "--min-attention", "0"])
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before
    assert {p.name for p in out.iterdir()} == OUTPUTS | {"notes.txt"}


# ----------------------------------------------------------------------------- bad input

def _bad_results(tmp_path, kind):
    key, results = mos_setup(tmp_path)
    bad = results / "L2.json"
    obj = json.loads(bad.read_text())
    if kind == "malformed":
        bad.write_text('{"format": "voiceflow-listening-result/1", "trials": [')
        return key, bad, "not valid JSON"
    if kind == "test_id":
        obj["test_id"] = "other-test"
    elif kind == "format":
        obj["format"] = "voiceflow-listening-result/9"
    elif kind == "stimulus":
        obj["trials"][0]["ratings"]["zz99"] = 3
    elif kind == "trial":
        obj["trials"][0]["trial"] = "t99"
    elif kind == "range":
        obj["trials"][0]["ratings"]["s03"] = 7
    elif kind == "fraction":
        obj["trials"][0]["ratings"]["s03"] = 3.5
    elif kind == "test":
        obj["test"] = "mushra"
    write(bad, obj)
    return key, bad, {"test_id": "results of test 'other-test'", "format": "format is",
                      "stimulus": "unknown stimulus id 'zz99'", "trial": "trial 't99' is not in the key",
                      "range": "not a whole number in 1..5", "fraction": "rating 3.5 of stimulus 's03' is not a whole",
                      "test": "a 'mushra' result"}[kind]


@pytest.mark.parametrize("kind", ["malformed", "test_id", "format", "stimulus", "trial", "range", "fraction", "test"])
def test_bad_result_file_is_a_one_line_error_naming_it(tmp_path, capsys, kind):
    key, bad, needle = _bad_results(tmp_path, kind)
    out = tmp_path / "out"
    code, captured = run_cli(capsys, "--key", key, bad.parent, "--out", out)
    lines = captured.err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert str(bad) in lines[0] and needle in lines[0], lines[0]
    assert not out.exists()


def test_bad_key_and_no_kept_listener(tmp_path, capsys):
    key, results = mos_setup(tmp_path)
    obj = json.loads(key.read_text())
    obj["format"] = "something-else/1"
    write(key, obj)
    code, captured = run_cli(capsys, "--key", key, results, "--out", tmp_path / "o")
    assert code == 1 and str(key) in captured.err and "format is 'something-else/1'" in captured.err
    key, results = mos_setup(tmp_path / "again")
    code, captured = run_cli(capsys, "--key", key, results / "L4.json", "--out", tmp_path / "o")
    assert code == 1 and "all 1 listeners were excluded" in captured.err


def test_command_line_module(tmp_path):
    key, bad, _ = _bad_results(tmp_path, "stimulus")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "voiceflow.bin.listen", "analyze", "--key", str(key), str(bad),
                          "--out", str(tmp_path / "o")], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [f"error: {bad}: trial 't2': unknown stimulus id 'zz99'"]
