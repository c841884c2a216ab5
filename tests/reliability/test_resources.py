"""Resource bounds: a huge number of groups and a model failing mid-batch end cleanly."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch
import yaml
from _scenario import leftovers, spec_doc

from pipelines.store import read_refs, verify_ledger


def _dataset(root, name, text, models):
    data = text.encode()
    doc = spec_doc(name, data, models=models)
    (root / "mirror" / name).mkdir(parents=True, exist_ok=True)
    (root / "mirror" / name / "data.csv").write_bytes(data)
    path = root / "specs" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_sensitive_feature_with_100000_distinct_values(bench):
    n = 100_000
    rng = np.random.default_rng(5)
    rows = [f"{i},{rng.normal():.5f},{rng.normal():.5f},p{i},{i % 11},{i % 2}" for i in range(n)]
    spec = _dataset(bench.root, "manygroups", "id,x1,x2,group,score,y\n" + "\n".join(rows)
                    + "\n", None)
    home = bench.root / "homes" / "manygroups"
    built = bench.zygote.run("build", home, spec)
    if built["rc"] == 0:
        evaluated = bench.zygote.run("evaluate", home, spec)
        assert evaluated["rc"] == 0 or "pipelines.errors." in evaluated["stderr"], \
            evaluated["stderr"]
        if evaluated["rc"] == 0:
            vid = read_refs(home, "manygroups")["latest"]
            doc = json.loads((home / "results/manygroups" / vid / "score/result.json")
                             .read_text())
            groups = [g for g in doc["groups"] if g["feature"] == "group"]
            assert len(groups) == n and sum(g["n"] for g in groups) == doc["dataset"]["rows"]
    else:  # a clean, typed refusal (e.g. too many groups), not a crash
        assert "pipelines.errors." in built["stderr"].strip().splitlines()[-1], built["stderr"]
    assert verify_ledger(home) == [] and leftovers(home) == []


def test_model_raising_mid_batch_leaves_no_result(bench, tmp_path):
    module = torch.nn.Linear(2, 1)
    weights = tmp_path / "w.pt"
    torch.save({"linear." + k: v for k, v in module.state_dict().items()}, weights)
    model = {"id": "flaky", "kind": "torch_state_dict", "class": "raising_model:RaisesMidway",
             "weights": str(weights), "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
             "features": ["x1", "x2"], "threshold": 0.5, "splits": ["train", "test"]}
    rng = np.random.default_rng(6)
    rows = [f"{i},{rng.normal():.5f},{rng.normal():.5f},{'ab'[i % 2]},{i % 11},{i % 2}"
            for i in range(300_000)]
    spec = _dataset(bench.root, "flaky", "id,x1,x2,group,score,y\n" + "\n".join(rows) + "\n",
                    [model])
    home = bench.root / "homes" / "flaky"
    assert bench.zygote.run("build", home, spec)["rc"] == 0
    out = bench.zygote.run("evaluate", home, spec)
    assert out["rc"] != 0, "the failing model produced a result"
    last = out["stderr"].strip().splitlines()[-1]
    assert out["rc"] == 3 and last.startswith("pipelines.errors.ModelError: "), out["stderr"]
    assert "flaky" in last
    vid = read_refs(home, "flaky")["latest"]
    assert not (home / "results/flaky" / vid / "flaky").exists()
    assert verify_ledger(home) == [] and leftovers(home) == []



def test_build_completes_under_an_address_space_cap(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from _scenario import REPO, cli_env, synthetic_csv, write_dataset

    spec = write_dataset(tmp_path, "capped", synthetic_csv(200_000, 7))
    home = tmp_path / "home"
    home.mkdir()
    env = {**cli_env(tmp_path / "mirror"), "MALLOC_ARENA_MAX": "2"}
    worker = Path(__file__).with_name("oom_worker.py")
    out = subprocess.run([sys.executable, str(worker), str(home), str(spec), "160"], env=env,
                         cwd=REPO, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert read_refs(home, "capped")["latest"]
    assert verify_ledger(home) == [] and leftovers(home) == []
