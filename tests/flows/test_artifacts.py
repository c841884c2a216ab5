"""Markdown and table artifacts of a benchmark, created in a flow and read back from the API."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pyarrow as pa
import pytest
from prefect import flow

from audits.engine import audit_predictions
from flows.artifacts import artifact_key, disparity_rows, group_rows, publish_artifacts

MARKDOWN = "# compas: fail\n\n- **fail** demographic parity ratio 0.62 < 0.8\n"


def _result(model: str) -> dict[str, Any]:
    rows = {
        "race": ["a"] * 6 + ["b"] * 6,
        "label": [1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1],
        "pred": [1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1],
    }
    audit = audit_predictions(pa.table(rows), label="label", prediction="pred", sensitive=["race"],
                              n_boot=50, seed=0, min_group_size=1).to_dict()
    return {
        "format": "fairledger.result/1",
        "dataset": {"name": "compas", "version": "ab" * 32, "split": "all", "rows": 12},
        "model": {"id": model, "kind": "score_column"},
        "groups": audit["groups"],
        "disparities": audit["disparities"],
        "verdict": "fail",
    }


@flow(name="artifacts-under-test")
def _publish(results: list[dict[str, Any]], markdown: str) -> str:
    from prefect.runtime import flow_run

    publish_artifacts(results, markdown)
    return str(flow_run.id)


def _read_artifacts(flow_run_id: str) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)]))
        )
    return {str(a.key): a for a in found}


def test_artifacts_are_recorded_with_the_flow_run() -> None:
    results = [_result("score"), _result("baseline")]
    run_id = _publish(results, MARKDOWN)
    artifacts = _read_artifacts(run_id)
    assert set(artifacts) == {
        "fairledger-compas-summary", "fairledger-compas-groups", "fairledger-compas-disparities"
    }
    summary = artifacts["fairledger-compas-summary"]
    assert summary.type == "markdown" and summary.data == MARKDOWN
    groups = artifacts["fairledger-compas-groups"]
    assert groups.type == "table"
    table = json.loads(groups.data) if isinstance(groups.data, str) else groups.data
    assert table == json.loads(json.dumps(group_rows(results)))
    assert [(r["model"], r["group"]) for r in table] == [
        ("score", "a"), ("score", "b"), ("baseline", "a"), ("baseline", "b")
    ]
    assert [r["n"] for r in table] == [6, 6, 6, 6]
    disparities = artifacts["fairledger-compas-disparities"]
    rows = json.loads(disparities.data) if isinstance(disparities.data, str) else disparities.data
    assert len(rows) == len(disparity_rows(results)) == 2 * len(results[0]["disparities"])
    assert {r["feature"] for r in rows} == {"race"}


def test_group_rows_carry_counts_rates_and_intervals() -> None:
    [row, _] = group_rows([_result("m")])
    assert (row["dataset"], row["version"], row["model"]) == ("compas", "ab" * 6, "m")
    assert (row["tp"], row["fp"], row["tn"], row["fn"]) == (2, 1, 2, 1)
    assert row["selection_rate"] == pytest.approx(0.5)
    assert row["selection_rate_ci"].startswith("[") and row["suppressed"] is False


def test_disparity_rows_show_threshold_and_verdict() -> None:
    result = {"dataset": {"name": "x", "version": "v"}, "model": {"id": "m"}, "disparities": [
        {"feature": "race", "metric": "demographic_parity_ratio", "method": "between_groups",
         "value": 0.5, "ci": [0.4, 0.6], "threshold": {"min": 0.8}, "verdict": "fail"},
        {"feature": "sex", "metric": "equal_opportunity_difference", "method": "to_overall",
         "value": float("nan"), "ci": None, "verdict": "warn"},
    ]}
    assert disparity_rows([result]) == [
        {"dataset": "x", "version": "v", "model": "m", "feature": "race",
         "metric": "demographic_parity_ratio", "method": "between_groups", "value": 0.5,
         "ci": "[0.4, 0.6]", "threshold": "min 0.8", "verdict": "fail"},
        {"dataset": "x", "version": "v", "model": "m", "feature": "sex",
         "metric": "equal_opportunity_difference", "method": "to_overall", "value": None,
         "ci": "", "threshold": "", "verdict": "warn"},
    ]


@pytest.mark.parametrize(
    ("parts", "key"),
    [
        (("fairledger", "compas", "groups"), "fairledger-compas-groups"),
        (("fairledger", "Diabetes_130_US"), "fairledger-diabetes-130-us"),
        (("fairledger", "--a..b--"), "fairledger-a-b"),
    ],
)
def test_artifact_keys_are_valid(parts: tuple[str, ...], key: str) -> None:
    assert artifact_key(*parts) == key
