"""Whole pages that are not text of the document: download covers, report covers, contents.

A download cover (a repository's first page: "This article was downloaded
from ...", terms of use, a citation) is boilerplate and the title block is
looked for on the next page.  A report cover (a large title, an
organisation, a date, and no running prose) keeps its title; its other lines
are boilerplate.  A contents page is a "Contents" heading followed by lines
that end in page numbers or dot leaders.
"""
from __future__ import annotations

import re

from mechcode.ingest.lines import Line
from mechcode.ingest.styles import FontStats

DOWNLOAD = re.compile(
    r"(downloaded from|this (article|paper|document|item) (was|has been) downloaded|"
    r"terms (and conditions )?of use|citation for published version|general rights|"
    r"take ?down policy|please cite (this|the published)|brought to you by|"
    r"for more information,? please contact)", re.I)
CONTENTS = re.compile(r"^\s*(table of )?contents\s*:?\s*$", re.I)
LEADER = re.compile(r"(\.\s?){5,}")
PAGE_REF = re.compile(r"((\.\s?){3,}|\s)\s*([ivx]{1,5}|\d{1,3})\s*$", re.I)


def first_content_page(per_page: list[list[Line]], fs: FontStats) -> int:
    """1, or 2 when page one is a download cover (its lines become boilerplate)."""
    if len(per_page) < 2:
        return 1
    first = [ln for ln in per_page[0] if not ln.kind]
    if sum(1 for ln in first if DOWNLOAD.search(ln.text)) >= 1 and len(first) < 60:
        for ln in first:
            ln.kind = "boilerplate"
        return 2
    return 1


def report_cover(per_page: list[list[Line]], fs: FontStats) -> bool:
    """Page one holds a large title and no running prose, in a document of 3+ pages."""
    if len(per_page) < 3:
        return False
    first = [ln for ln in per_page[0] if not ln.kind]
    prose = sum(1 for ln in first if fs.body_style(ln) and len(ln.text.split()) >= 8)
    return prose < 3 and any(ln.size >= fs.body_size + 4 for ln in first)


def mark_cover_rest(per_page: list[list[Line]]) -> None:
    """Everything on a report cover except its title is boilerplate."""
    for ln in per_page[0]:
        if not ln.kind:
            ln.kind = "boilerplate"


def mark_contents(per_page: list[list[Line]]) -> None:
    """Tag contents pages among the first five pages (``kind = "contents"``)."""
    for lines in per_page[:5]:
        head = next((ln for ln in lines if not ln.kind and CONTENTS.match(ln.text)), None)
        if head is None:
            continue
        below = [ln for ln in lines if not ln.kind and ln.top > head.top]
        entries = [ln for ln in below if (PAGE_REF.search(ln.text) or LEADER.search(ln.text))
                   and len(ln.text.split()) <= 16]
        if len(entries) < 3:
            continue
        head.kind = "contents"
        low = max(ln.bottom for ln in entries)
        for ln in below:  # entries, their page numbers and wrapped entry lines
            if ln.top < low and ln.size <= head.size:
                ln.kind = "contents"
