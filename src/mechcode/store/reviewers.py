"""The ``reviewers`` table: named reviewers and the digest of their personal tokens.

The rules (valid names, token format, hashing, re-issuing) are in :mod:`mechcode.team.reviewers`,
which calls these.
"""
from __future__ import annotations

import sqlite3
from typing import Any

from mechcode.store.db import now


def exists(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM reviewers WHERE name = ?", (name,)).fetchone() is not None


def insert(con: sqlite3.Connection, name: str, token_hash: str) -> None:
    con.execute("INSERT INTO reviewers (name, token_hash, created_at) VALUES (?, ?, ?)", (name, token_hash, now()))


def set_token_hash(con: sqlite3.Connection, name: str, token_hash: str) -> None:
    con.execute("UPDATE reviewers SET token_hash = ? WHERE name = ?", (token_hash, name))


def by_token_hash(con: sqlite3.Connection, token_hash: str) -> tuple[str, str] | None:
    """``(name, stored digest)`` of the reviewer holding ``token_hash``, or None."""
    row = con.execute("SELECT name, token_hash FROM reviewers WHERE token_hash = ?", (token_hash,)).fetchone()
    return (str(row["name"]), row["token_hash"]) if row is not None else None


def token_hash_of(con: sqlite3.Connection, name: str) -> str | None:
    row = con.execute("SELECT token_hash FROM reviewers WHERE name = ?", (name,)).fetchone()
    return row["token_hash"] if row is not None else None


def names(con: sqlite3.Connection) -> list[str]:
    """Registered reviewer names, in the order they were added."""
    return [r[0] for r in con.execute("SELECT name FROM reviewers ORDER BY created_at, rowid")]


def activity(con: sqlite3.Connection) -> list[dict[str, Any]]:
    """Registered reviewers with their activity: name, created_at, decisions, coded units, assigned units."""
    counts = {r["reviewer"]: (r["n"], r["units"]) for r in con.execute(
        "SELECT reviewer, COUNT(*) AS n, COUNT(DISTINCT unit_id) AS units FROM decisions"
        " WHERE action != 'undo' GROUP BY reviewer")}
    assigned = {r["reviewer"]: r["n"] for r in con.execute(
        "SELECT reviewer, COUNT(*) AS n FROM (SELECT unit_id AS uid, reviewer FROM assignments"
        " WHERE unit_id IS NOT NULL UNION SELECT u.id, a.reviewer FROM assignments a"
        " JOIN units u ON u.document_id = a.document_id) GROUP BY reviewer")}
    out = []
    for r in con.execute("SELECT name, created_at FROM reviewers ORDER BY created_at, rowid"):
        n, units = counts.get(r["name"], (0, 0))
        out.append({"name": r["name"], "created_at": r["created_at"], "decisions": n, "units": units,
                    "double_coding": assigned.get(r["name"], 0)})
    return out
