"""The ``retrains`` table: one row per background retrain and its outcome."""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from mechcode.store.db import now, transaction


def _row(row: Any) -> dict[str, Any] | None:
    """A ``retrains`` row as a JSON-ready dict (metrics decoded)."""
    if row is None:
        return None
    d = dict(row)
    try:
        d["metrics"] = json.loads(d["metrics"]) if d.get("metrics") else None
    except json.JSONDecodeError:
        pass
    return d


def start_retrain(con: sqlite3.Connection) -> int:
    """Record a retrain as ``running``; its id."""
    with transaction(con):
        return int(con.execute("INSERT INTO retrains (started_at, status) VALUES (?, 'running')",
                               (now(),)).lastrowid)


def finish_retrain(con: sqlite3.Connection, rid: int, status: str, version: str | None = None,
                   labelled: int | None = None, metrics: Any = None, error: str | None = None) -> None:
    """Record how retrain ``rid`` ended (``ok`` or ``failed``)."""
    with transaction(con):
        con.execute("UPDATE retrains SET status = ?, finished_at = ?, model_version = ?, labelled = ?, "
                    "metrics = ?, error = ? WHERE id = ?",
                    (status, now(), version, labelled,
                     json.dumps(metrics, default=str) if metrics is not None else None, error, rid))


def mark_interrupted(con: sqlite3.Connection) -> int:
    """Mark retrains left ``running`` by a server that died as failed; how many."""
    with transaction(con):
        cur = con.execute("UPDATE retrains SET status = 'failed', finished_at = ?, error = ? "
                          "WHERE status = 'running'", (now(), "interrupted: the server stopped"))
        return cur.rowcount


def last_retrain(con: sqlite3.Connection) -> dict[str, Any] | None:
    """The most recent retrain (running, ok or failed)."""
    return _row(con.execute("SELECT * FROM retrains ORDER BY id DESC LIMIT 1").fetchone())
