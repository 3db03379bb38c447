"""The review folder and its database: the :class:`Review` API every component uses.

::

    REVIEW_DIR/
      review.db       SQLite (WAL), schema in mechcode.store.schema
      codebook.yaml   the current codebook (all versions are in the codebooks table)
      models/         model directories
      cache/          extraction cache (by content hash)

Each thread gets its own connection (:meth:`Review.connect`); every write is
one transaction, committed before the method returns.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from mechcode import __version__
from mechcode.codebook import Codebook, load_codebook, parse_codebook
from mechcode.document import Document
from mechcode.errors import StoreError
from mechcode.store import decisions as _dec
from mechcode.store import documents as _docs
from mechcode.store import models as _models
from mechcode.store import revisions as _rev
from mechcode.store.codebooks import codebook_changes, insert_codebook
from mechcode.store.db import connect, migrate, now, transaction, user_version
from mechcode.store.finals import training_units
from mechcode.files import copy_atomic

DB_NAME = "review.db"
CODEBOOK_NAME = "codebook.yaml"


class Review:
    """A review folder (see the module docstring). Create with :meth:`init`, open with :meth:`open`."""

    def __init__(self, path: str | Path):
        self.path = Path(path).resolve()
        self.db_path = self.path / DB_NAME
        self.models_dir = self.path / "models"
        self.cache_dir = self.path / "cache"
        self.codebook_path = self.path / CODEBOOK_NAME
        self._local = threading.local()
        self._codebook: tuple[int, Codebook] | None = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def init(cls, path: str | Path, codebook_path: str | Path) -> "Review":
        """Create a review folder with a copy of the (validated) codebook."""
        path = Path(path)
        if (path / DB_NAME).exists():
            raise StoreError(f"{path}: a review already exists here")
        if path.exists() and not path.is_dir():
            raise StoreError(f"{path}: exists and is not a folder")
        codebook = load_codebook(codebook_path)
        rv = cls(path)
        for d in (rv.path, rv.models_dir, rv.cache_dir):
            d.mkdir(parents=True, exist_ok=True)
        copy_atomic(codebook_path, rv.codebook_path)
        con = rv.connect()
        migrate(con, str(rv.db_path))
        with transaction(con):
            insert_codebook(con, codebook, "initial codebook", source=str(codebook_path))
            con.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                            [("created_at", now()), ("mechcode_version", __version__)])
        return rv

    @classmethod
    def open(cls, path: str | Path) -> "Review":
        """Open an existing review (older databases are migrated; newer ones refused)."""
        path = Path(path)
        if not (path / DB_NAME).is_file():
            raise StoreError(f"{path}: not a review folder (no {DB_NAME}); create one with 'mechcode init'")
        rv = cls(path)
        con = rv.connect()
        migrate(con, str(rv.db_path))
        if con.execute("SELECT 1 FROM codebooks LIMIT 1").fetchone() is None:
            raise StoreError(f"{path}: the review database has no codebook")
        return rv

    def connect(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use; reopened after a fork)."""
        con = getattr(self._local, "con", None)
        if con is None or getattr(self._local, "pid", None) != os.getpid():
            con = connect(self.db_path)
            self._local.con, self._local.pid = con, os.getpid()
        return con

    def close(self) -> None:
        """Close this thread's connection."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    def __enter__(self) -> "Review":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Review({str(self.path)!r})"

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE ... COMMIT`` on this thread's connection (rollback on error)."""
        with transaction(self.connect()) as con:
            yield con

    @property
    def schema_version(self) -> int:
        return user_version(self.connect())

    # ------------------------------------------------------------------ codebook
    @property
    def codebook(self) -> Codebook:
        """The current codebook (the newest version stored in the database)."""
        row = self.connect().execute(
            "SELECT seq, version, body FROM codebooks ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            raise StoreError(f"{self.path}: the review has no codebook")
        if self._codebook is None or self._codebook[0] != row["seq"]:
            self._codebook = (row["seq"], parse_codebook(json.loads(row["body"]), f"codebook v{row['version']}"))
        return self._codebook[1]

    def codebooks(self) -> list[dict[str, Any]]:
        """Every codebook version the review has had, oldest first (body decoded)."""
        rows = self.connect().execute("SELECT * FROM codebooks ORDER BY seq").fetchall()
        return [{**dict(r), "body": json.loads(r["body"])} for r in rows]

    def update_codebook(self, codebook_path: str | Path, change: str | None = None) -> bool:
        """Make a new codebook file current; False if its content equals the current one.

        The new file must carry a new ``version`` if anything changed.
        """
        codebook = load_codebook(codebook_path)
        current = self.codebook
        if codebook.fingerprint() == current.fingerprint():
            return False
        with self.transaction() as con:
            insert_codebook(con, codebook, change, source=str(codebook_path))
        copy_atomic(codebook_path, self.codebook_path)
        return True

    # ------------------------------------------------------------------ documents and units
    def add_document(self, doc: Document, path: str | None = None) -> tuple[int, bool]:
        """Store a document with its passages and sentence units (one transaction; idempotent)."""
        return _docs.add_document(self.connect(), doc, path)

    def has_document(self, content_hash: str) -> bool:
        row = self.connect().execute("SELECT 1 FROM documents WHERE content_hash = ?", (content_hash,)).fetchone()
        return row is not None

    def documents(self) -> list[dict[str, Any]]:
        return _docs.documents(self.connect())

    def document(self, doc_id: int) -> dict[str, Any]:
        return _docs.document(self.connect(), doc_id)

    def passages(self, doc_id: int) -> list[dict[str, Any]]:
        return _docs.passages(self.connect(), doc_id)

    def units(self, document_id: int | None = None) -> list[dict[str, Any]]:
        return _docs.units(self.connect(), document_id)

    def unit(self, unit_id: int) -> dict[str, Any]:
        return _docs.unit(self.connect(), unit_id)

    def add_span(self, document_id: int, start: int, end: int, created_by: str) -> int:
        return _docs.add_span(self.connect(), document_id, start, end, created_by)

    def count_units(self) -> int:
        return _docs.count_units(self.connect())

    # ------------------------------------------------------------------ models and suggestions
    def register_model(self, version: str, backend: str, path: str | Path, card: dict | None = None,
                       registry_name: str | None = None, registry_version: str | None = None) -> dict[str, Any]:
        return _models.register_model(self.connect(), version, backend, str(path), card, registry_name,
                                      registry_version)

    def models(self) -> list[dict[str, Any]]:
        return _models.models(self.connect())

    def latest_model(self) -> dict[str, Any] | None:
        return _models.latest_model(self.connect())

    def add_suggestions(self, model_version: str, rows: Iterable[dict[str, Any]]) -> int:
        return _models.add_suggestions(self.connect(), model_version, rows)

    def suggestions(self, model_version: str | None = None) -> dict[int, dict[str, Any]]:
        return _models.suggestions(self.connect(), model_version)

    # ------------------------------------------------------------------ decisions
    def add_decision(self, unit_id: int, reviewer: str, action: str, mechanisms: Iterable[str] = (),
                     role: str | None = None, polarity: str | None = None, note: str | None = None,
                     suggestion: Any = None) -> int:
        """Append a validated decision event; durable before it returns."""
        return _dec.add_decision(self.connect(), self.codebook, unit_id, reviewer, action, mechanisms, role,
                                 polarity, note, suggestion)

    def undo(self, decision_id: int, reviewer: str) -> int:
        return _dec.undo(self.connect(), self.codebook, decision_id, reviewer)

    def decisions(self, unit_id: int | None = None, reviewer: str | None = None) -> list[dict[str, Any]]:
        return _dec.decisions(self.connect(), unit_id, reviewer)

    def current_codes(self, reviewer: str | None = None, version: str | None = None) -> dict[int, dict[str, Any]]:
        """unit id -> current code in the ids of codebook ``version`` (default: the current codebook).

        Codes recorded under older codebooks are carried through the stored
        revision mappings (``mechcode.store.revisions``); decisions are never rewritten.
        """
        return _rev.codes_at_version(self.connect(), version, reviewer)

    def labelled_units(self) -> list[dict[str, Any]]:
        """Training units: final codes only, in the current codebook (``mechcode.store.finals.training_units``)."""
        return training_units(self)

    # ------------------------------------------------------------------ codebook revisions
    def revise_codebook(self, ops: Iterable[dict[str, Any]], version: str | None = None,
                        definitions: Codebook | None = None, change: str | None = None) -> dict[str, Any]:
        """A new codebook version from rename/merge/split/retire/add ops (``revisions.apply_revision``)."""
        return _rev.apply_revision(self, ops, version, definitions, change)

    def codebook_changes(self) -> list[dict[str, Any]]:
        """Every codebook operation with its mapping, oldest first."""
        return codebook_changes(self.connect())

    def recode_queue(self, reviewer: str | None = None) -> list[dict[str, Any]]:
        """Units waiting for re-coding after a split (or a merge into several codes)."""
        return _rev.recode_queue(self, reviewer)

    # ------------------------------------------------------------------ summary
    def info(self) -> dict[str, Any]:
        """Counts and versions for ``mechcode info``."""
        con = self.connect()

        def count(sql: str) -> int:
            return int(con.execute(sql).fetchone()[0])

        cb = self.codebook
        latest = self.latest_model()
        return {
            "path": str(self.path),
            "schema_version": self.schema_version,
            "codebook": {"name": cb.name, "version": cb.version, "fingerprint": cb.fingerprint(),
                         "mechanisms": len(cb.mechanisms), "versions": count("SELECT COUNT(*) FROM codebooks")},
            "documents": count("SELECT COUNT(*) FROM documents"),
            "pages": count("SELECT COALESCE(SUM(n_pages), 0) FROM documents"),
            "units": count("SELECT COUNT(*) FROM units"),
            "spans": count("SELECT COUNT(*) FROM units WHERE kind = 'span'"),
            "decisions": count("SELECT COUNT(*) FROM decisions"),
            "reviewers": count("SELECT COUNT(DISTINCT reviewer) FROM decisions"),
            "coded_units": len(self.current_codes()),
            "models": count("SELECT COUNT(*) FROM models"),
            "latest_model": latest["version"] if latest else None,
            "suggestions": count("SELECT COUNT(*) FROM suggestions"),
        }
