"""Seed labels and query strategies for the simulated review.

Units are addressed by their position in the data file. Strategies pick the next batch from
the *pool* (units not coded yet) using the current model's suggestions:

- ``random``: a uniform random sample of the pool.
- ``uncertain``: least confident first, by :func:`mechcode.loop.active.uncertainty` (the
  largest of each mechanism's closeness to the 0.5 boundary, ``1 - |2p - 1|``, and the role's
  margin uncertainty ``1 - (p1 - p2)``), with a random share of about 10 % of each batch so
  the model also sees typical units. This is the reviewer loop's own ``uncertain`` queue
  without its coverage rule.
- ``coverage``: the loop's full rule (:func:`mechcode.loop.active.select_uncertain`): as
  ``uncertain``, but up to a third of each batch goes to mechanisms with fewer than
  ``MIN_EXAMPLES`` coded examples, rarest first, taking the pool unit with the highest
  probability for that mechanism.
- ``paper``: document order, as a reviewer reading the papers one after the other (units of
  the same document, then of the same group/paragraph, stay together; file order otherwise).

Every draw uses a seed derived from the run seed and the step, so a run is repeatable and a
resumed run makes the same choices as an uninterrupted one.
"""
from __future__ import annotations

import random
from typing import Any, Mapping, Sequence

from mechcode.errors import DataError
from mechcode.loop.active import select_uncertain
from mechcode.registry import Registry

RANDOM_SHARE = 0.1   # share of each uncertain/coverage batch drawn at random
MIN_EXAMPLES = 5     # coverage rule: mechanisms with fewer coded examples get slots


def check_strategies(names: Sequence[str]) -> list[str]:
    """Validate strategy names (:class:`DataError` names the unknown one)."""
    out = []
    for n in names:
        n = n.strip()
        if n not in STRATEGIES:
            raise DataError(f"unknown strategy {n!r}; expected one of {', '.join(STRATEGIES)}")
        if n not in out:
            out.append(n)
    if not out:
        raise DataError("no strategy given")
    return out


def step_seed(seed: int, step: int) -> int:
    """The random seed of one step of one run."""
    return seed * 1_000_003 + step


def _merge_rare(labels: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    return [lab if counts[lab] >= 2 else "(rare)" for lab in labels]


def seed_indices(rows: Sequence[Mapping[str, Any]], k: int, seed: int) -> list[int]:
    """``k`` seed units drawn at random, stratified when possible.

    First stratified on each unit's first gold mechanism (``(none)`` for non-evidence; classes
    with one unit pooled), else on evidence / non-evidence, else plain random.
    """
    from sklearn.model_selection import train_test_split

    n = len(rows)
    idx = list(range(n))
    if k >= n:
        return random.Random(seed).sample(idx, n)
    primary = [sorted(r.get("mechanisms") or ["(none)"])[0] for r in rows]
    evidence = ["yes" if r.get("mechanisms") else "no" for r in rows]
    for labels in (_merge_rare(primary), _merge_rare(evidence)):
        try:
            chosen, _ = train_test_split(idx, train_size=k, stratify=labels, random_state=seed)
            return [int(i) for i in chosen]
        except ValueError:
            continue
    return random.Random(seed).sample(idx, k)


def paper_rank(rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Reading position of every unit in ``paper`` order."""
    first_doc: dict[Any, int] = {}
    first_group: dict[Any, int] = {}
    keys = []
    for i, r in enumerate(rows):
        doc = r.get("document_id", r.get("document"))
        d = first_doc.setdefault(doc, i)
        g = first_group.setdefault((doc, r.get("group")), i)
        keys.append((d, g, i))
    order = sorted(range(len(rows)), key=lambda i: keys[i])
    rank = [0] * len(rows)
    for pos, i in enumerate(order):
        rank[i] = pos
    return rank


def _random(pool: list[int], suggestions, n: int, *, seed: int, **_) -> list[int]:
    return random.Random(seed).sample(pool, n)


def _paper(pool: list[int], suggestions, n: int, *, rank: Sequence[int] | None = None, **_) -> list[int]:
    if rank is None:
        raise ValueError("paper strategy needs the paper rank")
    return sorted(pool, key=lambda i: rank[i])[:n]


def _uncertain(pool: list[int], suggestions, n: int, *, seed: int, **_) -> list[int]:
    picks = select_uncertain(pool, suggestions, n, random_share=RANDOM_SHARE, seed=seed)
    return [int(p.unit_id) for p in picks]


def _coverage(pool: list[int], suggestions, n: int, *, seed: int, counts=None, mechanisms=(), **_) -> list[int]:
    picks = select_uncertain(pool, suggestions, n, labelled_counts=dict(counts or {}),
                             mechanisms=list(mechanisms), random_share=RANDOM_SHARE,
                             min_examples=MIN_EXAMPLES, seed=seed)
    return [int(p.unit_id) for p in picks]


STRATEGY_REGISTRY = Registry("strategy", {"random": _random, "uncertain": _uncertain,
                                          "coverage": _coverage, "paper": _paper}, error=DataError)
STRATEGIES = tuple(STRATEGY_REGISTRY)


def pick(strategy: str, pool: Sequence[int], suggestions: Mapping[int, Mapping[str, Any]], n: int, *,
         seed: int, counts: Mapping[str, int] | None = None, mechanisms: Sequence[str] = (),
         rank: Sequence[int] | None = None) -> list[int]:
    """The next ``n`` units to code from ``pool`` (positions), in reading order."""
    pool = sorted(pool)
    n = min(n, len(pool))
    if n <= 0:
        return []
    choose = STRATEGY_REGISTRY.load(strategy)
    return choose(pool, suggestions, n, seed=seed, counts=counts, mechanisms=mechanisms, rank=rank)
