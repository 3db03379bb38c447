"""The PDF extractor: file -> :class:`mechcode.document.Document`.

Pipeline: read chars (pdf, backend_*) -> lines, with text normalised (lines,
text) -> figure text and boxed text (tables) -> running headers/footers
(clean) -> covers and contents pages (pages) -> displayed formulas (formulas)
-> reading order per page (layout) -> tables (tables) -> front matter (front)
-> body classification (classify) -> paragraphs (blocks) -> document with
offsets and sentences (assemble).  Results are cached by content hash; each
file has a time limit (batch).
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from mechcode.document import Document
from mechcode.ingest import cache as _cache
from mechcode.ingest.assemble import make_document
from mechcode.ingest.limits import FILE_TIMEOUT, time_limit
from mechcode.ingest.blocks import Block, build_blocks
from mechcode.ingest.classify import classify_body
from mechcode.ingest.clean import mark_running, vocabulary
from mechcode.ingest.formulas import mark_formulas, strip_radicals
from mechcode.ingest.front import split_front
from mechcode.ingest.layout import xy_order
from mechcode.ingest.lines import Line, group_lines
from mechcode.ingest.meta import metadata
from mechcode.ingest.pages import (first_content_page, mark_contents, mark_cover_rest,
                                   report_cover)
from mechcode.ingest.pdf import MAX_BYTES, MAX_PAGES, Box, PageData
from mechcode.ingest.reader import read_pages
from mechcode.ingest.styles import FontStats
from mechcode.ingest.tables import mark_boxed_text, mark_figure_text, mark_tables

_CID = re.compile(r"\(cid:\d+\)")
BULLET = re.compile(r"^\s*(\(cid:\d+\)|[\ufffd\u2022\u25aa\u25cf\u25e6\u2023\u2043\u25a0\u25a1\u2013\u2014\-*\uf0b7\uf0a7])\s")


def _page_lines(page: PageData) -> list[Line]:
    lines = group_lines(page.chars, page.number)
    strip_radicals(lines)
    for ln in lines:
        if BULLET.match(ln.text):
            ln.tags.add("bullet")
        if "(cid:" in ln.text or "\ufffd" in ln.text:
            ln.text = _CID.sub("", ln.text).replace("\ufffd", "").strip()
    return [ln for ln in lines if ln.text]


def _obstacles(page: PageData) -> list[Box]:
    """Images big enough to separate text regions."""
    return [b for b in page.images if (b.x1 - b.x0) > 40 and (b.bottom - b.top) > 40]


def structure(pages: list[PageData]) -> tuple[list[Block], list[Block], list[Line]]:
    """Classified blocks (reading order), running-line blocks, and all lines."""
    per_page = [_page_lines(p) for p in pages]
    for page, lines in zip(pages, per_page):
        mark_figure_text(lines, page.images, page.width * page.height)
        mark_boxed_text(lines, page.boxes, page.width * page.height)
    mark_running(per_page, [p.height for p in pages])
    fs = FontStats.of(per_page)
    first = first_content_page(per_page, fs)
    cover = first == 1 and report_cover(per_page, fs)
    mark_contents(per_page)
    col_width = _column_width(per_page, fs)
    stream: list[Line] = []
    running: list[Block] = []
    for page, lines in zip(pages, per_page):
        for ln in lines:
            if "figure" in ln.tags and not ln.kind:
                ln.kind = "figure"
        mark_formulas(lines)
        body = [ln for ln in lines if not ln.kind]
        mark_tables(body, col_width, page.width)
        kept = [ln for ln in lines if ln.kind in ("figure", "formula", "contents", "boilerplate")]
        items = body + kept + _obstacles(page)
        stream.extend(it for it in xy_order(items) if isinstance(it, Line))
        for ln in lines:
            if ln.kind in ("header", "footer"):
                running.append(Block(ln.kind, [ln], text=ln.text))
    start = split_front(stream, fs, first)
    if cover:
        mark_cover_rest(per_page)
    classify_body(stream, start, fs, {p.number: p.height for p in pages}, col_width)
    all_lines = [ln for lines in per_page for ln in lines]
    blocks = build_blocks(stream, vocabulary(all_lines))
    return blocks, running, all_lines


def _column_width(per_page: list[list[Line]], fs: FontStats) -> float:
    widths = sorted(ln.width for lines in per_page for ln in lines
                    if not ln.kind and fs.body_style(ln) and ln.n_chars >= 30)
    return widths[int(len(widths) * 0.8)] if widths else 250.0


def extract_pdf(path, *, cache_dir=None, max_pages: int = MAX_PAGES,
                max_bytes: int = MAX_BYTES, progress=None, backend: str | None = None,
                timeout: float | None = None) -> Document:
    """Extract a PDF into a :class:`Document` (raises :class:`BadPDF` on bad input).

    With ``cache_dir`` the result is stored as JSON under the file's SHA-256 and
    reused the next time the same bytes are extracted.  ``max_pages`` and
    ``max_bytes`` bound the work on huge files; ``progress(done, total)`` is
    called as pages are read.  ``backend`` picks the char reader ("pdfium",
    the default, or "pdfplumber"; see :mod:`mechcode.ingest.pdf`).  A file that
    takes longer than ``timeout`` seconds (default ``MECHCODE_FILE_TIMEOUT``,
    180; 0 = no limit) raises :class:`~mechcode.ingest.limits.ExtractionTimeout`.
    """
    path = Path(path)
    with time_limit(FILE_TIMEOUT if timeout is None else timeout, path.name):
        return _extract(path, cache_dir, max_pages, max_bytes, progress, backend)


def _extract(path: Path, cache_dir, max_pages: int, max_bytes: int, progress,
             backend: str | None) -> Document:
    if cache_dir is not None:
        digest = _cache.file_hash(path)
        if digest:
            hit = _cache.load(cache_dir, digest)
            if hit is not None:
                hit.file_name = path.name
                return hit
    data, pages, info = read_pages(path, max_pages=max_pages, max_bytes=max_bytes,
                                   progress=progress, backend=backend)
    digest = hashlib.sha256(data).hexdigest()
    blocks, running, all_lines = structure(pages)
    meta = metadata(info, blocks, all_lines)
    doc = make_document(blocks, running, metadata=meta, content_hash=digest,
                        file_name=path.name, n_pages=len(pages))
    if cache_dir is not None:
        _cache.save(cache_dir, doc)
    return doc
