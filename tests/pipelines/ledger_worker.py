"""Subprocess worker for the ledger crash and concurrency tests (not a test module).

Usage: python ledger_worker.py HOME NAME CONTENT_SEED ROWS [--gate FILE] [--quarantine]

Generates deterministic data from CONTENT_SEED, splits it with StreamSplitter,
stages it in several batches, adds quality.json and publishes (or quarantines).
Prints "ready" once imports are done, then one JSON line with the result.
Honours FAIRLEDGER_FAULT (pipelines.faults) like any build.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipelines.splits import StreamSplitter  # noqa: E402
from pipelines.store import Staging  # noqa: E402


def make_table(seed: int, rows: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64)),
        "group": pa.array(rng.choice(["a", "b", "c"], rows)),
        "score": pa.array(rng.random(rows)),
        "label": pa.array(rng.integers(0, 2, rows, dtype=np.int8)),
    })


def main(argv: list[str]) -> int:
    home, name, seed, rows = Path(argv[0]), argv[1], int(argv[2]), int(argv[3])
    gate = Path(argv[argv.index("--gate") + 1]) if "--gate" in argv else None
    print("ready", flush=True)
    while gate is not None and not gate.exists():
        time.sleep(0.001)
    table = make_table(seed, rows)
    splitter = StreamSplitter(test_fraction=0.25, seed=7, stratify=["group"])
    with Staging(home, name) as st:
        for batch in table.to_batches(max_chunksize=max(rows // 8, 1)):
            mask = pa.array(splitter.assign(batch))
            st.write_batch("test", batch.filter(mask))
            st.write_batch("train", batch.filter(pc.invert(mask)))
        st.add_json("quality.json", {"success": True, "evaluated": 3, "seed": seed})
        if "--quarantine" in argv:
            print(json.dumps({"quarantine": str(st.quarantine("gate failed"))}), flush=True)
            return 0
        res = st.publish(sources=[{"name": "synthetic", "sha256": f"{seed:064x}"}],
                         spec_digest="spec-" + name, split_definition=splitter.split_definition())
    print(json.dumps({"version": res.version, "status": res.status, "previous": res.previous,
                      "rows": res.rows}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
