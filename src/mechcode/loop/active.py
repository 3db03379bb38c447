"""Active-learning helpers: how unsure a suggestion is, what it suggests, what to code next.

Everything here is pure (no store, no model), so the selection rules are easy to test.
A *suggestion* is a predict-contract dict: ``{"mechanisms": {id: p}, "role": {role: p},
"polarity": {"+": p, "-": p}, ...}``.
"""
from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from mechcode.models.backends.prior import THRESHOLD as MECHANISM_THRESHOLD  # a mechanism is suggested at this
COVERAGE_FLOOR = 0.05  # a coverage pick must have at least this probability for its mechanism


def _argmax(probs: Mapping[str, float] | None) -> str | None:
    if not probs:
        return None
    return max(sorted(probs), key=lambda k: float(probs[k]))


def suggested_codes(suggestion: Mapping[str, Any] | None, allowed: Iterable[str] | None = None,
                    threshold: float = MECHANISM_THRESHOLD) -> dict[str, Any]:
    """The codes a suggestion proposes: mechanisms at or above ``threshold`` (most likely first),
    the most likely role, and the most likely polarity unless the role is ``none``."""
    if not suggestion:
        return {"mechanisms": [], "role": None, "polarity": None}
    allowed_set = set(allowed) if allowed is not None else None
    mechs = [(m, float(p)) for m, p in (suggestion.get("mechanisms") or {}).items()
             if float(p) >= threshold and (allowed_set is None or m in allowed_set)]
    mechs.sort(key=lambda mp: (-mp[1], mp[0]))
    role = _argmax(suggestion.get("role"))
    polarity = _argmax(suggestion.get("polarity")) if role not in (None, "none") else None
    return {"mechanisms": [m for m, _ in mechs], "role": role, "polarity": polarity}


def uncertainty(suggestion: Mapping[str, Any] | None) -> float:
    """How unsure the model is, in [0, 1] (1 = a coin toss).

    The largest of: each mechanism's closeness to the 0.5 decision boundary
    (``1 - |2p - 1|``) and the role's margin uncertainty (``1 - (p1 - p2)``).
    A unit with no suggestion counts as fully uncertain.
    """
    if not suggestion:
        return 1.0
    mech = max((1.0 - abs(2.0 * float(p) - 1.0) for p in (suggestion.get("mechanisms") or {}).values()),
               default=0.0)
    probs = sorted((float(p) for p in (suggestion.get("role") or {}).values()), reverse=True)
    role = 1.0 - (probs[0] - (probs[1] if len(probs) > 1 else 0.0)) if probs else 0.0
    return max(mech, role)


@dataclass
class Pick:
    """One unit chosen for the queue and why (shown to the reviewer)."""

    unit_id: int
    reason: str  # "uncertain" | "random" | "coverage:<mechanism id>" | "paper" | "mechanism"
    score: float = 0.0


def _coverage_picks(candidates: list[int], suggestions: Mapping[int, Mapping[str, Any]],
                    labelled_counts: Mapping[str, int], mechanisms: list[str], min_examples: int,
                    slots: int) -> list[Pick]:
    """For each mechanism with fewer than ``min_examples`` labels (rarest first), the candidate
    the model thinks most likely shows it."""
    rare = sorted((m for m in mechanisms if labelled_counts.get(m, 0) < min_examples),
                  key=lambda m: (labelled_counts.get(m, 0), mechanisms.index(m)))
    picks: list[Pick] = []
    taken: set[int] = set()
    for mech in rare:
        if len(picks) >= slots:
            break
        best, best_p = None, COVERAGE_FLOOR
        for uid in candidates:
            p = float(((suggestions.get(uid) or {}).get("mechanisms") or {}).get(mech, 0.0))
            if uid not in taken and p >= best_p and (best is None or p > best_p):
                best, best_p = uid, p
        if best is not None:
            taken.add(best)
            picks.append(Pick(best, f"coverage:{mech}", best_p))
    return picks


def select_uncertain(candidates: Iterable[int], suggestions: Mapping[int, Mapping[str, Any]],
                     limit: int, *, labelled_counts: Mapping[str, int] | None = None,
                     mechanisms: Iterable[str] = (), random_share: float = 0.1,
                     min_examples: int = 5, seed: int = 0,
                     scores: Mapping[int, float] | None = None) -> list[Pick]:
    """Choose ``limit`` units to code next.

    - about ``random_share`` of the slots are drawn uniformly at random (so the model also
      sees typical units, not only borderline ones);
    - up to a third of the slots go to mechanisms with fewer than ``min_examples`` labels
      (coverage rule: the most likely unit for each rare mechanism, rarest first);
    - the rest are the least confident units (highest :func:`uncertainty`) first.

    ``scores`` may give precomputed uncertainties per unit (the service caches them per model).
    """
    pool = sorted(set(candidates))
    if limit <= 0 or not pool:
        return []
    if scores is None:
        scores = {u: uncertainty(suggestions.get(u)) for u in pool}
    rng = random.Random(seed)
    n_random = min(len(pool), int(limit * random_share + 0.5)) if random_share > 0 else 0
    cover = _coverage_picks(pool, suggestions, labelled_counts or {}, list(mechanisms), min_examples,
                            slots=max(0, min(limit - n_random, limit // 3)))
    used = {p.unit_id for p in cover}
    def score(u: int) -> float:
        s = scores.get(u)
        return uncertainty(suggestions.get(u)) if s is None else s

    n_uncertain = max(0, limit - n_random - len(cover))
    ranked = heapq.nsmallest(n_uncertain, (u for u in pool if u not in used), key=lambda u: (-score(u), u))
    top = [Pick(u, "uncertain", score(u)) for u in ranked]
    used.update(p.unit_id for p in top)
    rest = [u for u in pool if u not in used]
    rand = [Pick(u, "random", score(u)) for u in rng.sample(rest, min(len(rest), limit - len(top) - len(cover)))]
    # coverage picks interleaved early (every third slot), random ones at random positions
    out = list(top)
    for i, pick in enumerate(cover):
        out.insert(min(len(out), 3 * i + 1), pick)
    for pick in rand:
        out.insert(rng.randint(0, len(out)), pick)
    return out[:limit]


def mechanism_counts(labelled: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many labelled units carry each mechanism."""
    counts: dict[str, int] = {}
    for row in labelled:
        for m in row.get("mechanisms") or []:
            counts[m] = counts.get(m, 0) + 1
    return counts
