"""Boilerplate: sentences of a paper that are never evidence of a mechanism.

Declarations (competing interests, funding, ethics approval, consent, data availability),
author contributions and acknowledgements, affiliations and correspondence, licence and
publication notes, figure / table call-outs and captions, headings, list numbers and
one-word lines ("Objectives.", "1."). :func:`is_boilerplate` is a transparent rule (no
learning), applied by every backend through :func:`mechcode.models.backends.prior.finalize`; it is
deliberately narrow: a sentence that *reports* something and merely cites a table
("Staff felt supported (Table 2).") is not boilerplate. :func:`is_label` adds the one case the
sentence alone cannot show: a paragraph that is nothing but a short unpunctuated line (a numbered
list item, a table row, a sub-heading in sentence case such as "3. Creating the conditions to
work together") is most likely a label, not a statement. Unlike boilerplate it is gated in the
codebook prior only (:func:`mechcode.models.backends.prior.pooled`): a review whose findings are
short bullet points teaches the learned part that they are evidence.
"""
from __future__ import annotations

import re

from mechcode.ingest.assemble import LIST_LABEL  # list markers, as extraction recognises them

_PATTERNS = [
    r"\b(competing|conflicts?\s+of)\s+interests?\b",
    r"\bdeclare[sd]?\b.{0,40}\b(interests?|conflicts?)\b",
    r"\b(no|none)\b.{0,20}\b(conflicts?|competing)\b",
    r"\b(this|the|our)\s+(study|research|work|project|review|trial|paper|article)\s+(was|is)\s+"
    r"(funded|supported|financed|commissioned)\b",
    r"\bfunding\s*(information|statement|sources?)?\s*[:.]|\b(received|receive)\s+no\s+.{0,30}funding",
    r"\b(grant|award)\s+(no\.?|number|ref)",
    r"\bfunders?\b.{0,80}\b(role|design|decision|publish)",
    r"\b(ethic(s|al)\s+(approval|committee|board|review)|institutional\s+review\s+board|irb\b)",
    r"\b(informed|written|verbal)\s+consent\s+(was|were)\s+(obtained|given|sought)",
    r"\bauthors?'?\s*'?\s*contributions?\b",
    r"\b(conceived|designed)\s+(the|this)\s+(study|trial|review|project)\b",
    r"\b(drafted|wrote|revised)\s+the\s+(manuscript|paper|first\s+draft)",
    r"\b(read|reviewed)\s+and\s+approved\s+the\s+final\b",
    r"\backnowledge?ments?\b|\bwe\s+(thank|are\s+grateful)\b|\bthanks?\s+(are\s+due|to\s+all)\b",
    r"\b(correspond(ence|ing)\s+(to|author))\b|\be-?mail\b|@\w+\.\w+",
    r"\b(creative\s+commons|open\s+access\s+article|distributed\s+under\s+the\s+terms|licen[cs]ee?\b"
    r"|copyright|all\s+rights\s+reserved)",
    r"\b(received|accepted|published)\s*:?\s*\d{1,2}\s+\w+\s+\d{4}",
    r"\bdoi\s*:|\bdoi\.org\b|\bhttps?://",
    r"\b(data\s+availability|availability\s+of\s+data|supplementary\s+(material|file)|additional\s+file\s+\d)",
    r"^\s*(abbreviations|keywords?|key\s+words)\b",
    r"^\s*[A-Z][A-Za-z]*[A-Z][A-Za-z0-9-]*\s*:\s*[A-Z]",  # abbreviation lists ("RCT: randomised ...")
    r"\b(would\s+like\s+to\s+thank|are\s+grateful\s+to|declares?\s*:|"
    r"views\s+(and\s+opinions\s+)?expressed)\b",
    r"\b(consultan(t|cy)|honoraria|patent)\b.{0,80}\b(compan(y|ies)|manufactur|device|products?)",
    r"\btrial\s+registration\b|\bISRCTN\d*|\bNCT\d{6,}",
    r"^\s*(figure|fig\.?|table|box|appendix)\s*[0-9ivxA-Z]+\b",
    r"\b(department|school|faculty|institute)\s+of\b.{0,80}\b(university|college|hospital)\b",
]
_RE = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
# case matters: "X is supported by Cancer Research UK" (a funder's name), not "by their managers"
_CASED = re.compile(r"\b(is|are|was|were)\s+(supported|funded)\s+by\s+(the\s+)?[A-Z]")
_WORDS = re.compile(r"[A-Za-z]{2,}")
# a sentence without any of these cannot match a pattern: skip the regexes (speed)
_KEYS = ("interest", "conflict", "declar", "fund", "grant", "award", "ethic", "review board", "irb", "consent",
         "contribut", "conceiv", "drafted", "wrote", "revised", "approved", "acknowledg", "thank", "grateful",
         "correspond", "mail", "@", "licen", "commons", "open access", "copyright", "rights", "received",
         "accepted", "published", "doi", "http", "availab", "supplementary", "additional file", "abbreviation",
         "keyword", "key word", "fig", "table", "box", "appendix", "department", "school", "faculty",
         "institute", "views", "consultan", "honorari", "patent", "registration", "isrctn", "nct", "supported",
         "financed", "commissioned")


def is_boilerplate(text: str) -> bool:
    """True for declarations, call-outs, headings and list numbers (module docstring)."""
    t = " ".join((text or "").split())
    words = _WORDS.findall(t)
    if len(words) <= 3:  # headings, "Objectives.", "1.", "Results", table cells
        return True
    if len(words) <= 8 and not re.search(r"[.!?:;]\s*$", t) and t[:1].isupper() and t == t.strip():
        if sum(w[0].isupper() for w in words) >= len(words) - 1:  # Title Case heading
            return True
    low = t.lower()
    if ":" not in t[:40] and not any(k in low for k in _KEYS):
        return False
    return bool(_RE.search(t) or _CASED.search(t))




def is_label(text: str, context: str | None) -> bool:
    """True when the unit is its whole paragraph (``context``, list number aside) and that is a
    short line (at most 8 words) without sentence-final punctuation."""
    t = LIST_LABEL.sub("", " ".join((text or "").split()))
    ctx = LIST_LABEL.sub("", " ".join((context or "").split()))
    if not t or ctx != t or re.search(r"[.!?]\W*(?:[(\[][^()\[\]]{0,20}[)\]]\W*)?$", t):  # "... end.' (D3)"
        return False
    return len(_WORDS.findall(t)) <= 8
