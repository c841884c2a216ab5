"""Representativeness: a dataset's group shares against a reference population.

All functions work on counts, never rows. For one sensitive feature, the
dataset's categories are mapped to reference categories (several may map to
one); categories with no counterpart and missing values are reported apart
and left out of the comparison, so the compared dataset shares ``p`` are
renormalised over the matched rows. Reference shares ``q`` are divided by
their sum (sources round to 6 decimals, so they sum to 1 only within a
tolerance the reference file states).

Measures (``p`` dataset, ``q`` reference, ``n`` matched rows):

* representation ratio ``p_i / q_i`` and difference ``p_i - q_i``, with a
  Wilson interval (Wilson 1927) on ``p_i`` (the reference is taken as fixed);
* total variation distance ``0.5 * sum |p - q|``;
* Jensen-Shannon divergence in bits, ``0.5 KL(p||m) + 0.5 KL(q||m)`` with
  ``m = (p + q) / 2``, bounded in [0, 1] (Lin 1991, "Divergence measures
  based on the Shannon entropy");
* Kullback-Leibler divergence ``KL(p||q)`` in bits. Zero shares: a term with
  ``p_i = 0`` contributes 0 (``0 log 0 = 0``); a term with ``q_i = 0 < p_i``
  makes the divergence infinite, reported as None with that reason;
* Pearson's chi-square goodness-of-fit statistic ``sum (O - E)^2 / E`` with
  ``E = n q``, ``k - 1`` degrees of freedom and its p-value;
* Cohen's w ``sqrt(chi2 / n) = sqrt(sum (p - q)^2 / q)`` (Cohen 1988,
  "Statistical Power Analysis", ch. 7), an effect size that does not grow
  with ``n``: 0.1 small, 0.3 medium, 0.5 large. At a million rows every
  p-value is 0; w still says whether the gap matters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from audits._encode import MISSING
from audits.references import FeatureReference
from audits.uncertainty import wilson_interval

__all__ = [
    "tvd",
    "js_divergence",
    "kl_divergence",
    "chi_square_gof",
    "cohens_w",
    "compare_feature",
]


def _norm(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    total = x.sum()
    return x / total if total > 0 else np.full_like(x, np.nan)


def tvd(p: np.ndarray, q: np.ndarray) -> float:
    """Return the total variation distance ``0.5 * sum |p - q|`` of two distributions."""
    return float(0.5 * np.abs(np.asarray(p, float) - np.asarray(q, float)).sum())


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Return ``KL(p || q)`` in bits; ``inf`` when some ``q_i = 0 < p_i``.

    Terms with ``p_i = 0`` contribute 0 (the convention ``0 log 0 = 0``).
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if np.any((q == 0) & (p > 0)):
        return math.inf
    mask = p > 0
    return float(np.sum(p[mask] * np.log2(p[mask] / q[mask])))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Return the Jensen-Shannon divergence in bits (in [0, 1]; always finite)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m) + 0.5 * kl_divergence(q, m)


def chi_square_gof(observed: np.ndarray, expected_shares: np.ndarray) -> tuple[float, int, float]:
    """Return Pearson's chi-square goodness-of-fit statistic, degrees of freedom, p-value.

    Parameters
    ----------
    observed : numpy.ndarray
        Observed counts per category.
    expected_shares : numpy.ndarray
        Expected shares (summing to 1); categories with share 0 are left out
        (they cannot be tested) and the degrees of freedom count the rest.

    Returns
    -------
    (float, int, float)
        Statistic, ``k - 1`` degrees of freedom, upper-tail p-value (NaN when
        there are no rows or fewer than two categories).
    """
    from scipy import stats

    obs = np.asarray(observed, dtype=np.float64)
    q = np.asarray(expected_shares, dtype=np.float64)
    keep = q > 0
    n = obs.sum()
    df = int(keep.sum()) - 1
    if n <= 0 or df < 1:
        return math.nan, max(df, 0), math.nan
    expected = n * q[keep]
    stat = float(np.sum((obs[keep] - expected) ** 2 / expected))
    return stat, df, float(stats.chi2.sf(stat, df))


def cohens_w(p: np.ndarray, q: np.ndarray) -> float:
    """Return Cohen's w ``sqrt(sum (p - q)^2 / q)`` over categories with ``q > 0``."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    keep = q > 0
    return float(math.sqrt(np.sum((p[keep] - q[keep]) ** 2 / q[keep])))


def _split_counts(
    counts: Mapping[str, int], ref: FeatureReference
) -> tuple[dict[str, list[str]], np.ndarray, list[dict[str, Any]]]:
    """Aggregate dataset counts by reference category; collect the unmatched."""
    members: dict[str, list[str]] = {cat: [] for cat in ref.shares}
    observed = np.zeros(len(ref.shares), dtype=np.float64)
    index = {cat: i for i, cat in enumerate(ref.shares)}
    total = sum(counts.values())
    unmatched = []
    for cat in list(ref.mapping) + [c for c in counts if c not in ref.mapping]:
        n = int(counts.get(cat, 0))
        target = ref.mapping.get(cat)
        if target is not None:
            members[target].append(cat)
            observed[index[target]] += n
            continue
        reason = ("missing value" if cat == MISSING else "no counterpart in the reference"
                  if cat in ref.no_counterpart else "not in the reference mapping")
        unmatched.append({"group": cat, "n": n, "share_of_all": n / total if total else None,
                          "reason": reason})
    for cat in ref.no_counterpart:
        if cat not in counts:
            unmatched.append({"group": cat, "n": 0, "share_of_all": 0.0 if total else None,
                              "reason": "no counterpart in the reference"})
    return members, observed, unmatched


def _group_rows(
    members: dict[str, list[str]], observed: np.ndarray, q: np.ndarray, ref: FeatureReference
) -> list[dict[str, Any]]:
    n = observed.sum()
    p = _norm(observed)
    low, high = wilson_interval(observed, np.full_like(observed, n))
    rows = []
    for i, cat in enumerate(ref.shares):
        ratio = p[i] / q[i] if q[i] > 0 else math.nan
        rows.append({
            "group": cat, "dataset_categories": members[cat], "n": int(observed[i]),
            "share": float(p[i]), "share_ci": [float(low[i]), float(high[i])],
            "reference_share": float(q[i]), "reference_share_stated": ref.shares[cat],
            "reference_count": (ref.counts or {}).get(cat),
            "ratio": float(ratio),
            "ratio_ci": [float(low[i] / q[i]), float(high[i] / q[i])] if q[i] > 0 else None,
            "difference": float(p[i] - q[i]),
        })
    return rows


def compare_feature(counts: Mapping[str, int], ref: FeatureReference) -> dict[str, Any]:
    """Compare a feature's group counts with its reference marginal.

    Parameters
    ----------
    counts : mapping of str to int
        Rows per dataset category (``"(missing)"`` for missing values).
    ref : FeatureReference
        The reference marginal and mapping.

    Returns
    -------
    dict
        ``groups`` (per reference category: n, share with Wilson CI, reference
        share, ratio with CI, difference), ``no_counterpart`` (unmatched
        categories and missing values with their counts), and ``tvd``, ``js``,
        ``kl`` (None with ``kl_note`` when infinite), ``chi2``, ``df``,
        ``p_value``, ``cohens_w``, plus the reference's citation and caveats.
        Values may be NaN when no row matches (the caller turns NaN into None).
    """
    members, observed, unmatched = _split_counts(counts, ref)
    q = _norm(np.array(list(ref.shares.values())))
    p = _norm(observed)
    chi2, df, p_value = chi_square_gof(observed, q)
    kl = kl_divergence(p, q) if observed.sum() > 0 else math.nan
    return {
        "feature": ref.feature, "dimension": ref.dimension, "universe": ref.universe,
        "year": ref.year, "citation": ref.citation(), "caveats": list(ref.caveats),
        "n": int(sum(counts.values())), "n_compared": int(observed.sum()),
        "groups": _group_rows(members, observed, q, ref), "no_counterpart": unmatched,
        "tvd": tvd(p, q) if observed.sum() > 0 else math.nan,
        "js": js_divergence(p, q) if observed.sum() > 0 else math.nan,
        "kl": None if math.isinf(kl) else kl,
        "kl_note": ("KL(dataset || reference) in bits; terms with dataset share 0 add 0"
                    + ("; infinite: a dataset category maps to a reference share of 0"
                       if math.isinf(kl) else "")),
        "chi2": chi2, "df": df, "p_value": p_value,
        "cohens_w": cohens_w(p, q) if observed.sum() > 0 else math.nan,
    }
