"""Which units are codable prose, and why the others are not.

Segmentation turns every body passage into sentences, and PDFs leave non-prose among them:
section labels ("Objectives.", "Methods:"), list numbers ("1.", "(iv)"), headings that lost
their layout, reference leftovers ("[pill", "Smith J, et al. 2019;"), "Additional file 2",
figure/table labels, URLs and DOIs. Such units stay in the document (and can still be coded
from the paper view), but no queue offers them.

:func:`classify` returns the reason a unit is not codable, or None for prose. The rules are
deliberately conservative: a real sentence has at least a few words and a verb-like shape,
so a rule only fires on short or markup-like text.
"""
from __future__ import annotations

import re

NON_BODY = {"heading", "title", "caption", "table", "reference", "references", "footnote", "header",
            "footer", "figure", "list-number"}
_LABEL = re.compile(r"^[A-Z][A-Za-z/&-]*(\s+[A-Za-z/&-]+)?\s*[.:]$|^[A-Z][A-Za-z/&-]*(\s+[A-Za-z/&-]+){0,3}\s*:$")
_CAPTION = re.compile(r"^(fig(ure)?|table|box)\.?\s*[A-Z]?\d+[a-z]?[.:]?\s+[A-Z]", re.IGNORECASE)
_LIST_NUMBER = re.compile(r"^[(\[]?(\d{1,3}|[ivxlc]{1,6}|[a-zA-Z])[.)\]]?[.:]?$", re.IGNORECASE)
_ATTACHMENT = re.compile(r"^(additional|supplementary|supporting)\s+(file|material|information|table|figure)s?\b",
                         re.IGNORECASE)
_FIGURE = re.compile(r"^(fig(ure)?|table|box|appendix)\.?\s*[A-Z]?\d+[a-z]?\s*[.:]?$", re.IGNORECASE)
_LINK = re.compile(r"^(https?://|www\.|doi[:.]|10\.\d{4,}/)\S*$", re.IGNORECASE)
_CITATION = re.compile(r"(\b(19|20)\d{2}[a-z]?\s*[;:]|\bdoi\b|\bpp?\.\s*\d|\bvol\.|\d+\(\d+\):\d+)", re.IGNORECASE)
_ET_AL = re.compile(r"\bet al\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]{2,}")


def classify(text: str, passage_kind: str | None = None) -> str | None:
    """Why ``text`` is not codable prose (a short reason), or None when it is codable."""
    t = " ".join((text or "").split())
    if passage_kind and passage_kind.lower() in NON_BODY:
        return f"{passage_kind.lower()} passage"
    if not t:
        return "empty"
    words = _WORD.findall(t)
    letters = sum(c.isalpha() for c in t)
    if _LIST_NUMBER.match(t):
        return "list number"
    if _LINK.match(t):
        return "link"
    if _ATTACHMENT.match(t) and len(words) <= 6:
        return "attachment label"
    if _FIGURE.match(t):
        return "figure or table label"
    if _LABEL.match(t):
        return "label"
    if _CAPTION.match(t) and len(words) <= 15 and t[-1] != ".":
        return "figure or table caption"
    if t.startswith("[") and "]" not in t:
        return "reference fragment"
    if letters < 0.5 * len(t) and len(words) < 8:  # formulas, number lists (a sentence with statistics stays)
        return "not prose"
    strong = len(_CITATION.findall(t))  # a reference list entry, not a sentence citing one
    if len(words) <= 12 and strong and strong + len(_ET_AL.findall(t)) >= 2:
        return "reference fragment"
    if len(words) < 3:
        return "too short"
    if _heading_like(t, words):
        return "heading"
    return None


def _heading_like(t: str, words: list[str]) -> bool:
    """Title Case text of at most eight words with no closing punctuation."""
    if len(words) > 8 or t[-1] in ".?!:;,\"')":
        return False
    small = {"of", "and", "the", "in", "for", "to", "a", "an", "on", "with", "by", "or", "at", "from"}
    return all(w[0].isupper() for w in words if w.lower() not in small)
