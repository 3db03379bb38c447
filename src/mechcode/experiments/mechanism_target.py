"""Per-mechanism evidence finding (``mechcode simulate --target mechanism``).

The realist reviewer's search task: "where is the evidence for mechanism X?". For each mechanism
in turn, its units are the relevant class (like a screening simulation in ASReview):

1. prior knowledge: one relevant and one irrelevant unit, drawn at random per seed, plus what the
   backend knows before any label (its codebook cold start);
2. each step the strategy picks the next ``batch`` units from the pool: ``max`` = highest
   probability of the mechanism first (certainty-based, ASReview's default), ``uncertain`` =
   probability closest to 0.5 first, ``random``; the reviewer codes them with their gold labels
   (all of them: mechanisms, role, polarity, as the loop would store them);
3. the model is retrained on everything coded every ``retrain_every`` units (backends that read
   no label, such as ``zeroshot``, are fitted once).

A run stops when every relevant unit has been found (the rest of the order changes no figure).
As in ASReview's simulation reports, the two prior units are left out of the reading order:
``N`` = units minus 2, ``R`` = relevant units minus 1. Figures per mechanism and seed
(:mod:`mechcode.experiments.metrics`): WSS@95, WSS@100, recall after 10/20/50 % of ``N``
screened, units read to 95 % recall; then mean and spread over seeds, and over mechanisms the
mean of the per-mechanism means. Mechanisms with fewer than two relevant units are skipped.
"""
from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from mechcode.codebook import Codebook
from mechcode.contracts.simulation import MechanismRun, MechanismTargetRun, MechanismTargetSummary
from mechcode.errors import DataError
from mechcode.experiments import metrics
from mechcode.experiments.data import labelled, make_backend, plain

TARGET_STRATEGIES = ("max", "uncertain", "random")
SCREENED = (0.1, 0.2, 0.5)
LABEL_FREE = ("zeroshot",)


def order_metrics(flags: Sequence[bool], n_total: int, n_relevant: int) -> dict[str, Any]:
    """Figures of one reading order (``flags[k]``: the k-th unit read is relevant)."""
    curve = metrics.recall_curve(flags, n_relevant)
    out: dict[str, Any] = {"wss@95": metrics.wss(flags, 0.95, n_total, n_relevant),
                           "wss@100": metrics.wss(flags, 1.0, n_total, n_relevant),
                           "units_to_recall@95": metrics.units_to_recall(flags, 0.95, n_relevant)}
    for share in SCREENED:
        k = max(1, math.ceil(share * n_total - 1e-9))
        out[f"recall@{round(share * 100)}%"] = curve[min(k, len(curve)) - 1] if curve else 0.0
    return out


def _rank(strategy: str, pool: list[int], preds: Mapping[int, Mapping[str, Any]], mech: str,
          n: int, rng: random.Random) -> list[int]:
    if strategy == "random":
        return rng.sample(pool, min(n, len(pool)))
    p = {i: float(preds[i]["mechanisms"].get(mech, 0.0)) for i in pool}
    key = (lambda i: (-p[i], i)) if strategy == "max" else (lambda i: (abs(p[i] - 0.5), i))
    return sorted(pool, key=key)[:n]


def run_one(rows: Sequence[Mapping[str, Any]], codebook: Codebook, mech: str, backend: str, params: dict,
            strategy: str, seed: int, batch: int = 10, retrain_every: int = 10) -> MechanismRun:
    """One mechanism, one seed: the reading order after the two prior units, and its figures."""
    units, plain_units = labelled(rows), plain(rows)
    rel = [mech in (r.get("mechanisms") or []) for r in rows]
    pos, neg = [i for i, x in enumerate(rel) if x], [i for i, x in enumerate(rel) if not x]
    if len(pos) < 2 or not neg:
        raise DataError(f"mechanism {mech}: needs at least 2 relevant and 1 irrelevant unit")
    rng = random.Random(seed * 7919 + sum(map(ord, mech)))
    coded = [rng.choice(pos), rng.choice(neg)]
    order: list[int] = []
    model, trained_on = None, -1
    pool = [i for i in range(len(rows)) if i not in set(coded)]
    remaining = len(pos) - 1
    while pool and remaining > 0:
        if strategy != "random" and (model is None or (backend not in LABEL_FREE
                                                       and len(coded) - trained_on >= retrain_every)):
            model = make_backend(backend, params).fit([units[i] for i in coded], codebook)
            trained_on = len(coded)
            preds = dict(zip(pool, model.predict([plain_units[i] for i in pool])))
        picks = _rank(strategy, pool, preds if strategy != "random" else {}, mech, batch, rng)
        picked = set(picks)
        pool = [i for i in pool if i not in picked]
        if strategy != "random":
            preds = {i: preds[i] for i in pool}
        order += picks
        coded += picks
        remaining -= sum(rel[i] for i in picks)
    flags = [rel[i] for i in order]
    n_total, n_rel = len(rows) - 2, len(pos) - 1
    return {"mechanism": mech, "seed": seed, "n_units": n_total, "n_relevant": n_rel,
            "order": [rows[i]["id"] for i in order], "hits": [k for k, f in enumerate(flags, 1) if f],
            **order_metrics(flags, n_total, n_rel)}


def target_mechanisms(rows: Sequence[Mapping[str, Any]], codebook: Codebook,
                      wanted: Sequence[str] | None = None) -> list[str]:
    """Mechanisms of the label space with at least two relevant units (or ``wanted``, checked)."""
    from mechcode.models.base import label_space

    counts = {m: sum(m in (r.get("mechanisms") or []) for r in rows) for m in label_space(codebook)}
    if wanted:
        bad = [m for m in wanted if counts.get(m, 0) < 2]
        if bad:
            raise DataError(f"mechanism(s) {', '.join(bad)}: not in the codebook or fewer than 2 units")
        return list(wanted)
    return [m for m, c in counts.items() if c >= 2]


def summarise(runs: Sequence[MechanismRun]) -> dict[str, Any]:
    """Mean and spread over seeds per mechanism, and the mean over mechanisms."""
    keys = [k for k in runs[0] if k.startswith(("wss", "recall@", "units_to"))]
    per: dict[str, Any] = {}
    for m in dict.fromkeys(r["mechanism"] for r in runs):
        mine = [r for r in runs if r["mechanism"] == m]
        per[m] = {"n_relevant": mine[0]["n_relevant"], "n_units": mine[0]["n_units"],
                  **{k: metrics.spread(r[k] for r in mine) for k in keys}}
    mean = {k: metrics.spread(v[k]["mean"] for v in per.values()) for k in keys}
    return {"per_mechanism": per, "mean": mean}


def run_target(rows: Sequence[Mapping[str, Any]], codebook: Codebook, output: str | Path, *,
               backends: Sequence[str] = ("sparse",), strategies: Sequence[str] = ("max",),
               seeds: Sequence[int] = (0, 1, 2), mechanisms: Sequence[str] | None = None, batch: int = 10,
               retrain_every: int = 10, params: Mapping[str, Mapping[str, Any]] | None = None,
               plots: bool = True, log: Callable[[str], None] = lambda m: None) -> list[MechanismTargetRun]:
    """Every backend x strategy x mechanism x seed; writes OUTPUT/mechanism-summary.json and
    one recall-curve PNG per mechanism (OUTPUT/recall-MECHANISM.png); one summary per combination."""
    from mechcode.files import write_json_atomic

    bad = [s for s in strategies if s not in TARGET_STRATEGIES]
    if bad:
        raise DataError(f"--target mechanism: unknown strategy {bad[0]!r}; expected {', '.join(TARGET_STRATEGIES)}")
    if batch < 1 or retrain_every < 1:
        raise DataError("batch and retrain-every must be at least 1")
    mechs = target_mechanisms(rows, codebook, mechanisms)
    output = Path(output)
    out: list[MechanismTargetRun] = []
    for b in backends:
        for s in strategies:
            runs = []
            for m in mechs:
                for seed in seeds:
                    runs.append(run_one(rows, codebook, m, b, dict((params or {}).get(b) or {}), s, seed,
                                        batch, retrain_every))
                    log(f"{b}/{s} {m} seed {seed}: WSS@95 {runs[-1]['wss@95']:.3f}")
            out.append({"backend": b, "strategy": s, "seeds": list(seeds), "batch": batch,
                        "retrain_every": retrain_every, **summarise(runs), "runs": runs})
    summary: MechanismTargetSummary = {"runs": out}
    write_json_atomic(output / "mechanism-summary.json", summary)
    if plots:
        from mechcode.experiments.plots import plot_mechanism_recall

        for m in mechs:
            plot_mechanism_recall(out, m, output / f"recall-{m}.png")
    return out


def target_lines(summaries: Sequence[MechanismTargetRun]) -> list[str]:
    """Plain-text table: one line per mechanism and the mean, per backend/strategy."""
    from mechcode.experiments.summary import fmt_spread

    lines = []
    for s in summaries:
        lines.append(f"{s['backend']}/{s['strategy']} (mean over mechanisms): WSS@95 {fmt_spread(s['mean']['wss@95'])}, "
                     f"WSS@100 {fmt_spread(s['mean']['wss@100'])}, recall@10% "
                     f"{fmt_spread(s['mean']['recall@10%'])}")
        for m, v in s["per_mechanism"].items():
            lines.append(f"  {m} ({v['n_relevant']} to find): WSS@95 {fmt_spread(v['wss@95'])}, "
                         f"WSS@100 {fmt_spread(v['wss@100'])}, recall@10/20/50% "
                         f"{fmt_spread(v['recall@10%'])} / {fmt_spread(v['recall@20%'])} / "
                         f"{fmt_spread(v['recall@50%'])}, units to 95% {fmt_spread(v['units_to_recall@95'], 0)}")
    return lines
