"""Signed-in browser sessions of the reviewer server.

The page's cookie holds a random session id (never a token). The ``sessions`` table keeps
the id's SHA-256 digest, the reviewer it signs in (NULL for the server's own token), the
digest of the token that opened it and an expiry. A session stays valid only while that
token still does: re-issuing a reviewer's token or restarting the server with another
``--token`` ends the sessions opened with the old one.
"""
from __future__ import annotations

import hashlib
import secrets
import sqlite3
from datetime import datetime, timedelta, timezone

from mechcode.store.db import now, transaction

SESSION_DAYS = 7  # a reviewer signs in once a week


def _digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def create(con: sqlite3.Connection, reviewer: str | None, token_hash: str,
           days: float = SESSION_DAYS) -> str:
    """A new session id for ``reviewer`` (None: the server token); expired sessions are dropped."""
    sid = secrets.token_urlsafe(32)
    expires = datetime.now(timezone.utc) + timedelta(days=days)
    with transaction(con):
        con.execute("DELETE FROM sessions WHERE expires_at < ?", (now(),))
        con.execute("INSERT INTO sessions (id_hash, reviewer, token_hash, created_at, expires_at)"
                    " VALUES (?, ?, ?, ?, ?)", (_digest(sid), reviewer, token_hash, now(), _iso(expires)))
    return sid


def lookup(con: sqlite3.Connection, sid: str | None) -> tuple[str | None, str] | None:
    """(reviewer, token_hash) of a live session, or None (unknown, expired or malformed id)."""
    if not sid or len(sid) > 100:
        return None
    row = con.execute("SELECT reviewer, token_hash, expires_at FROM sessions WHERE id_hash = ?",
                      (_digest(sid),)).fetchone()
    if row is None or row["expires_at"] < now():
        return None
    return row["reviewer"], row["token_hash"]


def end(con: sqlite3.Connection, sid: str) -> None:
    """Sign a session out."""
    with transaction(con):
        con.execute("DELETE FROM sessions WHERE id_hash = ?", (_digest(sid),))


def token_digest(token: str) -> str:
    """The digest sessions keep of the token that opened them."""
    return _digest(token)
