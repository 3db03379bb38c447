"""A check, not a choice: written-dev mechanism AUC pooled over the held-out papers vs within each paper.

The development experiments that learn leave-one-paper-out (``context_dev``, ``k_transfer_dev``,
``learned_features_dev``, ``other_paper_dev``) score mechanism AUC over the held-out papers pooled
(``relevance_dev.figures``). Each paper is scored by a different fold's model, so the pooled AUC
also ranks the folds' offsets; a constant predictor scores well below 0.5 that way (its training
share of a mechanism is lowest where the held-out paper has most of it). The benchmark's
per-mechanism evidence finding (``protocols.evidence_ranking``) ranks within each paper instead.
This script re-scores ``other_paper_dev``'s predictions both ways (cold start; own codes of 1, 2 or
5 other papers; d = 1, 0.3, 0.03), and ``k_transfer_dev``'s k grid (cold start, 2 and 5 papers; the
pooled figures must equal that file's), to see whether the pooled figure changed any conclusion.

Run: ``python experiments/within_paper_check.py`` (about 7 minutes on 2 cores); writes
``experiments/results/within_paper_check.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "experiments"))
DS = (1.0, 0.3, 0.03)
KS = (10.0, 30.0, 100.0, 300.0)


def main() -> int:
    from other_paper_dev import SIZES, VARIANTS
    from relevance_dev import dev_data, figures, variant_predictions

    from mechcode.models.base import label_space, map_labels, unit_mechanisms
    from mechcode.models.evaluation.protocols import evidence_ranking
    from mechcode.models.evaluation.transfer import Spec, fit_predict

    d = dev_data()
    cb, seed, written = d["codebook"], d["seed"], d["written"]
    ids = label_space(cb)

    keep = [i for i, u in enumerate(written) if unit_mechanisms(u.mechanisms, cb) is not None]

    def both(preds) -> dict:
        """Pooled over all units (as relevance_dev.figures); within papers over the units the
        benchmark keeps (those with a suggestable code or none)."""
        P = np.array([[p["mechanisms"].get(m, 0.0) for m in ids] for p in preds])
        within = evidence_ranking([written[i].paper for i in keep],
                                  [set(map_labels(written[i].mechanisms, cb)) for i in keep], P[keep], ids)["mechanism_auc"]
        return {"pooled": figures(written, preds, cb)["mechanism_auc"], "within_paper": within}

    rows = [{"other_papers": 0, "d": None, **both(fit_predict(Spec("sparse", "sparse", {}), list(seed),
                                                                list(written), cb)[0])}]
    print(json.dumps(rows[-1]), flush=True)
    for few in SIZES:
        preds = variant_predictions(written, seed, cb, few, VARIANTS)
        for w in DS:
            rows.append({"other_papers": few or 5, "d": w, **both(preds[w])})
            print(json.dumps(rows[-1]), flush=True)
    for few in (0, 2, None):
        preds = variant_predictions(written, seed, cb, few, {k: {"prior_k_mechanism": k} for k in KS})
        for k in KS:
            rows.append({"other_papers": 5 if few is None else few, "prior_k_mechanism": k, **both(preds[k])})
            print(json.dumps(rows[-1]), flush=True)
    out = ROOT / "experiments" / "results" / "within_paper_check.json"
    out.write_text(json.dumps({"rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
