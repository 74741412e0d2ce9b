"""Small, explicit statistics for listening tests (numpy + scipy.stats only).

Every function states the exact procedure so a reported number can be recomputed by hand:

* :func:`t_interval` - mean and two-sided ``1 - alpha`` Student-t interval,
  ``mean +- t(1 - alpha/2, n - 1) * s / sqrt(n)`` with the sample standard deviation ``s``
  (``ddof=1``). Undefined (``None``) for fewer than two values.
* :func:`holm` - Holm-Bonferroni step-down adjustment (Holm, 1979).
* :func:`wilcoxon_signed_rank` - paired / one-sample Wilcoxon signed-rank test. Zero
  differences are dropped first (Wilcoxon's convention) and the absolute differences are
  ranked with midranks for ties. The p-value is exact where that is cheap: the tabulated
  null distribution when ``n <= 50`` and no ties; the full enumeration of the ``2^n`` sign
  assignments of the midranks when there are ties and ``n <= 13`` (two-sided p = twice the
  smaller tail, at most 1; the same rule as scipy's ``method="auto"``); otherwise the normal
  approximation with the tie-corrected variance and no continuity correction.
* :func:`mann_whitney` - two-sided Mann-Whitney U; exact when there are no ties and both
  samples have at most 8 values, otherwise the normal approximation with tie and continuity
  corrections (scipy's defaults, chosen explicitly here so the rule is stated).
* :func:`binomial_two_sided` - exact two-sided binomial test against 1/2 (sum of the
  probabilities of all outcomes no more likely than the observed one).
* :func:`wilson_interval` - Wilson score interval for a proportion.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats


def t_interval(values: Sequence[float], alpha: float = 0.05) -> dict:
    """Mean, sample std, standard error and the Student-t interval of ``values``."""
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    out = {"n": n, "mean": float(x.mean()) if n else None, "std": None, "se": None,
           "t": None, "ci_low": None, "ci_high": None}
    if n >= 2:
        std = float(x.std(ddof=1))
        se = std / math.sqrt(n)
        t = float(stats.t.ppf(1 - alpha / 2, n - 1))
        out.update(std=std, se=se, t=t, ci_low=out["mean"] - t * se, ci_high=out["mean"] + t * se)
    return out


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order.

    Sort the ``m`` raw p-values ascending, ``p(1) <= ... <= p(m)``; the adjusted value of the
    ``i``-th is ``max over j <= i of min(1, (m - j + 1) * p(j))`` (the running maximum keeps
    the adjusted values monotone). Rejecting where adjusted ``p < alpha`` controls the
    family-wise error rate at ``alpha``. Ties keep their input order.
    """
    p = [float(v) for v in pvalues]
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def wilcoxon_signed_rank(differences: Sequence[float]) -> dict:
    """Two-sided Wilcoxon signed-rank test of ``differences`` against a zero median.

    Returns ``n`` (non-zero differences used), ``n_zero`` (dropped), ``statistic``
    (``T+``, the sum of the ranks of the positive differences), ``method`` ("exact",
    "enumeration" or "normal") and ``p``. With no non-zero difference there is no evidence
    either way: ``p = 1``.
    """
    d = np.asarray(differences, dtype=float)
    nonzero = d[d != 0]
    n, n_zero = int(nonzero.size), int(d.size - nonzero.size)
    if n == 0:
        return {"n": 0, "n_zero": n_zero, "statistic": None, "method": "none", "p": 1.0}
    ranks = stats.rankdata(np.abs(nonzero))  # midranks for ties
    t_plus = float(ranks[nonzero > 0].sum())
    ties = np.unique(np.abs(nonzero)).size < n
    if not ties and n <= 50:
        method = "exact"
        p = float(stats.wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided",
                                 method="exact").pvalue)
    elif n <= 13:
        method = "enumeration"
        signs = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
        null = signs @ ranks  # T+ under every sign assignment, all equally likely under H0
        upper = float(np.mean(null >= t_plus - 1e-9))
        lower = float(np.mean(null <= t_plus + 1e-9))
        p = min(1.0, 2 * min(upper, lower))
    else:
        method = "normal"
        _, counts = np.unique(np.abs(nonzero), return_counts=True)
        mean = n * (n + 1) / 4
        var = n * (n + 1) * (2 * n + 1) / 24 - float(np.sum(counts ** 3 - counts)) / 48
        z = (t_plus - mean) / math.sqrt(var) if var > 0 else 0.0
        p = float(min(1.0, 2 * stats.norm.sf(abs(z))))
    return {"n": n, "n_zero": n_zero, "statistic": t_plus, "method": method, "p": p}


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> dict:
    """Two-sided Mann-Whitney U test of two independent samples (``statistic`` is U of ``a``)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.size == 0 or b.size == 0:
        return {"statistic": None, "method": "none", "p": 1.0}
    both = np.concatenate([a, b])
    ties = np.unique(both).size < both.size
    method = "exact" if (not ties and max(a.size, b.size) <= 8) else "asymptotic"
    res = stats.mannwhitneyu(a, b, alternative="two-sided", use_continuity=True, method=method)
    return {"statistic": float(res.statistic), "method": "exact" if method == "exact" else "normal",
            "p": float(res.pvalue)}


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided binomial p-value of ``k`` successes in ``n`` trials against ``p = 1/2``."""
    if n == 0:
        return 1.0
    return float(stats.binomtest(k, n, 0.5, alternative="two-sided").pvalue)


def wilson_interval(k: int, n: int, alpha: float = 0.05) -> tuple[float | None, float | None]:
    """Wilson score interval for ``k`` successes out of ``n``:
    ``(p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with ``z = Phi^-1(1 - alpha/2)``.
    """
    if n == 0:
        return None, None
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, centre - half)   # the bounds are exactly 0 / 1 there
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high
