"""Front matter: title, author block, abstract, and where the body starts.

Works on the first page's lines in reading order.  The title is the longest
run of lines in the largest font.  If an "Abstract" label exists, the abstract
is the text after it up to keywords or the first body heading; otherwise it is
the long prose block(s) between the title and the first body heading.  All
other front-matter lines become ``author`` (names, affiliations) or ``other``
(journal banners, dates, licences, keywords).
"""
from __future__ import annotations

import re

from mechcode.ingest.lines import Line
from mechcode.ingest.styles import (ABSTRACT, AFFILIATION, BOILERPLATE, DATES, KEYWORDS, NOTICE,
                                    TRAILER,
                                    FontStats, ends_sentence, heading_text)

MIN_ABSTRACT_WORDS = 35


TITLE_MAX_WORDS = 45


def find_title(lines: list[Line], body_size: float = 0.0, page: int = 1) -> list[int]:
    """Indices (into ``lines``) of the title lines on the first page.

    The title is the longest run of lines in the largest font that holds a
    real phrase; a short run in a bigger font (a journal logo such as
    "atoms") is passed over for the next size down.  A title is set larger
    than the body text and is short: a page without such a run (an excerpt,
    a plain report) has no title block, and none is made up from its text.
    """
    cands = [i for i, ln in enumerate(lines) if ln.page == page and ln.size >= body_size + 1.0
             and sum(c.isalpha() for c in ln.text) >= 3 and not ln.kind]
    sizes = sorted({round(lines[i].size, 1) for i in cands}, reverse=True)
    for top in sizes[:3]:
        groups = _title_groups(lines, [i for i in cands if lines[i].size >= top - 0.6])
        best = max(groups, key=lambda g: sum(lines[i].n_chars for i in g))
        words = len(" ".join(lines[i].text for i in best).split())
        if sum(lines[i].n_chars for i in best) >= 12 and 2 <= words <= TITLE_MAX_WORDS:
            return best
    return []


def _title_groups(lines: list[Line], idx: list[int]) -> list[list[int]]:
    groups: list[list[int]] = []
    for i in idx:
        ln = lines[i]
        prev = lines[i - 1]
        if groups and groups[-1][-1] == i - 1 and abs(prev.size - ln.size) < 0.6 \
                and (prev.font == ln.font or len(prev.text.split()) > 3 or len(prev.text) > 20) \
                and ln.top - prev.bottom < 1.5 * ln.size:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def is_body_heading(lines: list[Line], i: int, fs: FontStats) -> bool:
    """A heading-like line followed by body-style text (or another heading).

    Lines continuing the heading in the same style (a two-line heading) are
    skipped.  A heading stands apart from the line above (a gap, a column or
    page start) unless that line is itself a heading.
    """
    ln = lines[i]
    if not (fs.distinct(ln) and heading_text(ln.text)) or ABSTRACT.match(ln.text) \
            or "bullet" in ln.tags or (ln.page == 1 and "," in ln.text and (
                AFFILIATION.search(ln.text) or ln.text.count(",") >= 2)):
        return False  # an address line on page one is no heading
    if not apart(lines, i) and not _after_heading(lines, i, fs):
        return False
    prev = ln
    for nxt in lines[i + 1:i + 6]:
        if nxt.kind:
            continue
        if same_style(prev, nxt):
            prev = nxt
            continue
        if fs.body_style(nxt) and not fs.distinct(nxt):
            return True
        if not (fs.distinct(nxt) and heading_text(nxt.text)):
            return False
        prev = nxt
    return False


def same_style(a: Line, b: Line) -> bool:
    """``b`` continues the heading line ``a`` (same font, just below)."""
    return (a.page == b.page and a.font == b.font and abs(a.size - b.size) < 0.2
            and -0.3 * a.size <= b.top - a.bottom < 0.8 * a.size and abs(a.x0 - b.x0) < 2 * a.size)


def _after_heading(lines: list[Line], i: int, fs: FontStats) -> bool:
    """The line above is a heading (a subheading right under its section heading)."""
    if i == 0:
        return False
    prev = lines[i - 1]
    return prev.kind == "heading" or (not prev.kind and fs.distinct(prev)
                                      and heading_text(prev.text) and prev.size > lines[i].size)


def apart(lines: list[Line], i: int) -> bool:
    """No line sits directly above ``lines[i]`` in its column (a gap or column start)."""
    ln = lines[i]
    if i == 0:
        return True
    prev = lines[i - 1]
    if prev.page != ln.page or prev.top >= ln.top:
        return True
    if min(prev.x1, ln.x1) <= max(prev.x0, ln.x0):
        return True  # the line above is in another column
    return ln.top - prev.bottom > 0.45 * ln.size


def _body_run(lines: list[Line], i: int, fs: FontStats, n: int = 3) -> bool:
    run = lines[i:i + n]
    return len(run) == n and all(fs.body_style(l) and not fs.distinct(l) and not l.kind
                                 for l in run)


def split_front(lines: list[Line], fs: FontStats, page: int = 1) -> int:
    """Classify the front matter in place; return the index where the body starts.

    ``page`` is the first page of the document proper (2 after a download cover).
    """
    title = find_title(lines, fs.body_size, page)
    for i in title:
        lines[i].kind = "title"
    start = (title[-1] + 1) if title else 0
    label = _find_label(lines, start)
    if label is not None:
        body = _abstract_after_label(lines, label, fs)
    else:
        body = _abstract_by_shape(lines, start, fs)
    _front_blocks(lines, body, title)
    return body


def _front_blocks(lines: list[Line], body: int, title: list[int]) -> None:
    """Author vs other for the unclassified front-matter lines, block by block.

    A block (same size, tight spacing) is ``boilerplate`` when any of its lines is
    boilerplate (licence, correspondence, dates, keywords) or it sits above the
    title; otherwise it is ``author`` (names, affiliations).
    """
    block: list[int] = []
    for i in list(range(body)) + [None]:
        ln = lines[i] if i is not None else None
        if ln is not None and ln.kind not in ("", "front"):
            continue
        if block and (ln is None or not _same_block(lines[block[-1]], ln)):
            texts = [lines[j].text for j in block]
            if any(TRAILER.search(t) or KEYWORDS.match(t) or DATES.search(t) for t in texts):
                kind = "boilerplate"  # licence, keywords, received/accepted dates
            elif any(AFFILIATION.search(t) for t in texts):
                kind = "author"
            elif (title and block[0] < title[0]) or any(BOILERPLATE.search(t) or NOTICE.search(t)
                                                        for t in texts):
                kind = "boilerplate"  # a journal banner above the title, a licence ...
            else:
                kind = "author"
            for j in block:
                lines[j].kind = kind
            block = []
        if ln is not None:
            block.append(i)


def _same_block(a: Line, b: Line) -> bool:
    return (a.page == b.page and abs(a.size - b.size) <= 0.3
            and -0.5 * a.size < b.top - a.bottom < 1.0 * a.size)


def _find_label(lines: list[Line], start: int) -> int | None:
    """Index of the "Abstract" label line (alone or leading the abstract text)."""
    for i in range(start, min(len(lines), start + 60)):
        ln = lines[i]
        if ln.page > 3 or ln.kind:
            continue
        t = ln.text.strip()
        if re.match(r"^(a\s?b\s?s\s?t\s?r\s?a\s?c\s?t|summary)\s*[:.]?$", t, re.I):
            return i
        if re.match(r"^abstract\s*[:.\-\u2014\u2013]\s*\S", t, re.I) or re.match(r"^ABSTRACT\s+\S", t):
            return i
    return None


def _abstract_after_label(lines: list[Line], label: int, fs: FontStats) -> int:
    """Abstract = lines after the label up to keywords / a body heading."""
    lab = lines[label]
    inline = len(lab.text.split()) > 3  # "Abstract: We describe ..."
    lab.kind = "abstract" if inline else "abstract-label"
    if inline:
        lab.text = re.sub(r"^\s*abstract\s*[:.\-\u2014\u2013]?\s*", "", lab.text, flags=re.I)
    ref = lines[label + 1] if label + 1 < len(lines) else lab
    wide = ref  # the widest abstract line so far
    i = label + 1
    while i < len(lines):
        ln = lines[i]
        if ln.kind:
            i += 1
            continue
        if KEYWORDS.match(ln.text):
            _mark_keywords(lines, i)
            break
        if _sidebar(ln, wide):
            ln.kind = "other"  # a box or margin note beside the abstract
            i += 1
            continue
        if is_body_heading(lines, i, fs):
            break
        notice = NOTICE.search(ln.text) or (i > label + 1 and lines[i - 1].kind == "front"
                                            and NOTICE.search(lines[i - 1].text)
                                            and not ln.text[:1].isupper())
        if abs(ln.size - ref.size) > 0.6 or BOILERPLATE.search(ln.text) or notice:
            # a different font: footnotes, affiliations, or the start of the body
            if _body_run(lines, i, fs) and fs.body_style(ln):
                break
            ln.kind = "front"  # classified with its block below
            i += 1
            continue
        ln.kind = "abstract"
        if ln.width > wide.width:
            wide = ln
        i += 1
    return _body_start(lines, i, fs)


def _sidebar(ln: Line, wide: Line) -> bool:
    """``ln`` sits beside the abstract column in a narrower column of its own."""
    return (ln.page == wide.page and min(ln.x1, wide.x1) <= max(ln.x0, wide.x0)
            and ln.width < 0.75 * wide.width and ln.x0 > wide.x1)


def _mark_keywords(lines: list[Line], i: int) -> None:
    """The keyword line and its continuation lines become ``boilerplate``."""
    lines[i].kind = "boilerplate"
    prev = lines[i]
    for ln in lines[i + 1:i + 4]:
        if ln.page != prev.page or abs(ln.size - prev.size) > 0.3 \
                or not 0 <= ln.top - prev.bottom < 0.8 * ln.size:
            return
        ln.kind, prev = "boilerplate", ln


def _body_start(lines: list[Line], i: int, fs: FontStats) -> int:
    """First body heading or body-style run at or after ``i`` (same or next page)."""
    page = lines[i].page if i < len(lines) else 1
    for j in range(i, len(lines)):
        if lines[j].page > page + 1:
            break
        if lines[j].kind:
            continue
        if is_body_heading(lines, j, fs) or _body_run(lines, j, fs):
            return j
    return i


def _abstract_by_shape(lines: list[Line], start: int, fs: FontStats) -> int:
    """No label: the abstract is the long prose before the first body heading."""
    body = _body_start(lines, start, fs)
    blocks: list[list[int]] = []
    for i in range(start, body):
        ln = lines[i]
        if ln.kind:
            continue
        prev = lines[blocks[-1][-1]] if blocks else None
        if prev is not None and abs(prev.size - ln.size) < 0.3 and prev.font == ln.font \
                and 0 <= ln.top - prev.bottom < 0.9 * ln.size and blocks[-1][-1] == i - 1:
            blocks[-1].append(i)
        else:
            blocks.append([i])
    for blk in blocks:
        text = " ".join(lines[i].text for i in blk)
        if len(text.split()) >= MIN_ABSTRACT_WORDS and not BOILERPLATE.search(text) \
                and ends_sentence(text):
            for i in blk:
                lines[i].kind = "abstract"
    return body
