"""Great Expectations Data Docs (static HTML) for one gate run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_data_docs"]


def write_data_docs(context: Any, run: Any, out_dir: Path) -> str:
    """Render the validation result ``run`` as GX Data Docs HTML under ``out_dir``.

    Parameters
    ----------
    context : great_expectations.data_context.AbstractDataContext
        The (ephemeral) context the validation ran in.
    run : great_expectations.core.ExpectationSuiteValidationResult
        The validation result.
    out_dir : pathlib.Path
        Folder to write the site into (created).

    Returns
    -------
    str
        Path of the site's ``index.html``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    site = {
        "class_name": "SiteBuilder",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(out_dir),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    context.add_data_docs_site(site_name="fairledger", site_config=site)
    store = context.validation_results_store
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    identifier = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=run.suite_name),
        run_id=run.meta["run_id"],
        batch_identifier=run.meta["active_batch_definition"]["data_asset_name"],
    )
    store.set(identifier, run)
    context.build_data_docs(site_names=["fairledger"])
    return str(out_dir / "index.html")
