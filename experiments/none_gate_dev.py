"""Choose where the prior's P(role none) comes from, on development data only.

``prior_none`` (``mechcode.models.backends.prior.PRIOR_DEFAULTS``): ``prototypes`` (similarity to the
role definitions' "none" prototypes, the setting before this experiment), ``classifier`` (the none
gate of ``mechcode.models.backends.role_prior``: C/M/O statements of the primer and codebook against
the none primer ``corpora/cmo-primer/none``) or ``both`` (the two pooled in log-odds). P(role none)
scales every mechanism probability (``prior.finalize``), so it decides relevance at the cold start.

Each mode is scored on the served cold start (``sparse`` defaults but ``prior_none``, and
``prior_gate=role`` as at the time of this choice; sims2021 as
the review's seed file, no in-domain codes) and once with learning (leave-one-paper-out, the other
papers as own codes):

- ``corpora/written-dev`` (invented papers written and coded by the team; designed with):
  "any mechanism" AUC (max mechanism probability against "the unit has a code"), mechanism macro
  AUC, recall / precision of the paper x mechanism pairs at 0.5, ECE over suggested pairs;
- ``corpora/sims2021-dev`` (real papers): false alarms (share of its "none" sentences with a
  mechanism >= 0.5);
- the seed's Box chains (leave-one-box-out C/M/O macro-F1 at 0 %, designed with).

Rule, fixed before the first run: the mode with the highest written-dev cold-start "any mechanism"
AUC, provided sims2021-dev false alarms stay <= 2 %, Box chains C/M/O macro-F1 drops by <= 0.02 and
written-dev cold-start mechanism AUC by <= 0.01 against ``prototypes``; otherwise ``prototypes``.
The test sides (``sims2021-primary``, the off-topic PDFs) are never read.

Run: ``python experiments/none_gate_dev.py`` (a few minutes on 2 cores); writes
``experiments/results/none_gate_dev.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "experiments"))
MODES = ("prototypes", "classifier", "both")


def main() -> int:
    from relevance_dev import BEFORE_CONTEXT, any_auc, dev_data, figures, learned

    from mechcode.models.evaluation import protocols as pr
    from mechcode.models.evaluation.transfer import Spec, fit_predict

    d = dev_data()
    cb, seed_rows, seed, written, real = d["codebook"], d["seed_rows"], d["seed"], d["written"], d["real"]
    rows = {}
    for mode in MODES:
        # prior_gate=role: the gate as it was when this choice was made (gate_weight_dev.py came after)
        spec = Spec(f"sparse-none-{mode}", "sparse", {"prior_none": mode, "prior_gate": "role", **BEFORE_CONTEXT})
        cold = fit_predict(spec, list(seed), written, cb)[0]
        w0 = {**figures(written, cold, cb), "any_auc": any_auc(written, cold, cb)}
        warm = learned(written, seed, cb, spec)
        w1 = {**figures(written, warm, cb), "any_auc": any_auc(written, warm, cb)}
        r = figures(real, fit_predict(spec, list(seed), real, cb)[0], cb)
        boxes = pr.transfer_roles(seed_rows, cb, [spec], None, (0.0,), parts=("boxes",), train_on_primer=False)
        box = boxes["parts"]["boxes"]["curve"][0]["results"][spec.label]["cmo_macro_f1"]
        rows[mode] = {"written_cold": w0, "written_learned": w1, "real_false_alarms": r["false_alarms"],
                      "boxes_cmo_f1": box}
        print(f"{mode:<10} cold: any AUC {w0['any_auc']} mech AUC {w0['mechanism_auc']} pairs R/P "
              f"{w0['pair_recall']}/{w0['pair_precision']} ECE {w0['ece_suggested']} | learned: any AUC "
              f"{w1['any_auc']} mech AUC {w1['mechanism_auc']} pairs R/P {w1['pair_recall']}/{w1['pair_precision']} "
              f"| sims2021-dev false alarms {r['false_alarms']:.1%} | Box C/M/O {box}", flush=True)
    base = rows["prototypes"]
    ok = [m for m in MODES if rows[m]["real_false_alarms"] <= 0.02
          and rows[m]["boxes_cmo_f1"] >= base["boxes_cmo_f1"] - 0.02
          and rows[m]["written_cold"]["mechanism_auc"] >= base["written_cold"]["mechanism_auc"] - 0.01]
    chosen = max(ok, key=lambda m: rows[m]["written_cold"]["any_auc"]) if ok else "prototypes"
    print(f"chosen: prior_none={chosen}")
    out = ROOT / "experiments" / "results" / "none_gate_dev.json"
    out.write_text(json.dumps({"rows": rows, "chosen": chosen}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
