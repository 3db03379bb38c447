"""Per-mechanism evidence finding (``simulate --target mechanism``) on sims2021 with the prior switched.

    PYTHONPATH=src OMP_NUM_THREADS=1 python experiments/prior_simulate.py [--priors tfidf,none] [--k 400,100,50,25,10]

Same settings as the simulate part of ``bench_transfer.py`` (strategy max, batch 10, retrain every
10, seeds 0-2, sparse without out-of-fold calibration); only the sparse ``prior`` differs. sims2021 is
data we designed with (within-review learning, not transfer).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--priors", default="tfidf,none")
    ap.add_argument("--k", default="", help="prior_k_mechanism values to sweep (with each prior but none)")
    ap.add_argument("--out", default=str(ROOT / "experiments/results/prior_simulate.json"))
    args = ap.parse_args()
    from mechcode.codebook import load_codebook
    from mechcode.experiments.data import drop_definition_units, read_units
    from mechcode.experiments.mechanism_target import run_target

    cb = load_codebook(ROOT / "corpora/sims2021/codebook.yaml")
    rows, _ = drop_definition_units(read_units(ROOT / "corpora/sims2021/units.jsonl"), cb)
    out = {}
    ks = [float(k) for k in args.k.split(",") if k] or [None]
    configs = [(p, k) for p in args.priors.split(",") for k in (ks if p != "none" else [None])]
    for prior, k in configs:
        params = {"cal_folds": 1, "prior": prior, **({"prior_k_mechanism": k} if k is not None else {})}
        name = prior if k is None else f"{prior}-k{k:g}"
        runs = run_target(rows, cb, Path(f"/tmp/prior_simulate_{name}"), backends=["sparse"], strategies=["max"],
                          seeds=[0, 1, 2], batch=10, retrain_every=10,
                          params={"sparse": params}, log=lambda m: None)
        pm = runs[0]["per_mechanism"]
        out[name] = {"mean_wss@95": round(sum(v["wss@95"]["mean"] for v in pm.values()) / len(pm), 4),
                      "wss@95": {m: round(v["wss@95"]["mean"], 4) for m, v in pm.items()}}
        print(name, out[name], flush=True)
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
