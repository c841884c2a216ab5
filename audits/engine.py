"""The audit API: counts -> rates, disparities and intervals -> a result.

:func:`audit_predictions` counts a predictions table in one streaming pass
(:mod:`audits.counts`) and hands the counts to :func:`audit_counts`, which
derives every rate (:mod:`audits.fairness`), its Wilson interval and a
percentile bootstrap interval for every disparity (:mod:`audits.uncertainty`).
The result's :meth:`AuditResult.to_dict` gives the ``metrics``, ``groups``,
``disparities`` and ``bootstrap`` sections of ``fairledger.result/1``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from audits import fairness as fm
from audits._batches import DEFAULT_BATCH_SIZE
from audits._replicates import FeatureReplicates, feature_replicates
from audits.counts import Counts, GroupCounts, Task, count_groups
from audits.uncertainty import feature_rng, percentile_interval, wilson_interval
from pipelines.errors import ArgumentError, DataError

__all__ = ["AuditResult", "audit_counts", "audit_predictions", "GROUP_RATES", "BOOTSTRAP_METHOD"]

#: Rates reported for every group and overall, in this order.
GROUP_RATES = (
    "base_rate", "selection_rate", "tpr", "fpr", "tnr", "fnr",
    "ppv", "npv", "fdr", "for", "accuracy", "balanced_accuracy",
)
BOOTSTRAP_METHOD = "multinomial over confusion cells"
_KINDS: tuple[Literal["difference", "ratio"], ...] = ("difference", "ratio")
_METHODS: tuple[fm.Method, ...] = ("between_groups", "to_overall")


@dataclass
class AuditResult:
    """The outcome of an audit; :meth:`to_dict` is JSON-serialisable.

    Attributes
    ----------
    metrics : dict
        Overall rates, each ``{"value", "ci"}`` (plus ``"undefined"`` when NaN), and ``n``.
    groups : list of dict
        One entry per (feature, group) with counts, rates and flags.
    disparities : list of dict
        One entry per (feature, metric, method[, agg]).
    bootstrap : dict
        ``n_boot``, ``seed``, ``method`` and ``level``.
    counts : Counts
        The counts the result was derived from.
    """

    metrics: dict[str, Any]
    groups: list[dict[str, Any]]
    disparities: list[dict[str, Any]]
    bootstrap: dict[str, Any]
    counts: Counts
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the ``metrics``, ``groups``, ``disparities`` and ``bootstrap`` sections."""
        out = {
            "metrics": self.metrics,
            "groups": self.groups,
            "disparities": self.disparities,
            "bootstrap": self.bootstrap,
        }
        out.update(self.extra)
        return out

    def disparity(self, feature: str, metric: str, method: str = "between_groups",
                  agg: str | None = None) -> dict[str, Any]:
        """Return one disparity entry (``agg`` defaults to worst_case where relevant)."""
        for item in self.disparities:
            if (item["feature"], item["metric"], item["method"]) == (feature, metric, method) and (
                item.get("agg") in (agg, None) or (agg is None and item.get("agg") == "worst_case")
            ):
                return item
        raise KeyError((feature, metric, method, agg))


def _num(x: Any) -> float | None:
    value = float(x)
    return value if np.isfinite(value) else None


def _interval(low: Any, high: Any) -> list[float] | None:
    lo, hi = _num(low), _num(high)
    return None if lo is None or hi is None else [lo, hi]


def _rate_entry(name: str, value: float, ci: list[float] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": _num(value), "ci": ci if _num(value) is not None else None}
    if entry["value"] is None:
        entry["undefined"] = fm.undefined_reason(name)
    return entry


def _rate_section(
    cells: np.ndarray, raw: np.ndarray, boot_ba: tuple[np.ndarray, np.ndarray] | None
) -> list[dict[str, Any]]:
    """Return, per row of ``cells`` (..., 4), a dict of rate entries with Wilson CIs."""
    values = fm.rates(cells)
    columns = []
    for name in GROUP_RATES:
        if name == "balanced_accuracy":
            lows, highs = boot_ba if boot_ba is not None else (None, None)
        else:
            trials = raw[:, list(fm.RATES[name][1])].sum(axis=1)
            lows, highs = wilson_interval(values[name] * trials, trials)
        bounds = None if lows is None or highs is None else (
            np.asarray(lows, dtype=np.float64).tolist(),
            np.asarray(highs, dtype=np.float64).tolist())
        columns.append((name, values[name].tolist(), bounds, fm.undefined_reason(name)))
    rows: list[dict[str, Any]] = []
    for i in range(cells.shape[0]):
        row: dict[str, Any] = {}
        for name, vals, bounds, reason in columns:
            value = vals[i]
            if not math.isfinite(value):
                row[name] = {"value": None, "ci": None, "undefined": reason}
                continue
            ci = None
            if bounds is not None and math.isfinite(bounds[0][i]) and math.isfinite(bounds[1][i]):
                ci = [bounds[0][i], bounds[1][i]]
            row[name] = {"value": value, "ci": ci}
        rows.append(row)
    return rows


def _check_groups(counts: Counts) -> None:
    for item in counts.features:
        if len(item.members) == 1 and len(item.levels[0]) < 2:
            only = item.levels[0][0] if item.levels[0] else "none"
            raise DataError(
                f"sensitive column '{item.feature}' has a single group ('{only}'), "
                "so there is nothing to compare",
                where=item.feature,
                fix="audit with a sensitive column that has two or more groups",
            )


def _pick(values: np.ndarray, largest: bool) -> int | None:
    if not np.isfinite(values).any():
        return None
    return int(np.nanargmax(values) if largest else np.nanargmin(values))


def _where_info(
    group_rates: dict[str, np.ndarray], overall: dict[str, np.ndarray], rates_used: tuple[str, ...],
    kind: str, method: str, groups: tuple[str, ...], undefined_groups: dict[str, list[str]],
) -> dict[str, Any]:
    """Say which groups decide a disparity (on its decisive rate)."""
    per_rate = []
    for rate in rates_used:
        value = group_rates[rate]
        if method == "between_groups":
            hi, lo = _pick(value, True), _pick(value, False)
            per_rate.append({"rate": rate, "groups_compared": None if hi is None or lo is None
                             else [groups[hi], groups[lo]]})
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                folded = fm.ratio(value[:, None], overall[rate][None], "to_overall")
            gap = np.abs(value - overall[rate]) if kind == "difference" else -folded
            worst = _pick(gap, True)
            per_rate.append({"rate": rate, "worst_group": None if worst is None else groups[worst]})
    undefined = {r: list(undefined_groups[r]) for r in rates_used}
    info: dict[str, Any] = dict(per_rate[0])
    if len(per_rate) > 1:
        info["by_rate"] = per_rate
    info["excluded_groups"] = {
        r: {"groups": gs, "reason": fm.undefined_reason(r)} for r, gs in undefined.items() if gs
    }
    return info


_Spec = tuple[str, Literal["difference", "ratio"], fm.Method, fm.Agg | None]


def _disparity_specs() -> list[_Spec]:
    specs: list[_Spec] = []
    for name, rates_used in fm.DISPARITIES.items():
        aggs: tuple[fm.Agg | None, ...] = ("worst_case", "mean") if len(rates_used) > 1 else (None,)
        for kind in _KINDS:
            for method in _METHODS:
                specs.extend((name, kind, method, agg) for agg in aggs)
    return specs


def _undefined_disparity(kind: str, rates_used: tuple[str, ...]) -> str:
    if kind == "ratio":
        return f"no defined {'/'.join(rates_used)} in two groups, or a 0/0 ratio (all rates 0)"
    return f"no group has a defined {'/'.join(rates_used)}"


def _undefined_groups(group_rates: dict[str, np.ndarray], groups: tuple[str, ...]
                      ) -> dict[str, list[str]]:
    """Return the groups whose rate is undefined, for each rate a disparity uses."""
    names = {r for rates_used in fm.DISPARITIES.values() for r in rates_used}
    return {r: [groups[i] for i in np.flatnonzero(~np.isfinite(group_rates[r])).tolist()]
            for r in names}


def _feature_disparities(
    item: GroupCounts, cells: np.ndarray, raw: np.ndarray, reps: FeatureReplicates | None,
    min_group_size: int,
) -> list[dict[str, Any]]:
    """Every disparity of one feature, with its bootstrap interval."""
    groups = item.groups
    group_rates = fm.rates(cells)
    overall = fm.rates(cells.sum(axis=0))
    undefined_groups = _undefined_groups(group_rates, groups)
    small = raw.sum(axis=1) < min_group_size
    out = []
    for spec in _disparity_specs():
        name, kind, method, agg = spec
        rates_used = fm.DISPARITIES[name]
        value = fm.disparity(group_rates, overall, name, kind, method, agg or "worst_case")
        ci = None
        if reps is not None:
            low, high, _ = percentile_interval(reps.disparities[spec])
            ci = _interval(low, high)
        used = np.zeros(len(groups), dtype=bool)
        for rate in rates_used:
            used |= np.isfinite(group_rates[rate])
        entry: dict[str, Any] = {"feature": item.feature, "metric": f"{name}_{kind}",
                                 "method": method}
        if agg is not None:
            entry["agg"] = agg
        entry["value"] = _num(value)
        entry["ci"] = ci if entry["value"] is not None else None
        if entry["value"] is None:
            entry["undefined"] = _undefined_disparity(kind, rates_used)
        entry["low_confidence"] = bool((small & used).any())
        entry.update(_where_info(group_rates, overall, rates_used, kind, method, groups,
                                 undefined_groups))
        out.append(entry)
    return out


def _feature_groups(
    item: GroupCounts, cells: np.ndarray, raw: np.ndarray, reps: FeatureReplicates | None,
    min_group_size: int,
) -> list[dict[str, Any]]:
    boot_ba = None if reps is None else (reps.group_ba_low, reps.group_ba_high)
    rows = _rate_section(cells, raw, boot_ba)
    fm_cells = ("tp", "fp", "tn", "fn")
    sizes = raw.sum(axis=1)
    n_rows = sizes.astype(np.int64).tolist()
    small = (sizes < min_group_size).tolist()
    counts = raw.astype(np.int64).tolist()
    weights = None if np.array_equal(cells, raw) else cells.tolist()
    out = []
    for i, group in enumerate(item.groups):
        entry: dict[str, Any] = {"feature": item.feature, "group": group, "n": n_rows[i]}
        entry.update(zip(fm_cells, counts[i], strict=True))
        if weights is not None:
            entry["weighted"] = dict(zip(fm_cells, weights[i], strict=True))
        entry.update(rows[i])
        entry["suppressed"] = False
        entry["small"] = small[i]
        out.append(entry)
    return out


def _overall_metrics(counts: Counts, reps: FeatureReplicates | None) -> dict[str, Any]:
    table = counts.overall()
    cells = fm.confusion_cells(table)[None]
    raw = fm.confusion_cells(table, stat=0)[None]
    boot_ba = None
    if reps is not None:
        low, high, _ = percentile_interval(reps.overall_ba)
        boot_ba = (np.atleast_1d(low), np.atleast_1d(high))
    metrics: dict[str, Any] = dict(_rate_section(cells, raw, boot_ba)[0])
    metrics["n"] = int(raw.sum())
    return metrics


def audit_counts(
    counts: Counts, *, n_boot: int = 1000, seed: int = 0, min_group_size: int = 30,
) -> AuditResult:
    """Audit binary confusion counts: rates, disparities and their intervals.

    Parameters
    ----------
    counts : Counts
        Binary counts from :func:`audits.counts.count_confusion` (possibly merged).
    n_boot : int
        Bootstrap replicates (0: no disparity intervals).
    seed : int
        Seed of the bootstrap (recorded in the result).
    min_group_size : int
        Groups with fewer rows are flagged ``small``; disparities that use
        them are marked ``low_confidence``.

    Returns
    -------
    AuditResult
        The result.

    Raises
    ------
    ArgumentError
        When the counts are not binary or ``n_boot``/``min_group_size`` is negative.
    DataError
        When a sensitive feature has a single group.
    """
    if counts.task != "binary":
        raise ArgumentError(f"audit_counts needs binary counts, got {counts.task!r}",
                            fix="count with count_confusion, or use audit_predictions(task=...)")
    _check_options(n_boot, min_group_size)
    _check_groups(counts)
    groups: list[dict[str, Any]] = []
    disparities: list[dict[str, Any]] = []
    first_reps = None
    for index, item in enumerate(counts.features):
        flat = item.flat()
        cells, raw = fm.confusion_cells(flat), fm.confusion_cells(flat, stat=0)
        reps = None
        if n_boot:
            reps = feature_replicates(raw, n_boot, feature_rng(seed, index),
                                      cells if counts.weighted else None, _disparity_specs())
            first_reps = reps if first_reps is None else first_reps
        groups.extend(_feature_groups(item, cells, raw, reps, min_group_size))
        disparities.extend(_feature_disparities(item, cells, raw, reps, min_group_size))
    boot = {"n_boot": n_boot, "seed": seed, "method": BOOTSTRAP_METHOD, "level": 0.95}
    small = [{"feature": g["feature"], "group": g["group"], "n": g["n"]}
             for g in groups if g["small"]]
    extra = {"min_group_size": min_group_size, "small_groups": small}
    return AuditResult(_overall_metrics(counts, first_reps), groups, disparities, boot, counts,
                       extra)


def _check_options(n_boot: int, min_group_size: int) -> None:
    if int(n_boot) != n_boot or n_boot < 0:
        raise ArgumentError(f"n_boot must be a whole number >= 0, got {n_boot}",
                            where="n_boot", fix="pass e.g. n_boot=1000")
    if int(min_group_size) != min_group_size or min_group_size < 0:
        raise ArgumentError(f"min_group_size must be a whole number >= 0, got {min_group_size}",
                            where="min_group_size", fix="pass e.g. min_group_size=30")


def audit_predictions(
    data: Any, *, label: str, prediction: str, sensitive: Sequence[str] | str,
    intersections: Sequence[Sequence[str] | str] = (), n_boot: int = 1000, seed: int = 0,
    min_group_size: int = 30, weight: str | None = None, pos_label: Any = None,
    task: Task = "binary", batch_size: int = DEFAULT_BATCH_SIZE,
) -> AuditResult:
    """Audit a predictions table for fairness, with confidence intervals.

    Parameters
    ----------
    data : pyarrow.Table, iterable of RecordBatch, pandas.DataFrame, str or Path
        The predictions; a path must name a CSV or Parquet file.
    label, prediction : str
        Columns of the true label and the prediction.
    sensitive : sequence of str or str
        Sensitive columns (a string is split on commas).
    intersections : sequence of (sequence of str or "a,b" / "a&b")
        Intersections to audit, e.g. ``[("race", "sex")]``.
    n_boot : int
        Bootstrap replicates for the disparity intervals (default 1000).
    seed : int
        Bootstrap seed, recorded in the result.
    min_group_size : int
        Groups smaller than this are flagged (default 30).
    weight : str, optional
        Sample-weight column.
    pos_label : object, optional
        Positive value of label and prediction (default 1 / True).
    task : {"binary", "multiclass", "regression"}
        Multiclass is audited one-vs-rest per class; regression by group errors.
    batch_size : int
        Rows per record batch of the streaming pass.

    Returns
    -------
    AuditResult
        Use :meth:`AuditResult.to_dict` for the published sections.
    """
    if isinstance(sensitive, str):
        sensitive = [s.strip() for s in sensitive.split(",")]
    sens = list(sensitive)
    inters = [tuple(i.replace("&", ",").split(",")) if isinstance(i, str) else tuple(i)
              for i in intersections]
    if task not in ("binary", "multiclass", "regression"):
        raise ArgumentError(f"unknown task {task!r}", where="task",
                            fix="use one of: binary, multiclass, regression")
    _check_options(n_boot, min_group_size)
    counts = count_groups(data, task=task, label=label, prediction=prediction, sensitive=sens,
                          intersections=inters, weight=weight, pos_label=pos_label,
                          batch_size=batch_size)
    if task == "multiclass":
        from audits.multiclass import audit_multiclass

        return audit_multiclass(counts, n_boot=n_boot, seed=seed, min_group_size=min_group_size)
    if task == "regression":
        from audits.regression import audit_regression

        return audit_regression(counts, min_group_size=min_group_size)
    return audit_counts(counts, n_boot=n_boot, seed=seed, min_group_size=min_group_size)
