"""Evaluation protocols for suggestion backends, with baselines side by side.

- ``grouped-cv``: k folds that never split a source paragraph (``group``; units without one are
  grouped by their context text). Stratified on each unit's first mechanism (or "none") with
  ``StratifiedGroupKFold`` where possible, a seeded ``GroupKFold`` otherwise (logged). Out-of-fold
  predictions of all folds are pooled and scored once; per-fold macro-F1 is listed too.
- ``definitions-to-evidence``: the cold start. Train on the codebook definitions only (no
  labelled unit), test on every evidence unit.

Leakage guard: a labelled unit whose text is part of a codebook definition (the sims2021
corpus has the Table 1 descriptions as units) would be trivially recognised by any backend that
trains on the definitions, so such *definition units* are left out of every test set by
default (they may still be training data); the report gives how many were left out.

Baselines (:mod:`mechcode.models.backends.baselines`): ``majority`` (constant class frequencies from the
training labels; in definitions-to-evidence there are none, so it uses the evidence frequencies
-- a reference for a constant predictor, not a fair competitor), ``zeroshot`` (similarity to the
definitions, fitted on the codebook only, so it never sees a label in either protocol) and
``keyword`` (a fixed keyword rule, no labels).

The transfer protocols (``transfer-roles``, ``primary-studies``, ``off-topic``: train on some
texts, test on texts of another kind) are in :mod:`mechcode.models.evaluation.protocols`.
How units count is documented in :mod:`mechcode.models.evaluation.metrics`.
"""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mechcode.codebook import Codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit, map_labels, unit_group
from mechcode.models.backends.baselines import KeywordRule, MajorityBaseline
from mechcode.models.evaluation.metrics import COUNTING, plot_confusions, score, summary
from mechcode.models.registry import get_backend

log = logging.getLogger(__name__)

PROTOCOLS = ("grouped-cv", "definitions-to-evidence")
BASELINES = ("majority", "zeroshot", "keyword")
LABEL_FREE = ("zeroshot", "keyword")  # never read a label: fitted on the codebook alone


def grouped_folds(units: Sequence[LabelledUnit], n_folds: int = 5, seed: int = 0,
                  codebook: Codebook | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays; a group (source paragraph) is never on both sides."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    groups = [unit_group(u) for u in units]
    k = min(n_folds, len(set(groups)))
    if k < 2:
        raise ModelError(f"grouped CV needs at least 2 groups (paragraphs); the data has {len(set(groups))}")
    strat = [(map_labels(u.mechanisms, codebook) if codebook else u.mechanisms or ["none"]) or ["none"]
             for u in units]
    y = [s[0] for s in strat]
    X = np.zeros(len(units))
    try:  # scikit-learn warns (visibly) when a class has fewer members than folds
        folds = list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(X, y, groups))
    except ValueError as exc:  # stratification impossible: unstratified, but still seeded
        log.warning("grouped CV without stratification (%s)", exc)
        folds = list(GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(X, y, groups))
    return [(np.asarray(tr), np.asarray(te)) for tr, te in folds if len(te)]


def make_backend(name: str, params: dict[str, Any] | None = None):
    """A fresh backend (``majority`` and ``keyword`` are evaluation-only baselines)."""
    if name == "majority":
        return MajorityBaseline()
    if name == "keyword":
        return KeywordRule()
    return get_backend(name)(**(params or {}))


def cross_val_predict(units: list[LabelledUnit], codebook: Codebook, backend: str, params: dict[str, Any],
                      folds: list[tuple[np.ndarray, np.ndarray]], progress: bool = False) -> tuple[list, dict]:
    """Out-of-fold predictions (in unit order) and timing."""
    from tqdm import tqdm

    preds: list[Any] = [None] * len(units)
    fit_s = pred_s = 0.0
    for tr, te in tqdm(folds, desc=f"{backend} folds", unit="fold", disable=not progress):
        t0 = time.perf_counter()
        model = make_backend(backend, params).fit([units[i] for i in tr], codebook)
        t1 = time.perf_counter()
        for i, p in zip(te, model.predict([units[i] for i in te])):
            preds[i] = p
        fit_s, pred_s = fit_s + t1 - t0, pred_s + time.perf_counter() - t1
    return preds, {"fit_s": round(fit_s, 3), "predict_s": round(pred_s, 3),
                   "units_per_s": round(len(units) / pred_s, 1) if pred_s else None}


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def definition_units(units: Sequence[LabelledUnit], codebook: Codebook, min_chars: int = 25) -> set[int]:
    """Indices of units whose text (at least ``min_chars`` long) occurs in a codebook definition."""
    defs = [_norm(f"{m.name} {m.description}") for m in codebook.mechanisms]
    defs += [_norm(f"{r.name} {r.description}") for r in [*codebook.roles, *codebook.polarity]]
    out = set()
    for i, u in enumerate(units):
        t = _norm(u.text)
        if len(t) >= min_chars and any(t in d for d in defs):
            out.add(i)
    return out


def _fold_scores(units, preds, folds, codebook, threshold, keep) -> dict[str, list]:
    out: dict[str, list] = {"mechanism": [], "role": []}
    for _, te in folds:
        te = [i for i in te if i in keep]
        s = score([units[i] for i in te], [preds[i] for i in te], codebook, threshold)
        out["mechanism"].append(s["mechanism"]["macro_f1"])
        out["role"].append(s["role"]["macro_f1"])
    return out


def run_protocol(units: list[LabelledUnit], codebook: Codebook, backend: str, params: dict[str, Any],
                 protocol: str, folds: list | None, threshold: float, progress: bool,
                 keep: set[int] | None = None) -> dict[str, Any]:
    """Scores of one backend under one protocol, on the test units with index in ``keep``."""
    keep = set(range(len(units))) if keep is None else keep
    test = [units[i] for i in sorted(keep)]
    if protocol == "grouped-cv":
        preds, timing = cross_val_predict(units, codebook, backend, params, folds, progress)
        res = score(test, [preds[i] for i in sorted(keep)], codebook, threshold)
        res["folds_macro_f1"] = _fold_scores(units, preds, folds, codebook, threshold, keep)
    else:
        t0 = time.perf_counter()
        model = make_backend(backend, params).fit(test if backend == "majority" else [], codebook)
        t1 = time.perf_counter()
        preds = model.predict(test)
        t2 = time.perf_counter()
        timing = {"fit_s": round(t1 - t0, 3), "predict_s": round(t2 - t1, 3),
                  "units_per_s": round(len(test) / (t2 - t1), 1) if t2 > t1 else None}
        res = score(test, preds, codebook, threshold)
    res["timing"] = timing
    return res


def evaluate(units: list[LabelledUnit], codebook: Codebook, backend: str, protocol: str = "grouped-cv",
             n_folds: int = 5, params: dict[str, Any] | None = None, baselines: Sequence[str] = BASELINES,
             zeroshot_params: dict[str, Any] | None = None, threshold: float = 0.5,
             figures_dir: Path | None = None, seed: int = 0, progress: bool = False,
             exclude_definition_units: bool = True, figure_prefix: str = "") -> dict[str, Any]:
    """Evaluate ``backend`` on ``units``; the report dict (figures written to ``figures_dir``)."""
    if protocol not in PROTOCOLS:
        raise ModelError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ModelError(f"unknown baseline(s) {', '.join(unknown)}; expected {', '.join(BASELINES)}")
    params = params or {}
    folds = grouped_folds(units, n_folds, seed, codebook) if protocol == "grouped-cv" else None
    dropped = definition_units(units, codebook) if exclude_definition_units else set()
    keep = set(range(len(units))) - dropped
    if not keep:
        raise ModelError("no test units left: every unit repeats a codebook definition")
    report: dict[str, Any] = {
        "protocol": protocol, "backend": backend, "params": params, "threshold": threshold,
        "n_units": len(units), "n_test_units": len(keep), "excluded_definition_units": len(dropped),
        "n_groups": len({unit_group(u) for u in units}),
        "folds": len(folds) if folds else 0, "codebook": {"name": codebook.name, "version": codebook.version,
                                                          "fingerprint": codebook.fingerprint()},
        "counting": COUNTING,
    }
    report.update(run_protocol(units, codebook, backend, params, protocol, folds, threshold, progress, keep))
    report["baselines"] = {}
    for b in baselines:
        if b in LABEL_FREE:  # never sees a label: fit on the codebook alone, predict every unit
            res = run_protocol(units, codebook, b, (zeroshot_params or {}) if b == "zeroshot" else {},
                               "definitions-to-evidence",
                               None, threshold, progress, keep)
        else:
            res = run_protocol(units, codebook, b, {}, protocol, folds, threshold, progress, keep)
        report["baselines"][b] = res
    report["summary"] = {"backend": summary(report),
                         **{b: summary(r) for b, r in report["baselines"].items()}}
    if figures_dir is not None:
        report["figures"] = [p.name for p in plot_confusions(report, Path(figures_dir), figure_prefix)]
    return report


def learning_curve(units: list[LabelledUnit], codebook: Codebook, backend: str, params: dict[str, Any],
                   fractions: Sequence[float] = (0.1, 0.25, 0.5, 1.0), n_folds: int = 5, seed: int = 0,
                   on_point: Callable[[dict], None] | None = None) -> list[dict[str, Any]]:
    """Macro-F1 when each fold trains on a fraction of its training *groups* (test folds fixed)."""
    folds = grouped_folds(units, n_folds, seed, codebook)
    test = sorted(set(range(len(units))) - definition_units(units, codebook))
    rng = np.random.default_rng(seed)
    out = []
    for frac in fractions:
        sub = []
        for tr, te in folds:
            groups = sorted({unit_group(units[i]) for i in tr})
            keep = set(rng.permutation(groups)[: max(1, int(round(frac * len(groups))))])
            sub.append((np.array([i for i in tr if unit_group(units[i]) in keep]), te))
        preds, _ = cross_val_predict(units, codebook, backend, params, sub)
        s = score([units[i] for i in test], [preds[i] for i in test], codebook)
        point = {"fraction": frac, "train_units": int(np.mean([len(t) for t, _ in sub])), **summary(s)}
        out.append(point)
        if on_point:
            on_point(point)
    return out
