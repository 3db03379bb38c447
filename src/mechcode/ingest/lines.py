"""Characters to text lines.

Chars are grouped geometrically, not by the order in which the PDF happens to
draw them: a char joins a line when it overlaps the line vertically and sits
just to the right of the line's last char.  A gap wider than ``MAX_GAP`` font
sizes ends the line, so the two halves of a two-column page (and table cells)
become separate lines.  Inside a line a word break is a space glyph or a gap
wider than ``WORD_GAP`` font sizes, so words are never glued together.
"""
from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter

from mechcode.ingest.pdf import Char
from mechcode.ingest.text import clean_text

MAX_GAP = 1.0  # in font sizes: wider gaps end the line (column gutters, table cells)
WORD_GAP = 0.13  # in font sizes: wider gaps are word breaks
MIN_OVERLAP = 0.35  # vertical overlap (fraction of the smaller height) to join a line

BOLD_MARKS = ("bold", "black", "heavy", "semibold", "medi", "demi", ".b")
ITALIC_MARKS = ("italic", "ital", "oblique", ".i")


def normalise(text: str) -> str:
    """Plain characters for ligatures, odd spaces, surrogates, symbol glyphs (see ingest.text)."""
    return clean_text(text)


@lru_cache(maxsize=4096)
def is_bold(font: str) -> bool:
    f = font.lower().split("+")[-1]
    return any(m in f for m in BOLD_MARKS)


MATH_FONT = re.compile(r"(math|cmmi|cmsy|cmex|msbm|msam|mt2m|mt2sy|mtmi|mtsy|symbol|euex|eufm|"
                       r"rsfs|stixmath|cambria math)", re.I)


@lru_cache(maxsize=4096)
def is_math(font: str) -> bool:
    return bool(MATH_FONT.search(font))


@lru_cache(maxsize=4096)
def is_italic(font: str) -> bool:
    f = font.lower().split("+")[-1]
    return any(m in f for m in ITALIC_MARKS)


@dataclass
class Line:
    """A run of chars on one baseline, with its text and font statistics."""

    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    text: str
    size: float  # dominant font size
    font: str  # dominant font name
    purity: float  # share of chars in the dominant font
    bold: bool
    italic: bool
    n_chars: int
    kind: str = ""  # filled in by classification
    tags: set = field(default_factory=set)

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def width(self) -> float:
        return self.x1 - self.x0


class _Open:
    """A line under construction."""

    __slots__ = ("chars", "top", "bottom", "size", "last_x1", "key", "run")

    def __init__(self, c: Char):
        self.chars = [c]
        self.top, self.bottom, self.size = c.top, c.bottom, c.size
        self.last_x1 = c.x1
        self.key = (c.top + c.bottom) / 2
        self.run = (c.top, c.bottom, c.size, c.font)  # the text run of the last glyph


_X0 = itemgetter(1)  # Char.x0


def group_lines(chars: list[Char], page: int) -> list[Line]:
    """Group a page's upright chars into lines (see module docstring)."""
    chars = sorted((c for c in chars if c.upright and c.bottom > c.top and c.text),
                   key=_X0)
    keys: list[float] = []
    opened: list[_Open] = []
    done: list[_Open] = []
    for c in chars:
        if c.text.isspace() and not keys:
            continue
        h = c.bottom - c.top
        mid = (c.top + c.bottom) / 2
        lo = bisect.bisect_left(keys, mid - 1.5 * h)
        hi = bisect.bisect_right(keys, mid + 1.5 * h)
        best, best_score, stale = None, (False, MIN_OVERLAP), None
        x0, top, bottom, size = c.x0, c.top, c.bottom, c.size
        for i in range(lo, hi):
            ln = opened[i]
            gap = x0 - ln.last_x1
            if gap > MAX_GAP * (ln.size if ln.size > size else size):
                stale = [i] if stale is None else stale + [i]
                continue
            if gap > 0.4 * min(ln.size, size) and abs(ln.size - size) > 0.25 * max(ln.size, size):
                continue  # a much bigger or smaller run after a gap: another line (a margin note)
            lb, lt = ln.bottom, ln.top
            ov = (lb if lb < bottom else bottom) - (lt if lt > top else top)
            hh = lb - lt if lb - lt < h else h
            if hh > 0 and ov > MIN_OVERLAP * hh:
                # two runs overlapping vertically: a glyph stays with its own run
                # (same baseline, size and font) before the larger overlap counts
                rt, rb, rs, rf = ln.run
                same = abs(rb - bottom) < 0.05 * size and rs == size and rf == c.font
                if not same and abs(rs - size) < 0.3 and abs(rb - bottom) > 0.15 * size \
                        and abs((rb - rt) - h) < 0.1 * size and not is_math(c.font):
                    continue  # same size, shifted: another line drawn across this one
                score = (same, ov / hh)
                if score > best_score:
                    best, best_score = ln, score
        if stale:
            for i in reversed(stale):
                done.append(opened.pop(i))
                keys.pop(i)
        if best is None:
            if c.text.isspace():
                continue
            ln = _Open(c)
            j = bisect.bisect(keys, ln.key)
            keys.insert(j, ln.key)
            opened.insert(j, ln)
            continue
        prev = best.chars[-1]
        if c.x0 - prev.x0 < 0.3 * (prev.x1 - prev.x0) and c.text == prev.text \
                and abs(c.top - prev.top) < 0.3 * size:
            continue  # fake bold: the same glyph drawn twice
        best.chars.append(c)
        if c.text != " ":
            best.run = (top, bottom, size, c.font)
            if c.x1 > best.last_x1:
                best.last_x1 = c.x1
            if size > best.size + 0.5:
                _rekey(best, c, keys, opened)
    done.extend(opened)
    lines = [_finish(o, page) for o in done]
    return merge_row_segments([ln for ln in lines if ln is not None])


def _rekey(ln: _Open, c: Char, keys: list[float], opened: list[_Open]) -> None:
    """A bigger char becomes the line's vertical reference (drop caps, mixed sizes)."""
    i = opened.index(ln)
    opened.pop(i)
    keys.pop(i)
    ln.top, ln.bottom, ln.size = c.top, c.bottom, c.size
    ln.key = (c.top + c.bottom) / 2
    j = bisect.bisect(keys, ln.key)
    keys.insert(j, ln.key)
    opened.insert(j, ln)


def _script_change(a: Char, b: Char) -> bool:
    """A step into or out of a superscript/subscript (smaller and shifted)."""
    big = max(a.size, b.size)
    return (abs(a.size - b.size) > 0.15 * big
            and abs(a.bottom - b.bottom) > 0.12 * big and (a.text + b.text).isalnum())


def _finish(o: _Open, page: int) -> Line | None:
    """Turn an open line into a :class:`Line` with words split by gaps."""
    chars = [c for c in o.chars]
    while chars and chars[-1].text.isspace():
        chars.pop()
    if not chars:
        return None
    parts: list[str] = []
    prev = None
    for c in chars:
        if c.text.isspace():
            if parts and parts[-1] != " ":
                parts.append(" ")
            continue
        if prev is not None and parts and parts[-1] != " ":
            gap = c.x0 - prev.x1
            if gap > WORD_GAP * min(c.size, prev.size) or (
                    c.size != prev.size and _script_change(prev, c)):
                parts.append(" ")
        parts.append(c.text)
        prev = c
    text = normalise("".join(parts)).strip()
    if not text:
        return None
    ink = [c for c in chars if not c.text.isspace()]
    styles = Counter((c.font, c.size) for c in ink)
    fonts: Counter = Counter()
    sizes: Counter = Counter()
    for (f, sz), k in styles.items():
        fonts[f] += k
        sizes[round(sz, 1)] += k
    font = fonts.most_common(1)[0][0]
    n = len(ink)
    n_bold = sum(k for f, k in fonts.items() if is_bold(f))
    n_ital = sum(k for f, k in fonts.items() if is_italic(f))
    n_math = sum(k for f, k in fonts.items() if is_math(f))
    line = Line(page=page, x0=min(c.x0 for c in ink), x1=max(c.x1 for c in ink),
                top=o.top, bottom=o.bottom, text=text, size=sizes.most_common(1)[0][0],
                font=font, purity=fonts[font] / n, bold=n_bold > 0.85 * n,
                italic=n_ital > 0.85 * n, n_chars=n)
    if n_math > 0.3 * n:
        line.tags.add("math")
    line.tags.update(f"sup:{m}" for m in _superscripts(ink, line.size))
    return line


def _superscripts(ink: list[Char], size: float) -> set[str]:
    """Footnote or citation marks set small and raised ("…teams¹", "…†")."""
    base = sorted(c.bottom for c in ink if abs(c.size - size) < 0.3)
    if not base or all(c.size >= 0.85 * size for c in ink):
        return set()
    low = base[len(base) // 2] - 0.15 * size
    runs, cur = [], ""
    for c in ink:
        if c.size < 0.85 * size and c.bottom < low:
            cur += c.text
        elif cur:
            runs.append(cur)
            cur = ""
    runs.append(cur)
    return {m for run in runs for m in re.split(r"[,\u2013\-\s]+", run)
            if re.fullmatch(r"\d{1,2}|[*\u2020\u2021\u00a7\u00b6]", m)}


LABEL = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.|[IVX]+\.|[\u2022\u25cf\u25aa\u2013\u2014*\-])$")


ENUM_LABEL = re.compile(r"^(\[\d{1,3}\]|\d{1,3}\.)$")  # "[12]" or "12." before a reference


def merge_row_segments(lines: list[Line]) -> list[Line]:
    """Join a section number or run-in heading to the text on its right.

    Line grouping stops at gaps wider than ``MAX_GAP`` so columns stay apart;
    a number ("2.1"), a bullet or a bold run-in heading followed by a wider
    gap is re-joined to its right neighbour on the same row, unless that
    neighbour starts at a column edge shared by the lines just above or below
    it (a gutter).
    """
    out: list[Line] = []
    for row in _rows(lines):
        row.sort(key=lambda l: l.x0)
        for run in _near_runs(row):
            if len(run) > 1 and _justified(run, lines):
                joined = run[0]
                for ln in run[1:]:
                    joined = _join(joined, ln)
                out.append(joined)
                continue
            merged = [run[0]]
            for ln in run[1:]:
                if _joinable(merged[-1], ln, lines):
                    merged[-1] = _join(merged[-1], ln)
                else:
                    merged.append(ln)
            out.extend(merged)
    return out


def _near_runs(row: list[Line]) -> list[list[Line]]:
    """Split a row (sorted by x) where the gap is too wide for a space (columns, margins)."""
    runs = [[row[0]]]
    for ln in row[1:]:
        p = runs[-1][-1]
        if ln.x0 - p.x1 < 2.5 * max(p.size, ln.size):
            runs[-1].append(ln)
        else:
            runs.append([ln])
    return runs


def _rows(lines: list[Line]) -> list[list[Line]]:
    """Lines grouped by vertical overlap (one group per visual row)."""
    rows: list[list[Line]] = []
    bottom = -1e9
    for ln in sorted(lines, key=lambda l: (l.top + l.bottom) / 2):
        mid = (ln.top + ln.bottom) / 2
        if rows and mid < bottom:
            rows[-1].append(ln)
        else:
            rows.append([ln])
            bottom = ln.bottom
    return rows


def _column_edge(b: Line, lines: list[Line]) -> bool:
    """Two or more lines just above/below ``b`` start where it starts."""
    near = 2.0 * b.size
    n = sum(1 for o in lines if o is not b and abs(o.x0 - b.x0) < 1.5
            and -near < o.top - b.top < near)
    return n >= 2


def _joinable(a: Line, b: Line, lines: list[Line]) -> bool:
    overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
    if overlap < 0.6 * min(a.height, b.height) or abs(a.size - b.size) > 0.6:
        return False
    gap = b.x0 - a.x1
    if not 0 <= gap < 2.5 * a.size:
        return False
    if not (LABEL.match(a.text) or (a.bold and not b.bold and a.text.endswith((".", ":")))):
        return False
    return bool(ENUM_LABEL.match(a.text)) or not _column_edge(b, lines)


def _justified(row: list[Line], lines: list[Line]) -> bool:
    """The segments of ``row`` are one justified line cut at wide spaces.

    A neighbouring line (just above or below, same size) starts where the row
    starts and ends where it ends, so it spans every gap; no segment ends at
    a column edge shared with its neighbours and none starts at one: the
    columns of a page stay apart.
    """
    a, z = row[0], row[-1]
    size = a.size
    text = " ".join(ln.text for ln in row)
    if len(text.split()) < 3 or sum(ch.isalpha() for ch in text) < 0.6 * len(text):
        return False
    for p, n in zip(row, row[1:]):
        overlap = min(p.bottom, n.bottom) - max(p.top, n.top)
        if abs(n.size - size) > 0.6 or overlap < 0.6 * min(p.height, n.height) \
                or not 0 <= n.x0 - p.x1 < 2.5 * size:
            return False
    mid = (a.top + a.bottom) / 2
    spanned = False
    for o in lines:
        if o in row or abs(o.size - size) > 0.6 \
                or not 0.5 * size < abs((o.top + o.bottom) / 2 - mid) < 4 * size:
            continue
        if any(abs(o.x1 - p.x1) < 1.5 and o.x0 < p.x1 for p in row[:-1]):
            return False  # a segment ends where a column ends: a gutter follows
        spanned = spanned or (abs(o.x0 - a.x0) < 2 * size and abs(o.x1 - z.x1) < size)
    return spanned and not any(_column_edge(n, lines) for n in row[1:])


def _join(a: Line, b: Line) -> Line:
    n = a.n_chars + b.n_chars
    main = a if a.n_chars >= b.n_chars else b
    return Line(page=a.page, x0=a.x0, x1=b.x1, top=min(a.top, b.top), bottom=max(a.bottom, b.bottom),
                text=a.text + " " + b.text, size=main.size, font=main.font,
                purity=(a.purity * a.n_chars + b.purity * b.n_chars) / n if a.font == b.font
                else main.n_chars / n, bold=a.bold and b.bold, italic=a.italic and b.italic,
                n_chars=n, tags=a.tags | b.tags)
