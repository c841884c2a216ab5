"""Hugging Face Hub sources, read through the ``datasets`` library.

A :class:`~pipelines.spec.HuggingFaceSource` names a repo id, an optional
config, a split and a revision pinned to a commit. A mirror folder laid out
as on the Hub (``<mirror>/<spec name>/<owner>__<name>/``, with its README and
data files) is tried first, which is how offline use and tests work
(``HF_HUB_OFFLINE=1``); otherwise the dataset is loaded from the Hub at the
pinned revision. The fingerprint ``datasets`` computes for what was read goes
into the manifest. ``datasets`` is imported lazily: it costs a second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from pipelines.errors import DataError, SourceError
from pipelines.spec import DatasetSpec, HuggingFaceSource

if TYPE_CHECKING:
    from pipelines.sources import ResolvedSource

__all__ = ["mirror_folder_name", "resolve_huggingface", "iter_hf_batches"]


def mirror_folder_name(source: HuggingFaceSource) -> str:
    """Return the mirror sub-folder of a Hub dataset: ``owner/name`` -> ``owner__name``."""
    return source.repo_id.replace("/", "__")


def _load(target: str, source: HuggingFaceSource, cache: Path, revision: str | None) -> Any:
    import datasets

    datasets.disable_progress_bars()
    try:
        return datasets.load_dataset(
            target, name=source.config, split=source.split, revision=revision,
            cache_dir=str(cache),
        )
    except (ValueError, KeyError) as exc:  # unknown split or config
        raise SourceError(
            f"cannot read split '{source.split}' of {source.repo_id} "
            f"({str(exc).splitlines()[0]})",
            where=target,
            fix="check split and config against the dataset card",
        ) from None
    except Exception as exc:  # noqa: BLE001 - hub, network and file errors vary by release
        raise SourceError(
            f"cannot load the Hugging Face dataset ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})",
            where=target,
            fix="check repo_id and revision, the network, or put a copy laid out as on the "
            f"Hub in a FAIRLEDGER_MIRROR folder as <mirror>/<spec name>/"
            f"{mirror_folder_name(source)}",
        ) from None


def resolve_huggingface(
    spec: DatasetSpec, source: HuggingFaceSource, *, home: Path, mirrors: Sequence[Path]
) -> ResolvedSource:
    """Load a Hub dataset (from a mirror folder, else the Hub at the pinned revision).

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec (its name is the mirror sub-folder).
    source : HuggingFaceSource
        The source entry.
    home : pathlib.Path
        The ledger folder (``datasets`` cache under ``cache/huggingface``).
    mirrors : sequence of pathlib.Path
        Mirror folders to try first.

    Returns
    -------
    ResolvedSource
        With ``dataset`` set and a fingerprint naming repo, revision, split and
        the ``datasets`` fingerprint of what was read.
    """
    from pipelines.sources import ResolvedSource

    cache = Path(home) / "cache" / "huggingface"
    local = next(
        (m / spec.name / mirror_folder_name(source) for m in mirrors
         if (m / spec.name / mirror_folder_name(source)).is_dir()),
        None,
    )
    if local is not None:
        ds, origin = _load(str(local), source, cache, None), "mirror"
    else:
        ds, origin = _load(source.repo_id, source, cache, source.revision), "huggingface"
    fingerprint: dict[str, Any] = {
        "kind": "huggingface",
        "repo_id": source.repo_id,
        "config": source.config,
        "split": source.split,
        "revision": source.revision,
        "origin": origin,
        "fingerprint": getattr(ds, "_fingerprint", None),
        "rows": ds.num_rows,
        "features": list(ds.column_names),
    }
    if source.role:
        fingerprint["role"] = source.role
    digest = hashlib.sha256(
        json.dumps(fingerprint, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()
    return ResolvedSource(source, None, digest, "huggingface", fingerprint, dataset=ds)


def iter_hf_batches(resolved: ResolvedSource, *, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Yield the Arrow record batches of a loaded Hub dataset.

    Parameters
    ----------
    resolved : ResolvedSource
        Returned by :func:`resolve_huggingface`.
    batch_rows : int
        Rows per batch.

    Yields
    ------
    pyarrow.RecordBatch
        The dataset's rows, in order.
    """
    ds = resolved.dataset
    if ds is None or ds.num_rows == 0:
        raise DataError(
            "the source has no data rows",
            where=getattr(resolved.source, "repo_id", "huggingface"),
            fix="check split and config in the spec",
        )
    for table in ds.with_format("arrow").iter(batch_size=batch_rows):
        yield from table.to_batches()
