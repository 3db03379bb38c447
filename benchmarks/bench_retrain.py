#!/usr/bin/env python
"""Retrain latency in the reviewer loop: seconds from a retrain's start to the model swap, and
to every unit scored, for the old order (score all units, then swap) and the new one (score
the queue's next units, swap, score the rest), side by side in one run.

Data (synthetic, generated): the review of ``tests/_web_review.py`` (4-mechanism leadership
codebook, templated sentences) with ``--docs`` papers of 40 paragraphs x 6 sentences (60 ->
14,400 units); the first ``--labelled`` units in reading order get a decision whose codes are
read off the generated sentence (its mechanism cue and role template; methods sentences are
rejected). The review's model is ``sparse`` with the default codebook prior (``tfidf``).

Rows: ``old`` (holdout model and model fitted, every unit scored, then the swap; prior fitted),
``new`` (model fitted, the queue's next units scored, swap, the rest scored, then the holdout
model; prior fitted), ``new, prior cached`` (a second retrain on the same texts, e.g. after
corrections). Timings are wall seconds from the retrain's start; CPU: this thread's.
Usage: PYTHONPATH=src python benchmarks/bench_retrain.py [--docs 60] [--labelled 5000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _web_review import CUES, TEMPLATES, document, make_review  # noqa: E402

ROLE_START = {t.split("{")[0]: role for role, t in TEMPLATES.items()}


def truth(text: str) -> tuple[list[str], str, str | None]:
    """(mechanisms, role, polarity) of a generated sentence, read off its cue and template."""
    mechs = [m for m, cues in CUES.items() if any(c in text for c in cues)]
    role = next((r for start, r in ROLE_START.items() if text.startswith(start)), "none")
    return mechs, role, (None if role == "none" else "-" if role == "context" else "+")


def build(root: Path, docs: int, labelled: int):
    from mechcode.loop.service import LoopService

    rv, _seed = make_review(root, n_docs=0)
    t = time.perf_counter()
    for k in range(docs):
        rv.add_document(document(k, n_par=40, per=6))
    svc = LoopService(rv, reviewer="bench", retrain_every=0)
    units = svc.units()
    svc.ensure_suggestions(units)  # the initial model (no labels yet) has scored every unit
    for u in units[:labelled]:
        mechs, role, pol = truth(u["text"])
        if mechs:
            rv.add_decision(u["id"], "bench", "correct", mechs, role, pol)
        else:
            rv.add_decision(u["id"], "bench", "reject")
    print(f"review: {docs} papers, {len(units)} units, {labelled} decisions, built in "
          f"{time.perf_counter() - t:.0f}s", flush=True)
    return rv, svc


def timed_prior():
    """Wrap the sparse backend's ``fit_prior`` to add up its seconds."""
    import mechcode.models.backends.sparse as sparse

    spent = {"s": 0.0}
    inner = sparse.fit_prior

    def wrapper(*a, **kw):
        t = time.perf_counter()
        try:
            return inner(*a, **kw)
        finally:
            spent["s"] += time.perf_counter() - t

    sparse.fit_prior = wrapper
    return spent


def more_decisions(svc, start: int, n: int) -> None:
    """``n`` more decisions, on the units after the first ``start`` (reading order)."""
    for u in svc.units()[start:start + n]:
        mechs, role, pol = truth(u["text"])
        if mechs:
            svc.review.add_decision(u["id"], "bench", "correct", mechs, role, pol)
        else:
            svc.review.add_decision(u["id"], "bench", "reject")


def run(svc, label: str, first, cached: bool, spent: dict, old: bool = False) -> dict:
    """One timed retrain; ``old``: holdout before the swap, every unit scored first, vocabularies
    refitted; not ``cached``: the prior and the vocabularies are fitted afresh."""
    from mechcode.models.backends.features import clear_fitted
    from mechcode.models.backends.prior_cache import clear_prior_cache

    if not cached:
        clear_prior_cache()
        clear_fitted()
    svc.queue("paper", limit=20)  # where the reviewer is now
    svc.retrainer.first_units, svc.retrainer.defer_holdout = first, not old
    cpu = {"start": time.thread_time()}
    svc.retrainer.on_swap = lambda version: cpu.update(swap=time.thread_time())
    spent["s"] = 0.0
    row = svc.retrainer.run_once()
    if row["status"] != "ok":
        raise SystemExit(f"error: retrain failed: {row['error']}")
    n = svc.review.connect().execute("SELECT COUNT(*) FROM suggestions WHERE model_version = ?",
                                     (row["model_version"],)).fetchone()[0]
    return {"label": label, "prior": spent["s"], **svc.retrainer.timings, "scored_units": n,
            "cpu_swap": cpu["swap"] - cpu["start"]}


def main() -> None:
    ap = argparse.ArgumentParser(description="Retrain latency: the old order (score every unit, then swap) "
                                 "vs the new one (the queue's next units, swap, the rest), in one run.")
    ap.add_argument("--docs", type=int, default=60, help="papers of 240 units each (default 60: 14,400)")
    ap.add_argument("--labelled", type=int, default=5000, help="units with a decision (default 5,000)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    rv, svc = build(Path(tempfile.mkdtemp(prefix="bench-retrain-")), args.docs, args.labelled)
    spent = timed_prior()
    every = [u["id"] for u in svc.units()]
    rows = [run(svc, "old: holdout + fit, score all, swap", lambda: every, False, spent, old=True),
            run(svc, "new: fit, queue first, swap, rest, holdout", svc.next_units, False, spent)]
    more_decisions(svc, args.labelled, 100)
    rows.append(run(svc, f"new, 100 more decisions: heads only (vocabularies kept)", svc.next_units, True,
                    spent))
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| path | training (of it prior fits) | start -> swap (CPU) | start -> all scored "
          "| start -> registered | units scored |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['label']} | {r['trained']:.1f} s ({r['prior']:.2f} s) | {r['swapped']:.1f} s "
              f"({r['cpu_swap']:.1f} s) | {r['scored']:.1f} s | {r['done']:.1f} s | {r['scored_units']:,} |")
    for r in rows:  # where the wait for the swap goes
        print(f"{r['label']}: trained {r['trained']:.2f} s, next units chosen {r['ordered'] - r['trained']:.2f} s, "
              f"scored and swapped {r['swapped'] - r['ordered']:.2f} s")


if __name__ == "__main__":
    main()
