"""Model versions a review has used, and their suggestions per unit."""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterable

from mechcode.errors import StoreError
from mechcode.store.db import now, transaction
from mechcode.store.decisions import decode_suggestion


def _model_dict(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["card"] = json.loads(d["card"] or "{}")
    return d


def register_model(con: sqlite3.Connection, version: str, backend: str, path: str, card: dict | None = None,
                   registry_name: str | None = None, registry_version: str | None = None) -> dict[str, Any]:
    """Record a model version (StoreError if that version is already registered)."""
    version = str(version or "").strip()
    if not version:
        raise StoreError("a model needs a version")
    with transaction(con):
        if con.execute("SELECT 1 FROM models WHERE version = ?", (version,)).fetchone():
            raise StoreError(f"model version {version!r} is already registered in this review")
        con.execute(
            "INSERT INTO models (version, backend, path, card, registry_name, registry_version, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (version, str(backend), str(path), json.dumps(card or {}, ensure_ascii=False, default=str),
             registry_name, None if registry_version is None else str(registry_version), now()))
    return model(con, version)


def model(con: sqlite3.Connection, version: str) -> dict[str, Any]:
    """One registered model; StoreError if unknown."""
    row = con.execute("SELECT * FROM models WHERE version = ?", (version,)).fetchone()
    if row is None:
        raise StoreError(f"unknown model version {version!r}")
    return _model_dict(row)


def models(con: sqlite3.Connection) -> list[dict[str, Any]]:
    """Registered models, oldest first."""
    return [_model_dict(r) for r in con.execute("SELECT * FROM models ORDER BY rowid")]


def latest_model(con: sqlite3.Connection) -> dict[str, Any] | None:
    """The most recently registered model, or None."""
    row = con.execute("SELECT * FROM models ORDER BY rowid DESC LIMIT 1").fetchone()
    return _model_dict(row) if row else None


def confidence(row: dict[str, Any]) -> float:
    """A suggestion's confidence: the row's own, else the highest mechanism or role probability."""
    if row.get("confidence") is not None:
        return float(row["confidence"])
    probs = [float(p) for key in ("mechanisms", "role") if isinstance(row.get(key), dict)
             for p in row[key].values()]
    return max(probs, default=0.0)


def add_suggestions(con: sqlite3.Connection, model_version: str, rows: Iterable[dict[str, Any]]) -> int:
    """Store (or replace) one suggestion per unit for ``model_version``, in one transaction.

    Returns how many rows were written; StoreError (and nothing stored) on an unknown unit.
    """
    stamp, n = now(), 0
    sql = ("INSERT INTO suggestions (unit_id, model_version, mechanisms, role, polarity, rationale,"
           " confidence, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
           " ON CONFLICT (unit_id, model_version) DO UPDATE SET mechanisms = excluded.mechanisms,"
           " role = excluded.role, polarity = excluded.polarity, rationale = excluded.rationale,"
           " confidence = excluded.confidence, created_at = excluded.created_at")
    with transaction(con):
        for row in rows:
            if "unit_id" not in row:
                raise StoreError("every suggestion row needs a 'unit_id'")
            uid = int(row["unit_id"])
            values = (uid, str(model_version), _json(row.get("mechanisms", {})), _json(row.get("role", {})),
                      _json(row.get("polarity", {})), _json(row.get("rationale", [])), confidence(row), stamp)
            try:
                con.execute(sql, values)
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"unknown unit {uid}") from exc
            n += 1
    return n


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=float)


def suggestions(con: sqlite3.Connection, model_version: str | None = None) -> dict[int, dict[str, Any]]:
    """unit id -> suggestion of ``model_version`` (default: the latest model that has suggestions)."""
    if model_version is None:
        model_version = _default_version(con)
        if model_version is None:
            return {}
    rows = con.execute("SELECT * FROM suggestions WHERE model_version = ? ORDER BY unit_id", (model_version,))
    return {r["unit_id"]: decode_suggestion(r) for r in rows}


def _default_version(con: sqlite3.Connection) -> str | None:
    """The latest registered model with suggestions, else the model of the newest suggestion."""
    row = con.execute("SELECT m.version FROM models m WHERE EXISTS (SELECT 1 FROM suggestions s"
                      " WHERE s.model_version = m.version) ORDER BY m.rowid DESC LIMIT 1").fetchone()
    if row is None:
        row = con.execute("SELECT model_version AS version FROM suggestions ORDER BY id DESC LIMIT 1").fetchone()
    return row["version"] if row else None


def finished_documents(con: sqlite3.Connection, model_version: str) -> set[str]:
    """Content hashes of documents whose every sentence unit has a suggestion of ``model_version``."""
    rows = con.execute(
        "SELECT d.content_hash FROM documents d WHERE NOT EXISTS ("
        " SELECT 1 FROM units u WHERE u.document_id = d.id AND u.kind = 'sentence' AND NOT EXISTS ("
        "  SELECT 1 FROM suggestions s WHERE s.unit_id = u.id AND s.model_version = ?))",
        (model_version,)).fetchall()
    return {r[0] for r in rows}
