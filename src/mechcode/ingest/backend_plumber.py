"""Char reader on pdfplumber/pdfminer (pure Python; the reference reader)."""
from __future__ import annotations

import io

from mechcode.errors import BadPDF
from mechcode.ingest.pdf import Box, Char, PageData, clean_info, corrupt, encrypted, too_many


def _open(data: bytes, name: str):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        _ = pdf.pages  # forces the page tree to be read
    except Exception as exc:  # pdfminer raises many unrelated types on damage
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
        if isinstance(inner, (PDFPasswordIncorrect, PDFEncryptionError)) \
                or "password" in str(inner).lower():
            raise encrypted(name) from exc
        raise corrupt(name, type(inner).__name__) from exc
    return pdf


def _page(page, number: int) -> PageData:
    chars = [
        Char(c["text"], float(c["x0"]), float(c["x1"]), float(c["top"]), float(c["bottom"]),
             float(c["size"]), c.get("fontname") or "", bool(c.get("upright", True)))
        for c in page.chars
    ]
    images = [Box(float(i["x0"]), float(i["top"]), float(i["x1"]), float(i["bottom"]))
              for i in page.images]
    boxes = [Box(float(r["x0"]), float(r["top"]), float(r["x1"]), float(r["bottom"]))
             for r in page.rects if r["x1"] - r["x0"] > 100 and r["bottom"] - r["top"] > 30]
    return PageData(number, float(page.width), float(page.height), chars, images, boxes)


def read(data: bytes, name: str, max_pages: int, progress=None) -> tuple[list[PageData], dict]:
    pdf = _open(data, name)
    try:
        n = len(pdf.pages)
        too_many(name, n, max_pages)
        pages = []
        for i, page in enumerate(pdf.pages, start=1):
            try:
                pages.append(_page(page, i))
            except BadPDF:
                raise
            except Exception as exc:
                raise corrupt(name, f"page {i} cannot be read: {type(exc).__name__}") from exc
            page.close()
            if progress is not None:
                progress(i, n)
        info = clean_info(pdf.metadata)
    finally:
        pdf.close()
    return pages, info
