"""Open a PDF safely and read its characters page by page.

Everything the user can get wrong (empty, truncated or corrupt file, not a
PDF, password protection, no text layer, too large) is turned into one
:class:`mechcode.errors.BadPDF` with a clear message.  Pages are reduced to
light :class:`Char` records (text, box, font size and name) so the layout
stages never depend on the PDF library.  Two readers give the same records:
``pdfium`` (pypdfium2, which pdfplumber itself depends on; C speed, the
default) and ``pdfplumber`` (pure Python, about ten times slower).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from mechcode.errors import BadPDF
from mechcode.ingest.text import clean_text

# Limits; callers may pass their own.
MAX_PAGES = int(os.environ.get("MECHCODE_MAX_PAGES", "300"))
MAX_BYTES = int(os.environ.get("MECHCODE_MAX_MB", "200")) * 1024 * 1024
BACKENDS = ("pdfium", "pdfplumber")
DEFAULT_BACKEND = os.environ.get("MECHCODE_PDF_BACKEND", "pdfium")

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
    """A non-text object that matters for layout (an image)."""

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
    boxes: list[Box] = field(default_factory=list)  # drawn rectangles (frames, shaded panels)


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
        # a missing trailer nearly always means a cut-off download
        raise BadPDF(f"{path.name}: truncated or corrupt PDF (no end-of-file marker)")
    return data


def encrypted(name: str, exc: Exception | None = None) -> BadPDF:
    return BadPDF(f"{name}: encrypted PDF (password protected); remove the password first")


def corrupt(name: str, what: str) -> BadPDF:
    return BadPDF(f"{name}: truncated or corrupt PDF ({what})")


def too_many(name: str, n: int, max_pages: int) -> None:
    if n == 0:
        raise BadPDF(f"{name}: PDF has no pages")
    if n > max_pages:
        raise BadPDF(f"{name}: too many pages ({n} > limit {max_pages})")


def clean_info(meta: dict) -> dict:
    """The PDF's Info dictionary as plain, stripped strings."""
    out = {}
    for k, v in (meta or {}).items():
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if isinstance(v, str):
            v = clean_text(v).strip()
        if isinstance(v, str) and v:
            out[k] = v
    return out
