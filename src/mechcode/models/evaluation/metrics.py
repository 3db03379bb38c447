"""Scores of predictions against labelled units: per-class and macro P/R/F1, ECE, confusions.

How units count (also written into every report under ``"counting"``):

- mechanisms: a mechanism is *suggested* when its probability is at least ``threshold``
  (default 0.5); in addition, when ``no_mechanism`` < 0.5 (the model says the unit supports
  some mechanism), its most probable mechanism is suggested even if below the threshold. A
  prediction without a ``no_mechanism`` value gets ``prod(1 - p_m)`` (independent heads). Each mechanism is a binary presence task over **all** test units, including
  units with no mechanism, so a mechanism suggested for a "no mechanism" unit is a false
  positive of that mechanism. Macro-F1 averages over the mechanisms with at least one positive
  in the test data. The "no mechanism" class (nothing suggested vs nothing true) is reported
  separately under ``no_mechanism`` and is not part of the macro average.
- role: only units whose role is known (not null); prediction = most probable role; macro-F1
  over the roles present in the test truth.
- polarity: only units whose polarity is known (roles other than ``none``).
- ECE (``mechcode.models.backends.calibration.ece``, 10 equal-width bins over [0, 1]): ``mechanism`` =
  binary ECE over every (unit, mechanism) probability, which the many easy negatives pull
  towards 0; ``mechanism_suggested`` = the same over the suggested pairs only (the pairs a
  reviewer sees: at or above the threshold, or the top one of a unit whose ``no_mechanism``
  is below 0.5), null when nothing is suggested; role and polarity = top-label ECE.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
from mechcode.models.base import LabelledUnit, label_space, map_labels
from mechcode.models.backends.calibration import ece, top_label_ece

COUNTING = " ".join(__doc__[__doc__.index("- mechanisms:"):].split())


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall, F1 (0 where undefined) and support (tp + fn)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn}


def suggested(probs: np.ndarray, threshold: float = 0.5, no_mechanism: np.ndarray | None = None) -> np.ndarray:
    """(n, M) booleans: mechanisms at or above ``threshold``, plus the top one where
    ``no_mechanism`` < 0.5."""
    pred = probs >= threshold
    if no_mechanism is not None and probs.shape[1]:
        some = np.asarray(no_mechanism, dtype=float) < 0.5
        pred[np.flatnonzero(some), probs.argmax(axis=1)[some]] = True
    return pred


def mechanism_scores(truth: Sequence[set[str]], probs: np.ndarray, ids: list[str],
                     threshold: float = 0.5, no_mechanism: np.ndarray | None = None) -> dict[str, Any]:
    """Per-mechanism presence scores, macro/micro F1 and the "no mechanism" class."""
    y = np.array([[m in t for m in ids] for t in truth], dtype=bool).reshape(len(truth), len(ids))
    pred = suggested(probs, threshold, no_mechanism)
    per_class, f1s = {}, []
    tp_all = fp_all = fn_all = 0
    for j, mid in enumerate(ids):
        tp = int((pred[:, j] & y[:, j]).sum())
        fp = int((pred[:, j] & ~y[:, j]).sum())
        fn = int((~pred[:, j] & y[:, j]).sum())
        per_class[mid] = prf(tp, fp, fn)
        if y[:, j].any():
            f1s.append(per_class[mid]["f1"])
            tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
    none_t, none_p = ~y.any(axis=1), ~pred.any(axis=1)
    none = prf(int((none_t & none_p).sum()), int((~none_t & none_p).sum()), int((none_t & ~none_p).sum()))
    return {"macro_f1": round(float(np.mean(f1s)), 4) if f1s else None,
            "micro_f1": prf(tp_all, fp_all, fn_all)["f1"], "threshold": threshold,
            "evaluated": [m for j, m in enumerate(ids) if y[:, j].any()],
            "per_class": per_class, "no_mechanism": none, "n": len(truth),
            "confusion": {m: [[int((~pred[:, j] & ~y[:, j]).sum()), int((pred[:, j] & ~y[:, j]).sum())],
                              [int((~pred[:, j] & y[:, j]).sum()), int((pred[:, j] & y[:, j]).sum())]]
                          for j, m in enumerate(ids)}}


def multiclass_scores(truth: Sequence[str], probs: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Per-class P/R/F1, macro-F1 over the classes present in ``truth``, accuracy, confusion."""
    if not len(truth):
        return {"macro_f1": None, "accuracy": None, "per_class": {}, "n": 0, "labels": labels, "confusion": []}
    t = np.array([labels.index(v) for v in truth])
    p = probs.argmax(axis=1)
    conf = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(conf, (t, p), 1)
    per_class = {lab: prf(int(conf[k, k]), int(conf[:, k].sum() - conf[k, k]), int(conf[k].sum() - conf[k, k]))
                 for k, lab in enumerate(labels)}
    present = [lab for k, lab in enumerate(labels) if conf[k].sum()]
    return {"macro_f1": round(float(np.mean([per_class[c]["f1"] for c in present])), 4),
            "accuracy": round(float((t == p).mean()), 4), "per_class": per_class, "n": len(truth),
            "labels": labels, "confusion": conf.tolist()}


def score(units: Sequence[LabelledUnit], preds: Sequence[dict[str, Any]], codebook: Codebook,
          threshold: float = 0.5) -> dict[str, Any]:
    """Scores of ``preds`` (predict-contract dicts, same order as ``units``) on all three tasks."""
    ids = label_space(codebook)
    probs = np.array([[p["mechanisms"].get(m, 0.0) for m in ids] for p in preds]).reshape(len(preds), len(ids))
    truth = [set(map_labels(u.mechanisms, codebook)) for u in units]
    y = np.array([[m in t for m in ids] for t in truth], dtype=float).reshape(probs.shape)
    if preds and all("no_mechanism" in p for p in preds):
        no_mech = np.array([p["no_mechanism"] for p in preds], dtype=float)
    else:  # independent heads: P(no mechanism) = prod(1 - p_m)
        no_mech = np.prod(1.0 - probs, axis=1)
    out: dict[str, Any] = {"mechanism": mechanism_scores(truth, probs, ids, threshold, no_mech)}
    shown = suggested(probs, threshold, no_mech)
    ece_out = {"mechanism": round(ece(probs, y), 4),
               "mechanism_suggested": round(ece(probs[shown], y[shown]), 4) if shown.any() else None,
               "n_suggested": int(shown.sum())}
    for task, labels in (("role", list(ROLE_IDS)), ("polarity", list(POLARITY_IDS))):
        keep = [i for i, u in enumerate(units) if getattr(u, task) is not None
                and not (task == "polarity" and u.role == "none")]
        P = np.array([[preds[i][task].get(lab, 0.0) for lab in labels] for i in keep]).reshape(len(keep), len(labels))
        true = [getattr(units[i], task) for i in keep]
        out[task] = multiclass_scores(true, P, labels)
        ece_out[task] = round(top_label_ece(P, np.array([labels.index(v) for v in true])), 4) if keep else None
    out["ece"] = ece_out
    return out


def summary(scores: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of a :func:`score` result."""
    return {"mechanism_macro_f1": scores["mechanism"]["macro_f1"], "role_macro_f1": scores["role"]["macro_f1"],
            "polarity_macro_f1": scores["polarity"]["macro_f1"], "ece_mechanism": scores["ece"]["mechanism"],
            "ece_mechanism_suggested": scores["ece"].get("mechanism_suggested"),
            "ece_role": scores["ece"]["role"]}


CMO = ("context", "mechanism", "outcome")


def cmo_of(role: str | None) -> str | None:
    """The C/M/O part of a role id (resource and reasoning are both M); None for none/unknown."""
    if role in ("mechanism-resource", "mechanism-reasoning"):
        return "mechanism"
    return role if role in ("context", "outcome") else None


def cmo_scores(roles: Sequence[str], preds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Role figures on C/M/O statements (gold roles other than none).

    ``cmo``: three classes, P(M) = P(resource) + P(reasoning), prediction = the most probable of
    C, M, O (``none`` is ignored: the unit is known to be part of a CMO statement); macro-F1 over
    the classes present. ``role5``: the five role ids, prediction = the most probable of all five.
    """
    keep = [i for i, r in enumerate(roles) if cmo_of(r) is not None]
    P = np.array([[preds[i]["role"].get("context", 0.0),
                   preds[i]["role"].get("mechanism-resource", 0.0) + preds[i]["role"].get("mechanism-reasoning", 0.0),
                   preds[i]["role"].get("outcome", 0.0)] for i in keep]).reshape(len(keep), 3)
    P5 = np.array([[preds[i]["role"].get(r, 0.0) for r in ROLE_IDS] for i in keep]).reshape(len(keep), len(ROLE_IDS))
    return {"cmo": multiclass_scores([cmo_of(roles[i]) for i in keep], P, list(CMO)),
            "role5": multiclass_scores([roles[i] for i in keep], P5, list(ROLE_IDS))}


def top_mean(values: Sequence[float], k: int = 3) -> float:
    """Mean of the ``k`` largest values (of all of them when fewer)."""
    v = sorted(values, reverse=True)[:k]
    return float(np.mean(v)) if v else 0.0


def paper_scores(papers: Sequence[str], truth: Sequence[set[str]], probs: np.ndarray, ids: list[str],
                 threshold: float = 0.5) -> dict[str, Any]:
    """Paper x mechanism figures: a paper has a mechanism when any of its units has it.

    Scores per (paper, mechanism): ``max`` = the highest probability over the paper's units;
    ``top3`` = the mean of its three highest. For each: ROC AUC over all pairs (null when
    only one class occurs), its 95 % interval with the papers resampled (``auc_ci``,
    :func:`paper_auc_interval`: with a handful of papers the AUC moves a lot with which papers
    were coded), and recall / precision of the pairs at or above ``threshold``.
    """
    from sklearn.metrics import roc_auc_score

    names = sorted(set(papers))
    rows = {p: [i for i, q in enumerate(papers) if q == p] for p in names}
    y = np.array([[any(m in truth[i] for i in rows[p]) for m in ids] for p in names], dtype=bool)
    out: dict[str, Any] = {"n_papers": len(names), "n_pairs": int(y.size), "n_true_pairs": int(y.sum()),
                           "threshold": threshold}
    for how, agg in (("max", max), ("top3", top_mean)):
        S = np.array([[agg([float(probs[i, j]) for i in rows[p]]) for j in range(len(ids))] for p in names])
        flat_y, flat_s = y.ravel(), S.ravel()
        auc = float(roc_auc_score(flat_y, flat_s)) if 0 < flat_y.sum() < flat_y.size else None
        hit = flat_s >= threshold
        tp = int((hit & flat_y).sum())
        out[how] = {"auc": None if auc is None else round(auc, 4), "auc_ci": paper_auc_interval(y, S),
                    **{k: v for k, v in prf(tp, int((hit & ~flat_y).sum()), int((~hit & flat_y).sum())).items()
                       if k != "support"}}
    return out


def paper_auc_interval(y: np.ndarray, scores: np.ndarray, n: int = 1000, seed: int = 0) -> list[float] | None:
    """95 % percentile interval of the pooled pair AUC when the papers (rows of ``y`` / ``scores``)
    are resampled with replacement (resamples with one class only are skipped); None with < 2 papers.
    All resamples at once: AUC from the mid-ranks of each resample's pairs (Mann-Whitney U)."""
    from scipy.stats import rankdata

    if len(y) < 2:
        return None
    rows = np.random.default_rng(seed).integers(0, len(y), (n, len(y)))
    yy = y[rows].reshape(n, -1).astype(bool)
    ranks = rankdata(scores[rows].reshape(n, -1), axis=1)
    pos = yy.sum(axis=1)
    neg = yy.shape[1] - pos
    ok = (pos > 0) & (neg > 0)
    if ok.sum() < n // 2:
        return None
    u = (ranks * yy).sum(axis=1)[ok] - pos[ok] * (pos[ok] + 1) / 2
    aucs = u / (pos[ok] * neg[ok])
    return [round(float(v), 3) for v in np.percentile(aucs, [2.5, 97.5])]


def plot_confusions(scores: dict[str, Any], out_dir: Path, prefix: str = "") -> list[Path]:
    """Role confusion matrix and per-mechanism presence confusions as PNGs; the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    role = scores["role"]
    if role["confusion"]:
        fig, ax = plt.subplots(figsize=(6, 5))
        _matrix(ax, np.array(role["confusion"]), role["labels"], role["labels"], "Role")
        paths.append(_save(fig, out_dir / f"{prefix}role_confusion.png"))
    conf = scores["mechanism"]["confusion"]
    if conf:
        cols = min(4, len(conf))
        rows = -(-len(conf) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
        for ax, (mid, m) in zip(axes.ravel(), conf.items()):
            _matrix(ax, np.array(m), ["no", "yes"], ["no", "yes"], mid[:28])
        for ax in axes.ravel()[len(conf):]:
            ax.axis("off")
        paths.append(_save(fig, out_dir / f"{prefix}mechanism_confusion.png"))
    return paths


def _matrix(ax, m: np.ndarray, rows: list[str], cols: list[str], title: str) -> None:
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("predicted", fontsize=7)
    ax.set_ylabel("true", fontsize=7)
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                color="white" if v > m.max() / 2 else "black")


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
