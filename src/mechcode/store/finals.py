"""Which codes are final: double-coding states and the units the model trains on.

These read the ``assignments`` and ``decisions`` tables; the team layer
(:mod:`mechcode.team.assign`) creates assignments and decides what each reviewer
may see, the Review API (:meth:`~mechcode.store.review.Review.labelled_units`) and
the team layer both read final codes from here.

A double-coded unit is final when an adjudication was recorded (it outranks the
coders), or when both assigned reviewers coded it and their codes agree (same
mechanisms, role and polarity; a reject counts as "no mechanism, role none").
All codes are in the current codebook's ids (carried through codebook revisions
by :mod:`mechcode.store.revisions`); a code that waits for re-coding after a
split is not training material.
"""
from __future__ import annotations

from typing import Any

from mechcode.store.assignments import assignments
from mechcode.store.decisions import coding_events, labelled_units, row_code
from mechcode.store.revisions import migrate_codes

STATES = ("open", "disagree", "agreed", "adjudicated")  # double-coded unit states


def current_codes_all(review) -> tuple[dict[int, dict[str, Any]], dict[str, dict[int, dict[str, Any]]]]:
    """``(codes, own)``: the same as ``current_codes()`` and ``{r: current_codes(r)}`` for every
    reviewer, in one pass over the log, carried to the current codebook. Treat as read-only:
    a code dict may appear in both."""
    con = review.connect()
    last: dict[int, Any] = {}
    adjudicated: dict[int, Any] = {}
    own: dict[str, dict[int, Any]] = {}
    own_adj: dict[str, dict[int, Any]] = {}
    for r in coding_events(con):
        uid, name = r["unit_id"], r["reviewer"]
        last[uid] = r
        own.setdefault(name, {})[uid] = r
        if r["action"] == "adjudicate":
            adjudicated[uid] = r
            own_adj.setdefault(name, {})[uid] = r
    last.update(adjudicated)
    for name, rows in own_adj.items():
        own[name].update(rows)
    made: dict[int, dict[str, Any]] = {}

    def code(row: Any) -> dict[str, Any]:
        if row["id"] not in made:
            made[row["id"]] = row_code(row)
        return made[row["id"]]

    codes = {uid: code(r) for uid, r in sorted(last.items())}
    mine = {name: {uid: code(r) for uid, r in sorted(rows.items())} for name, rows in sorted(own.items())}
    migrate_codes(con, made)
    return codes, mine


def signature(code: dict[str, Any]) -> tuple:
    """What two codings must share to agree (a reject is 'no mechanism, role none')."""
    if code.get("action") == "reject":
        return (frozenset(), "none", None, frozenset())
    return (frozenset(code.get("mechanisms") or ()), code.get("role"), code.get("polarity"),
            frozenset(p["from"] for p in code.get("pending") or ()))


def double_states(review, codes: dict[int, dict[str, Any]] | None = None,
                  own: dict[str, dict[int, dict[str, Any]]] | None = None) -> dict[int, dict[str, Any]]:
    """Each double-coded unit: ``{reviewers, codings: {reviewer: code}, state, final}``.

    ``state`` is one of ``open`` (not coded by both yet), ``disagree``, ``agreed``,
    ``adjudicated``; ``final`` is the final code (None unless agreed/adjudicated).
    ``codes`` and ``own`` are :func:`current_codes_all`'s
    pair (computed here when not given).
    """
    double = assignments(review)
    if not double:
        return {}
    if codes is None or own is None:
        codes, own = current_codes_all(review)
    out = {}
    for uid, rs in double.items():
        codings = {r: own[r][uid] for r in rs if uid in own.get(r, {})}
        current = codes.get(uid)
        if current is not None and current["action"] == "adjudicate":
            state, final = "adjudicated", current
        elif len(codings) < len(rs):
            state, final = "open", None
        elif len({signature(c) for c in codings.values()}) == 1:
            state, final = "agreed", max(codings.values(), key=lambda c: c["decision_id"])
        else:
            state, final = "disagree", None
        out[uid] = {"reviewers": list(rs), "codings": codings, "state": state, "final": final}
    return out


def final_codes(review) -> dict[int, dict[str, Any]]:
    """unit id -> final code: single-coded units' current codes and resolved double-coded ones."""
    codes, own = current_codes_all(review)
    states = double_states(review, codes, own)
    out = {uid: c for uid, c in codes.items() if uid not in states}
    out.update({uid: st["final"] for uid, st in states.items() if st["final"] is not None})
    return dict(sorted(out.items()))


def training_units(review) -> list[dict[str, Any]]:
    """What the model trains on, in the ``units.jsonl`` shape: final codes only.

    Single-coded units, agreed or adjudicated double-coded units, in the
    current codebook's ids; never one side of an unresolved double-coded unit,
    and never a code waiting for re-coding after a split.
    """
    codes = {uid: c for uid, c in final_codes(review).items() if not c.get("pending")}
    return labelled_units(review.connect(), codes)
