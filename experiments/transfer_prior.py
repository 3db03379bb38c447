"""Transfer checks for the codebook prior (until ``mechcode evaluate --protocol transfer-*`` lands).

    PYTHONPATH=src python experiments/transfer_prior.py [--configs NAME,...] [--out FILE.json]

Protocols (all trained on ``corpora/sims2021`` only):

- ``roles-lobo``: leave-one-box-out on the seven Box CMO chains: train on everything except the
  box's group (narrative + chain), predict its tagged chain segments; C/M/O macro-F1 (resource
  and reasoning count as M; a predicted ``none`` is a miss) and 5-way accuracy, pooled over boxes.
  Learning curve: the training units are subsampled (by group) to 25 / 50 / 100 %.
- ``primer-lodo`` (when ``corpora/cmo-primer`` exists): leave-one-domain-out on the primer.
- ``off-topic``: sentences of the shared papers that are not about integrated-care leadership
  (``../shared/pdfs/*.truth.txt``, listed in ``OFF_TOPIC``): share that get any mechanism at
  p >= 0.5 (the page threshold), per paper and overall.

These are data the design was looked at with (Box chains, the off-topic list): treat the figures
as development figures, not as a test side.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "pdfs"
OFF_TOPIC = ["acl2018_semantic_scholar_graph", "archanimbreed2016_feeding_carcass", "atoms2016_positron_scattering",
             "behavecolsociobiol2015_familiar_recognition", "bmcevolbiol2014_lion_ancient_dna",
             "crinfectdis2016_tularemia_case", "f1000research2014_shark_longevity",
             "jethnobiolethnomed2015_szekely_leek", "metabolites2014_fusarium_volatiles",
             "plosone2014_fanged_frog", "rsos2015_panda_milk"]
CMO = {"context": "C", "mechanism-resource": "M", "mechanism-reasoning": "M", "outcome": "O"}

CONFIGS = {
    "zeroshot-minilm": ("zeroshot", {"encoder": "minilm"}),
    "zeroshot-minilm-noprimer": ("zeroshot", {"encoder": "minilm", "primer": False}),
    "zeroshot-tfidf": ("zeroshot", {"encoder": "tfidf"}),
    "sparse-noprior": ("sparse", {"prior": "none", "primer": False, "clean": False}),
    "sparse-noprior-clean-primer": ("sparse", {"prior": "none"}),
    "sparse-prior-tfidf": ("sparse", {"prior": "tfidf"}),
    "sparse-prior-minilm": ("sparse", {"prior": "minilm"}),
    "sparse-prior-tfidf-rolesent": ("sparse", {"prior": "tfidf", "role_context": False}),
    "sparse-prior-tfidf-pw1": ("sparse", {"prior": "tfidf", "primer_weight": 1.0}),
    "sparse-prior-tfidf-rolesent-pw1": ("sparse", {"prior": "tfidf", "role_context": False, "primer_weight": 1.0}),
    "embed-noprior": ("embed", {"prior": "none", "primer": False}),
    "embed-prior-minilm": ("embed", {"prior": "minilm"}),
    "embed-prior-tfidf": ("embed", {"prior": "tfidf"}),
}


def sentences_of(path: Path) -> list[str]:
    from mechcode.segment import split_many

    paras = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("# ")]
    paras = [p.lstrip("#").strip() for p in paras]
    out = []
    for p, spans in zip(paras, split_many(paras)):
        out += [p[s:e] for s, e in spans if p[s:e].strip()]
    return out


def f1_macro(gold: list[str], pred: list[str], labels: list[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0))


def make(name: str):
    from mechcode.models.registry import get_backend

    backend, params = CONFIGS[name]
    return get_backend(backend)(**params)


def roles_lobo(name, units, cb, frac: float, seed: int = 0) -> dict:
    gold, pred, gold5, pred5 = [], [], [], []
    rng = random.Random(seed)
    for b in range(1, 8):
        grp = f"sims2021-box{b}"
        test = [u for u in units if u.group == grp and u.role in CMO]
        train = [u for u in units if u.group != grp]
        if frac < 1:
            groups = sorted({u.group for u in train})
            keep = set(rng.sample(groups, max(1, int(len(groups) * frac))))
            train = [u for u in train if u.group in keep]
        model = make(name).fit(train, cb)
        for u, p in zip(test, model.predict(test)):
            r = max(p["role"], key=p["role"].get)
            gold.append(CMO[u.role]), pred.append(CMO.get(r, "none"))
            gold5.append(u.role), pred5.append(r)
    return {"cmo_macro_f1": round(f1_macro(gold, pred, ["C", "M", "O"]), 3),
            "acc5": round(sum(g == p for g, p in zip(gold5, pred5)) / len(gold5), 3), "n": len(gold)}


def primer_lodo(name, units, cb) -> dict | None:
    from mechcode.models.base import Unit
    from mechcode.models.primer import load_primer

    allp = load_primer()
    if not allp:
        return None
    domains = sorted({u.group for u in allp})
    gold, pred = [], []
    import os

    for d in domains:
        dom = d.split(":", 1)[1]
        test = [u for u in allp if u.group == d]
        os.environ["MECHCODE_PRIMER_EXCLUDE"] = dom
        model = make(name).fit(units, cb)
        for u, p in zip(test, model.predict([Unit(u.id, u.text, u.text) for u in test])):
            gold.append(CMO[u.role]), pred.append(CMO.get(max(p["role"], key=p["role"].get), "none"))
    os.environ.pop("MECHCODE_PRIMER_EXCLUDE", None)
    return {"cmo_macro_f1": round(f1_macro(gold, pred, ["C", "M", "O"]), 3), "n": len(gold)}


def off_topic(model) -> dict:
    from mechcode.models.base import Unit

    per, tot, hit = {}, 0, 0
    for paper in OFF_TOPIC:
        sents = sentences_of(SHARED / f"{paper}.truth.txt")
        preds = model.predict([Unit(str(i), s, "") for i, s in enumerate(sents)])
        n = sum(max(p["mechanisms"].values()) >= 0.5 for p in preds)
        per[paper] = round(n / len(sents), 4)
        tot, hit = tot + len(sents), hit + n
    return {"share": round(hit / tot, 4), "n": tot, "per_paper": per}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--out", default=None)
    ap.add_argument("--fracs", default="0.25,0.5,1")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from mechcode.codebook import load_codebook
    from mechcode.models.data import read_labelled

    cb = load_codebook(ROOT / "corpora/sims2021/codebook.yaml")
    units = read_labelled(ROOT / "corpora/sims2021/units.jsonl", cb)
    results = {}
    for name in args.configs.split(","):
        t0 = time.time()
        r = {"roles_lobo": {f: roles_lobo(name, units, cb, float(f)) for f in args.fracs.split(",")}}
        r["primer_lodo"] = primer_lodo(name, units, cb)
        r["off_topic"] = off_topic(make(name).fit(units, cb))
        r["seconds"] = round(time.time() - t0, 1)
        results[name] = r
        print(name, json.dumps({k: v for k, v in r.items() if k != "off_topic"}),
              "off-topic", r["off_topic"]["share"], flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
