"""The three experiment kinds. Each returns one *record* per tracked run::

    {"backend", "strategy" (simulate only), "params": {...}, "metrics": nested dict of numbers
     (spreads as {"mean", "std", "min", "max", "n"}), "steps": {metric: [(step, value), ...]},
     "artifacts": [paths]}

- ``cv``: grouped cross-validation by :func:`mechcode.models.evaluation.evaluate.evaluate` (folds never
  split a paragraph; units repeating a codebook definition are left out of the test folds),
  repeated for each seed (a different fold assignment); per-fold macro-F1 as steps.
- ``learning-curve``: one grouped train/test split per seed (``test_size`` of the paragraphs);
  the backend is trained on the first N units of a random order of the training side for each
  size N and scored on the test side; definition units are left out of both sides, as in the
  simulation. Steps are the training sizes.
- ``simulate``: :func:`mechcode.experiments.simulate.run_simulation`; steps are units coded.
- ``mechanism-target``: :func:`mechcode.experiments.mechanism_target.run_target` (one mechanism at
  a time is the relevant class); metrics are the means over mechanisms, with each mechanism's
  mean WSS@95 under ``per_mechanism``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from mechcode.errors import DataError
from mechcode.experiments import metrics
from mechcode.registry import Registry

Log = Callable[[str], None]


def _spreads(points: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: metrics.spread(p.get(k) for p in points) for k in keys}


SCORE_KEYS = ("mechanism_macro_f1", "role_macro_f1", "polarity_macro_f1", "ece_mechanism",
              "ece_mechanism_suggested", "ece_role")


def run_cv(exp, progress: bool, log: Log) -> list[dict[str, Any]]:
    """Grouped CV of every backend, repeated over the seeds."""
    from mechcode.models.evaluation.evaluate import evaluate

    units, cb = _labelled(exp)
    folds = int(exp.options.get("folds", 5))
    records = []
    for backend in exp.backends:
        params = exp.params.get(backend, {})
        points, fold_f1, artifacts = [], [], []
        for k, seed in enumerate(exp.seeds):
            log(f"cv: {backend}, seed {seed} ({folds} grouped folds)")
            fig_dir = exp.results_dir / exp.name / backend if k == 0 else None
            rep = evaluate(units, cb, backend, "grouped-cv", n_folds=folds, params=params, baselines=(),
                           seed=seed, figures_dir=fig_dir, progress=progress)
            points.append({**rep["summary"]["backend"], "fit_s_per_fold": rep["timing"]["fit_s"] / rep["folds"],
                           "n_test_units": rep["n_test_units"]})
            fold_f1.extend(rep["folds_macro_f1"]["mechanism"])
            if fig_dir is not None:
                artifacts += [fig_dir / f for f in rep.get("figures", [])]
        records.append({
            "backend": backend, "params": {"folds": folds, "seeds": exp.seeds, "backend_params": params},
            "metrics": {**_spreads(points, SCORE_KEYS + ("fit_s_per_fold",)),
                        "n_units": len(units), "n_test_units": points[0]["n_test_units"]},
            "steps": {"fold_mechanism_macro_f1": [(i, v) for i, v in enumerate(fold_f1) if v is not None]},
            "artifacts": artifacts})
    return records


def _labelled(exp):
    from mechcode.codebook import load_codebook
    from mechcode.models.data import read_labelled

    cb = load_codebook(exp.codebook)
    return read_labelled(exp.data, cb), cb


def _lc_split(units, cb, seed: int, test_size: float):
    import numpy as np
    from sklearn.model_selection import GroupShuffleSplit

    from mechcode.models.base import unit_group
    from mechcode.models.evaluation.evaluate import definition_units

    drop = definition_units(units, cb)
    idx = [i for i in range(len(units)) if i not in drop]
    groups = [unit_group(units[i]) for i in idx]
    tr, te = next(GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed).split(idx, groups=groups))
    order = np.random.default_rng(seed).permutation([idx[i] for i in tr])
    return [int(i) for i in order], [idx[i] for i in te]


def run_learning_curve(exp, progress: bool, log: Log) -> list[dict[str, Any]]:
    """Macro-F1 on a grouped test split vs number of labelled training units."""
    from mechcode.experiments.data import make_backend
    from mechcode.models.evaluation.metrics import score, summary

    units, cb = _labelled(exp)
    sizes = [int(s) for s in exp.options.get("sizes", [10, 20, 40, 80])]
    test_size = float(exp.options.get("test_size", 0.3))
    records = []
    for backend in exp.backends:
        params = exp.params.get(backend, {})
        by_size: dict[Any, list[dict[str, Any]]] = {}  # a size, or "all" (the whole training side)
        for seed in exp.seeds:
            train, test = _lc_split(units, cb, seed, test_size)
            points = [(s, s) for s in sorted(set(sizes)) if s < len(train)] + [("all", len(train))]
            for key, n in points:
                log(f"learning-curve: {backend}, seed {seed}, {n} training units")
                t0 = time.perf_counter()
                model = make_backend(backend, params).fit([units[i] for i in train[:n]], cb)
                fit_s = time.perf_counter() - t0
                s = summary(score([units[i] for i in test], model.predict([units[i] for i in test]), cb))
                by_size.setdefault(key, []).append({**s, "fit_s": fit_s, "n_test": len(test), "n_train": n})
        # the "all" point sits at the mean training-side size over seeds
        curve = {round(sum(p["n_train"] for p in pts) / len(pts)): _spreads(pts, SCORE_KEYS + ("fit_s",))
                 for _, pts in sorted(by_size.items(), key=lambda kv: kv[1][0]["n_train"])}
        last = curve[max(curve)]
        steps = {f"{k}.{stat}": [(n, c[k][stat]) for n, c in curve.items() if c[k][stat] is not None]
                 for k in ("mechanism_macro_f1", "role_macro_f1", "fit_s") for stat in ("mean", "std")}
        records.append({
            "backend": backend,
            "params": {"sizes": sizes, "test_size": test_size, "seeds": exp.seeds, "backend_params": params},
            "metrics": {"at_max": last, "max_train_units": max(curve),
                        "n_test_units": by_size["all"][0]["n_test"]},
            "steps": steps, "artifacts": [], "curve": curve})
    plot = _plot_learning_curves(records, exp.results_dir / exp.name / "learning_curves.png")
    for r in records:
        r["artifacts"].append(plot)
    return records


def _plot_learning_curves(records: list[dict[str, Any]], path: Path) -> Path:
    from mechcode.experiments.plots import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, key, title in ((axes[0], "mechanism_macro_f1", "mechanism macro-F1"),
                           (axes[1], "role_macro_f1", "role macro-F1")):
        for r in records:
            pts = [(n, c[key]["mean"], c[key]["min"], c[key]["max"]) for n, c in r["curve"].items()
                   if c[key]["mean"] is not None]
            if not pts:
                continue
            x, y, lo, hi = zip(*pts)
            (ln,) = ax.plot(x, y, "o-", label=r["backend"])
            ax.fill_between(x, lo, hi, color=ln.get_color(), alpha=0.15, linewidth=0)
        ax.set_title(f"{title} on held-out paragraphs", fontsize=10)
        ax.set_xlabel("labelled training units")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return save_figure(fig, plt, path)


SIM_KEYS = ("wss@95", "wss@100", "wss_max@95", "wss_max@100", "units_to_recall@95", "units_to_recall@100",
            "units_to_f1", "accept_exact", "accept_partial", "train_seconds", "curve_mean", "n_units",
            "n_evidence", "n_holdout")


def run_simulate(exp, progress: bool, log: Log, fresh: bool = False) -> list[dict[str, Any]]:
    """Strategies x backends replayed as simulated reviews (resumable in ``results/NAME``)."""
    from mechcode.experiments.simulate import run_dirs, run_simulation
    from mechcode.experiments.summary import CURVE_METRICS

    o = exp.options
    out = exp.results_dir / exp.name
    strategies = list(o.get("strategies", ["uncertain", "random"]))
    summaries = run_simulation(
        exp.data, exp.codebook, out, backends=exp.backends, strategies=strategies, seeds=exp.seeds,
        seed_labels=int(o.get("seed_labels", 10)), batch=int(o.get("batch", 10)),
        retrain_every=int(o.get("retrain_every", 10)), max_steps=int(o["max_steps"]) if o.get("max_steps") else None,
        holdout=float(o.get("holdout", 0.0)), params=exp.params,
        exclude_definition_units=bool(o.get("exclude_definition_units", True)), fresh=fresh,
        progress=progress, log=log)
    folders = {(b, s): f for b, s, f in run_dirs(out, exp.backends, strategies)}
    records = []
    for s in summaries:
        folder = folders[(s["backend"], s["strategy"])]
        steps = {f"curve.{m}.{stat}": [(r["n_coded"], r[f"{m}_{stat}"]) for r in s["curve"]
                                       if r.get(f"{m}_{stat}") is not None]
                 for m in CURVE_METRICS for stat in ("mean", "std")}
        records.append({
            "backend": s["backend"], "strategy": s["strategy"], "params": {**s["config"], "seeds": s["seeds"]},
            "metrics": {k: s[k] for k in SIM_KEYS},
            "steps": {k: v for k, v in steps.items() if v},
            "artifacts": [folder / "summary.json", folder / "curve.csv", out / "recall.png", out / "f1.png"]})
    return records


def run_mechanism_target(exp, progress: bool, log: Log) -> list[dict[str, Any]]:
    """Per-mechanism evidence finding for every backend x strategy (``mechcode simulate --target mechanism``)."""
    from mechcode.experiments.data import drop_definition_units
    from mechcode.experiments.mechanism_target import run_target
    from mechcode.experiments.simulate import load_inputs

    o = exp.options
    rows, cb = load_inputs(exp.data, exp.codebook)
    if bool(o.get("exclude_definition_units", True)):
        rows, _ = drop_definition_units(rows, cb)
    out = exp.results_dir / exp.name
    runs = run_target(rows, cb, out, backends=exp.backends, strategies=list(o.get("strategies", ["max"])),
                      seeds=exp.seeds, mechanisms=list(o.get("mechanisms") or []) or None,
                      batch=int(o.get("batch", 10)), retrain_every=int(o.get("retrain_every", 10)),
                      params=exp.params, log=log)
    pngs = sorted(out.glob("recall-*.png"))
    return [{"backend": r["backend"], "strategy": r["strategy"],
             "params": {"batch": r["batch"], "retrain_every": r["retrain_every"], "seeds": r["seeds"]},
             "metrics": {**r["mean"], "per_mechanism": {m: {"wss@95": v["wss@95"]["mean"], "n_relevant": v["n_relevant"]}
                                                        for m, v in r["per_mechanism"].items()}},
             "steps": {}, "artifacts": [out / "mechanism-summary.json", *pngs]} for r in runs]


KINDS = Registry("experiment kind", {
    "cv": run_cv, "learning-curve": run_learning_curve, "simulate": run_simulate,
    "mechanism-target": run_mechanism_target}, error=DataError)
