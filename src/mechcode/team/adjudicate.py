"""Adjudication of double-coded units where the two reviewers disagree.

The queue (:func:`disagreements`) lists each such unit with both codings side
by side. The adjudicator's decision is an ordinary append-only decision with
action ``adjudicate``: it outranks the coders' codes, becomes the unit's final
code, and from then on the unit is no longer blind and is used for training.
"""
from __future__ import annotations

from typing import Any, Iterable

from mechcode.errors import StoreError
from mechcode.store.finals import double_states

CODE_KEYS = ("mechanisms", "role", "polarity", "action", "reviewer", "decision_id", "note", "created_at",
             "codebook_version", "recorded_mechanisms", "pending", "retired")


def _coding(code: dict[str, Any]) -> dict[str, Any]:
    return {k: code.get(k) for k in CODE_KEYS if k in code}


def disagreements(review, include_adjudicated: bool = False) -> list[dict[str, Any]]:
    """The adjudication queue: ``[{unit, unit_id, reviewers, codings: {reviewer: code}, state}]``.

    Units where both assigned reviewers coded and disagree, in reading order
    (with ``include_adjudicated``, also those already adjudicated, with the
    adjudication under ``final``).
    """
    wanted = ("disagree", "adjudicated") if include_adjudicated else ("disagree",)
    states = {uid: st for uid, st in double_states(review).items() if st["state"] in wanted}
    if not states:
        return []
    units = {uid: review.unit(uid) for uid in states}
    out = []
    for uid in sorted(states, key=lambda i: (units[i]["document_id"], units[i]["start"], i)):
        st = states[uid]
        item = {"unit_id": uid, "unit": units[uid], "reviewers": st["reviewers"], "state": st["state"],
                "codings": {r: _coding(st["codings"][r]) for r in st["reviewers"]}}
        if st["state"] == "adjudicated":
            item["final"] = _coding(st["final"])
        out.append(item)
    return out


def adjudicate(review, unit_id: int, adjudicator: str, mechanisms: Iterable[str] = (),
               role: str | None = None, polarity: str | None = None, note: str | None = None) -> int:
    """Record the final code of a disagreed double-coded unit; returns the decision id.

    StoreError for a unit that is not double-coded or not yet coded by both
    reviewers. An adjudicated unit may be adjudicated again (the newest counts).
    """
    st = double_states(review).get(int(unit_id))
    if st is None:
        raise StoreError(f"unit {unit_id} is not double-coded; record an ordinary decision instead")
    if st["state"] == "open":
        missing = [r for r in st["reviewers"] if r not in st["codings"]]
        raise StoreError(f"unit {unit_id} waits for {', '.join(missing)} to code it; adjudicate after both coded")
    return review.add_decision(int(unit_id), adjudicator, "adjudicate", list(mechanisms), role, polarity,
                               note=note)
