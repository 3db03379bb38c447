"""Exploration, not a choice: a larger k for papers the review has no codes on (a "paper-aware k").

``experiments/k_transfer_dev.py`` found that with k = 10 two papers' own codes give no more than the
cold start on the next paper. This script measures what a larger k *on the held-out paper only*
would do, with the served model otherwise unchanged: on ``corpora/written-dev`` (designed with),
leave-one-paper-out, sims2021 as the review's seed file plus the own codes of 1, 2 (fixed random
choice per fold) or all 5 other papers; the model is fitted once per fold and its mechanism weight
(and the gate's) is set to ``n / (n + k)`` before predicting. No rule and no setting is chosen from
it (models/README "What would fix it"): the figures were looked at while exploring, so a choice
must read a figure not in this file.

Run: ``python experiments/k_new_paper_explore.py`` (about 3 minutes on 2 cores); writes
``experiments/results/k_new_paper_explore.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "experiments"))
KS = (10.0, 100.0, 300.0, 1000.0, 3000.0)
SIZES = (1, 2, None)  # other papers whose codes the review has (None: all five)


def main() -> int:
    from relevance_dev import dev_data, figures, variant_predictions

    d = dev_data()
    cb, written, seed = d["codebook"], d["written"], d["seed"]
    rows = []
    for few in SIZES:
        # k on the whole model equals k on the held-out paper only: every scored unit is of that paper
        preds = variant_predictions(written, seed, cb, few, {k: {"prior_k_mechanism": k} for k in KS})
        for k in KS:
            f = figures(written, preds[k], cb)
            rows.append({"other_papers": few or 5, "k_new_paper": k, **f})
            print(json.dumps(rows[-1]), flush=True)
    out = ROOT / "experiments" / "results" / "k_new_paper_explore.json"
    out.write_text(json.dumps({"rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
