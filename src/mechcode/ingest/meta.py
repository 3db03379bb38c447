"""Document metadata: title, authors, year, DOI (PDF info first, else page one)."""
from __future__ import annotations

import re
from collections import Counter

from mechcode.ingest.blocks import Block
from mechcode.ingest.lines import Line

DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>,;]+[^\s\"<>,;.)\]])")
YEAR = re.compile(r"(?<!\d)((?:19[5-9]|20[0-4])\d)(?!\d)")
_BAD_TITLE = re.compile(r"(untitled|microsoft word|\.docx?$|\.pdf$|^\d[\d .]*$|\d\.\.\d)", re.I)
_BAD_AUTHOR = re.compile(r"(^\s*(anonymous|unknown|admin\w*|user|owner)\s*$|\{et al|et al\.?\}?$)", re.I)
_SUP = re.compile(r"[\d*\u2020\u2021\u00a7,]+$")


def _title(info: dict, blocks: list[Block]) -> str:
    t = info.get("Title", "").strip()
    if len(t.split()) >= 3 and not _BAD_TITLE.search(t):
        return t
    title = next((b.text for b in blocks if b.kind == "title"), "")
    if title:
        return title
    # no title block (a report, an excerpt): the first real heading names the document
    return next((b.text for b in blocks if b.kind == "heading"
                 and not re.match(r"^\s*(abstract|summary|contents)\b", b.text, re.I)), "")


def _names(text: str, sep: str) -> list[str]:
    out: list[str] = []
    for p in re.split(sep, text):
        p = _SUP.sub("", re.sub(r"\s+", " ", p)).strip(" *,")
        if p and 1 <= len(p.split()) <= 6 and re.search(r"[A-Za-z]", p) and p not in out:
            out.append(p)
    return out


def _page_authors(blocks: list[Block]) -> list[str]:
    """Names from the first author block on page one (same-size lines)."""
    block = next((b for b in blocks if b.kind == "author"), None)
    if block is None:
        return []
    text = block.lines[0].text
    for ln in block.lines[1:]:
        if ln.size != block.lines[0].size:
            break
        text += ", " + ln.text
    return _names(text, r"\s*(?:,|;|\band\b|&)\s*")


def _authors(info: dict, blocks: list[Block]) -> list[str]:
    """The PDF's Author entry, unless page one lists more names led by the same person."""
    raw = info.get("Author", "").strip()
    listed = _names(raw, r"\s*(?:;|,|\band\b|&)\s*") if (
        raw and re.search(r"[A-Za-z]{2}", raw) and not _BAD_AUTHOR.search(raw)) else []
    page = _page_authors(blocks)
    if not listed:
        return page
    if len(page) > len(listed) and page and listed[0].split()[-1].lower() in page[0].lower():
        return page
    return listed


def _year(info: dict, first_page: list[Line]) -> int | None:
    votes: Counter = Counter()
    for ln in first_page:
        if ln.kind in ("paragraph", "abstract", "title"):
            continue
        for y in YEAR.findall(ln.text):
            votes[int(y)] += 1
    if votes:
        return max(votes.items(), key=lambda kv: (kv[1], kv[0]))[0]
    m = YEAR.search(info.get("CreationDate", ""))
    return int(m.group(1)) if m else None


def _doi(info: dict, first_page: list[Line], lines: list[Line]) -> str | None:
    """From the PDF info, page one, or a "Cite this article"/doi line (never a reference)."""
    trailer = [ln.text for ln in lines if ln.kind in ("header", "footer")
               and re.search(r"\bdoi\b", ln.text, re.I)]
    for i, ln in enumerate(lines):  # "doi:..." next to "Cite this article as: ..."
        if re.search(r"cite this article", ln.text, re.I):
            trailer.extend(x.text for x in lines[max(0, i - 1):i + 2])
    front = [ln.text for ln in first_page if ln.kind not in ("paragraph", "abstract")]
    for text in [info.get("Subject", ""), info.get("doi", "")] + front + trailer:
        m = DOI.search(text or "")
        if m:
            return m.group(1)
    return None


def metadata(info: dict, blocks: list[Block], lines: list[Line]) -> dict:
    """title, authors, year and doi (None / [] when not found)."""
    first = [ln for ln in lines if ln.page == 1]
    return {"title": _title(info, blocks), "authors": _authors(info, blocks),
            "year": _year(info, first), "doi": _doi(info, first, lines)}
