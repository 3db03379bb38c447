"""Speed of the default model (sparse + tfidf codebook prior with the role classifier and the none
gate) beside the prior without the gate, the prototype role prior, no prior and (``--with-avg``) the
opt-in avg prior.

    PYTHONPATH=src OMP_NUM_THREADS=1 python experiments/bench_prior_speed.py [--n 5000] [--with-avg]

- suggest: units/s on distinct, never-seen sentences (all the shared papers' truth text), a
  freshly loaded model (no embedding cache on disk: ``uncached``), then the same texts again
  (MiniLM embeddings now in the encoder's memory cache, as a re-score in the loop: ``cached``);
- retrain: fit on ``n`` labelled units (sims2021 + primer statements cycled, each its own
  group of five) and re-score ``n`` units: the background retrain's work.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"sparse (default: prior tfidf, role classifier, none gate)": {},
           "sparse, prior tfidf, role classifier, none from prototypes": {"prior_none": "prototypes"},
           "sparse, prior tfidf, role prototypes": {"prior_roles": "prototypes", "prior_none": "prototypes"},
           "sparse, no prior": {"prior": "none", "primer": False}}
AVG = {"sparse, prior avg (opt-in; MiniLM)": {"prior": "avg"}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--with-avg", action="store_true", help="also the avg prior (MiniLM: minutes)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "experiments"))
    from transfer_prior import sentences_of

    from mechcode.codebook import load_codebook
    from mechcode.models.base import LabelledUnit, Unit
    from mechcode.models.data import read_labelled
    from mechcode.models.primer import load_primer
    from mechcode.models.train import load_model, train_model

    cb = load_codebook(ROOT / "corpora/sims2021/codebook.yaml")
    units = read_labelled(ROOT / "corpora/sims2021/units.jsonl", cb)
    texts = list(dict.fromkeys(s for p in sorted((ROOT.parent / "shared/pdfs").glob("*.truth.txt"))
                               for s in sentences_of(p)))
    test = [Unit(str(i), t) for i, t in enumerate(texts)]
    pool = units + load_primer()
    big = [LabelledUnit(f"d{i}", u.text, u.context, list(u.mechanisms), u.role, u.polarity, f"g{i // 5}",
                        origin="decision") for i, u in ((i, pool[i % len(pool)]) for i in range(args.n))]
    out = {}
    for label, params in {**CONFIGS, **(AVG if args.with_avg else {})}.items():
        with tempfile.TemporaryDirectory() as tmp:
            train_model(units, cb, "sparse", Path(tmp) / "m", holdout=False, **params)
            model, _ = load_model(Path(tmp) / "m")
            t0 = time.perf_counter()
            model.predict(test)
            ups = len(test) / (time.perf_counter() - t0)
            t0 = time.perf_counter()
            model.predict(test)
            ups_cached = len(test) / (time.perf_counter() - t0)
        from mechcode.models.backends.features import clear_fitted
        from mechcode.models.backends.sparse import SparseBackend

        clear_fitted()  # a full fit, as a first retrain
        t0 = time.perf_counter()
        m = SparseBackend(**params).fit(big, cb)
        fit_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        m.predict([Unit(u.id, u.text, u.context) for u in big])
        score_s = time.perf_counter() - t1
        out[label] = {"suggest_units_per_s": round(ups, 1),
                      "suggest_cached_units_per_s": round(ups_cached, 1), "n_suggest": len(test),
                      f"fit_{args.n}_s": round(fit_s, 2), f"rescore_{args.n}_s": round(score_s, 2)}
        print(label, out[label], flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
