"""Baselines: deterministic, preprocessing learned on train only, sensitive features excluded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from _eval_helpers import publish_real, synthetic_table

from pipelines.baselines import binary_label, select_features, train_baseline
from pipelines.errors import ModelError
from pipelines.ledger_read import split_path
from pipelines.models import load_baseline_file
from pipelines.spec import BaselineModel, load_spec

REPO = Path(__file__).resolve().parents[2]


def _train(tmp_path: Path, algorithm: str, name: str, **kw) -> tuple[bytes, np.ndarray]:
    ms = BaselineModel(id="b", kind="baseline", algorithm=algorithm, epochs=5, **kw)
    blob = train_baseline(ms, synthetic_table(800, 1), label="y", positive=[1], id_column="id",
                          sensitive=["group"])
    path = tmp_path / name
    path.write_bytes(blob)
    scorer = load_baseline_file(path, "b")
    with torch.inference_mode():
        scores = scorer.scores(synthetic_table(300, 2).to_batches()[0])
    return blob, scores


@pytest.mark.parametrize("algorithm", ["logistic", "mlp"])
def test_two_runs_identical_and_better_than_majority(tmp_path, algorithm) -> None:
    blob1, s1 = _train(tmp_path, algorithm, "a.pt")
    blob2, s2 = _train(tmp_path, algorithm, "b.pt")
    assert blob1 == blob2
    assert np.array_equal(s1, s2)
    y = synthetic_table(300, 2)["y"].to_numpy()
    majority = max(y.mean(), 1 - y.mean())
    assert ((s1 >= 0.5) == y).mean() > majority


def test_preprocessing_is_learned_on_train_only(tmp_path) -> None:
    train = synthetic_table(500, 3)
    ms = BaselineModel(id="b", kind="baseline", algorithm="logistic", epochs=1)
    path = tmp_path / "m.pt"
    path.write_bytes(train_baseline(ms, train, label="y", positive=[1], id_column="id",
                                    sensitive=["group"]))
    module = load_baseline_file(path, "b").module
    assert list(module.numeric_features) == ["x1", "x2", "score"]
    assert list(module.categorical_features) == ["colour"]
    assert [list(v) for v in module.vocabularies] == [["blue", "green", "red"]]
    expected = [float(np.mean(train[c].to_numpy())) for c in ("x1", "x2", "score")]
    np.testing.assert_allclose(module.mean.numpy().ravel(), expected, rtol=1e-6)


def test_sensitive_included_only_when_asked() -> None:
    schema = synthetic_table(5, 0).schema
    base = dict(id="b", kind="baseline", algorithm="logistic")
    num, cat = select_features(BaselineModel(**base), schema, label="y", id_column="id",
                               sensitive=["group"])
    assert "group" not in num + cat
    num, cat = select_features(BaselineModel(**base, include_sensitive=True), schema, label="y",
                               id_column="id", sensitive=["group"])
    assert cat == ["colour", "group"]
    with pytest.raises(ModelError) as err:
        select_features(BaselineModel(**base, features=["x1", "group"]), schema, label="y",
                        id_column="id", sensitive=["group"])
    assert err.value.line() == (
        "models.b.features: feature column 'group' is a sensitive feature; fix: remove it from "
        "features (sensitive features need include_sensitive: true)")


def test_unseen_and_missing_categories_encode_to_zero(tmp_path) -> None:
    _, _ = _train(tmp_path, "logistic", "m.pt")
    scorer = load_baseline_file(tmp_path / "m.pt", "b")
    batch = pa.record_batch({"x1": [0.0, None], "x2": [0.0, 1.0], "score": [1.0, 2.0],
                             "colour": ["purple", None]})
    num, cat = scorer.encode(batch)
    assert cat.tolist() == [[-1], [-1]]
    assert np.isnan(num[1, 0])
    with torch.inference_mode():
        assert np.isfinite(scorer.scores(batch)).all()


def test_binary_label_maps_positive_values() -> None:
    col = pa.array(["<30", ">30", "NO", "<30"]).dictionary_encode()
    assert binary_label(col, ["<30"], "label").tolist() == [1, 0, 0, 1]


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("name", ["compas", "adult", "german_credit", "diabetes_130_us"])
def test_real_baselines_beat_majority_class(name, shared_data, tmp_path) -> None:
    spec_path = REPO / "datasets_spec" / f"{name}.yaml"
    spec = load_spec(spec_path)
    home = tmp_path / "ledger"
    vid = publish_real(spec_path, home)
    train = pq.read_table(split_path(home, name, vid, "train"))
    test = pq.read_table(split_path(home, name, vid, "test"))
    y = binary_label(test[spec.label.column], spec.label.positive, "label")
    majority = max(y.mean(), 1 - y.mean())
    baselines = [m for m in spec.models if m.kind == "baseline"]
    assert {m.algorithm for m in baselines} == {"logistic", "mlp"}
    for ms in baselines:
        blob = train_baseline(ms, train, label=spec.label.column, positive=spec.label.positive,
                              id_column=spec.id_column, sensitive=spec.sensitive_columns)
        path = tmp_path / f"{ms.id}.pt"
        path.write_bytes(blob)
        scorer = load_baseline_file(path, ms.id)
        with torch.inference_mode():
            scores = scorer.scores(test.combine_chunks().to_batches()[0])
        accuracy = ((scores >= ms.threshold) == y).mean()
        assert accuracy > majority, (ms.id, accuracy, majority)


@pytest.mark.parametrize("dictionary", [False, True])
def test_category_codes_plain_and_dictionary(dictionary) -> None:
    from pipelines.models import BaselineScorer

    col = pa.array(["b", None, "z", "a", "c"])
    col = col.dictionary_encode() if dictionary else col
    codes = BaselineScorer._codes(col, pa.array(["a", "b", "c"]))
    assert codes.tolist() == [1, -1, -1, 0, 2]
