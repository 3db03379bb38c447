"""Line classification after the front matter.

A small state machine walks the lines in reading order: body text, then
back matter (abbreviations, competing interests, contributions, ...), an
author-details block, and the reference list, which is cut; an appendix or a
declaration after the references is text again.  Inside the body,
body-style lines are paragraph text, short distinct lines followed by body
text are headings, and everything else is a caption, table, footnote,
boilerplate or other non-body text.
"""
from __future__ import annotations

import re

from mechcode.ingest.formulas import mathy
from mechcode.ingest.front import apart, is_body_heading, same_style
from mechcode.ingest.lines import Line
from mechcode.ingest.styles import (AFFILIATION, APPENDIX, AUTHOR_DETAILS, BACK_MATTER, BOILERPLATE,
                                    CAPTION, CAPTION_STRICT, KEYWORDS, NOTICE, REFERENCES,
                                    RUN_IN_BACK, SUPPLEMENT, TRAILER, FontStats,
                                    ends_sentence)


def classify_body(lines: list[Line], start: int, fs: FontStats, heights: dict[int, float],
                  col_width: float = 250.0) -> None:
    """Set ``kind`` for every unclassified line from ``start`` on."""
    _Classifier(lines, fs, heights, col_width).run(start)


DOT_LEADER = re.compile(r"(\.\s?){6,}")


class _Classifier:
    """The body state machine: body -> back matter / author details -> references."""

    def __init__(self, lines: list[Line], fs: FontStats, heights: dict[int, float],
                 col_width: float):
        self.lines, self.fs, self.heights, self.col_width = lines, fs, heights, col_width
        self.state = "body"
        self.back_size: float | None = None
        self.ref_size: float | None = None  # font size of the reference list, once seen
        self.cap: Line | None = None  # last caption line (captions run on)
        self.table_page = 0  # page of the last "Table N" caption
        self.foot = False

    def run(self, start: int) -> None:
        for i in range(start, len(self.lines)):
            ln = self.lines[i]
            if not ln.kind:
                ln.kind = self.section_switch(ln) or self.kind(i, ln)

    def section_switch(self, ln: Line) -> str:
        """Reference, author-details and back-matter headings change the state."""
        t = ln.text.strip()
        if "cell" in ln.tags:
            return ""  # a table cell ("Affiliation", "Funding") never changes the section
        last = max(self.heights) if self.heights else 1
        if RUN_IN_BACK.match(t) and ln.page >= max(2, 0.5 * last) and (
                self.state == "body" or (self.state == "back" and self.back_size is not None
                                         and abs(ln.size - self.back_size) <= 0.3)):
            if self.state == "body" and not self.fs.body_style(ln):  # small print follows
                self.state, self.back_size = "back", ln.size
            return "paragraph"  # at the end of the paper, not a front-matter note
        if len(t.split()) > 6:
            return ""
        if REFERENCES.match(t):
            self.state = "refs"
            return "reference"
        if AUTHOR_DETAILS.match(t):
            self.state = "author"
            return "author"
        headed = self.fs.distinct(ln) or not self.fs.body_style(ln) or len(t.split()) <= 3
        if SUPPLEMENT.match(t) and headed:
            self.state = "supp"  # a list of supplementary files: not text of the paper
            return "boilerplate"
        if APPENDIX.match(t) and headed and (self.fs.distinct(ln) or self.state == "refs"):
            self.state = "body"  # an appendix after the references is text again
            return "heading"
        if BACK_MATTER.match(t) and headed:
            nxt = next((x for x in self.lines[self.lines.index(ln) + 1:] if not x.kind), None)
            # back matter in small print, or placed after the reference list
            if self.state == "refs" or (nxt is not None and not self.fs.body_style(nxt)):
                self.state, self.back_size = "back", None
                ln.tags.add("back")
            return "heading"
        return ""

    def kind(self, i: int, ln: Line) -> str:
        fs, t = self.fs, ln.text.strip()
        if self.state == "refs":
            return self.reference(i, ln)
        prev = self.lines[i - 1] if i else None
        if (NOTICE.search(t) and not (_runs_on(prev, ln) and not ends_sentence(prev.text))) \
                or (KEYWORDS.match(t) and not fs.body_style(ln)) or _boiler_continues(prev, ln):
            return "boilerplate"
        if self.cap is not None and _continues(self.cap, ln):
            self.cap = ln
            return "caption"
        self.cap = None
        if _is_caption(ln, fs) and not _runs_on(self.lines[i - 1] if i else None, ln):
            self.cap = ln
            if re.match(r"\s*tab", t, re.I):
                self.table_page = ln.page
            return "caption"
        if "cell" in ln.tags:
            return "table"
        if "math" in ln.tags or (len(t) < 80 and not _runs_on(prev, ln) and (
                mathy(t) or ("=" in t and self.set_off(i)))):
            return "formula"  # a displayed formula without a number
        if DOT_LEADER.search(t):
            return "other"  # a table-of-contents line
        if is_body_heading(self.lines, i, fs):
            self.state = "body" if self.state in ("author", "supp") else self.state
            _heading_continuation(self.lines, i)
            self.table_page = 0
            return "heading"
        if plain_heading(self.lines, i):
            self.table_page = 0
            return "heading"
        if self.state in ("author", "supp"):
            return "author" if self.state == "author" else "boilerplate"
        if not fs.body_style(ln) and BOILERPLATE.search(t):
            return "boilerplate"
        if self.state == "back":
            if self.ref_size is not None and abs(ln.size - self.ref_size) <= 0.3 \
                    and abs(self.ref_size - fs.body_size) >= 1.0:
                return "reference"  # the reference list goes on after the back matter
            self.back_size = ln.size if self.back_size is None else self.back_size
            if abs(ln.size - self.back_size) <= 0.3:
                return "paragraph"
        elif fs.body_style(ln) and not (self.table_page == ln.page
                                              and ln.width < 0.5 * self.col_width):
            self.foot, self.table_page = False, 0
            return "paragraph"
        return self.small_print(ln, t)

    def set_off(self, i: int) -> bool:
        """Line ``i`` is indented well past the prose lines just above and below it."""
        ln = self.lines[i]
        near = [x for x in self.lines[max(0, i - 3):i + 4] if x is not ln and x.page == ln.page
                and abs(x.top - ln.top) < 5 * ln.size and len(x.text.split()) >= 6]
        return bool(near) and all(x.x0 < ln.x0 - 3 * ln.size for x in near)

    def reference(self, i: int, ln: Line) -> str:
        if self.ref_size is None and not REFERENCES.match(ln.text):
            self.ref_size = ln.size
        elif self.ref_size is not None and abs(self.ref_size - self.fs.body_size) >= 1.0 \
                and self.fs.body_style(ln) and not self.fs.distinct(ln):
            return "paragraph"  # body text that flows past the start of a small-print list
        prev = self.lines[i - 1]
        return "boilerplate" if TRAILER.search(ln.text) or NOTICE.search(ln.text) \
            or _boiler_continues(prev, ln) else "reference"

    def small_print(self, ln: Line, t: str) -> str:
        """Non-body text in the body: table, footnote, affiliation or other."""
        if self.table_page == ln.page:
            return "table"
        low = ln.top > 0.62 * self.heights.get(ln.page, 800.0)
        self.foot = low and ln.size < self.fs.body_size and (self.foot or _marker(t))
        if ln.page == 1 and (self.foot or low) and AFFILIATION.search(t):
            return "author"
        return "footnote" if self.foot else "other"


PLAIN_HEADING = re.compile(r"^\d{1,2}(\.\d{1,2}){0,3}\.?\s+[A-Z][^.!?;:]{0,80}$")


def plain_heading(lines: list[Line], i: int) -> bool:
    """A numbered heading set in the body font ("2.3 Workforce"), as word processors make them.

    Short, numbered, without a sentence end, apart from the line above and
    shorter than the text line that follows it.
    """
    ln = lines[i]
    t = ln.text.strip()
    if not PLAIN_HEADING.match(t) or len(t.split()) > 10 or not apart(lines, i):
        return False
    nxt = next((x for x in lines[i + 1:i + 3] if x.page == ln.page and x.top > ln.top), None)
    return nxt is not None and ln.width < 0.8 * nxt.width and nxt.top - ln.bottom < 3 * ln.size


def _boiler_continues(prev: Line | None, ln: Line) -> bool:
    """``ln`` continues the boilerplate line above it (same font, tight below)."""
    return (prev is not None and prev.kind == "boilerplate" and prev.page == ln.page
            and prev.font == ln.font and abs(prev.size - ln.size) < 0.3
            and 0 <= ln.top - prev.bottom < 0.6 * ln.size)


def _heading_continuation(lines: list[Line], i: int) -> None:
    """Mark the second line of a two-line heading (same style, just below)."""
    head = lines[i]
    for ln in lines[i + 1:i + 3]:
        if ln.kind or not same_style(head, ln):
            return
        ln.kind, head = "heading", ln


def _marker(t: str) -> bool:
    return bool(t) and (t[0].isdigit() or t[0] in "*\u2020\u2021\u00a7\u00b6#abcdef")


def _runs_on(prev: Line | None, ln: Line) -> bool:
    """``ln`` is the next line of the paragraph ending with ``prev`` (same font, usual leading).

    Such a line is body text even when it starts like a caption ("Figure 5b
    shows ..."); a real caption is set apart from the text above it.
    """
    return (prev is not None and prev.kind == "paragraph" and prev.page == ln.page
            and prev.font == ln.font and abs(prev.size - ln.size) < 0.3
            and 0 < ln.top - prev.top < 1.6 * ln.size
            and min(prev.x1, ln.x1) - max(prev.x0, ln.x0) > 0.5 * ln.width)


def _is_caption(ln: Line, fs: FontStats) -> bool:
    if not ln.text.lstrip()[:1].isupper():
        return False  # "table 1 shows ...": a caption label is capitalised
    if CAPTION_STRICT.match(ln.text):
        return True
    return bool(CAPTION.match(ln.text)) and (not fs.body_style(ln) or fs.distinct(ln))


def _continues(cap: Line, ln: Line) -> bool:
    """``ln`` is the next line of the caption that ends with ``cap``."""
    return (ln.page == cap.page and abs(ln.size - cap.size) <= 0.6
            and 0 <= ln.top - cap.top <= 1.8 * cap.size
            and min(ln.x1, cap.x1) - max(ln.x0, cap.x0) > 0)
