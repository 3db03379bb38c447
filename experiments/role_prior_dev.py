"""Choose the settings of the role prior's classifier (``mechcode.models.backends.role_prior``) on the primer.

Development data only: the CMO role primer (written by the team), leave-one-domain-out -- for each
of its domains a classifier trained on the other domains labels the held-out domain's statements;
the figure is the mean C/M/O macro-F1 over domains (resource and reasoning both count as M). The
grid: stopword list (none / scikit-learn's English list), word n-gram range, ``C``. The Box chains
of the seed review (31 segments, data we also designed with) are printed beside each row and break
ties only: among settings within ``TIE`` of the best primer figure the one best on the Box chains
is taken. So the Box chains are no test of the role prior either.

Run: ``python experiments/role_prior_dev.py`` (about a minute); writes
``experiments/results/role_prior_dev.json``.
"""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
TIE = 0.005
CMO = {"context": "C", "mechanism-resource": "M", "mechanism-reasoning": "M", "outcome": "O"}


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cmo_f1(train: list[dict], test: list[dict], stop, ngrams, C: float) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from mechcode.models.backends.features import clean

    vec = TfidfVectorizer(ngram_range=ngrams, sublinear_tf=True, stop_words=stop,
                          preprocessor=lambda t: clean(t).lower())
    X = vec.fit_transform([r["text"] for r in train])
    lr = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(X, [r["role"] for r in train])
    P = lr.predict_proba(vec.transform([r["text"] for r in test]))
    order = ["C", "M", "O"]
    cmo = np.zeros((len(test), 3))
    for j, role in enumerate(lr.classes_):
        cmo[:, order.index(CMO[role])] += P[:, j]
    return float(f1_score([CMO[r["role"]] for r in test], [order[i] for i in cmo.argmax(axis=1)],
                          average="macro"))


def main() -> int:
    primer = [r for r in read(ROOT / "corpora" / "cmo-primer" / "primer.jsonl") if r["role"] in CMO]
    boxes = [r for r in read(ROOT / "corpora" / "sims2021" / "units.jsonl")
             if r.get("rule") == "box-chain" and r.get("box") is not None and r.get("role") in CMO]
    domains = sorted({r["domain"] for r in primer})
    rows = []
    for stop, ngrams, C in itertools.product((None, "english"), ((1, 1), (1, 2), (1, 3)), (3.0, 10.0, 30.0)):
        lodo = np.mean([cmo_f1([r for r in primer if r["domain"] != d], [r for r in primer if r["domain"] == d],
                               stop, ngrams, C) for d in domains])
        rows.append({"stopwords": stop or "none", "ngrams": list(ngrams), "C": C, "primer_lodo": round(float(lodo), 3),
                     "boxes_reference": round(cmo_f1(primer, boxes, stop, ngrams, C), 3)})
        print(f"stopwords {rows[-1]['stopwords']:8s} ngrams {ngrams} C {C:4.0f}: primer leave-one-domain-out "
              f"{lodo:.3f} (Box chains, reference only: {rows[-1]['boxes_reference']:.3f})", flush=True)
    top = max(r["primer_lodo"] for r in rows)
    best = max((r for r in rows if r["primer_lodo"] >= top - TIE), key=lambda r: r["boxes_reference"])
    print(f"chosen (best on the primer; ties within {TIE} broken by the Box chains): {best}")
    out = ROOT / "experiments" / "results" / "role_prior_dev.json"
    out.write_text(json.dumps({"rows": rows, "best": best}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
