"""Rates and disparities derived from confusion counts only.

Definitions follow fairlearn 0.15 (``fairlearn.metrics``) and, where
fairlearn has none, AIF360 (``aif360.metrics.ClassificationMetric``):

* selection rate ``(tp + fp) / n`` -- ``fairlearn.metrics.selection_rate``;
* TPR, FPR, TNR, FNR -- ``fairlearn.metrics.true_positive_rate`` etc.
  (row-normalised confusion matrix of scikit-learn);
* accuracy ``(tp + tn) / n`` and balanced accuracy, the mean of the class
  recalls that are defined -- ``sklearn.metrics.accuracy_score`` and
  ``balanced_accuracy_score`` as fairlearn's ``MetricFrame`` applies them;
* base rate, PPV, NPV, FDR, FOR -- AIF360 ``base_rate``,
  ``positive_predictive_value``, ``negative_predictive_value``,
  ``false_discovery_rate``, ``false_omission_rate``.

One deliberate difference: scikit-learn (so fairlearn) turns a 0/0 rate
into 0; here a 0/0 rate is NaN, reported as *undefined* with its reason,
and left out of the disparities (as ``MetricFrame.difference``/``ratio``
skip NaN entries).

Disparities are those of ``MetricFrame.difference`` and ``MetricFrame.ratio``:
``between_groups`` compares the largest and the smallest group value
(``max - min``, ``min / max``); ``to_overall`` compares each group with the
overall value (``max |g - overall|``, ``min`` of ``g / overall`` folded
below 1). Equalized odds aggregates the TPR and FPR disparities by
``worst_case`` (largest difference, smallest ratio) or ``mean``
(``fairlearn.metrics.equalized_odds_difference``/``_ratio``). Predictive
parity compares PPV (Chouldechova 2017, "Fair prediction with disparate
impact"); accuracy parity compares accuracy (Zafar et al. 2017, "overall
misclassification rate"; Berk et al. 2018, "overall accuracy equality").
All functions are vectorised over leading axes (bootstrap replicates).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np

__all__ = [
    "RATES",
    "RATE_REASONS",
    "DISPARITIES",
    "Method",
    "Agg",
    "confusion_cells",
    "rates",
    "difference",
    "ratio",
    "disparity",
    "undefined_reason",
]

Method = Literal["between_groups", "to_overall"]
Agg = Literal["worst_case", "mean"]

#: rate -> (numerator cells, denominator cells); cells are indices into (tp, fp, tn, fn).
RATES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "base_rate": ((0, 3), (0, 1, 2, 3)),
    "selection_rate": ((0, 1), (0, 1, 2, 3)),
    "tpr": ((0,), (0, 3)),
    "fpr": ((1,), (1, 2)),
    "tnr": ((2,), (1, 2)),
    "fnr": ((3,), (0, 3)),
    "ppv": ((0,), (0, 1)),
    "npv": ((2,), (2, 3)),
    "fdr": ((1,), (0, 1)),
    "for": ((3,), (2, 3)),
    "accuracy": ((0, 2), (0, 1, 2, 3)),
}

#: Why each rate can be undefined (its denominator is zero).
RATE_REASONS: dict[str, str] = {
    "base_rate": "no rows in the group (n = 0)",
    "selection_rate": "no rows in the group (n = 0)",
    "tpr": "no actual positives (tp + fn = 0)",
    "fnr": "no actual positives (tp + fn = 0)",
    "fpr": "no actual negatives (fp + tn = 0)",
    "tnr": "no actual negatives (fp + tn = 0)",
    "ppv": "no predicted positives (tp + fp = 0)",
    "fdr": "no predicted positives (tp + fp = 0)",
    "npv": "no predicted negatives (tn + fn = 0)",
    "for": "no predicted negatives (tn + fn = 0)",
    "accuracy": "no rows in the group (n = 0)",
    "balanced_accuracy": "no rows in the group (n = 0)",
}

#: disparity -> the rates it compares (two rates: aggregated by ``agg``).
DISPARITIES: dict[str, tuple[str, ...]] = {
    "demographic_parity": ("selection_rate",),
    "equalized_odds": ("tpr", "fpr"),
    "equal_opportunity": ("tpr",),
    "predictive_parity": ("ppv",),
    "accuracy_parity": ("accuracy",),
}


def confusion_cells(table: np.ndarray, stat: int = -1) -> np.ndarray:
    """Return ``(..., 4)`` cells ``(tp, fp, tn, fn)`` from a binary count table.

    Parameters
    ----------
    table : numpy.ndarray
        Shape ``(..., 2, 2, n_stats)``: label, prediction, statistic.
    stat : int
        Statistic to use: 0 row counts, -1 the last (weights when weighted).

    Returns
    -------
    numpy.ndarray
        Float cells in the order tp, fp, tn, fn.
    """
    t = np.asarray(table[..., stat], dtype=np.float64)
    return np.stack([t[..., 1, 1], t[..., 0, 1], t[..., 0, 0], t[..., 1, 0]], axis=-1)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    shape = np.broadcast_shapes(num.shape, den.shape)
    out = np.full(shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def rates(cells: np.ndarray, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Compute every rate of :data:`RATES` and balanced accuracy from cells.

    Parameters
    ----------
    cells : numpy.ndarray
        Shape ``(..., 4)``: tp, fp, tn, fn (counts or sums of weights).
    names : iterable of str, optional
        Compute only these rates (and ``n``); balanced accuracy brings ``tpr`` and
        ``tnr``. Default: all. Each rate is the same whichever others are computed.

    Returns
    -------
    dict of str to numpy.ndarray
        Each rate with shape ``cells.shape[:-1]``; NaN where 0/0 (undefined).
        ``n`` is the group size.
    """
    wanted = set(RATES) | {"balanced_accuracy"} if names is None else set(names)
    if "balanced_accuracy" in wanted:
        wanted |= {"tpr", "tnr"}
    out = {"n": cells.sum(axis=-1)}
    for name, (num, den) in RATES.items():
        if name in wanted:
            out[name] = _divide(cells[..., list(num)].sum(axis=-1),
                                cells[..., list(den)].sum(axis=-1))
    if "balanced_accuracy" in wanted:
        recalls = np.stack([out["tpr"], out["tnr"]], axis=-1)
        defined = np.isfinite(recalls).sum(axis=-1)
        out["balanced_accuracy"] = _divide(np.nansum(recalls, axis=-1),
                                           defined.astype(np.float64))
    return out


def undefined_reason(name: str) -> str:
    """Return the reason a rate is undefined (its zero denominator)."""
    return RATE_REASONS.get(name, "undefined (0/0)")


def difference(values: np.ndarray, overall: np.ndarray, method: Method) -> np.ndarray:
    """Return ``MetricFrame.difference``: the largest absolute gap, NaN groups skipped.

    Parameters
    ----------
    values : numpy.ndarray
        Group values, shape ``(..., G)``.
    overall : numpy.ndarray
        Overall values, shape ``(...)``.
    method : {"between_groups", "to_overall"}
        ``max - min`` of the groups, or ``max |group - overall|``.

    Returns
    -------
    numpy.ndarray
        Shape ``(...)``; NaN when no group value is defined.
    """
    if method == "between_groups":
        return np.fmax.reduce(values, axis=-1) - np.fmin.reduce(values, axis=-1)
    return np.fmax.reduce(np.abs(values - overall[..., None]), axis=-1)


def ratio(values: np.ndarray, overall: np.ndarray, method: Method) -> np.ndarray:
    """Return ``MetricFrame.ratio``: the smallest ratio (folded below 1), NaN groups skipped.

    Parameters
    ----------
    values : numpy.ndarray
        Group values, shape ``(..., G)``.
    overall : numpy.ndarray
        Overall values, shape ``(...)``.
    method : {"between_groups", "to_overall"}
        ``min / max`` of the groups, or ``min`` over groups of ``group / overall``
        (replaced by its inverse when above 1).

    Returns
    -------
    numpy.ndarray
        Shape ``(...)`` in [0, 1]; NaN when 0/0 or no group value is defined.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "between_groups":
            return np.fmin.reduce(values, axis=-1) / np.fmax.reduce(values, axis=-1)
        r = values / overall[..., None]
        r = np.where(r > 1, 1.0 / r, r)
    return np.fmin.reduce(r, axis=-1)


def disparity(
    group_rates: Mapping[str, np.ndarray],
    overall_rates: Mapping[str, np.ndarray],
    name: str,
    kind: Literal["difference", "ratio"],
    method: Method,
    agg: Agg = "worst_case",
) -> np.ndarray:
    """Return one disparity of :data:`DISPARITIES` from group and overall rates.

    Parameters
    ----------
    group_rates, overall_rates : mapping of str to numpy.ndarray
        Output of :func:`rates` for the groups ``(..., G)`` and overall ``(...)``.
    name : str
        A key of :data:`DISPARITIES` (e.g. ``"equalized_odds"``).
    kind : {"difference", "ratio"}
        Which comparison.
    method : {"between_groups", "to_overall"}
        See :func:`difference`.
    agg : {"worst_case", "mean"}
        Aggregation over the rates of a two-rate disparity (equalized odds):
        worst case is the largest difference or the smallest ratio.

    Returns
    -------
    numpy.ndarray
        Shape ``(...)``.
    """
    func = difference if kind == "difference" else ratio
    parts = [func(group_rates[r], overall_rates[r], method) for r in DISPARITIES[name]]
    if len(parts) == 1:
        return parts[0]
    stacked = np.stack(parts, axis=-1)
    if agg == "mean":
        count = np.isfinite(stacked).sum(axis=-1)
        return _divide(np.nansum(stacked, axis=-1), count.astype(np.float64))
    reduce = np.fmax if kind == "difference" else np.fmin
    return reduce.reduce(stacked, axis=-1)
