"""Table detection from geometry: rows of several short, side-by-side cells.

Lines are first grouped into rows (vertical overlap).  Within a row, short
lines that sit close to each other horizontally form a cluster; a cluster of
two or more is a table row and its lines are tagged ``cell``.  The tag then
spreads to short lines stacked directly above or below a cell with the same
font size (row labels, wrapped cells, column heads).
"""
from __future__ import annotations

from mechcode.ingest.lines import Line

NARROW = 0.45  # a cell is narrower than this fraction of the text column width
NEAR = 0.22  # cells of one row are closer than this fraction of the page width


def _rows(lines: list[Line]) -> list[list[Line]]:
    rows: list[list[Line]] = []
    bottom = None
    for ln in sorted(lines, key=lambda l: (l.top + l.bottom) / 2):
        mid = (ln.top + ln.bottom) / 2
        if rows and mid <= bottom:
            rows[-1].append(ln)
            bottom = max(bottom, min(ln.bottom, mid + ln.height))
        else:
            rows.append([ln])
            bottom = ln.bottom
    return rows


def mark_tables(lines: list[Line], col_width: float, page_width: float) -> None:
    """Tag table cells of one page in place (``"cell" in line.tags``)."""
    narrow = [ln for ln in lines if ln.width < NARROW * col_width and not ln.kind]
    if len(narrow) < 4:
        return
    for row in _rows(narrow):
        if len(row) < 2:
            continue
        row.sort(key=lambda l: l.x0)
        cluster = [row[0]]
        for ln in row[1:]:
            if ln.x0 - cluster[-1].x1 < NEAR * page_width and abs(ln.size - cluster[-1].size) < 1.5:
                cluster.append(ln)
                continue
            _tag(cluster)
            cluster = [ln]
        _tag(cluster)
    _spread(narrow)


def _tag(cluster: list[Line]) -> None:
    if len(cluster) >= 2:
        for ln in cluster:
            ln.tags.add("cell")


def _spread(narrow: list[Line]) -> None:
    """Extend the cell tag to short lines stacked on cells (same size)."""
    by_top = sorted(narrow, key=lambda l: l.top)
    for _ in range(3):
        changed = False
        for i, ln in enumerate(by_top):
            if "cell" in ln.tags:
                continue
            for other in by_top[max(0, i - 6):i + 7]:
                if "cell" not in other.tags or abs(other.size - ln.size) > 0.3:
                    continue
                vgap = max(other.top - ln.bottom, ln.top - other.bottom)
                overlap = min(ln.x1, other.x1) - max(ln.x0, other.x0)
                if vgap < 1.6 * ln.size and overlap > 0:
                    ln.tags.add("cell")
                    changed = True
                    break
        if not changed:
            return


def mark_figure_text(lines: list[Line], images: list, page_area: float) -> None:
    """Tag text drawn on a picture (axis labels, panel letters) with ``figure``.

    A line inside a picture's box is figure text; so is a short label just
    outside it (tick values and panel letters sit beside the plot).  Pictures
    covering most of the page (backgrounds, scanned pages) are ignored, and so
    is text clearly larger than its surroundings (a title on a banner).
    """
    pics = [b for b in images if 0 < (b.x1 - b.x0) * (b.bottom - b.top) < 0.6 * page_area
            and (b.x1 - b.x0) > 40 and (b.bottom - b.top) > 40]
    if not pics:
        return
    for ln in lines:
        if ln.kind or ln.size > 14:
            continue
        label = len(ln.text) <= 30 and len(ln.text.split()) <= 4 and not ln.text.endswith(".")
        pad = 3.0 * ln.size if label else 2.0
        for b in pics:
            if (ln.x0 >= b.x0 - pad and ln.x1 <= b.x1 + pad
                    and ln.top >= b.top - pad and ln.bottom <= b.bottom + pad):
                ln.tags.add("figure")
                break


def mark_boxed_text(lines: list[Line], boxes: list, page_area: float) -> None:
    """Tag text inside a drawn frame or panel (a key-points box, a sidebar) with ``box``.

    A frame counts when it holds at least two lines of text but not most of
    the page's text (a page border or a full-page background is no box).
    """
    free = [ln for ln in lines if not ln.kind]
    for b in boxes:
        if (b.x1 - b.x0) * (b.bottom - b.top) > 0.6 * page_area:
            continue
        inside = [ln for ln in free if ln.x0 >= b.x0 - 1 and ln.x1 <= b.x1 + 1
                  and ln.top >= b.top - 1 and ln.bottom <= b.bottom + 1]
        if 2 <= len(inside) <= 0.6 * len(free):
            for ln in inside:
                ln.tags.add("box")
