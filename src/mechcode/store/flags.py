"""Per-unit flags: whether a unit is codable prose (table ``unit_flags``).

The classification itself is :func:`mechcode.codable.classify`; the store only keeps its
result. Flags are filled for units that have none yet (:func:`ensure`), so units added by any
ingest path get one the next time the reviewer loop or ``mechcode info`` looks.
"""
from __future__ import annotations

import sqlite3
from typing import Callable

from mechcode.store.db import transaction

Classifier = Callable[[str, str | None], str | None]  # (text, passage kind) -> reason or None


def ensure(con: sqlite3.Connection, classify: Classifier) -> int:
    """Flag every unit that has no flag yet; returns how many were flagged."""
    rows = con.execute("SELECT u.id, u.text, u.kind, p.kind AS passage_kind FROM units u"
                       " LEFT JOIN passages p ON p.id = u.passage_id"
                       " WHERE u.id NOT IN (SELECT unit_id FROM unit_flags)").fetchall()
    if not rows:
        return 0
    values = []
    for r in rows:
        reason = None if r["kind"] == "span" else classify(r["text"], r["passage_kind"])
        values.append((r["id"], int(reason is None), reason))
    with transaction(con):
        con.executemany("INSERT OR IGNORE INTO unit_flags (unit_id, codable, reason) VALUES (?, ?, ?)", values)
    return len(values)


def not_codable(con: sqlite3.Connection) -> dict[int, str]:
    """unit id -> why it is not codable (only the non-codable units)."""
    return {int(r[0]): r[1] or "not prose"
            for r in con.execute("SELECT unit_id, reason FROM unit_flags WHERE codable = 0")}
