"""The ``predictions`` model kind: scores made elsewhere, keyed by the row id.

The file is a Parquet table with the dataset's id column and a score column.
Every evaluated row must have exactly one score and every id of the file
must be an evaluated row; anything else is a :class:`ModelError`, raised
before a result is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import ModelError
from pipelines.models import check_sha256, model_path
from pipelines.spec import PredictionsModel

__all__ = ["PredictionsScorer"]


def _read(path: Path, ms: PredictionsModel, id_column: str) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ModelError(f"predictions file {path.name} is not Parquet ({exc})",
                         where=f"models.{ms.id}.path",
                         fix="write the predictions with pyarrow.parquet.write_table") from None
    for name, role in ((id_column, "id"), (ms.score_column, "score")):
        if name not in schema.names:
            raise ModelError(
                f"predictions file {path.name} has no {role} column '{name}' "
                f"(columns: {', '.join(schema.names)})",
                where=f"models.{ms.id}.path",
                fix=f"add a '{name}' column to the predictions file",
            )
    return pq.read_table(path, columns=[id_column, ms.score_column])


@dataclass
class PredictionsScorer:
    """Scores looked up by row id from a predictions file."""

    model_id: str
    id_column: str
    ids: pa.Array
    values: np.ndarray
    sha256: str
    kind: str = "predictions"
    columns: list[str] = field(default_factory=list)
    _seen: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        self.columns = [self.id_column]
        self._seen = np.zeros(len(self.ids), dtype=bool)

    @classmethod
    def load(cls, ms: PredictionsModel, spec_dir: Path, id_column: str | None) -> PredictionsScorer:
        """Read and check a predictions file.

        Raises
        ------
        ModelError
            No id column in the spec, file missing, sha256 mismatch, missing
            columns, null or duplicate ids, null or non-numeric scores.
        """
        if not id_column:
            raise ModelError("a predictions model needs the dataset's id_column",
                             where=f"models.{ms.id}", fix="declare id_column in the spec")
        path = model_path(ms.path, spec_dir, ms.id, "path")
        digest = check_sha256(path, ms.sha256, ms.id)
        table = _read(path, ms, id_column)
        ids, scores = table.column(0).combine_chunks(), table.column(1).combine_chunks()
        where = f"models.{ms.id}.path"
        if ids.null_count:
            raise ModelError(f"predictions file has {ids.null_count} rows without an id",
                             where=where, fix=f"give every row its '{id_column}'")
        if pc.count_distinct(ids).as_py() != len(ids):
            raise ModelError("predictions file has duplicate ids", where=where,
                             fix="keep one score per id")
        if not (pa.types.is_integer(scores.type) or pa.types.is_floating(scores.type)):
            raise ModelError(f"score column '{ms.score_column}' is {scores.type}, not numeric",
                             where=where, fix="store numeric scores")
        if scores.null_count:
            raise ModelError(f"predictions file has {scores.null_count} null scores",
                             where=where, fix="give every id a score")
        values = np.asarray(scores.to_numpy(zero_copy_only=False), dtype=np.float64)
        return cls(ms.id, id_column, ids, values, digest)

    def scores(self, batch: pa.RecordBatch) -> np.ndarray:
        """Return the scores of the batch's rows, in order.

        Raises
        ------
        ModelError
            When a row's id has no score in the file.
        """
        col = batch.column(self.id_column)
        if col.type != self.ids.type:
            try:
                self.ids = self.ids.cast(col.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise ModelError(f"predictions ids are {self.ids.type}, the dataset's {col.type}",
                                 where=f"models.{self.model_id}.path",
                                 fix=f"store '{self.id_column}' as {col.type}") from None
        index = pc.index_in(col, value_set=self.ids)
        if index.null_count:
            first = col.filter(pc.is_null(index))[0].as_py()
            raise ModelError(
                f"predictions file misses ids of the dataset ({index.null_count} rows in a "
                f"batch have no score; first missing id: {first})",
                where=f"models.{self.model_id}.path",
                fix="predict every row of the evaluated split(s)",
            )
        rows = np.asarray(index.to_numpy(zero_copy_only=False), dtype=np.int64)
        self._seen[rows] = True
        return self.values[rows]

    def finish(self) -> None:
        """Check that every id of the file was an evaluated row.

        Raises
        ------
        ModelError
            When the file holds ids that are not in the evaluated rows.
        """
        extra = np.flatnonzero(~self._seen)
        if extra.size:
            raise ModelError(
                f"predictions file has {extra.size} ids not in the evaluated rows of the "
                f"dataset (first: {self.ids[int(extra[0])].as_py()})",
                where=f"models.{self.model_id}.path",
                fix="keep only ids of the evaluated split(s), or set the model's splits",
            )
