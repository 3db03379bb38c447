"""SQLite connections, transactions and schema migrations for a review database.

Every connection runs in autocommit mode (``isolation_level=None``) so that
transactions are explicit: :func:`transaction` issues ``BEGIN IMMEDIATE``
(the write lock is taken up front, so two writers never deadlock) and
``COMMIT``, or ``ROLLBACK`` on any error. With ``journal_mode=WAL`` and
``synchronous=FULL`` a committed transaction survives a crash or power loss.
"""
from __future__ import annotations

import itertools
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from mechcode.errors import StoreError
from mechcode.store.schema import MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 30_000
_savepoints = itertools.count()


def now() -> str:
    """The current UTC time as an ISO 8601 string (seconds precision)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def connect(db_path: str | Path) -> sqlite3.Connection:
    """Open a review database with the pragmas every connection needs."""
    try:
        con = sqlite3.connect(str(db_path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        con.execute("PRAGMA synchronous=FULL")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{db_path}: cannot open the review database ({exc})") from exc
    return con


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE ... COMMIT`` (``ROLLBACK`` on error); nested calls use a savepoint."""
    if con.in_transaction:
        name = f"sp{next(_savepoints)}"
        con.execute(f"SAVEPOINT {name}")
        try:
            yield con
        except BaseException:
            con.execute(f"ROLLBACK TO {name}")
            con.execute(f"RELEASE {name}")
            raise
        con.execute(f"RELEASE {name}")
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def user_version(con: sqlite3.Connection) -> int:
    """The number of migrations applied to the database."""
    return int(con.execute("PRAGMA user_version").fetchone()[0])


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (trigger bodies stay whole)."""
    out, buf = [], ""
    pieces = script.split(";")
    for i, piece in enumerate(pieces):
        buf += piece + (";" if i < len(pieces) - 1 else "")
        if sqlite3.complete_statement(buf):
            if buf.strip(" \t\r\n;"):
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def check_version(version: int, where: str) -> None:
    """Refuse a database written by a newer mechcode."""
    if version > SCHEMA_VERSION:
        raise StoreError(f"{where}: the review database has schema version {version}, newer than this "
                         f"mechcode supports ({SCHEMA_VERSION}); upgrade mechcode to open it")


def migrate(con: sqlite3.Connection, where: str = "review.db") -> int:
    """Apply pending migrations, each with its version bump in one transaction.

    ``executescript`` would commit mid-way, so statements run one by one inside
    ``BEGIN IMMEDIATE``; the version is re-read under the lock, so two processes
    opening the same old database migrate it once. Returns the final version.
    """
    check_version(user_version(con), where)
    while user_version(con) < SCHEMA_VERSION:
        with transaction(con):
            version = user_version(con)
            check_version(version, where)
            if version >= SCHEMA_VERSION:
                break
            for statement in split_statements(MIGRATIONS[version]):
                con.execute(statement)
            con.execute(f"PRAGMA user_version = {version + 1}")
    return user_version(con)
