"""Double coding: assignments, blind visibility, final codes and the units the model trains on.

A share of papers (or units) is assigned to two reviewers who code it
independently. Until such a unit is *final* it is **blind**: neither coder
sees the other's code (:func:`visible_codes`), and the model never trains on
one side of it (:func:`training_units`), so a suggestion cannot leak the other
coder's decision either. A double-coded unit is final when

- an adjudication was recorded (action ``adjudicate``; it outranks the coders), or
- both assigned reviewers coded it and their codes agree (same mechanisms,
  role and polarity; a reject counts as "no mechanism, role none").

When both coded it and they disagree it waits in the adjudication queue
(:func:`mechcode.team.adjudicate.disagreements`). Single-coded units are
shared as before: everyone sees their current code.

All codes here are in the current codebook's ids (carried through codebook
revisions by :mod:`mechcode.store.revisions`); a code that waits for
re-coding after a split is not final training material.
"""
from __future__ import annotations

import itertools
import math
import random
from collections import Counter, defaultdict
from typing import Any, Iterable

from mechcode.errors import StoreError
from mechcode.store.db import now
from mechcode.store.decisions import _code, labelled_units
from mechcode.store.revisions import migrate_codes

BY = ("paper", "unit")
STATES = ("open", "disagree", "agreed", "adjudicated")  # double-coded unit states

_ASSIGNED_SQL = ("SELECT unit_id AS uid, reviewer, id FROM assignments WHERE unit_id IS NOT NULL"
                 " UNION ALL SELECT u.id AS uid, a.reviewer, a.id FROM assignments a"
                 " JOIN units u ON u.document_id = a.document_id ORDER BY id")


# ----------------------------------------------------------------------------- assigning
def assignments(review) -> dict[int, tuple[str, ...]]:
    """unit id -> the reviewers assigned to code it independently (two for a double-coded unit)."""
    out: dict[int, list[str]] = defaultdict(list)
    for r in review.connect().execute(_ASSIGNED_SQL):
        if r["reviewer"] not in out[r["uid"]]:
            out[r["uid"]].append(r["reviewer"])
    return {uid: tuple(rs) for uid, rs in out.items() if len(rs) >= 2}


def _pairs(names: list[str], rng: random.Random) -> Iterable[tuple[str, str]]:
    """Every pair of reviewers, in a seeded order, repeated forever (balanced load)."""
    pairs = list(itertools.combinations(names, 2))
    rng.shuffle(pairs)
    return itertools.cycle(pairs)


def _candidates(con, by: str) -> tuple[list[int], set[int]]:
    """(every paper or unit id, those already double-coded)."""
    if by == "paper":
        every = [r[0] for r in con.execute("SELECT id FROM documents ORDER BY id")]
        done = {r[0] for r in con.execute("SELECT DISTINCT document_id FROM assignments WHERE document_id IS NOT NULL"
                                          " UNION SELECT DISTINCT u.document_id FROM assignments a"
                                          " JOIN units u ON u.id = a.unit_id")}
    else:
        every = [r[0] for r in con.execute("SELECT id FROM units ORDER BY document_id, seq, id")]
        done = {r[0] for r in con.execute("SELECT DISTINCT unit_id FROM assignments WHERE unit_id IS NOT NULL"
                                          " UNION SELECT u.id FROM assignments a"
                                          " JOIN units u ON u.document_id = a.document_id")}
    return every, done


def assign(review, share: float, by: str = "paper", reviewers: Iterable[str] | None = None,
           seed: int = 0) -> dict[str, Any]:
    """Mark ``share`` of the papers (or units) for independent double coding.

    ``share`` is the target share of all papers/units: papers already
    double-coded count towards it, so running it again tops up instead of
    doubling. Pairs are drawn from ``reviewers`` (default: every registered
    reviewer) in a balanced round robin; ``seed`` makes the choice repeatable.
    """
    from mechcode.team.reviewers import reviewer_names

    if by not in BY:
        raise StoreError(f"--by must be one of {', '.join(BY)}, not {by!r}")
    if not 0 < share <= 1:
        raise StoreError(f"the double-coded share must be in (0, 1], got {share}")
    known = reviewer_names(review)
    names = list(dict.fromkeys(reviewers)) if reviewers else known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise StoreError(f"unknown reviewer(s) {', '.join(unknown)}; add them with 'mechcode reviewer add'")
    if len(names) < 2:
        raise StoreError("double coding needs at least two reviewers; add them with 'mechcode reviewer add'")
    rng = random.Random(seed)
    column = "document_id" if by == "paper" else "unit_id"
    with review.transaction() as con:
        every, done = _candidates(con, by)
        if not every:
            raise StoreError(f"the review has no {by}s to assign; ingest papers first")
        target = min(len(every), max(1, math.ceil(round(share * len(every), 6))))
        free = [i for i in every if i not in done]
        chosen = sorted(rng.sample(free, min(len(free), max(0, target - len(done)))))
        batch = con.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM assignments").fetchone()[0]
        stamp, pairs, load = now(), _pairs(names, rng), Counter()
        for item in chosen:
            pair = next(pairs)
            load["+".join(pair)] += 1
            con.executemany(f"INSERT INTO assignments ({column}, reviewer, batch, created_at) VALUES (?, ?, ?, ?)",
                            [(item, name, batch, stamp) for name in pair])
    return {"by": by, "share": share, "total": len(every), "double_coded": len(done) + len(chosen),
            "added": len(chosen), "pairs": dict(load), "reviewers": names, "seed": seed}


# ----------------------------------------------------------------------------- states
def current_codes_all(review) -> tuple[dict[int, dict[str, Any]], dict[str, dict[int, dict[str, Any]]]]:
    """``(codes, own)``: the same as ``current_codes()`` and ``{r: current_codes(r)}`` for every
    reviewer, in one pass over the log, carried to the current codebook. Treat as read-only:
    a code dict may appear in both."""
    con = review.connect()
    undone = {r[0] for r in con.execute("SELECT undoes FROM decisions WHERE action = 'undo'")}
    last: dict[int, Any] = {}
    adjudicated: dict[int, Any] = {}
    own: dict[str, dict[int, Any]] = {}
    own_adj: dict[str, dict[int, Any]] = {}
    for r in con.execute("SELECT id, unit_id, reviewer, action, mechanisms, role, polarity, note, created_at,"
                         " codebook_version FROM decisions"
                         " WHERE action IN ('accept', 'correct', 'reject', 'adjudicate') ORDER BY id"):
        if r["id"] in undone:
            continue
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
            made[row["id"]] = _code(row)
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


def blind_units(review) -> set[int]:
    """Double-coded units that are not final yet (their codings stay private)."""
    return {uid for uid, st in double_states(review).items() if st["final"] is None}


def is_blind(review, unit_id: int) -> bool:
    """True while ``unit_id`` is double-coded and not final: show no other reviewer's code for it."""
    if int(unit_id) not in assignments(review):
        return False
    return int(unit_id) in blind_units(review)


def visible_codes(review, reviewer: str) -> dict[int, dict[str, Any]]:
    """Current codes ``reviewer`` may see, each with ``visibility``:

    ``shared`` (a single-coded unit: whoever coded it), ``final`` (an agreed or
    adjudicated double-coded unit) or ``own`` (a blind unit the reviewer coded).
    Blind units the reviewer has not coded are absent.
    """
    codes, own = current_codes_all(review)
    states = double_states(review, codes, own)
    mine = own.get(reviewer, {})
    out = {uid: {**c, "visibility": "shared"} for uid, c in codes.items() if uid not in states}
    for uid, st in states.items():
        if st["final"] is not None:
            out[uid] = {**st["final"], "visibility": "final"}
        elif uid in mine:
            out[uid] = {**mine[uid], "visibility": "own"}
    return dict(sorted(out.items()))


def training_units(review) -> list[dict[str, Any]]:
    """What the model trains on, in the ``units.jsonl`` shape: final codes only.

    Single-coded units, agreed or adjudicated double-coded units, in the
    current codebook's ids; never one side of an unresolved double-coded unit,
    and never a code waiting for re-coding after a split.
    """
    codes = {uid: c for uid, c in final_codes(review).items() if not c.get("pending")}
    return labelled_units(review.connect(), codes)


def progress(review) -> dict[str, Any]:
    """Counts of double-coded units by state (for status lines)."""
    states = double_states(review)
    return {"double_coded": len(states), **{s: sum(st["state"] == s for st in states.values()) for s in STATES}}
