"""How fast a review's own codes take over from the codebook, chosen for the next paper.

``prior_k_mechanism`` (labelled units at which the prior and the learned part weigh the same) was
chosen as 10 on the per-mechanism simulation on sims2021 alone (models/README "Choosing k"): one
article whose sentences are labelled by the section they sit in, so the learned part is right
within a few codes there. A reviewer's real question is whether codes on some papers find evidence
in the *next* paper, where ``experiments/learned_features_dev.py`` saw two papers' codes give no
more than the cold start (written-dev mechanism AUC 0.696 vs 0.700).

Candidates: k in {10, 30, 100, 300}; everything else the served default. Scored on
``corpora/written-dev`` (designed with) by leave-one-paper-out learning with sims2021 as the
review's seed file plus the own codes of two of the other papers or of all five (as
``learned_features_dev.py``): mechanism macro AUC; the cold start (seed file only; k also sets how
much the seed file counts) and paper AUC are recorded. Checked on ``corpora/sims2021-dev`` (false
alarms) and the sims2021 simulation (designed with; 3 seeds).

Rule, fixed before the run: among k with sims2021-dev false alarms <= 2 % and simulation WSS@95 >=
0.60 (the issue's target), the highest mean of the two learned mechanism AUCs; k other than 10 must
beat k = 10 by >= 0.01. The test sides are never read.

Run: ``python experiments/k_transfer_dev.py`` (about 12 minutes on 2 cores); writes
``experiments/results/k_transfer_dev.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "experiments"))
KS = (10.0, 30.0, 100.0, 300.0)
DEFAULT = 10.0
MARGIN = 0.01
FLOOR = 0.60


def point(d: dict, k: float) -> dict:
    from learned_features_dev import FEW
    from relevance_dev import any_auc, figures, learned, simulate_wss95

    from mechcode.models.evaluation.transfer import Spec, fit_predict

    cb, seed, written, real = d["codebook"], d["seed"], d["written"], d["real"]
    params = {"prior_k_mechanism": k}
    spec = Spec(f"sparse-k{k:g}", "sparse", params)
    cold_preds = fit_predict(spec, list(seed), written, cb)[0]
    cold = figures(written, cold_preds, cb)
    few = figures(written, learned(written, seed, cb, spec, FEW), cb)
    all_ = figures(written, learned(written, seed, cb, spec, None), cb)
    alarms = figures(real, fit_predict(spec, list(seed), real, cb)[0], cb)["false_alarms"]
    wss = simulate_wss95(d, params, f"k_{k:g}")
    return {"k": k, "cold_mechanism_auc": cold["mechanism_auc"], "cold_any_auc": any_auc(written, cold_preds, cb),
            "cold_paper_auc": cold["paper_auc"], "few_mechanism_auc": few["mechanism_auc"],
            "all_mechanism_auc": all_["mechanism_auc"], "few_paper_auc": few["paper_auc"],
            "all_paper_auc": all_["paper_auc"], "real_false_alarms": alarms,
            "simulate_wss95": wss["mean"]}


def main() -> int:
    from relevance_dev import dev_data, margin_pick

    d = dev_data()
    rows = []
    for k in KS:
        r = point(d, k)
        r["score"] = round((r["few_mechanism_auc"] + r["all_mechanism_auc"]) / 2, 4)
        rows.append(r)
        print(json.dumps(r), flush=True)
    base = next(r for r in rows if r["k"] == DEFAULT)
    ok = [r for r in rows if r["real_false_alarms"] <= 0.02 and r["simulate_wss95"] >= FLOOR]
    chosen = margin_pick(base, ok, MARGIN)
    print(f"chosen: k {chosen['k']:g}")
    out = ROOT / "experiments" / "results" / "k_transfer_dev.json"
    out.write_text(json.dumps({"rows": rows, "chosen": chosen["k"]}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
