"""Open a PDF safely and read its characters page by page.

Everything the user can get wrong (empty, truncated or corrupt file, not a
PDF, password protection, no text layer, too large) is turned into one
:class:`mechcode.errors.BadPDF` with a clear message.  Pages are read with
pdfplumber, once each, and reduced to light :class:`Char` records so that
the later stages never touch pdfplumber objects again.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from mechcode.errors import BadPDF

# Limits; callers may pass their own.
MAX_PAGES = int(os.environ.get("MECHCODE_MAX_PAGES", "300"))
MAX_BYTES = int(os.environ.get("MECHCODE_MAX_MB", "200")) * 1024 * 1024

# pdfminer logs a warning for every odd colour operator; keep the console clean.
for _name in ("pdfminer", "pdfplumber"):
    logging.getLogger(_name).setLevel(logging.ERROR)


class Char(NamedTuple):
    """One glyph: text, box in top-left coordinates, font size and name."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    font: str
    upright: bool


@dataclass
class Box:
    """A non-text object that matters for layout (image, filled rectangle)."""

    x0: float
    top: float
    x1: float
    bottom: float


@dataclass
class PageData:
    """What the layout stages need from one page."""

    number: int  # 1-based
    width: float
    height: float
    chars: list[Char]
    images: list[Box] = field(default_factory=list)


def check_file(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """Read the file and reject what is obviously not a usable PDF."""
    if not path.exists():
        raise BadPDF(f"{path}: no such file")
    if path.is_dir():
        raise BadPDF(f"{path}: is a directory, not a PDF")
    size = path.stat().st_size
    if size == 0:
        raise BadPDF(f"{path.name}: empty file (0 bytes)")
    if size > max_bytes:
        raise BadPDF(f"{path.name}: file too large ({size / 1e6:.1f} MB > limit "
                     f"{max_bytes / 1e6:.0f} MB)")
    data = path.read_bytes()
    if b"%PDF-" not in data[:1024]:
        raise BadPDF(f"{path.name}: not a PDF file (no %PDF header)")
    if b"%%EOF" not in data[-2048:] and b"startxref" not in data[-4096:]:
        # pdfminer can sometimes recover, but a missing trailer nearly always
        # means a cut-off download.
        raise BadPDF(f"{path.name}: truncated or corrupt PDF (no end-of-file marker)")
    return data


def _box(obj: dict) -> Box:
    return Box(float(obj["x0"]), float(obj["top"]), float(obj["x1"]), float(obj["bottom"]))


def page_data(page, number: int) -> PageData:
    """Reduce a pdfplumber page to chars and large graphic boxes."""
    chars = [
        Char(c["text"], float(c["x0"]), float(c["x1"]), float(c["top"]), float(c["bottom"]),
             float(c["size"]), c.get("fontname") or "", bool(c.get("upright", True)))
        for c in page.chars
    ]
    images = [_box(im) for im in page.images]
    return PageData(number, float(page.width), float(page.height), chars, images)


def open_pdf(data: bytes, name: str):
    """Open PDF bytes with pdfplumber, translating failures into BadPDF."""
    import io

    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect, PDFEncryptionError

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        _ = pdf.pages  # forces the page tree to be read
    except Exception as exc:  # pdfminer raises many unrelated types on damage
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
        if isinstance(inner, (PDFPasswordIncorrect, PDFEncryptionError)) \
                or "password" in str(inner).lower():
            raise BadPDF(f"{name}: encrypted PDF (password protected); "
                         "remove the password first") from exc
        raise BadPDF(f"{name}: truncated or corrupt PDF ({type(inner).__name__})") from exc
    return pdf


def read_pages(path: Path, *, max_pages: int = MAX_PAGES, max_bytes: int = MAX_BYTES,
               progress=None) -> tuple[bytes, list[PageData], dict]:
    """Return (file bytes, page data, PDF info metadata) or raise BadPDF.

    ``progress(done, total)`` is called after each page when given.
    """
    path = Path(path)
    data = check_file(path, max_bytes)
    pdf = open_pdf(data, path.name)
    try:
        n = len(pdf.pages)
        if n == 0:
            raise BadPDF(f"{path.name}: PDF has no pages")
        if n > max_pages:
            raise BadPDF(f"{path.name}: too many pages ({n} > limit {max_pages})")
        pages = []
        for i, page in enumerate(pdf.pages, start=1):
            try:
                pages.append(page_data(page, i))
            except BadPDF:
                raise
            except Exception as exc:
                raise BadPDF(f"{path.name}: corrupt PDF, page {i} cannot be read "
                             f"({type(exc).__name__})") from exc
            page.close()
            if progress is not None:
                progress(i, n)
        info = _info(pdf)
    finally:
        pdf.close()
    if not any(c.text.strip() for p in pages for c in p.chars):
        raise BadPDF(f"{path.name}: no text layer (scanned?); run OCR first")
    return data, pages, info


def _info(pdf) -> dict:
    """The PDF's Info dictionary as plain strings."""
    out = {}
    for k, v in (pdf.metadata or {}).items():
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if isinstance(v, str):
            out[k] = v.strip()
    return out
