"""Would a Platt step on the *final* output (after pooling and the boilerplate / role gate) fix calibration?

    PYTHONPATH=src OMP_NUM_THREADS=1 python experiments/final_calibration.py [--out FILE]

Training side only for the fit: out-of-fold predictions of the default sparse model on sims2021
(3 grouped folds; definition units left out; units whose codes are all unsuggested left out), one
Platt ``p' = sigmoid(a logit p + b)`` over (a) every unit x mechanism pair, (b) each unit's top
mechanism only (what the page shows). Then, once, on the primary studies (a test side: nothing is
chosen there): the default trained on sims2021 (fraction 0 of primary-studies), mechanism ECE over
the suggested pairs, share of pairs suggested, recall / precision of suggested pairs, before and after.
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


def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def arrays(preds, ids):
    P = np.array([[p["mechanisms"].get(m, 0.0) for m in ids] for p in preds])
    return P, np.array([p["no_mechanism"] for p in preds])


def figures(P, none, Y) -> dict:
    from mechcode.models.backends.calibration import ece
    from mechcode.models.evaluation.metrics import suggested

    shown = suggested(P, 0.5, none)
    tp = int((shown & Y).sum())
    return {"ece_suggested": round(ece(P[shown], Y[shown]), 4) if shown.any() else None,
            "n_suggested": int(shown.sum()), "precision": round(tp / max(1, shown.sum()), 4),
            "recall": round(tp / max(1, Y.sum()), 4), "ece_all_pairs": round(ece(P.ravel(), Y.ravel()), 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "experiments/results/final_calibration.json"))
    args = ap.parse_args()
    from mechcode.codebook import load_codebook
    from mechcode.models.base import LabelledUnit, label_space, map_labels, unit_mechanisms
    from mechcode.models.backends.calibration import Platt
    from mechcode.models.evaluation.evaluate import definition_units, grouped_folds
    from mechcode.models.backends.sparse import SparseBackend

    cb = load_codebook(ROOT / "corpora/sims2021/codebook.yaml")
    ids = label_space(cb)
    rows = [json.loads(x) for x in (ROOT / "corpora/sims2021/units.jsonl").read_text().splitlines() if x.strip()]
    train = [LabelledUnit.from_dict(r) for r in rows]
    drop = definition_units(train, cb)
    oof: dict[int, dict] = {}
    for tr, te in grouped_folds(train, 3, 0, cb):
        model = SparseBackend().fit([train[i] for i in tr], cb)
        for i, p in zip(te, model.predict([train[i] for i in te])):
            oof[int(i)] = p
        print("fold done", flush=True)
    keep = [i for i in sorted(oof) if i not in drop and unit_mechanisms(train[i].mechanisms, cb) is not None]
    P, none = arrays([oof[i] for i in keep], ids)
    Y = np.array([[m in map_labels(train[i].mechanisms, cb) for m in ids] for i in keep])
    top = np.zeros_like(Y)
    top[np.arange(len(keep)), P.argmax(axis=1)] = True
    cals = {"all_pairs": Platt().fit(_logit(P).ravel(), Y.ravel()), "top_pair": Platt().fit(_logit(P[top]), Y[top])}
    out = {"train_oof": {"n_units": len(keep), "none": figures(P, none, Y)}}
    for name, c in cals.items():
        out["train_oof"][name] = {"a": round(c.a, 4), "b": round(c.b, 4), **figures(c.transform(_logit(P)), none, Y)}
    # test side, once: the default trained on all of sims2021 (primary-studies fraction 0)
    prim = [json.loads(x) for x in (ROOT / "corpora/sims2021-primary/units.jsonl").read_text().splitlines() if x.strip()]
    test = [LabelledUnit.from_dict(r) for r in prim]
    test = [u for u in test if unit_mechanisms(u.mechanisms, cb) is not None]
    preds = SparseBackend().fit(train, cb).predict(test)
    P, none = arrays(preds, ids)
    Y = np.array([[m in map_labels(u.mechanisms, cb) for m in ids] for u in test])
    out["primary_studies"] = {"n_units": len(test), "none": figures(P, none, Y)}
    for name, c in cals.items():
        out["primary_studies"][name] = figures(c.transform(_logit(P)), none, Y)
    print(json.dumps(out, indent=1))
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
