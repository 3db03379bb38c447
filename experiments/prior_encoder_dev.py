"""Choose the codebook prior's encoder on development data only (no transfer test side).

    PYTHONPATH=src OMP_NUM_THREADS=1 python experiments/prior_encoder_dev.py [--out FILE] [--quantize]

Candidates: ``tfidf``, ``minilm``, ``avg`` (the two zeroshot priors' probabilities averaged in
log-odds; roles log-linear), each as the prior alone (what the model is with no labels).

- **Mechanisms** -- definitions-to-evidence on sims2021, the seed the codebook was written from
  (data we designed with, not a transfer test): the prior is fitted on the codebook alone and
  ranks every non-definition unit; per-mechanism ROC AUC and average precision (macro over the
  suggestable codes with evidence), and AUC of "any mechanism" (1 - no_mechanism).
- **Roles** -- nested leave-one-domain-out on the CMO primer: for each outer domain, every
  candidate is scored by leave-one-domain-out over the *other* domains only (inner folds; the
  outer domain is out of the prototypes too) and the inner winner is what that fold would pick.
  The outer domains' scores are not used to choose anything and are not reported here.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MECHCODE_EMBED_CACHE", str(ROOT / "experiments" / ".cache" / "embeddings"))
CANDIDATES = ("tfidf", "minilm", "avg")


def _logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def prior_arrays(enc: str, units, codebook, exclude: set[str] | None = None) -> dict[str, np.ndarray]:
    """The prior's raw arrays for ``units`` (primer domains in ``exclude`` left out)."""
    from mechcode.models import primer as primer_mod
    from mechcode.models.backends.zeroshot import ZeroShotBackend

    if enc == "avg":
        a, b = (prior_arrays(e, units, codebook, exclude) for e in ("tfidf", "minilm"))
        r = np.exp(0.5 * (np.log(np.clip(a["role"], 1e-6, 1)) + np.log(np.clip(b["role"], 1e-6, 1))))
        return {"mechanisms": 1 / (1 + np.exp(-0.5 * (_logit(a["mechanisms"]) + _logit(b["mechanisms"])))),
                "no_mechanism": 1 / (1 + np.exp(-0.5 * (_logit(a["no_mechanism"]) + _logit(b["no_mechanism"])))),
                "role": r / r.sum(axis=1, keepdims=True)}
    os.environ[primer_mod.ENV + "_EXCLUDE"] = ",".join(sorted(exclude or {"__none__"}))
    try:
        return ZeroShotBackend(encoder=enc).fit([], codebook).predict_arrays(units)
    finally:
        os.environ.pop(primer_mod.ENV + "_EXCLUDE", None)


def mechanism_dev(codebook) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    from mechcode.models.base import label_space, map_labels, unit_mechanisms
    from mechcode.models.data import read_labelled
    from mechcode.models.evaluation.evaluate import definition_units

    units = read_labelled(ROOT / "corpora/sims2021/units.jsonl", codebook)
    drop = definition_units(units, codebook)
    test = [u for i, u in enumerate(units) if i not in drop and unit_mechanisms(u.mechanisms, codebook) is not None]
    unsuggestable = sum(1 for i, u in enumerate(units) if i not in drop
                        and unit_mechanisms(u.mechanisms, codebook) is None)
    space = label_space(codebook)
    Y = np.array([[m in map_labels(u.mechanisms, codebook) for m in space] for u in test])
    out = {"n_units": len(test), "units_only_unsuggestable_codes": unsuggestable}
    for enc in CANDIDATES:
        a = prior_arrays(enc, test, codebook)
        cols = [j for j in range(len(space)) if 0 < Y[:, j].sum() < len(test)]
        out[enc] = {"mechanism_macro_auc": float(np.mean([roc_auc_score(Y[:, j], a["mechanisms"][:, j]) for j in cols])),
                    "mechanism_macro_ap": float(np.mean([average_precision_score(Y[:, j], a["mechanisms"][:, j])
                                                         for j in cols])),
                    "any_mechanism_auc": float(roc_auc_score(Y.any(axis=1), 1 - a["no_mechanism"])),
                    "n_codes": len(cols)}
        print("mechanisms", enc, out[enc], flush=True)
    return out


def role_dev(codebook) -> dict:
    from mechcode.models.base import prediction
    from mechcode.codebook import ROLE_IDS
    from mechcode.models.evaluation.metrics import cmo_scores
    from mechcode.models.primer import load_primer

    primer = load_primer()
    domains = sorted({u.group for u in primer})
    names = [d.split(":", 1)[1] for d in domains]

    def f1(enc: str, held: str, also_out: str) -> float:
        test = [u for u in primer if u.group == f"primer:{held}"]
        a = prior_arrays(enc, test, codebook, {held, also_out})
        preds = [prediction(u.id, {}, dict(zip(ROLE_IDS, a["role"][i])), {}, None) for i, u in enumerate(test)]
        return cmo_scores([u.role for u in test], preds)["cmo"]["macro_f1"]

    # S[enc][outer][inner]: C/M/O macro-F1 on inner domain with outer and inner left out
    S = {enc: {o: {i: f1(enc, i, o) for i in names if i != o} for o in names} for enc in ("tfidf", "minilm")}
    for o in names:  # avg needs both encoders' arrays; recomputed (cached embeddings, cheap)
        S.setdefault("avg", {})[o] = {i: f1("avg", i, o) for i in names if i != o}
    inner = {enc: {o: float(np.mean(list(S[enc][o].values()))) for o in names} for enc in CANDIDATES}
    picks = {o: max(CANDIDATES, key=lambda e: inner[e][o]) for o in names}
    out = {"domains": names, "inner_mean_cmo_macro_f1": {e: float(np.mean(list(inner[e].values())))
                                                         for e in CANDIDATES},
           "inner_by_outer": inner, "picked": picks,
           "pick_counts": {e: sum(p == e for p in picks.values()) for e in CANDIDATES}}
    print("roles", json.dumps({k: out[k] for k in ("inner_mean_cmo_macro_f1", "pick_counts")}), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "experiments/results/prior_encoder_dev.json"))
    ap.add_argument("--skip", default="", help="comma-separated: mechanisms, roles")
    ap.add_argument("--quantize", action="store_true", help="MiniLM with dynamic int8 quantization "
                    "(MECHCODE_EMBED_QUANTIZE=1)")
    args = ap.parse_args()
    if args.quantize:
        os.environ["MECHCODE_EMBED_QUANTIZE"] = "1"
    from mechcode.codebook import load_codebook

    cb = load_codebook(ROOT / "corpora/sims2021/codebook.yaml")
    out = {}
    if "mechanisms" not in args.skip:
        out["mechanisms_definitions_to_evidence"] = mechanism_dev(cb)
    if "roles" not in args.skip:
        out["roles_primer_nested_lodo"] = role_dev(cb)
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
