"""Full-text search over a review's units (SQLite FTS5, table ``units_fts``).

The reviewer's words are never passed to FTS5 as query syntax: each word becomes a quoted
term (all must match), the last one a prefix, so ``"trust"`` or ``AND`` are plain words.
"""
from __future__ import annotations

import re
import sqlite3
from typing import Any

MAX_TERMS = 12
_WORD = re.compile(r"\w+", re.UNICODE)


def terms(query: str) -> list[str]:
    """The words of a search box entry (at most ``MAX_TERMS``)."""
    return _WORD.findall(query or "")[:MAX_TERMS]


def match_expression(query: str) -> str | None:
    """An FTS5 MATCH expression for ``query`` (None when it has no words)."""
    words = terms(query)
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def search(con: sqlite3.Connection, query: str, limit: int = 50, offset: int = 0,
           document_id: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    """(total hits, hits best first): unit id, paper, section, page and text of each."""
    expr = match_expression(query)
    if expr is None:
        return 0, []
    where, args = "units_fts MATCH ?", [expr]
    if document_id is not None:
        where, args = where + " AND u.document_id = ?", args + [document_id]
    base = f"FROM units_fts JOIN units u ON u.id = units_fts.rowid WHERE {where}"
    total = int(con.execute(f"SELECT COUNT(*) {base}", args).fetchone()[0])
    rows = con.execute(
        'SELECT u.id, u.document_id, u.kind, u.text, u.start, u."end" AS "end", u.page, u.section,'
        " (SELECT COALESCE(NULLIF(d.label, ''), NULLIF(d.title, ''), d.file_name) FROM documents d"
        "  WHERE d.id = u.document_id) AS document_label "
        f"{base} ORDER BY bm25(units_fts), u.id LIMIT ? OFFSET ?", args + [limit, offset]).fetchall()
    return total, [dict(r) for r in rows]
