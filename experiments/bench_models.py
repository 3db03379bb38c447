"""Benchmark the suggestion backends: quality (both protocols) and CPU speed, side by side.

For every backend whose module is present (sparse, zeroshot with MiniLM and with TF-IDF,
embed, finetune; the majority baseline as the floor) on the bundled corpus
``corpora/sims2021``:

- grouped 5-fold CV (folds never split a paragraph; units repeating a codebook definition
  are left out of the test folds) and definitions-to-evidence (cold start): mechanism,
  role and polarity macro-F1 and ECE;
- speed: training time on the corpus and on 5,000 labelled units, predict throughput on
  5,000 units (units/s), one process, CPU;
- a learning curve of the best supervised backend (share of training paragraphs per fold).

Prints a table and writes Markdown + JSON (default ``experiments/results/bench_models.md``
and ``.json``). Run: ``python experiments/bench_models.py [--backends sparse,zeroshot]
[--folds 5] [--no-speed] [--no-curve]``. Downloads nothing.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CORPUS = ROOT / "corpora" / "sims2021"
# label -> (backend, params)
CANDIDATES = {
    "majority": ("majority", {}),
    "sparse": ("sparse", {}),
    "zeroshot": ("zeroshot", {}),
    "zeroshot-tfidf": ("zeroshot", {"encoder": "tfidf"}),
    "embed": ("embed", {}),
    "finetune": ("finetune", {}),
}
SUPERVISED = ("sparse", "embed", "finetune")
# Train time on 5,000 units is timed for sparse only: the embedding backends would spend it
# embedding 5,000 new texts (embed's cached-retrain figure is in benchmarks/bench_embed.py).
TRAIN_TIMED = ("sparse",)
ENCODER_PREDICT_N = 1000  # transformer backends: predict speed on fewer (uncached) units


def available(label: str) -> bool:
    backend = CANDIDATES[label][0]
    return backend == "majority" or importlib.util.find_spec(f"mechcode.models.{backend}") is not None


def quality(label: str, units, codebook, folds: int) -> dict:
    """Headline figures of ``label`` under both protocols."""
    from mechcode.models.evaluation.evaluate import evaluate
    from mechcode.models.evaluation.metrics import summary

    backend, params = CANDIDATES[label]
    out = {}
    for protocol in ("grouped-cv", "definitions-to-evidence"):
        t0 = time.perf_counter()
        r = evaluate(units, codebook, backend, protocol, folds, params, baselines=())
        out[protocol] = {**summary(r), "seconds": round(time.perf_counter() - t0, 1),
                         "n_test": r["n_test_units"]}
        print(f"  {label:15s} {protocol:24s} {out[protocol]}", flush=True)
    return out


def synthetic(units, n: int):
    """``n`` labelled units cycled from the corpus, each in its own paragraph group."""
    from mechcode.models.base import LabelledUnit

    return [LabelledUnit(f"s{i}", f"{u.text} ({i})", u.context, list(u.mechanisms), u.role, u.polarity,
                         f"g{i // 5}") for i, u in ((i, units[i % len(units)]) for i in range(n))]


def speed(label: str, units, codebook, n: int) -> dict:
    """Train seconds (corpus, n units) and predict units/s on n units."""
    from mechcode.models.evaluation.evaluate import make_backend

    backend, params = CANDIDATES[label]
    if backend in ("embed", "finetune") or (backend == "zeroshot" and params.get("encoder") != "tfidf"):
        n = min(n, ENCODER_PREDICT_N)
    big = synthetic(units, n)
    res = {"predict_n": n}
    t0 = time.perf_counter()
    model = make_backend(backend, params).fit(units, codebook)
    res["train_corpus_s"] = round(time.perf_counter() - t0, 2)
    model.predict(big[:50])  # warm-up (model load, caches)
    t0, c0 = time.perf_counter(), time.process_time()
    model.predict(big)
    res["predict_units_per_s"] = round(n / (time.perf_counter() - t0), 1)
    # CPU seconds of this process (all its threads): steadier than wall time on a shared machine
    res["predict_units_per_cpu_s"] = round(n / (time.process_time() - c0), 1)
    if backend in TRAIN_TIMED:
        t0 = time.perf_counter()
        make_backend(backend, params).fit(big, codebook)
        res[f"train_{n}_s"] = round(time.perf_counter() - t0, 2)
    print(f"  {label:15s} speed {res}", flush=True)
    return res


def table(results: dict, curve: list | None, meta: dict) -> str:
    """The Markdown report."""
    head = ("| backend | protocol | mechanism macro-F1 | role macro-F1 | polarity macro-F1 | ECE mechanism "
            "| ECE role | train s (corpus) | train s (5,000) | predict units/s (wall) | predict units/CPU-s |")
    lines = [f"# Suggestion backends on sims2021 ({meta['date']})", "",
             f"{meta['n_units']} labelled units, {meta['n_test']} test units (definition units left out), "
             f"grouped {meta['folds']}-fold CV; CPU: {meta['cpu']}, load average at start {meta['load']}. "
             "Speed: one process; train times are wall seconds.", "", head,
             "|" + "---|" * 11]
    for label, r in results.items():
        sp = r.get("speed", {})
        for protocol, q in r["quality"].items():
            cells = [label, protocol, q["mechanism_macro_f1"], q["role_macro_f1"], q["polarity_macro_f1"],
                     q["ece_mechanism"], q["ece_role"]]
            cells += [sp.get("train_corpus_s", ""), sp.get(f"train_{meta['n_speed']}_s", ""),
                      sp.get("predict_units_per_s", ""), sp.get("predict_units_per_cpu_s", "")] \
                if protocol == "grouped-cv" else [""] * 4
            lines.append("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")
    for label, err in meta.get("failed", {}).items():
        lines.append(f"| {label} | failed: {err[:80]} |" + " |" * 9)
    if curve:
        lines += ["", f"Learning curve ({meta['curve_backend']}, grouped CV, share of training paragraphs):", "",
                  "| share | train units | mechanism macro-F1 | role macro-F1 |", "|---|---|---|---|"]
        lines += [f"| {p['fraction']} | {p['train_units']} | {p['mechanism_macro_f1']} | {p['role_macro_f1']} |"
                  for p in curve]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default=",".join(CANDIDATES), help="comma-separated labels")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--speed-n", type=int, default=5000)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--speed-backends", default="sparse,zeroshot,zeroshot-tfidf,embed",
                    help="labels whose speed is measured (fine-tuning on a CPU is left out by default)")
    ap.add_argument("--no-curve", action="store_true")
    ap.add_argument("--merge", metavar="JSON", help="start from the results of an earlier run (its .json)")
    ap.add_argument("--out", default=str(ROOT / "experiments" / "results" / "bench_models.md"))
    args = ap.parse_args()

    from mechcode.codebook import load_codebook
    from mechcode.models.data import read_labelled
    from mechcode.models.evaluation.evaluate import definition_units, learning_curve

    codebook = load_codebook(CORPUS / "codebook.yaml")
    units = read_labelled(CORPUS / "units.jsonl", codebook)
    load = round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None
    failed: dict[str, str] = {}
    labels = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in labels if b not in CANDIDATES]
    if unknown:
        sys.exit(f"unknown backend label(s) {unknown}; choose from {list(CANDIDATES)}")
    results = json.loads(Path(args.merge).read_text())["results"] if args.merge else {}
    for label in labels:
        if not available(label):
            print(f"  {label}: module not present, skipped", flush=True)
            continue
        try:
            results[label] = {"quality": quality(label, units, codebook, args.folds)}
            if not args.no_speed and label in args.speed_backends.split(","):
                results[label]["speed"] = speed(label, units, codebook, args.speed_n)
            _partial(args.out, results)
        except Exception as exc:  # noqa: BLE001 - one broken backend must not stop the others
            print(f"  {label}: FAILED {exc.__class__.__name__}: {exc}", flush=True)
            results.pop(label, None)
            failed[label] = f"{exc.__class__.__name__}: {exc}"
    supervised = [b for b in results if b in SUPERVISED]
    best = max(supervised, key=lambda b: results[b]["quality"]["grouped-cv"]["mechanism_macro_f1"] or 0,
               default=None)
    curve = None
    if best and not args.no_curve:
        backend, params = CANDIDATES[best]
        curve = learning_curve(units, codebook, backend, params, (0.25, 0.5, 0.75, 1.0), args.folds,
                               on_point=lambda p: print(f"  curve {p}", flush=True))
    meta = {"date": time.strftime("%Y-%m-%d"), "n_units": len(units), "folds": args.folds,
            "n_test": len(units) - len(definition_units(units, codebook)), "cpu": _cpu(),
            "n_speed": args.speed_n, "curve_backend": best, "load": load, "failed": failed}
    md = table(results, curve, meta)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results, "learning_curve": curve},
                                                   indent=2), encoding="utf-8")
    out.with_suffix(".partial.json").unlink(missing_ok=True)
    print(md)
    print(f"written {out} and {out.with_suffix('.json')}")


def _partial(out: str, results: dict) -> None:
    """Save the results so far (usable with --merge if a later backend crashes the run)."""
    path = Path(out).with_suffix(".partial.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"results": results}, indent=2), encoding="utf-8")


def _cpu() -> str:
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.processor() or platform.machine()}, {n} cores"


if __name__ == "__main__":
    main()
