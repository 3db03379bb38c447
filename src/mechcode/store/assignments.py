"""The ``assignments`` table: which papers or units two reviewers code independently.

How a share is drawn and paired is decided in :mod:`mechcode.team.assign`, which calls these.
"""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Iterable

from mechcode.store.db import now

BY = ("paper", "unit")

_ASSIGNED_SQL = ("SELECT unit_id AS uid, reviewer, id FROM assignments WHERE unit_id IS NOT NULL"
                 " UNION ALL SELECT u.id AS uid, a.reviewer, a.id FROM assignments a"
                 " JOIN units u ON u.document_id = a.document_id ORDER BY id")


def assignments(review) -> dict[int, tuple[str, ...]]:
    """unit id -> the reviewers assigned to code it independently (two for a double-coded unit)."""
    out: dict[int, list[str]] = defaultdict(list)
    for r in review.connect().execute(_ASSIGNED_SQL):
        if r["reviewer"] not in out[r["uid"]]:
            out[r["uid"]].append(r["reviewer"])
    return {uid: tuple(rs) for uid, rs in out.items() if len(rs) >= 2}


def candidates(con: sqlite3.Connection, by: str) -> tuple[list[int], set[int]]:
    """(every paper or unit id, those already double-coded); ``by`` is one of :data:`BY`."""
    if by == "paper":
        every = [r[0] for r in con.execute("SELECT id FROM documents ORDER BY id")]
        done = {r[0] for r in con.execute("SELECT DISTINCT document_id FROM assignments WHERE document_id IS NOT NULL"
                                          " UNION SELECT DISTINCT u.document_id FROM assignments a"
                                          " JOIN units u ON u.id = a.unit_id")}
    else:
        every = [r[0] for r in con.execute("SELECT id FROM units ORDER BY document_id, seq, id")]
        done = {r[0] for r in con.execute("SELECT DISTINCT unit_id FROM assignments WHERE unit_id IS NOT NULL"
                                          " UNION SELECT u.id FROM assignments a"
                                          " JOIN units u ON u.document_id = a.document_id")}
    return every, done


def add(con: sqlite3.Connection, by: str, plan: Iterable[tuple[int, Iterable[str]]]) -> int:
    """Store ``(paper or unit id, reviewers)`` pairs as one new batch; returns the batch number."""
    column = "document_id" if by == "paper" else "unit_id"
    batch = con.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM assignments").fetchone()[0]
    stamp = now()
    for item, names in plan:
        con.executemany(f"INSERT INTO assignments ({column}, reviewer, batch, created_at) VALUES (?, ?, ?, ?)",
                        [(item, name, batch, stamp) for name in names])
    return batch
