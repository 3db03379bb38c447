"""The stop signal: how much evidence was found, how much is estimated to remain, when to stop.

Figures for one scope (the whole review, one paper, or one mechanism):

- ``coded``: codable units in scope with a current code;
- ``found``: coded units that are evidence (not rejected, with a mechanism or a role other
  than ``none``; in mechanism scope: coded with that mechanism);
- ``remaining``: the estimated number of evidence units among the uncoded ones: the sum of
  the serving model's probability of evidence over them (``1 - P(role none)``, or in
  mechanism scope ``P(mechanism)``), which assumes the model's probabilities are calibrated;
  uncoded units the model has not scored yet are counted in ``unscored`` and estimated at
  the scored units' mean;
- ``recall``: ``found / (found + remaining)``, the estimated share of the evidence found;
- ``streak``: how many of the most recent decisions in a row found no evidence.

Stopping rule (``hint``): coding this scope further is unlikely to pay off when the
estimated recall reaches ``STOP_RECALL`` (95 %) **and** the last ``STOP_STREAK`` (20)
decisions found no evidence (both, so neither an over-confident model nor a run of bad
luck alone stops a review), or when nothing is left to code.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from mechcode.store.decisions import recent_codes
from mechcode.store.documents import unit_places

STOP_RECALL = 0.95
STOP_STREAK = 20


def is_evidence(code: Mapping[str, Any] | None, mechanism: str | None = None) -> bool:
    """Whether a code marks evidence (for ``mechanism`` when given)."""
    if not code or code.get("action") == "reject":
        return False
    if mechanism is not None:
        return mechanism in (code.get("mechanisms") or [])
    return bool(code.get("mechanisms")) or code.get("role") not in (None, "none")


def evidence_probability(sugg: Mapping[str, Any], mechanism: str | None = None) -> float:
    """The model's probability that a unit is evidence (for ``mechanism`` when given)."""
    if mechanism is not None:
        return float((sugg.get("mechanisms") or {}).get(mechanism, 0.0))
    role = sugg.get("role") or {}
    if "none" in role:
        return max(0.0, min(1.0, 1.0 - float(role["none"])))
    return max((float(p) for p in (sugg.get("mechanisms") or {}).values()), default=0.0)


def streak(codes_newest_first: Iterable[Mapping[str, Any]], mechanism: str | None = None) -> int:
    """Consecutive most recent decisions without evidence."""
    n = 0
    for code in codes_newest_first:
        if is_evidence(code, mechanism):
            break
        n += 1
    return n


def probabilities(suggestions: Mapping[int, Mapping[str, Any]], mechanism: str | None = None) -> dict[int, float]:
    """:func:`evidence_probability` of every suggestion (unit id -> probability)."""
    return {uid: evidence_probability(s, mechanism) for uid, s in suggestions.items()}


def figures(pool: Iterable[int], codes: Mapping[int, Mapping[str, Any]], probs_by_unit: Mapping[int, float],
            recent: list[Mapping[str, Any]], mechanism: str | None = None) -> dict[str, Any]:
    """The stop figures over the units of ``pool``, given each unit's probability of evidence
    (:func:`probabilities`; units without one are unscored). See the module docstring."""
    pool = list(pool)
    coded = [u for u in pool if u in codes]
    found = sum(is_evidence(codes[u], mechanism) for u in coded)
    uncoded = [u for u in pool if u not in codes]
    probs = [probs_by_unit[u] for u in uncoded if u in probs_by_unit]
    unscored = len(uncoded) - len(probs)
    if uncoded and not probs:
        remaining = recall = None  # no estimate before the model has scored anything
    else:
        remaining = sum(probs) + (unscored * sum(probs) / len(probs) if probs else 0.0)
        total = found + remaining
        recall = found / total if total > 0 else 1.0
    run = streak(recent, mechanism)
    out = {"scope_units": len(pool), "coded": len(coded), "uncoded": len(uncoded), "found": found,
           "remaining": round(remaining, 1) if remaining is not None else None, "unscored": unscored,
           "recall": round(recall, 3) if recall is not None else None, "streak": run,
           "rule": {"recall": STOP_RECALL, "streak": STOP_STREAK}}
    out.update(hint(out))
    return out


def hint(f: Mapping[str, Any]) -> dict[str, Any]:
    """``stop`` (bool) and a one-line ``hint`` following the stopping rule."""
    if f["uncoded"] == 0:
        return {"stop": True, "hint": "Everything in this queue is coded."}
    recall, run = f["recall"], f["streak"]
    if f["remaining"] is None:
        return {"stop": False, "hint": "No estimate yet: the model has not scored the uncoded units."}
    need = min(STOP_STREAK, f["uncoded"] + run)  # a short queue cannot show a long streak
    if recall is not None and recall >= STOP_RECALL and run >= need:
        return {"stop": True, "hint": f"Reasonable to stop: about {100 * recall:.0f}% of the evidence is found "
                                      f"(~{f['remaining']:.0f} units estimated left) and the last {run} "
                                      "decisions found none."}
    left = f"~{f['remaining']:.0f} evidence units estimated to remain"
    if recall is not None and recall >= STOP_RECALL:
        return {"stop": False, "hint": f"Nearly there: {left}; stop after {need} decisions in a row find none "
                                       f"({run} so far)."}
    return {"stop": False, "hint": f"Keep coding: {left}" + (f" (estimated recall {100 * recall:.0f}%)."
                                                            if recall is not None else ".")}


def review_figures(review, codes: Mapping[int, Mapping[str, Any]], probs: Mapping[int, float],
                   hidden: Mapping[int, str], reviewer: str | None = None, mechanism: str | None = None,
                   document_id: int | None = None, units: Iterable[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """:func:`figures` for a review: its codable units (of one paper; ``units``: the review's
    units when the caller has them), the reviewer's recent decisions."""
    con = review.connect()
    if units is None:
        units = unit_places(con, document_id)
    pool = [u["id"] for u in units if u["id"] not in hidden
            and (document_id is None or u["document_id"] == document_id)]
    recent = recent_codes(con, reviewer, document_id)
    return {"mechanism": mechanism, "paper": document_id, **figures(pool, codes, probs, recent, mechanism)}
