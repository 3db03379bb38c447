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
from typing import Any, Iterable, Iterator

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


def decision(con: sqlite3.Connection, decision_id: int) -> dict[str, Any] | None:
    """A decision's ``{id, unit_id, action, reviewer}``, or None if there is none."""
    row = con.execute("SELECT id, unit_id, action, reviewer FROM decisions WHERE id = ?", (decision_id,)).fetchone()
    return dict(row) if row is not None else None


def decisions(con: sqlite3.Connection, unit_id: int | None = None,
              reviewer: str | None = None) -> list[dict[str, Any]]:
    """Decision events in the order they were recorded (optionally of one unit / reviewer)."""
    sql, args = "SELECT * FROM decisions WHERE 1", []
    if unit_id is not None:
        sql, args = sql + " AND unit_id = ?", args + [unit_id]
    if reviewer is not None:
        sql, args = sql + " AND reviewer = ?", args + [reviewer]
    return [_decode(r) for r in con.execute(sql + " ORDER BY id", args)]


def coding_events(con: sqlite3.Connection, reviewer: str | None = None,
                  versions: Iterable[str] | None = None) -> Iterator[sqlite3.Row]:
    """The coding events (accept, correct, reject, adjudicate) not undone, oldest first.

    ``versions`` (codebook versions) limits the log to the events recorded under them.
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
    return (r for r in con.execute(sql + " ORDER BY id", args) if r["id"] not in undone)


def current_codes(con: sqlite3.Connection, reviewer: str | None = None,
                  versions: Iterable[str] | None = None) -> dict[int, dict[str, Any]]:
    """unit id -> its current code, derived from the event log (an adjudication outranks the coders).

    ``versions`` (codebook versions) limits the log to the events recorded
    under those versions: the codes as they stood at an earlier codebook.
    The mechanism ids are as recorded (``codebook_version`` says under which
    codebook); ``mechcode.store.revisions`` carries them to a later version.
    """
    last: dict[int, sqlite3.Row] = {}
    adjudicated: dict[int, sqlite3.Row] = {}
    for r in coding_events(con, reviewer, versions):
        last[r["unit_id"]] = r
        if r["action"] == "adjudicate":
            adjudicated[r["unit_id"]] = r
    last.update(adjudicated)
    return {uid: row_code(r) for uid, r in sorted(last.items())}


def row_code(r: sqlite3.Row) -> dict[str, Any]:
    """A decision row as a code dict (``current_codes`` values)."""
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


def add_batch(con: sqlite3.Connection, codebook: Codebook, unit_ids: Iterable[int], reviewer: str,
              action: str, batch: str, note: str | None = None) -> list[int]:
    """One ``action`` decision per unit, recorded in one transaction under ``batch`` (undone together)."""
    ids = []
    with transaction(con):
        for uid in unit_ids:
            did = add_decision(con, codebook, uid, reviewer, action, note=note)
            con.execute("INSERT INTO decision_batches (decision_id, batch) VALUES (?, ?)", (did, batch))
            ids.append(did)
    return ids


def undo_batch(con: sqlite3.Connection, codebook: Codebook, batch: str, reviewer: str) -> list[int]:
    """Undo every decision of ``batch`` that is not undone yet (one transaction); the undo ids."""
    with transaction(con):
        rows = con.execute("SELECT b.decision_id FROM decision_batches b WHERE b.batch = ? AND NOT EXISTS"
                           " (SELECT 1 FROM decisions u WHERE u.undoes = b.decision_id)"
                           " ORDER BY b.decision_id", (batch,)).fetchall()
        return [undo(con, codebook, r[0], reviewer) for r in rows]


def batch_reviewers(con: sqlite3.Connection, batch: str) -> set[str]:
    """The reviewers whose decisions make up ``batch`` (empty for an unknown batch)."""
    return {r[0] for r in con.execute("SELECT d.reviewer FROM decision_batches b JOIN decisions d"
                                      " ON d.id = b.decision_id WHERE b.batch = ?", (batch,))}


def batch_of(con: sqlite3.Connection, decision_ids: Iterable[int]) -> dict[int, str]:
    """decision id -> its batch, for the decisions recorded in one."""
    ids = list(decision_ids)
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    return {int(r[0]): r[1] for r in con.execute(
        f"SELECT decision_id, batch FROM decision_batches WHERE decision_id IN ({marks})", ids)}


def reviewer_history(con: sqlite3.Connection, reviewer: str, limit: int = 50, before: int | None = None,
                     document_id: int | None = None, mechanism: str | None = None,
                     action: str | None = None) -> list[dict[str, Any]]:
    """``reviewer``'s decisions (not undo events), newest first, with what each changed.

    Each row: the event, ``undone`` (and ``undone_at``), ``before`` (the reviewer's code of the
    unit just before this decision, None if there was none) and ``batch``."""
    sql = ("SELECT d.* FROM decisions d JOIN units u ON u.id = d.unit_id"
           " WHERE d.reviewer = ? AND d.action != 'undo'")
    args: list[Any] = [reviewer]
    if before is not None:
        sql, args = sql + " AND d.id < ?", args + [before]
    if document_id is not None:
        sql, args = sql + " AND u.document_id = ?", args + [document_id]
    if action is not None:
        sql, args = sql + " AND d.action = ?", args + [action]
    if mechanism is not None:
        sql, args = sql + " AND EXISTS (SELECT 1 FROM json_each(d.mechanisms) WHERE value = ?)", args + [mechanism]
    rows = [_decode(r) for r in con.execute(sql + " ORDER BY d.id DESC LIMIT ?", args + [limit])]
    if not rows:
        return []
    units = sorted({r["unit_id"] for r in rows})
    marks = ", ".join("?" * len(units))
    events = [_decode(r) for r in con.execute(
        f"SELECT * FROM decisions WHERE (reviewer = ? OR action = 'undo') AND unit_id IN ({marks}) ORDER BY id",
        [reviewer] + units)]
    undone = {e["undoes"]: e["created_at"] for e in con.execute(
        f"SELECT undoes, created_at FROM decisions WHERE action = 'undo' AND unit_id IN ({marks})", units)}
    batches = batch_of(con, [r["id"] for r in rows])
    for r in rows:
        r["undone"] = r["id"] in undone
        r["undone_at"] = undone.get(r["id"])
        r["before"] = _code_before(events, r["unit_id"], r["id"])
        r["batch"] = batches.get(r["id"])
    return rows


def _code_before(events: list[dict[str, Any]], unit_id: int, decision_id: int) -> dict[str, Any] | None:
    """The reviewer's code of ``unit_id`` just before event ``decision_id`` (events: theirs, by id)."""
    stack: list[dict[str, Any]] = []
    for e in events:
        if e["id"] >= decision_id:
            break
        if e["unit_id"] != unit_id:
            continue
        if e["action"] == "undo":
            stack = [s for s in stack if s["id"] != e["undoes"]]
        elif e["action"] in CODE_ACTIONS:
            stack.append(e)
    if not stack:
        return None
    e = stack[-1]
    return {"mechanisms": e["mechanisms"], "role": e["role"], "polarity": e["polarity"], "action": e["action"],
            "decision_id": e["id"]}


def previous_code(con: sqlite3.Connection, reviewer: str, unit_id: int) -> dict[str, Any] | None:
    """The reviewer's current code of ``unit_id`` (their last code event not undone), or None."""
    events = [_decode(r) for r in con.execute("SELECT * FROM decisions WHERE (reviewer = ? OR action = 'undo')"
                                              " AND unit_id = ? ORDER BY id", (reviewer, unit_id))]
    return _code_before(events, unit_id, 1 << 62)


def recent_codes(con: sqlite3.Connection, reviewer: str | None, document_id: int | None,
                 limit: int = 200) -> list[dict[str, Any]]:
    """The latest code decisions not undone (of ``reviewer``, in a paper), newest first."""
    sql = ("SELECT d.action, d.mechanisms, d.role FROM decisions d JOIN units u ON u.id = d.unit_id"
           " WHERE d.action IN ('accept', 'correct', 'reject', 'adjudicate')"
           " AND d.id NOT IN (SELECT undoes FROM decisions WHERE action = 'undo' AND undoes IS NOT NULL)")
    args: list[Any] = []
    if reviewer is not None:
        sql, args = sql + " AND d.reviewer = ?", args + [reviewer]
    if document_id is not None:
        sql, args = sql + " AND u.document_id = ?", args + [document_id]
    rows = con.execute(sql + " ORDER BY d.id DESC LIMIT ?", args + [limit])
    return [{"action": r["action"], "mechanisms": json.loads(r["mechanisms"] or "[]"), "role": r["role"]}
            for r in rows]
