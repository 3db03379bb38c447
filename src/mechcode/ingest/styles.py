"""Font statistics and the text patterns used to classify lines.

The body font is the (rounded) size that carries the most characters; a
line is *body style* when its size is close to it.  Headings differ from the
body by weight, size or font and are short; captions, reference and
back-matter section names are recognised by their wording.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from mechcode.ingest.lines import Line

SIZE_TOL = 0.6  # points: a line within this of the body size is body style

CAPTION = re.compile(
    r"^\s*(fig(ure)?s?\.?|table|tab\.|plate|chart|box|scheme|exhibit)\s*"
    r"([A-Z]?\d+[a-z]?|[IVX]+)(\s*[.:|\-\u2013\u2014]|\s+[A-Z(]|\s*$)", re.I)
CAPTION_STRICT = re.compile(
    r"^\s*(fig(ure)?\.?|table|tab\.)\s*([A-Z]?\d+[a-z]?|[IVX]+)\s*[.:|\u2013\u2014]", re.I)
REFERENCES = re.compile(
    r"^\s*(\d+\.?\s*)?(references( and notes)?|bibliography|literature cited|works cited|"
    r"reference list|cited literature)\s*:?\s*$", re.I)
BACK_MATTER = re.compile(
    r"^\s*(\d+\.?\s*)?(abbreviations?|list of abbreviations|competing interests?|"
    r"conflicts? of interests?|declaration of (competing )?interests?|declarations?|"
    r"authors?['’]? contributions?|contributors?|acknowledge?ments?|funding( sources?)?|"
    r"financial (support|disclosure)|availability of (data|supporting data)( and materials?)?|"
    r"data availability( statement)?|ethics( approval)?( and consent to participate)?|"
    r"consent (for|to) publication|trial status|endnotes?|notes)\s*:?\s*$", re.I)
APPENDIX = re.compile(r"^\s*(appendix|appendices|supplementary appendix)\b(\s+[A-Z0-9]{1,3}\b)?[\s.:]*",
                      re.I)
RUN_IN_BACK = re.compile(  # "Acknowledgements. We thank ...": a back-matter label run into its text
    r"^\s*(acknowledge?ments?|authors?['’]? contributions?|author contributions?|"
    r"conflicts? of interests?|competing interests?|funding( statement)?|data accessibility|"
    r"data availability( statement)?|ethics( statement)?|declaration of interests?)"
    r"(\s*[.:]\s+\S|\s+[A-Z])",
    re.I)
AUTHOR_DETAILS = re.compile(r"^\s*(author details|author information|affiliations?)\s*:?\s*$", re.I)
ABSTRACT = re.compile(r"^\s*(a\s?b\s?s\s?t\s?r\s?a\s?c\s?t|summary)\b\s*[:.\-\u2014\u2013]?\s*", re.I)
KEYWORDS = re.compile(r"^\s*(key\s?words?|index terms|mesh terms)\b", re.I)
BOILERPLATE = re.compile(
    r"(^\s*(\*\s*)?correspondence\b|^\s*received\b.*\b(accepted|revised)\b|^\s*(received|accepted|"
    r"published( online)?)\s*:|^\s*(academic )?editor\b|copyright|\u00a9|\(c\)\s*\d{4}|"
    r"licensee|creative\s?commons|open access|full list of author information|"
    r"^\s*cite this article|^\s*submit your (next )?manuscript|^\s*doi\s*:|^\s*https?://)",
    re.I)
NOTICE = re.compile(  # boilerplate that is recognisable even when set in the body font
    r"(^\s*\([A-Z][A-Za-z.&\s]{2,60}\s(19|20)\d\d\s*;\s*\d+(\s*\(\d+\))?\s*:\s*[eE]?\d|"
    r"^\s*\[(PPT|PDF|DOCX?|XLSX?|Word|Excel|PNG|JPE?G|ZIP|MP4|CSV|TXT)\s+file\b|"
    r"remains neutral with regard to jurisdictional claims|under the terms of the creative commons|"
    r"^\s*(©\s*)?(19|20)\d\d,?\s+the authors?\b|"
    r"^\s*publisher['’]s note\b|^\s*(doi\s*:?|https?://(dx\.)?doi\.org/)\s*10\.\d|"
    r"^\s*this article is (included|part of)\b|^\s*(please )?cite this article\b|"
    r"^\s*(please )?see (the )?related (articles?|commentary|editorial)\b)", re.I)
SUPPLEMENT = re.compile(r"^\s*(\d+\.?\s*)?(additional files?|supplementary (materials?|information|data|"
                        r"files?)|supporting information|electronic supplementary material)\s*:?\s*$",
                        re.I)
TRAILER = re.compile(r"(cite this article|submit your (next )?manuscript|\u00a9|copyright|licensee|"
                     r"open access|creative\s?commons|convenient online submission)", re.I)
AFFILIATION = re.compile(r"(universit|department|institute|school of|hospital|centre|center|"
                         r"faculty|college|laborator|correspond|e-?mail|@)", re.I)
DATES = re.compile(r"^\s*(received|accepted|published|revised)\b", re.I)
NUMBERED = re.compile(r"^\s*((\d+(\.\d+)*)\.?|[IVX]+\.|[A-Z]\.)\s+\S")
TERMINAL = (".", "?", "!", ":", ".”", ".\"", ".)", "?”", "!”")


@dataclass
class FontStats:
    """Document-wide font facts."""

    body_size: float
    body_fonts: set[str]

    @classmethod
    def of(cls, pages: list[list[Line]]) -> "FontStats":
        """Statistics over prose-like lines (25+ chars) before the reference list."""
        sizes: Counter = Counter()
        fonts: Counter = Counter()
        lines = _before_references(pages)
        prose = [ln for ln in lines if ln.n_chars >= 25] or lines
        for ln in prose:
            sizes[round(ln.size * 2) / 2] += ln.n_chars
        body = sizes.most_common(1)[0][0] if sizes else 10.0
        # the exact size: the most common unrounded size inside the winning bin
        exact: Counter = Counter()
        for ln in prose:
            if round(ln.size * 2) / 2 == body:
                exact[round(ln.size, 1)] += ln.n_chars
        body = exact.most_common(1)[0][0] if exact else body
        for ln in prose:
            if abs(ln.size - body) <= SIZE_TOL:
                fonts[ln.font] += ln.n_chars
        total = sum(fonts.values()) or 1
        body_fonts = {f for f, n in fonts.items() if n >= 0.08 * total}
        return cls(body, body_fonts)

    def body_style(self, ln: Line) -> bool:
        """Set in (about) the body font size."""
        return abs(ln.size - self.body_size) <= SIZE_TOL

    def distinct(self, ln: Line) -> bool:
        """Visibly different from running body text (weight, size or font)."""
        if ln.size >= self.body_size + 0.8:
            return True
        if ln.size < self.body_size - 1.2:
            return False
        if ln.bold:
            return True
        if ln.italic:  # italic headings differ in size or font from italic emphasis
            return ((abs(ln.size - self.body_size) >= 0.3 or ln.font not in self.body_fonts)
                    and ln.purity > 0.9 and not ln.text.rstrip().endswith("."))
        if ln.font not in self.body_fonts and ln.purity > 0.9:
            return True
        letters = [c for c in ln.text if c.isalpha()]
        return len(letters) > 3 and all(c.isupper() for c in letters)


def _before_references(pages: list[list[Line]]) -> list[Line]:
    """Lines up to the reference-list heading (roughly: same column, then later pages)."""
    out: list[Line] = []
    for lines in pages:
        head = next((ln for ln in lines if not ln.kind and len(ln.text.split()) <= 4
                     and REFERENCES.match(ln.text)), None)
        if head is None:
            out.extend(ln for ln in lines if not ln.kind)
            continue
        # above the heading in its column (or full width), or in a column to its left
        out.extend(ln for ln in lines if not ln.kind and (
            (ln.top < head.top and ln.x0 < head.x1) or ln.x1 < head.x0))
        return out
    return out


def ends_sentence(text: str) -> bool:
    return text.rstrip().endswith(TERMINAL)


def heading_text(text: str) -> bool:
    """Short, label-like text that could be a section heading."""
    t = text.strip()
    if not t or len(t) > 120 or len(t.split()) > 16:
        return False
    if t.endswith((",", ";")) or sum(c.isalpha() for c in t) < 2:
        return False
    words = NUMBERED.sub(lambda m: m.group(0)[-1], t)  # drop "2.1 " before the first word
    if words[:1].islower():
        return False
    if CAPTION_STRICT.match(t) or BOILERPLATE.search(t):
        return False
    return True


def heading_level(text: str, rank: int) -> int:
    """Level from numbering ("2.1" -> 2) or else from the style rank."""
    m = re.match(r"^\s*(\d+(?:\.\d+)*)\.?\s+\S", text)
    if m:
        return min(6, m.group(1).count(".") + 1)
    return min(6, rank + 1)
