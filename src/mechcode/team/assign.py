"""Double coding: assignments and blind visibility.

A share of papers (or units) is assigned to two reviewers who code it
independently. Until such a unit is *final* it is **blind**: neither coder
sees the other's code (:func:`visible_codes`), and the model never trains on
one side of it (:func:`mechcode.store.finals.training_units`), so a suggestion
cannot leak the other coder's decision either. When a double-coded unit is final
(agreed or adjudicated) is decided in :mod:`mechcode.store.finals`, which this
module reads.

When both coded it and they disagree it waits in the adjudication queue
(:func:`mechcode.team.adjudicate.disagreements`). Single-coded units are
shared as before: everyone sees their current code.
"""
from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from typing import Any, Iterable

from mechcode.errors import StoreError
from mechcode.store import assignments as table
from mechcode.store.assignments import BY, assignments
from mechcode.store.finals import STATES, current_codes_all, double_states
from mechcode.team.reviewers import reviewer_names


# ----------------------------------------------------------------------------- assigning
def _pairs(names: list[str], rng: random.Random) -> Iterable[tuple[str, str]]:
    """Every pair of reviewers, in a seeded order, repeated forever (balanced load)."""
    pairs = list(itertools.combinations(names, 2))
    rng.shuffle(pairs)
    return itertools.cycle(pairs)


def assign(review, share: float, by: str = "paper", reviewers: Iterable[str] | None = None,
           seed: int = 0) -> dict[str, Any]:
    """Mark ``share`` of the papers (or units) for independent double coding.

    ``share`` is the target share of all papers/units: papers already
    double-coded count towards it, so running it again tops up instead of
    doubling. Pairs are drawn from ``reviewers`` (default: every registered
    reviewer) in a balanced round robin; ``seed`` makes the choice repeatable.
    """
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
    with review.transaction() as con:
        every, done = table.candidates(con, by)
        if not every:
            raise StoreError(f"the review has no {by}s to assign; ingest papers first")
        target = min(len(every), max(1, math.ceil(round(share * len(every), 6))))
        free = [i for i in every if i not in done]
        chosen = sorted(rng.sample(free, min(len(free), max(0, target - len(done)))))
        pairs = _pairs(names, rng)
        plan = [(item, next(pairs)) for item in chosen]
        table.add(con, by, plan)
    load = Counter("+".join(pair) for _, pair in plan)
    return {"by": by, "share": share, "total": len(every), "double_coded": len(done) + len(chosen),
            "added": len(chosen), "pairs": dict(load), "reviewers": names, "seed": seed}


# ----------------------------------------------------------------------------- visibility
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


def progress(review) -> dict[str, Any]:
    """Counts of double-coded units by state (for status lines)."""
    states = double_states(review)
    return {"double_coded": len(states), **{s: sum(st["state"] == s for st in states.values()) for s in STATES}}
