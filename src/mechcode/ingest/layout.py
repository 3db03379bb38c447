"""Reading order of the lines on a page, from their positions alone.

A recursive XY-cut: a region is first split at vertical gutters that run
through its whole height (columns, left to right); a region with no gutter
is split at its widest horizontal gap (top to bottom) and each part is cut
again.  Full-width titles, abstracts and figures/tables that span the columns
therefore come before or after the column blocks they separate, and the
order the PDF happens to draw its text in never matters.  Large images take
part in the cuts as obstacles so a full-width figure splits the columns too.
"""
from __future__ import annotations

from typing import Sequence

MIN_GUTTER = 4.0  # points: narrowest vertical gap accepted as a column gutter


def _x_cuts(items: Sequence) -> list[float]:
    """x positions of vertical gaps that run through the whole region."""
    spans = sorted((it.x0, it.x1) for it in items)
    cuts = []
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= MIN_GUTTER:
            cuts.append((reach + x0) / 2)
        reach = max(reach, x1)
    return cuts


def _widest_y_gap(items: Sequence) -> float | None:
    """y position of the widest horizontal gap through the region (None if none)."""
    spans = sorted((it.top, it.bottom) for it in items)
    best, best_gap = None, 0.0
    reach = spans[0][1]
    for top, bottom in spans[1:]:
        gap = top - reach
        if gap > best_gap:
            best, best_gap = (reach + top) / 2, gap
        reach = max(reach, bottom)
    return best


def xy_order(items: list) -> list:
    """Items (anything with x0, x1, top, bottom) in reading order."""
    out: list = []
    pending: list[list] = [items]  # explicit stack: a single column is cut line by line
    while pending:
        region = pending.pop()
        if len(region) <= 1:
            out.extend(region)
            continue
        parts = _split(region)
        if parts is None:
            out.extend(sorted(region, key=lambda it: (it.top, it.x0)))
            continue
        pending.extend(reversed(parts))
    return out


def _split(region: list) -> list[list] | None:
    """Split a region into ordered parts, or None when it cannot be cut."""
    cuts = _x_cuts(region)
    if cuts:
        parts: list[list] = [[] for _ in range(len(cuts) + 1)]
        for it in region:
            mid = (it.x0 + it.x1) / 2
            k = sum(1 for c in cuts if mid > c)
            parts[k].append(it)
        return [p for p in parts if p]
    y = _widest_y_gap(region)
    if y is None:
        return None
    above = [it for it in region if (it.top + it.bottom) / 2 < y]
    below = [it for it in region if (it.top + it.bottom) / 2 >= y]
    if not above or not below:
        return None
    return [above, below]
