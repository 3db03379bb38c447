"""JSON cache of extracted documents, keyed by the SHA-256 of the PDF bytes."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mechcode.document import Document
from mechcode.files import write_json_atomic

VERSION = 2  # bump when the extractor's output changes


def file_hash(path: Path) -> str | None:
    """SHA-256 of the file bytes (None if unreadable; extraction reports the error)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def _path(cache_dir, digest: str) -> Path:
    return Path(cache_dir) / f"{digest}.v{VERSION}.json"


def load(cache_dir, digest: str) -> Document | None:
    """The cached document, or None (missing or unreadable cache entry)."""
    p = _path(cache_dir, digest)
    try:
        return Document.from_dict(json.loads(p.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(cache_dir, doc: Document) -> Path:
    """Write atomically (a crash never leaves half a JSON file)."""
    target = _path(Path(cache_dir), doc.content_hash)
    write_json_atomic(target, doc.to_dict())
    return target
