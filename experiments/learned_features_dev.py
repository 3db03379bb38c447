"""The learned part's features and regularisation, chosen for new papers on development data only.

The sparse backend's ``C`` (8.0) and character n-grams (2-5) were set on sims2021 (grouped CV and
the per-mechanism simulation), where sentences are labelled by the section they sit in. What a review
needs is that codes on some papers find evidence in the *next* paper. Candidates: ``C`` in
{1, 2, 8} x ``char_ngrams`` in {[2, 5], none}; everything else the served default.

Scored on ``corpora/written-dev`` (designed with) by leave-one-paper-out learning: sims2021 as the
review's seed file plus the own codes of two of the other five papers (``FEW``; fixed random
choice per fold) or of all five; mechanism macro AUC over sentences, and paper x mechanism AUC for
the record. Checked on ``corpora/sims2021-dev`` (false alarms at the cold start) and the sims2021
per-mechanism simulation (designed with; 3 seeds).

Rule, fixed before the run: among points with sims2021-dev false alarms <= 2 % and simulation WSS@95
no more than 0.02 below the current default's, the highest mean of the two learned mechanism AUCs;
a point other than the default (8, [2, 5]) must beat it by >= 0.01. The test sides are never read.

Run: ``python experiments/learned_features_dev.py`` (about 15 minutes on 2 cores); writes
``experiments/results/learned_features_dev.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "experiments"))
CS = (1.0, 2.0, 8.0)
CHARS = ([2, 5], None)
DEFAULT = (8.0, [2, 5])
FEW = 2
MARGIN = 0.01


def point(d: dict, c: float, chars) -> dict:
    from relevance_dev import figures, learned, simulate_wss95

    from mechcode.models.evaluation.transfer import Spec, fit_predict

    cb, seed, written, real = d["codebook"], d["seed"], d["written"], d["real"]
    params = {"C": c, "char_ngrams": chars}
    spec = Spec(f"sparse-C{c}-chars{chars}", "sparse", params)
    few = figures(written, learned(written, seed, cb, spec, FEW), cb)
    all_ = figures(written, learned(written, seed, cb, spec, None), cb)
    alarms = figures(real, fit_predict(spec, list(seed), real, cb)[0], cb)["false_alarms"]
    tag = "none" if chars is None else "-".join(map(str, chars))
    wss = simulate_wss95(d, params, f"feat_{c}_{tag}")
    return {"C": c, "char_ngrams": chars, "few_mechanism_auc": few["mechanism_auc"],
            "all_mechanism_auc": all_["mechanism_auc"], "few_paper_auc": few["paper_auc"],
            "all_paper_auc": all_["paper_auc"], "real_false_alarms": alarms,
            "simulate_wss95": wss["mean"]}


def main() -> int:
    from relevance_dev import dev_data, margin_pick

    d = dev_data()
    rows = []
    for c in CS:
        for chars in CHARS:
            r = point(d, c, chars)
            r["score"] = round((r["few_mechanism_auc"] + r["all_mechanism_auc"]) / 2, 4)
            rows.append(r)
            print(json.dumps(r), flush=True)
    base = next(r for r in rows if (r["C"], r["char_ngrams"]) == DEFAULT)
    ok = [r for r in rows if r["real_false_alarms"] <= 0.02 and r["simulate_wss95"] >= base["simulate_wss95"] - 0.02]
    chosen = margin_pick(base, ok, MARGIN)
    print(f"chosen: C {chosen['C']}, char_ngrams {chosen['char_ngrams']}")
    out = ROOT / "experiments" / "results" / "learned_features_dev.json"
    out.write_text(json.dumps({"rows": rows, "chosen": [chosen["C"], chosen["char_ngrams"]]}, indent=1),
                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
