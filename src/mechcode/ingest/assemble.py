"""Blocks to a :class:`mechcode.document.Document` with exact offsets.

Body passages (title, abstract, headings, paragraphs) are joined by blank
lines into ``Document.text``; each keeps ``start``/``end`` so that
``doc.text[p.start:p.end] == p.text``.  Other passages keep their own text and
provenance only.  Sentences come from :func:`mechcode.segment.split_sentences`.
"""
from __future__ import annotations

import re

from mechcode.document import Document, Passage, Sentence
from mechcode.ingest.blocks import Block
from mechcode.ingest.lines import Line

SEP = "\n\n"
_WS = re.compile(r"\s+")


NO_SENTENCES = ("table", "header", "footer", "figure", "formula", "contents")


def _split_many(texts: list[str]) -> list[list[tuple[int, int]]]:
    """Sentence offsets for many texts (batched through mechcode.segment)."""
    try:
        from mechcode.segment import split_many
    except ImportError:  # pragma: no cover - segment.py ships with mechcode
        from mechcode.segment import split_sentences

        return [split_sentences(t) for t in texts]
    return split_many(texts)


def _bbox(lines: list[Line]) -> tuple[float, float, float, float]:
    page = lines[0].page
    first = [ln for ln in lines if ln.page == page]
    return (min(l.x0 for l in first), min(l.top for l in first),
            max(l.x1 for l in first), max(l.bottom for l in first))


def _pages(lines: list[Line]) -> list[int]:
    out: list[int] = []
    for ln in lines:
        if ln.page not in out:
            out.append(ln.page)
    return out


def _with_running(blocks: list[Block], running: list[Block]) -> list[Block]:
    """Reading order with each page's headers before and footers after its content."""
    heads: dict[int, list[Block]] = {}
    foots: dict[int, list[Block]] = {}
    for b in running:
        (heads if b.kind == "header" else foots).setdefault(b.lines[0].page, []).append(b)
    out: list[Block] = []
    page = 0

    def advance(to: int) -> None:
        nonlocal page
        while page < to:
            out.extend(foots.get(page, []))
            page += 1
            out.extend(heads.get(page, []))

    for b in blocks:
        advance(b.lines[0].page)
        out.append(b)
    advance(max([page] + list(heads) + list(foots)))
    out.extend(foots.get(page, []))
    return out


LIST_LABEL = re.compile(r"^\s*(\d{1,2}[.)]|\(?[ivx]{1,4}\)|\(?[a-h]\)|[\u2022\u25aa\u25cf\u25e6\u2013\-*])\s")


_ALNUM = re.compile(r"[^a-z0-9]+")


def mark_pull_quotes(blocks: list[Block]) -> None:
    """A short block repeating words of a paragraph in another style is a pull quote.

    It becomes kind ``other`` (the words stay once, in their paragraph), and
    ``_role`` names it "pull-quote".
    """
    paras = [b for b in blocks if b.kind == "paragraph"]
    flat = {id(b): _ALNUM.sub(" ", b.text.lower()) for b in paras}
    for b in blocks:
        quoted = b.text.rstrip().endswith((".", "!", "?", "”", '"')) \
            or b.text.lstrip().startswith(("“", '"'))
        if b.kind not in ("paragraph", "heading") or (b.kind == "heading" and not quoted) \
                or not 30 <= len(b.text) <= 400 or len(b.text.split()) < 6:
            continue  # a heading is a pull quote only when it reads as a quoted sentence
        probe = _ALNUM.sub(" ", b.text.lower()).strip()
        ln = b.lines[0]
        if any(id(o) != id(b) and abs(o.lines[0].page - ln.page) <= 1 and probe in flat[id(o)]
               and (abs(o.lines[0].size - ln.size) > 0.5 or o.lines[0].italic != ln.italic)
               for o in paras):
            b.kind = "other"
            b.lines[0].tags.add("pull-quote")


def _role(b: Block) -> str | None:
    """"box" for text inside a drawn frame, "list-item" for a bulleted or numbered item."""
    if "pull-quote" in b.lines[0].tags:
        return "pull-quote"
    if b.kind not in ("paragraph", "heading"):
        return None
    if all("box" in ln.tags for ln in b.lines):
        return "box"
    if b.kind == "paragraph" and ("bullet" in b.lines[0].tags or LIST_LABEL.match(b.lines[0].text)):
        return "list-item"
    return None


NOTE_MARK = re.compile(r"^\s*(\d{1,2}|[*\u2020\u2021\u00a7\u00b6])(?=\s|[A-Z])")


def _link_footnotes(passages: list[Passage], blocks: dict[int, Block]) -> None:
    """Give each footnote the ids of the passages on its page whose raised mark calls it."""
    for p in passages:
        m = NOTE_MARK.match(p.text) if p.kind == "footnote" else None
        if m is None:
            continue
        tag = f"sup:{m.group(1)}"
        p.links = [q.id for q in passages if q.kind in ("paragraph", "abstract", "heading")
                   and q.page in (p.page, p.page - 1)
                   and any(tag in ln.tags for ln in blocks[q.id].lines)]


def to_document(blocks: list[Block], running: list[Block]) -> tuple[str, list[Passage]]:
    """Build the body text and the passage list (reading order)."""
    mark_pull_quotes(blocks)
    parts: list[str] = []
    pos = 0
    passages: list[Passage] = []
    by_id: dict[int, Block] = {}
    section = None
    for b in _with_running(blocks, running):
        text = _WS.sub(" ", b.text).strip() if b.kind != "table" else b.text.strip()
        if not text:
            continue
        p = Passage(id=len(passages), kind=b.kind, text=text, page=b.lines[0].page,
                    bbox=_bbox(b.lines), pages=_pages(b.lines), level=b.level, role=_role(b))
        if b.kind in ("title", "abstract", "heading", "paragraph"):
            if parts:
                pos += len(SEP)
            p.start, p.end = pos, pos + len(text)
            parts.append(text)
            pos += len(text)
            if b.kind == "heading":
                section = text
        p.section = section if b.kind != "title" else None
        passages.append(p)
        by_id[p.id] = b
    _link_footnotes(passages, by_id)
    targets = [p for p in passages if p.kind not in NO_SENTENCES]
    for p, offsets in zip(targets, _split_many([p.text for p in targets])):
        p.sentences = [Sentence(s, e, p.text[s:e]) for s, e in offsets]
    return SEP.join(parts), passages


def make_document(blocks: list[Block], running: list[Block], **kw) -> Document:
    text, passages = to_document(blocks, running)
    return Document(text=text, passages=passages, **kw)
