"""Paragraph building: classified lines to blocks (paragraphs, headings, captions ...).

Paragraph lines are grouped by gap, indent and line length, also across
column and page breaks; reference lists are split into one block per entry;
heading levels come from numbering or style rank.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from mechcode.ingest.clean import join_lines
from mechcode.ingest.lines import Line
from mechcode.ingest.styles import NUMBERED, REFERENCES, ends_sentence, heading_level


@dataclass
class Block:
    """Consecutive lines of one kind: a paragraph, heading, caption, table ..."""

    kind: str
    lines: list[Line] = field(default_factory=list)
    level: int | None = None
    text: str = ""


class _Columns:
    """Left/right edges of the text column each line sits in.

    A line's column is the span of all lines on its page that overlap it by
    more than half the narrower width (computed with numpy, page by page).
    """

    def __init__(self, lines: list[Line]):
        self.edges: dict[int, tuple[float, float]] = {}
        self.add(lines)

    def add(self, lines: list[Line]) -> None:
        """Compute the edges for ``lines`` (among themselves)."""
        import numpy as np

        by_page: dict[int, list[Line]] = {}
        for ln in lines:
            by_page.setdefault(ln.page, []).append(ln)
        for group in by_page.values():
            x0 = np.array([ln.x0 for ln in group])
            x1 = np.array([ln.x1 for ln in group])
            w = x1 - x0
            ov = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
            same = ov > 0.5 * np.minimum(w[:, None], w[None, :])
            lo = np.where(same, x0[None, :], np.inf).min(axis=1)
            hi = np.where(same, x1[None, :], -np.inf).max(axis=1)
            for ln, a, b in zip(group, lo, hi):
                self.edges[id(ln)] = (min(float(a), ln.x0), max(float(b), ln.x1))

    def left(self, ln: Line) -> float:
        return self.edges.get(id(ln), (ln.x0, ln.x1))[0]

    def right(self, ln: Line) -> float:
        return self.edges.get(id(ln), (ln.x0, ln.x1))[1]


def _leading(lines: list[Line]) -> float:
    ratios = []
    for p, n in zip(lines, lines[1:]):
        if p.page == n.page and n.top > p.top and min(p.x1, n.x1) > max(p.x0, n.x0):
            r = (n.top - p.top) / max(p.size, 1.0)
            if r < 3:
                ratios.append(r)
    ratios.sort()
    return ratios[len(ratios) // 2] if ratios else 1.2


LIST_ITEM = re.compile(r"^\s*(\d{1,2}[.)]|\(?[ivx]{1,4}\)|\(?[a-h]\))\s")
TEXT_KINDS = ("paragraph", "abstract")
PART_LABEL = re.compile(r"^[A-Z][A-Za-z/&\-]*(\s[A-Za-z/&\-]+){0,3}:\s")  # "Trial registration: "


class _Splitter:
    """Decides where paragraphs break between consecutive text lines of one kind.

    Breaks: a bullet or list label; a structured-abstract label ("Methods:");
    a short line ending a sentence (justified text only); a vertical gap
    wider than the usual leading; a first-line indent; a font change.
    """

    def __init__(self, lines: list[Line]):
        texts = [ln for ln in lines if ln.kind in TEXT_KINDS]
        self.cols = _Columns([ln for ln in texts if ln.kind == "paragraph"])
        self.cols.add([ln for ln in texts if ln.kind == "abstract"])  # a layout of its own
        self.lead = {k: _leading([ln for ln in texts if ln.kind == k]) for k in TEXT_KINDS}
        self.ragged = {k: self._ragged([ln for ln in texts if ln.kind == k]) for k in TEXT_KINDS}

    def _ragged(self, lines: list[Line]) -> bool:
        """Ragged-right text: few lines reach the column edge (justified text: most do)."""
        if len(lines) < 6:
            return False
        flush = sum(1 for ln in lines if ln.x1 >= self.cols.right(ln) - 0.2 * ln.size)
        return flush < 0.4 * len(lines)

    def breaks(self, p: Line, n: Line, adjacent: bool, head: Line) -> bool:
        """True when line ``n`` starts a new paragraph after ``p`` (``head``: its first line)."""
        size = max(p.size, 1.0)
        if "bullet" in n.tags or LIST_ITEM.match(n.text):
            return True
        if n.kind == "abstract" and PART_LABEL.match(n.text):
            return True
        same_col = p.page == n.page and n.top > p.top and min(p.x1, n.x1) > max(p.x0, n.x0)
        gap = adjacent and same_col and n.top - p.top > 1.2 * self.lead[n.kind] * size
        if ("bullet" in head.tags or LIST_ITEM.match(head.text)) \
                and n.x0 > head.x0 + 0.3 * size and not gap:
            return False  # the hanging continuation of a list item
        short = not self.ragged[n.kind] and p.x1 < self.cols.right(p) - 1.5 * size
        if short and ends_sentence(p.text):
            return True
        ended = short or ends_sentence(p.text)
        if adjacent and same_col:
            if gap or abs(n.size - p.size) > 0.5:
                return True
            if n.x0 > p.x0 + 0.6 * size and ended:
                return True
            return p.italic != n.italic and head is not p
        return n.x0 > self.cols.left(n) + 0.6 * size and ended


def build_blocks(lines: list[Line], vocab: Counter) -> list[Block]:
    """Group classified lines into blocks in reading order."""
    splitter = _Splitter(lines)
    index = {id(ln): i for i, ln in enumerate(lines)}
    blocks: list[Block] = []
    open_para: dict[tuple[str, bool], Block] = {}  # (kind, inside a box) -> open paragraph
    last: Block | None = None
    for ln in lines:
        kind = ln.kind or "other"
        if kind in ("paragraph", "abstract"):
            key = (kind, "box" in ln.tags)  # a box never splits the text around it
            blk = open_para.get(key)
            if blk is not None:
                p = blk.lines[-1]
                adjacent = index[id(ln)] == index[id(p)] + 1
                if not splitter.breaks(p, ln, adjacent, blk.lines[0]):
                    blk.lines.append(ln)
                    last = blk
                    continue
            blk = Block(kind, [ln])
            open_para[key] = blk
            blocks.append(blk)
            last = blk
            continue
        if kind in ("heading", "title", "abstract-label"):
            open_para.clear()  # a heading always ends the paragraph
        if last is not None and last.kind == kind and _same_block(last.lines[-1], ln, kind):
            last.lines.append(ln)
            continue
        last = Block(kind, [ln])
        blocks.append(last)
    blocks = [entry for b in blocks for entry in
              (split_references(b) if b.kind == "reference" else [b])]
    _finish(blocks, vocab)
    return blocks


REF_LABEL = re.compile(r"^\s*(\[\d{1,3}\]|\d{1,3}\.\s|\d{1,3}\s+[A-Z])")


def split_references(block: Block) -> list[Block]:
    """One block per reference entry: a label, an outdent or a finished short line starts one."""
    out: list[Block] = []
    prev: Line | None = None
    cols = _Columns(block.lines)
    for ln in block.lines:
        new = prev is None or REFERENCES.match(ln.text) or REFERENCES.match(prev.text)
        if not new:
            same_col = ln.page == prev.page and min(ln.x1, prev.x1) > max(ln.x0, prev.x0)
            new = bool(REF_LABEL.match(ln.text)) or (
                same_col and ln.x0 < prev.x0 - 0.4 * ln.size) or (
                ends_sentence(prev.text) and prev.x1 < cols.right(prev) - 3 * prev.size
                and same_col and ln.x0 <= prev.x0 + 0.4 * ln.size)
        if new:
            out.append(Block("reference", [ln]))
        else:
            out[-1].lines.append(ln)
        prev = ln
    return out


def _same_block(p: Line, n: Line, kind: str) -> bool:
    if kind == "heading":  # a heading wrapped onto a second line, not a sub-heading below it
        return (p.page == n.page and abs(p.size - n.size) < 0.3 and p.font == n.font
                and -0.3 * n.size <= n.top - p.bottom < 0.8 * n.size and p.width >= 0.9 * n.width
                and _caps(p.text) == _caps(n.text) and not NUMBERED.match(n.text))
    if kind == "title":
        return True
    return p.page == n.page


TITLE_TAIL = re.compile(r"\s*\[[^\]]*(https?://|doi:|version|v\d)[^\]]*\]\s*$", re.I)


def _caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) > 1 and all(c.isupper() for c in letters)


def _finish(blocks: list[Block], vocab: Counter) -> None:
    """Fill in text and heading levels."""
    styles: Counter = Counter()
    for b in blocks:
        if b.kind == "heading" and "back" not in b.lines[0].tags:
            ln = b.lines[0]
            styles[(round(ln.size, 1), ln.bold, not ln.italic)] += 1
    ranked = sorted(styles, key=lambda s: (-s[0], not s[1], not s[2]))
    for b in blocks:
        if b.kind == "table":  # one line per table row fragment
            b.text = "\n".join(ln.text for ln in b.lines)
        else:
            b.text = join_lines([ln.text for ln in b.lines], vocab)
        if b.kind == "title":  # "... estimates [v2; ref status: indexed, http://...]"
            b.text = TITLE_TAIL.sub("", b.text)
        if b.kind == "abstract-label":
            b.kind, b.level = "heading", 1
        elif b.kind == "heading":
            ln = b.lines[0]
            if "back" in ln.tags:
                b.level = 1
            else:
                rank = ranked.index((round(ln.size, 1), ln.bold, not ln.italic))
                b.level = heading_level(b.text, rank)
