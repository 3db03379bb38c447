"""Training sources: labelled data a review's models always train on, besides the review's own
decisions and its codebook (definitions, examples and the role primer are read from the
codebook and the primer at training time).

A source is recorded once (by the SHA-256 of its bytes) with its units, so a retrain never
depends on the file still being where it was, nor on an option being passed again.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mechcode.errors import DataError

KINDS = ("seed",)


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def add_source(review, kind: str, name: str, path: str | None, sha256: str, units: list[dict[str, Any]]
               ) -> tuple[dict[str, Any], bool]:
    """Record a source (its ``units`` as plain dicts); (row, added) -- a source whose hash is
    recorded already is not added twice."""
    if kind not in KINDS:
        raise DataError(f"unknown training source kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not units:
        raise DataError(f"training source {name}: no labelled units")
    con = review.connect()
    row = con.execute("SELECT * FROM training_sources WHERE sha256 = ?", (sha256,)).fetchone()
    if row is not None:
        return _row(row), False
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with review.transaction() as con:
        con.execute("INSERT INTO training_sources (kind, name, path, sha256, codebook_version, n_units, units, "
                    "added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (kind, name, path, sha256, review.codebook.version, len(units),
                     json.dumps(units, ensure_ascii=False), stamp))
    row = review.connect().execute("SELECT * FROM training_sources WHERE sha256 = ?", (sha256,)).fetchone()
    return _row(row), True


def sources(review, with_units: bool = False) -> list[dict[str, Any]]:
    """Recorded sources, oldest first (``units`` decoded when ``with_units``)."""
    rows = review.connect().execute("SELECT * FROM training_sources ORDER BY id").fetchall()
    return [_row(r, with_units) for r in rows]


def _row(row, with_units: bool = False) -> dict[str, Any]:
    d = dict(row)
    units = d.pop("units")
    if with_units:
        d["units"] = json.loads(units)
    return d
