"""System-level values with 95 % confidence intervals.

Two estimators, chosen per metric:

- **mean metrics** (SIM-o, SIM-r, MCD, F0 RMSE, voicing error, MOS): the mean over items with
  a Student t interval, ``mean +- t(0.975, n - 1) * s / sqrt(n)`` where ``s`` is the sample
  standard deviation (ddof 1), clipped to the metric's range when one is given (a t interval
  on a bounded quantity such as a voicing error can cross 0). With one item the interval is
  undefined (``None``).
- **ratio metrics** (WER, CER): the corpus rate ``sum(errors) / sum(reference units)`` -
  long utterances weigh more, as in every ASR benchmark - with a percentile bootstrap over
  items: resample the n items with replacement ``B`` times (default 1000, seeded), take the
  corpus rate of each resample, and report its 2.5th and 97.5th percentiles.

Items whose value is undefined (NaN: a silent file with no voiced frame, say) are left out of
the mean and counted in ``n_undefined``, never silently.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["mean_ci", "ratio_ci"]


def _t_quantile(p: float, dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(p, dof))


def mean_ci(values, level: float = 0.95, bounds: tuple[float | None, float | None] = (None, None)) -> dict:
    """``{"value", "ci_low", "ci_high", "n", "n_undefined", "method"}`` for a mean over items.

    ``bounds`` (low, high; None for open) is the metric's range; the interval is clipped to it.
    """
    x = np.asarray(list(values), dtype=np.float64)
    undefined = int(np.isnan(x).sum())
    x = x[~np.isnan(x)]
    out = {"value": None, "ci_low": None, "ci_high": None, "n": int(x.size), "n_undefined": undefined,
           "method": "mean, t interval"}
    if x.size == 0:
        return out
    mean = float(x.mean())
    out["value"] = mean
    if x.size > 1:
        half = _t_quantile(0.5 + level / 2, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
        low, high = mean - half, mean + half
        if bounds[0] is not None:
            low = max(low, bounds[0])
        if bounds[1] is not None:
            high = min(high, bounds[1])
        out["ci_low"], out["ci_high"] = low, high
    return out


def ratio_ci(errors, totals, level: float = 0.95, n_boot: int = 1000, seed: int = 0) -> dict:
    """Corpus rate ``sum(errors) / sum(totals)`` with a percentile bootstrap over items."""
    e = np.asarray(list(errors), dtype=np.float64)
    n = np.asarray(list(totals), dtype=np.float64)
    out = {"value": None, "ci_low": None, "ci_high": None, "n": int(e.size), "n_undefined": 0,
           "method": f"corpus rate (sum errors / sum reference units), percentile bootstrap over items, B={n_boot}"}
    if e.size == 0 or n.sum() == 0:
        return out
    out["value"] = float(e.sum() / n.sum())
    if e.size > 1:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, e.size, size=(n_boot, e.size))
        num, den = e[idx].sum(axis=1), n[idx].sum(axis=1)
        rates = num[den > 0] / den[den > 0]
        lo, hi = np.percentile(rates, [50 * (1 - level), 50 * (1 + level)])
        out["ci_low"], out["ci_high"] = float(lo), float(hi)
    return out
