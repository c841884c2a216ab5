"""The optimised inference path against a plain reference: the model on the whole table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import torch

from pipelines.baselines import train_baseline
from pipelines.evaluate import run_inference
from pipelines.models import load_baseline_file
from pipelines.spec import BaselineModel

N = 3_000


def _table(n: int, seed: int) -> pa.Table:
    """Numeric and categorical columns with nulls, an unseen category, a string group."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 50, size=n).astype(np.float64)
    colours = np.array(["red", "green", "blue", "mauve"])  # "mauve" rare: maybe unseen
    colour = colours[rng.choice(4, size=n, p=[0.4, 0.3, 0.29, 0.01])]
    city = rng.choice(np.array([f"c{i}" for i in range(7)]), size=n)
    group = rng.choice(np.array(["a", "b", "c"]), size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x1 + (colour == "red"))))).astype(np.int64)
    null = rng.random((4, n)) < 0.05
    return pa.table({
        "id": np.arange(n, dtype=np.int64),
        "x1": pa.array(x1, mask=null[0]),
        "x2": pa.array(x2, mask=null[1]),
        "colour": pa.array(colour, mask=null[2]).dictionary_encode(),
        "city": pa.array(city, mask=null[3]),
        "group": pa.array(group, mask=rng.random(n) < 0.03),
        "y": y,
    })


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> object:
    train = _table(2_000, 1)
    train = train.filter(pc.not_equal(train["colour"].cast(pa.string()), "mauve"))
    ms = BaselineModel(id="mlp", kind="baseline", algorithm="mlp", epochs=2, hidden=8)
    path = tmp_path_factory.mktemp("model") / "mlp.pt"
    path.write_bytes(train_baseline(ms, train, label="y", positive=[1], id_column="id",
                                    sensitive=["group"]))
    return path


def _reference(path, table: pa.Table) -> np.ndarray:
    """Encode the whole table in one piece and call the module once."""
    scorer = load_baseline_file(path, "mlp")
    whole = table.combine_chunks().to_batches()[0]
    num, cat = scorer.encode(whole)
    with torch.inference_mode():
        out = scorer.module(torch.from_numpy(num), torch.from_numpy(cat))
    return out.to(torch.float64).numpy()


@pytest.mark.parametrize("batch_rows", [1, 97, 1_000, 1 << 18])
def test_streamed_scores_match_whole_table_forward(tmp_path, model_path, batch_rows) -> None:
    table = _table(N, 7)
    data = tmp_path / "test.parquet"
    pq.write_table(table, data, row_group_size=700, compression="zstd")
    scorer = load_baseline_file(model_path, "mlp")
    assert "mauve" not in scorer.vocabularies[scorer.categorical.index("colour")]
    out = tmp_path / "predictions.parquet"
    inf = run_inference(scorer, [("test", data)], out, label="y", positive=[1],
                        sensitive=["group"], id_column="id", threshold=0.5, direction=">=",
                        threads=1, batch_rows=batch_rows)
    expected = _reference(model_path, table)
    preds = pq.read_table(out)
    assert preds.schema == pa.schema([pa.field("split", pa.string(), nullable=False),
                                      ("id", pa.int64()),
                                      pa.field("score", pa.float64(), nullable=False),
                                      pa.field("prediction", pa.int8(), nullable=False)])
    assert preds["id"].to_pylist() == list(range(N))
    assert preds["split"].to_pylist() == ["test"] * N
    np.testing.assert_allclose(preds["score"].to_numpy(), expected, rtol=1e-6, atol=1e-7)
    clear = np.abs(expected - 0.5) > 1e-5  # rows not on the threshold within float noise
    assert clear.sum() > N * 0.99
    assert np.array_equal(preds["prediction"].to_numpy()[clear], (expected >= 0.5)[clear])
    assert inf.rows == N and inf.frame.column_names == ["label", "prediction", "score", "group"]
    assert inf.frame["label"].to_pylist() == table["y"].to_pylist()
    assert inf.frame["group"].cast(pa.string()).to_pylist() == table["group"].to_pylist()
    assert np.array_equal(inf.frame["score"].to_numpy(), preds["score"].to_numpy())
    assert np.array_equal(inf.frame["prediction"].to_numpy(), preds["prediction"].to_numpy())


def test_two_splits_number_rows_per_split_without_id_column(tmp_path, model_path) -> None:
    a, b = _table(500, 3), _table(300, 4)
    pq.write_table(a, tmp_path / "a.parquet", row_group_size=128)
    pq.write_table(b, tmp_path / "b.parquet", row_group_size=128)
    scorer = load_baseline_file(model_path, "mlp")
    out = tmp_path / "predictions.parquet"
    inf = run_inference(scorer, [("test", tmp_path / "a.parquet"), ("val", tmp_path / "b.parquet")],
                        out, label="y", positive=[1], sensitive=["group"], id_column=None,
                        threshold=0.5, direction=">=", batch_rows=200)
    preds = pq.read_table(out)
    assert preds.column_names == ["split", "row", "score", "prediction"]
    assert preds["split"].to_pylist() == ["test"] * 500 + ["val"] * 300
    assert preds["row"].to_pylist() == list(range(500)) + list(range(300))
    expected = np.concatenate([_reference(model_path, a), _reference(model_path, b)])
    np.testing.assert_allclose(preds["score"].to_numpy(), expected, rtol=1e-6, atol=1e-7)
    assert inf.rows == 800 and inf.splits == ["test", "val"]
