"""The ``codebooks`` and ``codebook_changes`` tables: store a codebook version, read versions back.

Revision logic (:mod:`mechcode.store.revisions`) and the :class:`~mechcode.store.review.Review`
API both write codebook versions through :func:`insert_codebook`. The readers take a
Review or one of its connections.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from mechcode.codebook import Codebook, parse_codebook
from mechcode.errors import StoreError
from mechcode.store.db import now


def connection_of(source: Any) -> sqlite3.Connection:
    """``source`` itself, or its connection when it is a Review."""
    return source.connect() if hasattr(source, "connect") else source


def insert_codebook(con: sqlite3.Connection, codebook: Codebook, change: str | None, source: str) -> None:
    """Store a codebook version (StoreError if that version exists with other content)."""
    row = con.execute("SELECT fingerprint FROM codebooks WHERE version = ?", (codebook.version,)).fetchone()
    if row is not None:
        raise StoreError(f"{source}: codebook version {codebook.version!r} is already stored with different "
                         "content; give the changed codebook a new version")
    seq = con.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM codebooks").fetchone()[0]
    con.execute("INSERT INTO codebooks (version, seq, body, fingerprint, change, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (codebook.version, seq, json.dumps(codebook.to_dict(), ensure_ascii=False),
                 codebook.fingerprint(), change, now()))


def codebook_changes(con: Any) -> list[dict[str, Any]]:
    """Every stored codebook operation, oldest first: ``{id, version_from, version_to, op, from, to,
    mapping: {old id: [new ids]}, review: bool (units need re-coding), note, created_at}``."""
    out = []
    for r in connection_of(con).execute("SELECT * FROM codebook_changes ORDER BY id"):
        d = dict(r)
        d["from"], d["to"] = json.loads(d.pop("source")), json.loads(d.pop("target"))
        d["mapping"], d["review"] = json.loads(d["mapping"]), bool(d["review"])
        out.append(d)
    return out


def codebook_at(con: Any, version: str) -> Codebook:
    """The codebook as stored for ``version``."""
    row = connection_of(con).execute("SELECT body FROM codebooks WHERE version = ?", (str(version),)).fetchone()
    if row is None:
        raise StoreError(f"the review has no codebook version {version!r}")
    return parse_codebook(json.loads(row["body"]), f"codebook v{version}")


def versions(con: Any) -> list[str]:
    """Codebook versions, oldest first."""
    return [r[0] for r in connection_of(con).execute("SELECT version FROM codebooks ORDER BY seq")]
