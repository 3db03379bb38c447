"""Documents, passages and units (coding units) in the review database.

A document is written in one transaction together with all its passages and
its sentence units, so the database never holds half a document. Units are
the sentences of the abstract and body paragraphs (not titles or headings),
with offsets into the document text: ``documents.text[start:end] == units.text``.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from mechcode.document import Document, Passage
from mechcode.errors import StoreError
from mechcode.store.db import now, transaction

UNIT_KINDS = ("abstract", "paragraph")  # passage kinds whose sentences become units

_UNIT_SQL = """
    SELECT u.id, u.document_id, u.passage_id, u.seq, u.kind, u.text,
           COALESCE(p.text, u.text) AS context, u.start, u."end" AS "end", u.page, u.section,
           COALESCE(NULLIF(d.label, ''), NULLIF(d.title, ''), d.file_name) AS document_label,
           d.title AS document_title, u.created_by
    FROM units u JOIN documents d ON d.id = u.document_id
    LEFT JOIN passages p ON p.id = u.passage_id
"""


def _check_offsets(doc: Document) -> None:
    """Passage offsets must point at the passage text, sentence offsets into the passage."""
    for p in doc.passages:
        if p.start is not None and doc.text[p.start:p.end] != p.text:
            raise StoreError(f"{doc.file_name or 'document'}: passage {p.id} offsets "
                             f"[{p.start}:{p.end}] do not match its text")
        for s in p.sentences:
            if p.text[s.start:s.end] != s.text:
                raise StoreError(f"{doc.file_name or 'document'}: a sentence of passage {p.id} "
                                 f"has offsets [{s.start}:{s.end}] that do not match its text")


def unit_offsets(doc: Document) -> dict[int, list[tuple[int, int]]]:
    """passage index -> sentence offsets (into the passage text) of every unit passage.

    Uses ``passage.sentences`` when the extractor filled them, else splits here.
    """
    targets = [i for i, p in enumerate(doc.passages) if p.kind in UNIT_KINDS and p.start is not None]
    todo = [i for i in targets if not doc.passages[i].sentences and doc.passages[i].text.strip()]
    split: dict[int, list[tuple[int, int]]] = {}
    if todo:  # spaCy is imported only when something is left to split
        from mechcode.segment import split_many

        split = dict(zip(todo, split_many(doc.passages[i].text for i in todo)))
    out = {}
    for i in targets:
        p = doc.passages[i]
        out[i] = split[i] if i in split else [(s.start, s.end) for s in p.sentences]
    return out


def add_document(con: sqlite3.Connection, doc: Document, path: str | None = None) -> tuple[int, bool]:
    """Store ``doc`` with its passages and units; ``(id, created)``; idempotent by content hash."""
    if not doc.content_hash:
        raise StoreError(f"{doc.file_name or 'document'}: has no content hash")
    _check_offsets(doc)
    offsets = unit_offsets(doc)
    with transaction(con):
        row = con.execute("SELECT id FROM documents WHERE content_hash = ?", (doc.content_hash,)).fetchone()
        if row is not None:
            return int(row["id"]), False
        doc_id = _insert_document(con, doc, path)
        stamp = now()
        seq = 0
        for i, p in enumerate(doc.passages):
            passage_id = _insert_passage(con, doc_id, i, p)
            if i in offsets:
                seq = _insert_units(con, doc_id, passage_id, p, offsets[i], seq, stamp)
    return doc_id, True


def _insert_document(con: sqlite3.Connection, doc: Document, path: str | None) -> int:
    meta = doc.metadata or {}
    file_name = doc.file_name or (Path(path).name if path else "")
    cur = con.execute(
        "INSERT INTO documents (content_hash, file_name, path, n_pages, title, label, metadata, text,"
        " added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (doc.content_hash, file_name, str(path) if path else None, int(doc.n_pages or 0), doc.title,
         str(meta.get("label") or ""), json.dumps(meta, ensure_ascii=False, default=str), doc.text, now()))
    return int(cur.lastrowid)


def _insert_passage(con: sqlite3.Connection, doc_id: int, seq: int, p: Passage) -> int:
    cur = con.execute(
        'INSERT INTO passages (document_id, seq, kind, text, page, bbox, start, "end", section, level)'
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (doc_id, seq, p.kind, p.text, int(p.page), json.dumps([float(v) for v in p.bbox]), p.start, p.end,
         p.section, p.level))
    return int(cur.lastrowid)


def _insert_units(con: sqlite3.Connection, doc_id: int, passage_id: int, p: Passage,
                  offsets: list[tuple[int, int]], seq: int, stamp: str) -> int:
    """Insert the sentence units of one passage; returns the next unit seq."""
    rows = []
    for s, e in offsets:
        rows.append((doc_id, passage_id, seq, p.text[s:e], p.start + s, p.start + e, int(p.page),
                     p.section, stamp))
        seq += 1
    con.executemany(
        'INSERT INTO units (document_id, passage_id, seq, kind, text, start, "end", page, section,'
        " created_at) VALUES (?, ?, ?, 'sentence', ?, ?, ?, ?, ?, ?)", rows)
    return seq


def _document_dict(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["metadata"] = json.loads(d["metadata"] or "{}")
    return d


def documents(con: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every document (without its text), with its number of units."""
    rows = con.execute(
        "SELECT d.id, d.content_hash, d.file_name, d.path, d.n_pages, d.title, d.label, d.metadata,"
        " d.added_at, (SELECT COUNT(*) FROM units u WHERE u.document_id = d.id) AS n_units"
        " FROM documents d ORDER BY d.id").fetchall()
    return [_document_dict(r) for r in rows]


def document(con: sqlite3.Connection, doc_id: int) -> dict[str, Any]:
    """One document with its text; StoreError if unknown."""
    row = con.execute(
        "SELECT d.*, (SELECT COUNT(*) FROM units u WHERE u.document_id = d.id) AS n_units"
        " FROM documents d WHERE d.id = ?", (doc_id,)).fetchone()
    if row is None:
        raise StoreError(f"unknown document {doc_id}")
    return _document_dict(row)


def passages(con: sqlite3.Connection, doc_id: int) -> list[dict[str, Any]]:
    """The passages of a document in reading order."""
    rows = con.execute(
        'SELECT id, seq, kind, text, page, bbox, start, "end", section, level FROM passages'
        " WHERE document_id = ? ORDER BY seq", (doc_id,)).fetchall()
    out = []
    for r in rows:
        d = dict(r)
        d["bbox"] = json.loads(d["bbox"])
        out.append(d)
    return out


def units(con: sqlite3.Connection, document_id: int | None = None) -> list[dict[str, Any]]:
    """Units (of one document or all), in document order."""
    order = ' ORDER BY u.document_id, u.start, u."end", u.id'
    if document_id is None:
        rows = con.execute(_UNIT_SQL + order).fetchall()
    else:
        rows = con.execute(_UNIT_SQL + " WHERE u.document_id = ?" + order, (document_id,)).fetchall()
    return [dict(r) for r in rows]


def unit_places(con: sqlite3.Connection, document_id: int | None = None) -> list[sqlite3.Row]:
    """``(id, document_id)`` of every unit (of one document): the light form of :func:`units`."""
    sql = "SELECT id, document_id FROM units" + (" WHERE document_id = ?" if document_id is not None else "")
    return con.execute(sql, (document_id,) if document_id is not None else ()).fetchall()


def unit(con: sqlite3.Connection, unit_id: int) -> dict[str, Any]:
    """One unit; StoreError if unknown."""
    row = con.execute(_UNIT_SQL + " WHERE u.id = ?", (unit_id,)).fetchone()
    if row is None:
        raise StoreError(f"unknown unit {unit_id}")
    return dict(row)


def add_span(con: sqlite3.Connection, document_id: int, start: int, end: int, created_by: str) -> int:
    """Store a reviewer-selected span of the document text as a unit (kind ``span``).

    Surrounding whitespace is trimmed; the same span twice returns the same unit.
    """
    if not str(created_by or "").strip():
        raise StoreError("a span needs the name of the reviewer who selected it")
    with transaction(con):
        row = con.execute("SELECT text FROM documents WHERE id = ?", (document_id,)).fetchone()
        if row is None:
            raise StoreError(f"unknown document {document_id}")
        text = row["text"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            raise StoreError(f"span [{start}:{end}] is outside document {document_id} (0..{len(text)})")
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            raise StoreError(f"span [{start}:{end}] of document {document_id} holds only whitespace")
        same = con.execute("SELECT id FROM units WHERE document_id = ? AND kind = 'span' AND start = ?"
                           ' AND "end" = ?', (document_id, start, end)).fetchone()
        if same is not None:
            return int(same["id"])
        return _insert_span(con, document_id, start, end, text[start:end], created_by)


def _insert_span(con: sqlite3.Connection, document_id: int, start: int, end: int, text: str,
                 created_by: str) -> int:
    p = con.execute('SELECT id, page, section FROM passages WHERE document_id = ? AND start <= ?'
                    ' AND "end" > ? ORDER BY seq LIMIT 1', (document_id, start, start)).fetchone()
    if p is None:  # between passages: take the passage that follows
        p = con.execute('SELECT id, page, section FROM passages WHERE document_id = ? AND start >= ?'
                        " ORDER BY start LIMIT 1", (document_id, start)).fetchone()
    seq = con.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM units WHERE document_id = ?",
                      (document_id,)).fetchone()[0]
    cur = con.execute(
        'INSERT INTO units (document_id, passage_id, seq, kind, text, start, "end", page, section,'
        " created_by, created_at) VALUES (?, ?, ?, 'span', ?, ?, ?, ?, ?, ?, ?)",
        (document_id, p["id"] if p else None, seq, text, start, end, p["page"] if p else 1,
         p["section"] if p else None, created_by, now()))
    return int(cur.lastrowid)


def count_units(con: sqlite3.Connection) -> int:
    """How many units the review has."""
    return int(con.execute("SELECT COUNT(*) FROM units").fetchone()[0])
