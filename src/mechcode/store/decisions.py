"""Reviewer decisions: an append-only event log, and the current codes derived from it.

Nothing in ``decisions`` is ever updated or deleted (the schema's triggers
refuse it). An undo is a new event that names the event it cancels. The
current code of a unit is the last code event (accept, correct, reject,
adjudicate) that has not been undone; across reviewers an adjudication
outranks the individual reviewers' codes. ``skip`` events record that a
reviewer passed over a unit and never count as a code.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterable

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
from mechcode.errors import CodebookError, StoreError
from mechcode.store.db import now, transaction

ACTIONS = ("accept", "correct", "reject", "skip", "adjudicate")
CODE_ACTIONS = ("accept", "correct", "reject", "adjudicate")


def _mechanisms(mechanisms: Iterable[str] | str | None, codebook: Codebook) -> list[str]:
    """Validated mechanism ids, duplicates dropped, order kept."""
    if mechanisms is None:
        return []
    if isinstance(mechanisms, str):
        mechanisms = [mechanisms]
    out: list[str] = []
    for mid in mechanisms:
        m = codebook.get(str(mid))  # CodebookError for an unknown id
        if m.status == "merged":
            raise CodebookError(f"mechanism {m.id!r} was merged into {', '.join(m.merged_into)}; "
                                f"code it as that instead")
        if m.status == "retired":
            raise CodebookError(f"mechanism {m.id!r} is retired in codebook v{codebook.version}")
        if m.id not in out:
            out.append(m.id)
    return out


def validate(action: str, mechanisms: Any, role: str | None, polarity: str | None,
             codebook: Codebook) -> tuple[list[str], str | None, str | None]:
    """Check one decision's action and codes; returns the normalised codes."""
    if action == "undo":
        raise StoreError("an undo is recorded with Review.undo(decision_id, reviewer)")
    if action not in ACTIONS:
        raise StoreError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    mechs = _mechanisms(mechanisms, codebook)
    role = role or None
    polarity = polarity or None
    if role is not None and role not in ROLE_IDS:
        raise CodebookError(f"unknown role {role!r}; expected one of {', '.join(ROLE_IDS)}")
    if polarity is not None and polarity not in POLARITY_IDS:
        raise CodebookError(f"unknown polarity {polarity!r}; expected one of {', '.join(POLARITY_IDS)}")
    if action in ("reject", "skip") and mechs:
        raise StoreError(f"a {action} carries no mechanisms; use 'correct' to give the right codes")
    return mechs, role, polarity


def _suggestion(con: sqlite3.Connection, unit_id: int, suggestion: Any) -> tuple[Any, Any, Any]:
    """(suggestion_id, model_version, snapshot JSON) for the suggestion the reviewer saw."""
    if suggestion is None:
        return None, None, None
    if isinstance(suggestion, dict):
        sid = suggestion.get("suggestion_id", suggestion.get("id"))
        snapshot = dict(suggestion)
    else:
        sid, snapshot = suggestion, None
    if sid is not None:
        row = con.execute("SELECT * FROM suggestions WHERE id = ?", (int(sid),)).fetchone()
        if row is None:
            raise StoreError(f"unknown suggestion {sid}")
        if row["unit_id"] != unit_id:
            raise StoreError(f"suggestion {sid} belongs to unit {row['unit_id']}, not unit {unit_id}")
        if snapshot is None:
            snapshot = decode_suggestion(row)
        snapshot.setdefault("model_version", row["model_version"])
    return sid, snapshot.get("model_version"), json.dumps(snapshot, ensure_ascii=False, default=str)


def add_decision(con: sqlite3.Connection, codebook: Codebook, unit_id: int, reviewer: str, action: str,
                 mechanisms: Any = (), role: str | None = None, polarity: str | None = None,
                 note: str | None = None, suggestion: Any = None) -> int:
    """Append one decision event (committed before it returns); returns its id."""
    reviewer = str(reviewer or "").strip()
    if not reviewer:
        raise StoreError("a decision needs a reviewer name")
    mechs, role, polarity = validate(action, mechanisms, role, polarity, codebook)
    with transaction(con):
        if con.execute("SELECT 1 FROM units WHERE id = ?", (unit_id,)).fetchone() is None:
            raise StoreError(f"unknown unit {unit_id}")
        sid, model_version, suggested = _suggestion(con, unit_id, suggestion)
        cur = con.execute(
            "INSERT INTO decisions (unit_id, reviewer, action, mechanisms, role, polarity, note,"
            " suggestion_id, model_version, suggested, codebook_version, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (unit_id, reviewer, action, json.dumps(mechs), role, polarity, note, sid, model_version,
             suggested, codebook.version, now()))
        return int(cur.lastrowid)


def undo(con: sqlite3.Connection, codebook: Codebook, decision_id: int, reviewer: str) -> int:
    """Append an ``undo`` event cancelling ``decision_id``; returns the new event's id."""
    reviewer = str(reviewer or "").strip()
    if not reviewer:
        raise StoreError("an undo needs a reviewer name")
    with transaction(con):
        row = con.execute("SELECT unit_id, action FROM decisions WHERE id = ?", (decision_id,)).fetchone()
        if row is None:
            raise StoreError(f"unknown decision {decision_id}")
        if row["action"] == "undo":
            raise StoreError(f"decision {decision_id} is itself an undo; record the decision again instead")
        if con.execute("SELECT 1 FROM decisions WHERE undoes = ?", (decision_id,)).fetchone():
            raise StoreError(f"decision {decision_id} is already undone")
        cur = con.execute(
            "INSERT INTO decisions (unit_id, reviewer, action, undoes, codebook_version, created_at)"
            " VALUES (?, ?, 'undo', ?, ?, ?)", (row["unit_id"], reviewer, decision_id, codebook.version, now()))
        return int(cur.lastrowid)


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["mechanisms"] = json.loads(d["mechanisms"] or "[]")
    d["suggested"] = json.loads(d["suggested"]) if d.get("suggested") else None
    return d


def decisions(con: sqlite3.Connection, unit_id: int | None = None,
              reviewer: str | None = None) -> list[dict[str, Any]]:
    """Decision events in the order they were recorded (optionally of one unit / reviewer)."""
    sql, args = "SELECT * FROM decisions WHERE 1", []
    if unit_id is not None:
        sql, args = sql + " AND unit_id = ?", args + [unit_id]
    if reviewer is not None:
        sql, args = sql + " AND reviewer = ?", args + [reviewer]
    return [_decode(r) for r in con.execute(sql + " ORDER BY id", args)]


def current_codes(con: sqlite3.Connection, reviewer: str | None = None,
                  versions: Iterable[str] | None = None) -> dict[int, dict[str, Any]]:
    """unit id -> its current code, derived from the event log.

    ``versions`` (codebook versions) limits the log to the events recorded
    under those versions: the codes as they stood at an earlier codebook.
    The mechanism ids are as recorded (``codebook_version`` says under which
    codebook); ``mechcode.store.revisions`` carries them to a later version.
    """
    undo_sql, sql = ("SELECT undoes FROM decisions WHERE action = 'undo'",
                     "SELECT id, unit_id, reviewer, action, mechanisms, role, polarity, note, created_at,"
                     " codebook_version FROM decisions WHERE action IN ('accept', 'correct', 'reject', 'adjudicate')")
    args: list[Any] = []
    if versions is not None:
        versions = list(versions)
        marks = ", ".join("?" * len(versions))
        undo_sql += f" AND codebook_version IN ({marks})"
        sql, args = sql + f" AND codebook_version IN ({marks})", args + versions
    undone = {r[0] for r in con.execute(undo_sql, versions or [])}
    if reviewer is not None:
        sql, args = sql + " AND reviewer = ?", args + [reviewer]
    last: dict[int, sqlite3.Row] = {}
    adjudicated: dict[int, sqlite3.Row] = {}
    for r in con.execute(sql + " ORDER BY id", args):
        if r["id"] in undone:
            continue
        last[r["unit_id"]] = r
        if r["action"] == "adjudicate":
            adjudicated[r["unit_id"]] = r
    last.update(adjudicated)
    return {uid: _code(r) for uid, r in sorted(last.items())}


def _code(r: sqlite3.Row) -> dict[str, Any]:
    return {"mechanisms": json.loads(r["mechanisms"] or "[]"), "role": r["role"], "polarity": r["polarity"],
            "reviewer": r["reviewer"], "action": r["action"], "decision_id": r["id"], "note": r["note"],
            "created_at": r["created_at"], "codebook_version": r["codebook_version"]}


def labelled_units(con: sqlite3.Connection, codes: dict[int, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Units with a current code (or with one of ``codes``), in the ``units.jsonl`` training shape.

    A rejected unit is a negative example: no mechanisms, role ``none``.
    """
    codes = current_codes(con) if codes is None else codes
    if not codes:
        return []
    out = []
    rows = con.execute('SELECT u.id, u.text, COALESCE(p.text, u.text) AS context, u.passage_id, u.document_id'
                       " FROM units u LEFT JOIN passages p ON p.id = u.passage_id"
                       ' ORDER BY u.document_id, u.start, u."end", u.id')
    for r in rows:
        code = codes.get(r["id"])
        if code is None:
            continue
        reject = code["action"] == "reject"
        out.append({"id": r["id"], "text": r["text"], "context": r["context"],
                    "group": r["passage_id"] if r["passage_id"] is not None else -r["document_id"],
                    "paper": f"doc{r['document_id']}",
                    "mechanisms": [] if reject else code["mechanisms"],
                    "role": "none" if reject else code["role"],
                    "polarity": None if reject else code["polarity"]})
    return out


def decode_suggestion(row: sqlite3.Row) -> dict[str, Any]:
    """A stored suggestion row as a dict with its JSON fields decoded."""
    d = dict(row)
    for key in ("mechanisms", "role", "polarity", "rationale"):
        d[key] = json.loads(d[key]) if d.get(key) else ({} if key != "rationale" else [])
    return d
