"""Choose ``other_paper_weight``: how much a code on another paper counts on a paper the review has not coded.

``experiments/k_transfer_dev.py`` found that with ``prior_k_mechanism`` = 10 a review's codes on two
papers give no more than the cold start on the next paper, and a larger k for all units costs the
within-paper simulation. ``experiments/k_new_paper_explore.py`` then explored a larger k on the
held-out paper only. The setting built from it: for a unit whose paper the review has not coded,
own codes count ``d`` each towards the mechanism (and gate) weight, seed files as always; units of
coded papers, and units with no paper, keep the review-wide weight
(:func:`mechcode.models.backends.prior.unit_weights`).

Figures per d (the served ``sparse`` defaults otherwise):

- ``corpora/written-dev`` (designed with), leave-one-paper-out, sims2021 as the review's seed file
  plus the own codes of 1 or 2 other papers (the same fixed random choice per fold as
  ``k_new_paper_explore``) or all 5: unit mechanism macro AUC, paper x mechanism AUC, recall of the
  pairs at the page threshold 0.5, ECE over suggested pairs;
- ``corpora/sims2021-dev`` (real), leave-one-paper-out with the other four papers' codes: the share
  of its "none" sentences that get a mechanism >= 0.5.

Rule, fixed in this file before its run (the exploration's figures on written-dev for a larger k on
the held-out paper had been seen, so this choice is on data designed with *and explored*):

- score = the mean over the three sizes of written-dev mechanism AUC;
- a d is eligible when, at every size, its ECE is at most d = 1's + 0.01 and its pair recall at
  least d = 1's - 0.05, and its sims2021-dev false alarms are at most 2 %;
- the eligible d with the highest score is chosen if it beats d = 1 by at least 0.005 (ties within
  0.001 go to the larger d); otherwise d stays 1 (no change).

``sims2021-primary`` and the off-topic PDFs (the test sides) are never read. The within-review
simulation on sims2021 is not affected by d: its units name no paper.

Run: ``python experiments/other_paper_dev.py`` (about 4 minutes on 2 cores); writes
``experiments/results/other_paper_dev.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "experiments"))
DS = (1.0, 0.3, 0.1, 0.03, 0.01)
SIZES = (1, 2, None)  # other papers whose codes the review has (None: all)
VARIANTS = {d: {"other_paper_weight": d} for d in DS}
MARGIN, TIE, ECE_SLACK, RECALL_SLACK, FALSE_ALARMS = 0.005, 0.001, 0.01, 0.05, 0.02


def choose(rows: list[dict]) -> dict:
    """The rule of the module docstring."""
    base = next(r for r in rows if r["d"] == 1.0)

    def eligible(r):
        pairs = zip(r["written"], base["written"])
        return r["real_false_alarms"] <= FALSE_ALARMS and all(
            a["ece_suggested"] <= b["ece_suggested"] + ECE_SLACK and a["pair_recall"] >= b["pair_recall"] - RECALL_SLACK
            for a, b in pairs)

    ok = [r for r in rows if eligible(r)]
    best = max(r["score"] for r in ok)
    pick = max((r for r in ok if r["score"] >= best - TIE), key=lambda r: r["d"])
    return pick if pick["score"] >= base["score"] + MARGIN else base


def main() -> int:
    import numpy as np
    from relevance_dev import dev_data, figures, variant_predictions

    d = dev_data()
    cb, seed, written, real = d["codebook"], d["seed"], d["written"], d["real"]
    by_size = {few: variant_predictions(written, seed, cb, few, VARIANTS) for few in SIZES}
    real_preds = variant_predictions(real, seed, cb, None, VARIANTS)
    rows = []
    for w in DS:
        per = [{"other_papers": few or 5, **figures(written, by_size[few][w], cb)} for few in SIZES]
        rows.append({"d": w, "written": per, "score": round(float(np.mean([f["mechanism_auc"] for f in per])), 4),
                     "real_false_alarms": figures(real, real_preds[w], cb)["false_alarms"]})
        print(json.dumps(rows[-1]), flush=True)
    pick = choose(rows)
    print(f"rule's pick: other_paper_weight = {pick['d']} (score {pick['score']})")
    out = ROOT / "experiments" / "results" / "other_paper_dev.json"
    out.write_text(json.dumps({"rows": rows, "chosen": pick["d"]}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
