"""Metrics of a simulated review: WSS@r, recall, macro-F1, suggestion acceptance, spreads.

Work saved over sampling (Cohen et al. 2006, the definition ASReview reports)::

    WSS@r = (TN + FN) / N - (1 - r)

at the first point of the reading order where a share ``r`` of the relevant units has been
read. TN + FN are the units *not yet read* at that point, so with ``k`` units read::

    WSS@r = (N - k) / N - (1 - r),   k = first position where found >= ceil(r * R)

``N`` = all units, ``R`` = relevant units (here: *evidence* units, with at least one gold
mechanism), positions are 1-based. Reading at random needs ``k ~ r * N`` on average, so random
order gives WSS ~ 0; a perfect order gives ``(N - ceil(r R)) / N - (1 - r)``, which is the
ceiling :func:`wss_max` (low when most units are relevant).

Macro-F1 of the suggestions is :func:`mechcode.models.evaluation.metrics.score` (how units count is
documented there); acceptance uses the codes the reviewer loop shows
(:func:`mechcode.loop.active.suggested_codes`).
"""
from __future__ import annotations

import math
import statistics
from typing import Any, Iterable, Mapping, Sequence


def _needed(recall: float, n_relevant: int) -> int:
    return max(1, math.ceil(recall * n_relevant - 1e-9))


def units_to_recall(relevant_in_order: Sequence[bool], recall: float,
                    n_relevant: int | None = None) -> int | None:
    """Units read (1-based position) when ``recall`` of the relevant units is first reached.

    ``n_relevant`` defaults to the relevant units in the order (give it when the order does
    not cover every unit). ``None`` when the order ends first or there is nothing relevant.
    """
    total = sum(bool(x) for x in relevant_in_order) if n_relevant is None else n_relevant
    if total <= 0:
        return None
    need, found = _needed(recall, total), 0
    for k, rel in enumerate(relevant_in_order, 1):
        found += bool(rel)
        if found >= need:
            return k
    return None


def wss(relevant_in_order: Sequence[bool], recall: float, n_total: int | None = None,
        n_relevant: int | None = None) -> float | None:
    """WSS@``recall`` of a reading order (see the module docstring); ``None`` if never reached."""
    n = len(relevant_in_order) if n_total is None else n_total
    k = units_to_recall(relevant_in_order, recall, n_relevant)
    if k is None or n <= 0:
        return None
    return (n - k) / n - (1.0 - recall)


def wss_max(n_total: int, n_relevant: int, recall: float) -> float | None:
    """The best possible WSS@``recall``: every relevant unit read first."""
    if n_total <= 0 or n_relevant <= 0:
        return None
    return (n_total - _needed(recall, n_relevant)) / n_total - (1.0 - recall)


def recall_curve(relevant_in_order: Sequence[bool], n_relevant: int | None = None) -> list[float]:
    """Share of relevant units found after reading 1, 2, ... units."""
    total = sum(bool(x) for x in relevant_in_order) if n_relevant is None else n_relevant
    out, found = [], 0
    for rel in relevant_in_order:
        found += bool(rel)
        out.append(found / total if total else 0.0)
    return out


def acceptance(suggested: Mapping[str, Any], gold_mechanisms: Iterable[str],
               gold_role: str | None) -> tuple[bool, float]:
    """Would the reviewer accept the suggestion as is?  ``(exact, partial)``.

    ``suggested`` has ``mechanisms`` (the codes at or above 0.5) and ``role`` (the argmax).
    *Exact*: the mechanism set equals the gold set and the role equals the gold role (the role
    is not compared when the gold role is unknown). *Partial*: the mean of the Jaccard overlap of
    the mechanism sets (1 when both are empty) and, when the gold role is known, role agreement.
    """
    s, g = set(suggested.get("mechanisms") or ()), set(gold_mechanisms)
    jaccard = len(s & g) / len(s | g) if s | g else 1.0
    parts = [jaccard]
    exact = s == g
    if gold_role is not None:
        ok = suggested.get("role") == gold_role
        parts.append(1.0 if ok else 0.0)
        exact = exact and ok
    return exact, sum(parts) / len(parts)


def first_reaching(points: Iterable[tuple[int, float | None]], target: float) -> int | None:
    """The first x of ``(x, value)`` points whose value is at least ``target``."""
    for x, v in points:
        if v is not None and v >= target:
            return x
    return None


def spread(values: Iterable[float | None]) -> dict[str, float | int | None]:
    """Mean, standard deviation (sample), min and max of the non-missing values; ``n`` counted."""
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {"mean": statistics.fmean(vals), "std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
            "min": min(vals), "max": max(vals), "n": len(vals)}
