"""Summaries of simulated runs: per seed, and mean with spread over seeds.

``summary.json`` (one backend x strategy; the type is :class:`mechcode.contracts.EvidenceSummary`, its
JSON Schema ``schemas/simulation-summary.schema.json``)::

    {"strategy", "backend", "seeds": [0, 1, 2], "n_units", "n_evidence", "config": {...},
     "wss@95": {"mean", "std", "min", "max", "n"}, "wss@100": {...},
     "wss_max@95": {...}, "wss_max@100": {...},   # the best any order could do on this data
     "curve_mean": {"f1_mechanism": {...}, ...},  # a curve's mean over its steps (area / width)
     "units_to_recall@95": {...}, "units_to_recall@100": {...},
     "units_to_f1": {"mechanism@0.5": {"mean", ..., "reached": 2, "of": 3}, ...},
     "accept_exact": {...}, "accept_partial": {...},   # over all suggestions shown, end of run
     "train_seconds": {...},                           # per retrain, all seeds
     "curve": [{"step", "n_coded", "recall_mean", "recall_std", "recall_min", "recall_max", ...}],
     "per_seed": [{"seed", "wss@95", ...}]}

``units_to_f1`` counts the units coded (seeds included) when the macro-F1 on the *holdout*
units (``--holdout``: papers or paragraphs never coded) first reaches the target; seeds that
never reach it are left out of the mean and counted in ``reached``. Without a holdout it is
empty: the F1 on the units still to code is optimistic (they share paragraphs with coded
units) and is reported only as a curve (``curve_mean``, ``curve.csv``).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Mapping, Sequence

from mechcode.contracts.simulation import CurveRow, EvidenceSummary, SeedSummary
from mechcode.experiments import metrics

F1_TARGETS: dict[str, tuple[float, ...]] = {"mechanism": (0.5, 0.6, 0.7), "role": (0.6, 0.75)}
RECALLS = (0.95, 1.0)
CURVE_METRICS = ("recall", "f1_mechanism", "f1_mechanism_micro", "f1_role", "holdout_f1_mechanism",
                 "holdout_f1_role", "accept_exact", "accept_partial")
AREA_METRICS = ("f1_mechanism", "f1_role", "holdout_f1_mechanism", "holdout_f1_role", "recall")


def _pct(r: float) -> str:
    return f"{round(r * 100):d}"


def seed_summary(state: Mapping[str, Any], evidence: Mapping[str, bool]) -> SeedSummary:
    """WSS, units to recall and to the F1 targets, acceptance and timing of one seed's run."""
    flags = [bool(evidence[u]) for u in state["order"]]
    n, r = state["n_units"], state["n_evidence"]
    steps = state["steps"]
    out: dict[str, Any] = {"seed": state["seed"], "n_coded": len(flags), "finished": state["finished"]}
    for rec in RECALLS:
        out[f"wss@{_pct(rec)}"] = metrics.wss(flags, rec, n, r)
        out[f"wss_max@{_pct(rec)}"] = metrics.wss_max(n, r, rec)
        out[f"units_to_recall@{_pct(rec)}"] = metrics.units_to_recall(flags, rec, r)
    out["curve_mean"] = {m: metrics.spread(st.get(m) for st in steps)["mean"] for m in AREA_METRICS}
    held_out = bool(state.get("holdout"))
    out["units_to_f1"] = {
        f"{task}@{t}": metrics.first_reaching(((s["n_coded"], s.get(f"holdout_f1_{task}")) for s in steps), t)
        for task, targets in F1_TARGETS.items() for t in targets} if held_out else {}
    last = steps[-1] if steps else {}
    out["accept_exact"] = last.get("accept_exact")
    out["accept_partial"] = last.get("accept_partial")
    secs = state.get("train_seconds") or []
    out["train_seconds_mean"] = sum(secs) / len(secs) if secs else None
    out["n_retrains"] = len(secs)
    return out


def curve_rows(states: Sequence[Mapping[str, Any]]) -> list[CurveRow]:
    """The per-step curve, mean / std / min / max over seeds (steps aligned by index)."""
    rows = []
    n_steps = max((len(s["steps"]) for s in states), default=0)
    for j in range(n_steps):
        at = [s["steps"][j] for s in states if len(s["steps"]) > j]
        row: dict[str, Any] = {"step": j, "n_coded": at[0]["n_coded"], "n_seeds": len(at)}
        for m in CURVE_METRICS:
            sp = metrics.spread(r.get(m) for r in at)
            row.update({f"{m}_{k}": sp[k] for k in ("mean", "std", "min", "max")})
        rows.append(row)
    return rows


def aggregate(states: Sequence[Mapping[str, Any]], evidence: Mapping[str, bool], *, strategy: str,
              backend: str, config: Mapping[str, Any]) -> EvidenceSummary:
    """The ``summary.json`` of one backend x strategy over its seeds (:class:`mechcode.contracts.EvidenceSummary`)."""
    per_seed = [seed_summary(s, evidence) for s in states]
    out: dict[str, Any] = {"strategy": strategy, "backend": backend, "seeds": [s["seed"] for s in states],
                           "n_units": states[0]["n_units"], "n_evidence": states[0]["n_evidence"],
                           "n_holdout": len(states[0].get("holdout") or []), "config": dict(config)}
    for rec in RECALLS:
        key = _pct(rec)
        for name in (f"wss@{key}", f"wss_max@{key}", f"units_to_recall@{key}"):
            out[name] = metrics.spread(p[name] for p in per_seed)
    out["curve_mean"] = {m: metrics.spread(p["curve_mean"][m] for p in per_seed) for m in AREA_METRICS}
    out["units_to_f1"] = {}  # held-out F1 only (empty without a holdout)
    for key in per_seed[0]["units_to_f1"]:
        sp = metrics.spread(p["units_to_f1"][key] for p in per_seed)
        out["units_to_f1"][key] = {**sp, "reached": sp["n"], "of": len(per_seed)}
    out["accept_exact"] = metrics.spread(p["accept_exact"] for p in per_seed)
    out["accept_partial"] = metrics.spread(p["accept_partial"] for p in per_seed)
    out["train_seconds"] = metrics.spread(t for s in states for t in s.get("train_seconds") or [])
    out["curve"] = curve_rows(states)
    out["per_seed"] = per_seed
    return out


def write_curve_csv(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    """The curve as CSV (one row per step)."""
    if not rows:
        return
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def fmt_spread(sp: Mapping[str, Any] | None, digits: int = 2) -> str:
    """``mean ± std (min-max)`` or ``-``; for integer-valued counts use ``digits=0``."""
    if sp and sp.get("reached") == 0:
        return f"not reached [0/{sp['of']} seeds]"
    if not sp or sp.get("mean") is None:
        return "-"
    f = f"{{:.{digits}f}}"
    s = f"{f.format(sp['mean'])} ± {f.format(sp['std'] or 0.0)}"
    if sp.get("n", 0) > 1:
        s += f" ({f.format(sp['min'])}–{f.format(sp['max'])})"
    if "reached" in sp and sp["reached"] < sp["of"]:
        s += f" [{sp['reached']}/{sp['of']} seeds]"
    return s
