"""How fast a review's own codes take over the mechanism gate, on development data only.

``finalize`` scales every mechanism probability by ``1 - P(role none)``. With ``prior_gate=role`` that
is the pooled role distribution, where the prior keeps most of the weight until about 150 role-coded
units (``prior_k_role``); with ``prior_gate=mechanism`` it is the prior's ``P(role none)`` pooled
with the learned "no mechanism" at the mechanism weight (``prior_k_mechanism`` 10), so a review's
own mechanism codes take over the relevance question as fast as the mechanism question.

Scored as ``experiments/none_gate_dev.py`` (written-dev cold start and leave-one-paper-out learning,
sims2021-dev false alarms; designed with / real dev) plus the per-mechanism simulation on sims2021
(``simulate --target mechanism``, 3 seeds, sparse without out-of-fold calibration, as
``experiments/bench_transfer.py``; designed with), where the none gate had cost 0.056 WSS@95.

Rule, fixed before the run: take ``mechanism`` if it raises the simulation's mean WSS@95 by >= 0.02
and loses <= 0.01 of written-dev "any mechanism" AUC (cold and learned), with sims2021-dev false
alarms <= 2 %. The test sides are never read.

Run: ``python experiments/gate_weight_dev.py`` (about 6 minutes on 2 cores); writes
``experiments/results/gate_weight_dev.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "experiments"))
MODES = ("role", "mechanism")


def main() -> int:
    from relevance_dev import BEFORE_CONTEXT, any_auc, dev_data, figures, learned, simulate_wss95

    from mechcode.models.evaluation.transfer import Spec, fit_predict

    d = dev_data()
    cb, seed, written, real = d["codebook"], d["seed"], d["written"], d["real"]
    rows = {}
    for mode in MODES:
        spec = Spec(f"sparse-gate-{mode}", "sparse", {"prior_gate": mode, **BEFORE_CONTEXT})
        cold = fit_predict(spec, list(seed), written, cb)[0]
        warm = learned(written, seed, cb, spec)
        w0 = {**figures(written, cold, cb), "any_auc": any_auc(written, cold, cb)}
        w1 = {**figures(written, warm, cb), "any_auc": any_auc(written, warm, cb)}
        alarms = figures(real, fit_predict(spec, list(seed), real, cb)[0], cb)["false_alarms"]
        wss = simulate_wss95(d, {"prior_gate": mode, **BEFORE_CONTEXT}, f"gate_{mode}")
        rows[mode] = {"written_cold": w0, "written_learned": w1, "real_false_alarms": alarms, "simulate_wss95": wss}
        print(f"{mode:<9} cold any AUC {w0['any_auc']} mech AUC {w0['mechanism_auc']} ECE {w0['ece_suggested']} | "
              f"learned any AUC {w1['any_auc']} mech AUC {w1['mechanism_auc']} pairs R/P {w1['pair_recall']}/"
              f"{w1['pair_precision']} | false alarms {alarms:.1%} | simulate WSS@95 {wss['mean']:.3f} ± "
              f"{wss['std']:.3f}", flush=True)
    a, b = rows["role"], rows["mechanism"]
    take = (b["simulate_wss95"]["mean"] >= a["simulate_wss95"]["mean"] + 0.02
            and b["written_cold"]["any_auc"] >= a["written_cold"]["any_auc"] - 0.01
            and b["written_learned"]["any_auc"] >= a["written_learned"]["any_auc"] - 0.01
            and b["real_false_alarms"] <= 0.02)
    chosen = "mechanism" if take else "role"
    print(f"chosen: prior_gate={chosen}")
    out = ROOT / "experiments" / "results" / "gate_weight_dev.json"
    out.write_text(json.dumps({"rows": rows, "chosen": chosen}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
