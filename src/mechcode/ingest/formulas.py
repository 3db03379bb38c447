"""Displayed formulas: lines that belong to an equation, not to the text.

A display equation is recognised by its number: a line that is only "(3)"
or "(2a)" at the right of a row.  The row it sits on, and the lines stacked
tightly above and below that read like mathematics (they start with an
operator or hold "=" among few words), are the formula; so is a line whose
glyphs come mostly from maths fonts.  Radical signs that some PDFs draw as
runs of "ffi" ligatures are removed from every line.
"""
from __future__ import annotations

import re

from mechcode.ingest.lines import Line

EQ_NUMBER = re.compile(r"^\(\s*\d{1,3}[a-z]?\s*\)$")
OPERATOR_START = re.compile(r"^\s*[=+\-\u2212\u00d7\u00b7<>\u2264\u2265\u2248\u2211\u220f\u222b]")
RADICAL = re.compile(r"(?:ffi){2,}f*|(?:ff){3,}")
WORD = re.compile(r"[A-Za-z]{3,}")
# Statistics reported in prose ("F(2, 404) = 19.02, p < .001", "t = 2.1", "η 2 = .09") and a
# sentence running on after a full stop ("... = .09. However, there was no") are text, not formulas.
STATS = re.compile(r"\bp\s*[<=>≤≥]\s*0?\.\d|\b(?:[Ftrz]|χ2?|df)\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\)\s*=|[ηωR]\s*2\s*=")
PROSE_RUN = re.compile(r"[.;:]\s+[A-Z][a-z]+,?\s+[a-z]{2,}\s+[a-z]{2,}")


def strip_radicals(lines: list[Line]) -> None:
    """Remove radical-sign debris ("ffiffiffi") from line texts in place."""
    for ln in lines:
        if "ffiff" in ln.text or "fffff" in ln.text:
            ln.text = RADICAL.sub("", ln.text).strip()


def mathy(text: str) -> bool:
    """Reads like a formula: an operator first, or "=" with few real words."""
    if len(WORD.findall(text)) > 3:
        return False  # prose, or a list item after a dash
    if STATS.search(text) or PROSE_RUN.search(text):
        return False  # statistics reported in a sentence, or a sentence running on
    if OPERATOR_START.match(text):
        return True
    return "=" in text and len(WORD.findall(text)) <= max(1, len(text.split()) // 4)


def mark_formulas(lines: list[Line]) -> None:
    """Set ``kind = "formula"`` on equation lines of one page (unclassified lines only)."""
    free = [ln for ln in lines if not ln.kind]
    for ln in free:
        if "math" in ln.tags:
            ln.kind = "formula"
    for num in [ln for ln in free if EQ_NUMBER.match(ln.text.strip())]:
        row = [ln for ln in free if ln is not num and _same_row(ln, num) and ln.x1 <= num.x0]
        if not row and not _near_formula(num, free):
            continue  # "(3)" alone, with no formula beside or above it: leave it
        for ln in [num] + row:
            ln.kind = "formula"
        _grow(row or [num], free)


def _same_row(a: Line, b: Line) -> bool:
    overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
    return overlap > 0.5 * min(a.height, b.height)


def _near_formula(num: Line, free: list[Line]) -> bool:
    return any((ln.kind == "formula" or mathy(ln.text)) and ln.x1 <= num.x0
               and -0.5 * num.size <= num.top - ln.bottom < 2.5 * num.size for ln in free)


def _grow(seed: list[Line], free: list[Line]) -> None:
    """Add mathematical lines stacked tightly above and below the formula."""
    todo = list(seed)
    while todo:
        cur = todo.pop()
        for ln in free:
            if ln.kind or not (mathy(ln.text) or "math" in ln.tags):
                continue
            gap = max(ln.top - cur.bottom, cur.top - ln.bottom)
            if gap < 1.2 * cur.size and min(ln.x1, cur.x1) - max(ln.x0, cur.x0) > -2 * cur.size:
                ln.kind = "formula"
                todo.append(ln)
