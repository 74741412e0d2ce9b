"""Outputs of ``voiceflow listen analyze``: Markdown and CSV tables, a PNG plot, the JSON.

:func:`write_report` writes into ``out_dir``: every file first under a temporary name
(:func:`voiceflow.fileio.atomic_path`), all renamed into place once all are complete, so an
error part-way leaves earlier outputs untouched. Other files in ``out_dir`` are kept.

* ``summary.md``    - the tables below plus screening and methods, as printed;
* ``summary.csv``   - one row per system (MOS/SMOS/MUSHRA/CMOS: scores and intervals;
  A/B: wins, losses, ties, overall preference rate);
* ``pairwise.csv``  - one row per pair of systems with its test and Holm-adjusted p;
* ``listeners.csv`` - every listener, screening counts, kept or not and why;
* ``scores.png``    - means (A/B: preference rates) with their 95 % intervals;
* ``analysis.json`` - everything, at full precision.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path

TEST_NAMES = {"mos": "MOS", "smos": "SMOS", "cmos": "CMOS", "ab": "A/B preference", "mushra": "MUSHRA"}
SCALE = {"mos": (1, 5), "smos": (1, 5), "mushra": (0, 100), "cmos": (-3, 3), "ab": (0, 1)}

SUMMARY_COLUMNS = ["system", "n_ratings", "n_listeners", "n_items", "mean", "std", "ci_low", "ci_high",
                   "ci_listener_low", "ci_listener_high"]
CMOS_COLUMNS = ["p_vs_zero", "p_vs_zero_holm", "significant"]
AB_SUMMARY_COLUMNS = ["system", "wins", "losses", "ties", "preference", "ci_low", "ci_high"]
PAIRWISE_COLUMNS = ["system_a", "system_b", "n_a", "n_b", "mean_a", "mean_b", "difference", "test", "method",
                    "n_pairs", "statistic", "p", "p_holm", "significant"]
AB_PAIRWISE_COLUMNS = ["system_a", "system_b", "wins_a", "wins_b", "ties", "n_listeners", "preference_a",
                       "ci_low", "ci_high", "test", "p", "p_holm", "significant"]
LISTENER_COLUMNS = ["listener", "kept", "reasons", "n_trials", "attention_correct", "attention_total",
                    "attention_fraction", "hidden_ref_low", "hidden_ref_trials", "hidden_ref_fraction", "files"]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "; ".join(map(str, value))
    return str(value)


def to_csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def _num(x, digits: int) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _p(x) -> str:
    if x is None:
        return "n/a"
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"


def _ci(low, high, digits) -> str:
    return "n/a" if low is None else f"[{low:.{digits}f}, {high:.{digits}f}]"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    md = lambda cells: "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"  # noqa: E731
    return [md(header), "|" + "|".join("---" for _ in header) + "|"] + [md(r) for r in rows]


def markdown(analysis: dict) -> str:
    """The human-readable report (also printed by the command)."""
    test, alpha = analysis["test"], analysis["settings"]["alpha"]
    digits = 1 if test == "mushra" else 2
    lines = [f"# Listening test `{analysis['test_id']}`: {TEST_NAMES[test]}", "",
             f"Listeners: {analysis['n_listeners_kept']} kept, {analysis['n_listeners_excluded']} excluded "
             f"(of {analysis['n_listeners']}); {analysis['n_answers']} "
             f"{'judgements' if test in ('ab', 'cmos') else 'ratings'} after screening.", ""]
    if test == "ab":
        lines += _table(["system", "wins", "losses", "ties", "preference", "95 % CI (Wilson)"],
                        [[s["system"], str(s["wins"]), str(s["losses"]), str(s["ties"]), _num(s["preference"], 3),
                          _ci(s["ci_low"], s["ci_high"], 3)] for s in analysis["systems"]])
        lines += ["", f"Pairwise preference (exact binomial test, ties excluded; Holm-adjusted, alpha {alpha:g}):", ""]
        lines += _table(["A vs B", "A wins", "B wins", "ties", "pref. A", "95 % CI", "p", "p (Holm)", "significant"],
                        [[f"{p['system_a']} vs {p['system_b']}", str(p["wins_a"]), str(p["wins_b"]), str(p["ties"]),
                          _num(p["preference_a"], 3), _ci(p["ci_low"], p["ci_high"], 3), _p(p["p"]),
                          _p(p["p_holm"]), "yes" if p["significant"] else "no"] for p in analysis["pairwise"]])
    else:
        header = ["system", "n", "listeners", "mean", "95 % CI (ratings)", "95 % CI (listeners)"]
        if test == "cmos":
            header[3] = "CMOS (system - reference)"
            header += ["p vs 0", "p (Holm)", "significant"]
        rows = []
        for s in analysis["systems"]:
            row = [s["system"], str(s["n_ratings"]), str(s["n_listeners"]), _num(s["mean"], digits),
                   _ci(s["ci_low"], s["ci_high"], digits), _ci(s["ci_listener_low"], s["ci_listener_high"], digits)]
            if test == "cmos":
                row += [_p(s["p_vs_zero"]), _p(s["p_vs_zero_holm"]), "yes" if s["significant"] else "no"]
            rows.append(row)
        lines += _table(header, rows)
        if analysis["pairwise"]:
            lines += ["", f"Pairwise tests (two-sided; Holm-adjusted, alpha {alpha:g}):", ""]
            lines += _table(["A vs B", "mean A - B", "test", "p", "p (Holm)", "significant"],
                            [[f"{p['system_a']} vs {p['system_b']}", _num(p["difference"], digits), p["test"],
                              _p(p["p"]), _p(p["p_holm"]), "yes" if p["significant"] else "no"]
                             for p in analysis["pairwise"]])
    excluded = [r for r in analysis["listeners"] if not r["kept"]]
    if excluded:
        lines += ["", "Excluded listeners:", ""]
        lines += [f"- {r['listener']}: {'; '.join(r['reasons'])}" for r in excluded]
    lines += ["", "Methods: 95 % intervals are Student-t over ratings (P.800.2 convention) and over per-listener "
              "means; pairwise: Wilcoxon signed-rank on (listener, item) differences when paired, else "
              "Mann-Whitney U; A/B: exact binomial and Wilson intervals; Holm-Bonferroni over each family. "
              "See `voiceflow.listen.analyze`."]
    return "\n".join(lines) + "\n"


def plot_scores(path: Path, analysis: dict) -> None:
    """Means (A/B: preference rate of A over B per pair) with 95 % interval error bars, as PNG."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise VoiceflowError("scores.png needs matplotlib: pip install matplotlib") from None
    test = analysis["test"]
    if test == "ab":
        rows = [r for r in analysis["pairwise"] if r["preference_a"] is not None]
        labels = [f"{r['system_a']}\nvs {r['system_b']}" for r in rows]
        values = [r["preference_a"] for r in rows]
        ylabel, baseline = "preference rate of the first system", 0.5
    else:
        rows = [r for r in analysis["systems"] if r["mean"] is not None]
        labels = [r["system"] for r in rows]
        values = [r["mean"] for r in rows]
        ylabel = {"cmos": "CMOS (system - reference)", "mushra": "MUSHRA score"}.get(test, f"{test.upper()} score")
        baseline = 0.0 if test == "cmos" else None
    low = [max(0.0, v - r["ci_low"]) if r["ci_low"] is not None else 0.0 for v, r in zip(values, rows)]
    high = [max(0.0, r["ci_high"] - v) if r["ci_high"] is not None else 0.0 for v, r in zip(values, rows)]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(rows) + 2), 4.0), dpi=100)
    x = list(range(len(rows)))
    ax.bar(x, values, color="#8fb3d9", edgecolor="#2f5d8a")
    ax.errorbar(x, values, yerr=[low, high], fmt="none", ecolor="black", capsize=5)
    if baseline is not None:
        ax.axhline(baseline, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xticks(x, labels)
    bottom, top = SCALE[test]
    ax.set_ylim(bottom if test != "mos" and test != "smos" else 1, top)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{analysis['test_id']} ({TEST_NAMES[test]}, 95 % CI, "
                 f"{analysis['n_listeners_kept']} listeners)")
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)


def write_report(analysis: dict, out_dir: str | Path) -> str:
    """Write every output into ``out_dir`` (atomically, file by file); returns the Markdown."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise VoiceflowError(f"{out}: --out exists and is not a directory")
    ab = analysis["test"] == "ab"
    summary_cols = AB_SUMMARY_COLUMNS if ab else SUMMARY_COLUMNS + (CMOS_COLUMNS if analysis["test"] == "cmos" else [])
    texts = {
        "summary.md": markdown(analysis),
        "summary.csv": to_csv(analysis["systems"], summary_cols),
        "pairwise.csv": to_csv(analysis["pairwise"], AB_PAIRWISE_COLUMNS if ab else PAIRWISE_COLUMNS),
        "listeners.csv": to_csv(analysis["listeners"], LISTENER_COLUMNS),
        "analysis.json": json.dumps(analysis, indent=2, ensure_ascii=False) + "\n",
    }
    out.mkdir(parents=True, exist_ok=True)
    # every file is first written under a temporary name; the renames happen together at the
    # end, so a failure part-way leaves the previous outputs (if any) as they were
    with contextlib.ExitStack() as stack:
        plot_scores(stack.enter_context(atomic_path(out / "scores.png")), analysis)
        for name, text in texts.items():
            stack.enter_context(atomic_path(out / name)).write_text(text, encoding="utf-8")
    return texts["summary.md"]
