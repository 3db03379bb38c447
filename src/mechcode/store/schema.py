"""The review database schema, as numbered migrations.

``PRAGMA user_version`` holds the number of migrations applied. A migration is
applied inside one transaction together with the version bump, so a database
is always at a whole version. Never edit a released migration: append one.

Tables (version 1):

- ``documents``: one row per distinct PDF (by content hash), its text and metadata.
- ``passages``: blocks of a document (paragraphs, headings, captions, tables,
  references ...) with page, bbox and offsets into ``documents.text``.
- ``units``: what gets coded. Sentences of body passages (kind ``sentence``)
  and arbitrary reviewer-selected spans (kind ``span``); offsets into
  ``documents.text``.
- ``codebooks``: every codebook version the review has had (the newest is current).
- ``models``: model versions the review has used (card JSON, where they live).
- ``suggestions``: model output per unit and model version (probabilities JSON).
- ``decisions``: the append-only audit trail of reviewer events. Undo is a
  new event (action ``undo``, ``undoes`` = the id it cancels); nothing is
  updated or deleted. The current code of a unit is derived from it.
- ``reviewers``: named users with a hashed personal token.
- ``retrains``: background retraining runs and their outcome.

Added by version 2 (team coding and codebook revisions):

- ``assignments``: double coding. One row per (unit or whole document, reviewer);
  a unit with two assigned reviewers is coded independently (blind) by both.
- ``codebook_changes``: one row per codebook operation (rename, merge, split,
  retire, add) with the explicit old-id -> new-ids mapping used to carry
  decisions made under ``version_from`` to ``version_to`` (decisions
  themselves are never rewritten; see ``mechcode.store.revisions``).
- ``models.stale``: why a model no longer matches the current codebook (NULL
  while it does); set when the codebook changes, so the next retrain uses it.

Added by version 3 (the reviewer page: sessions, search, clean units, batch decisions):

- ``sessions``: signed-in browser sessions; the cookie holds a random session id, the table
  its SHA-256 digest, the digest of the token that opened it and an expiry.
- ``units_fts``: SQLite FTS5 index over ``units.text`` (external content, kept by triggers).
- ``unit_flags``: per unit, whether it is codable prose (``mechcode.codable``) and why not.
- ``decision_batches``: decisions recorded by one action (e.g. a section rejected as not
  evidence), so they can be undone together.

Added by version 4 (training sources):

- ``training_sources``: labelled data a review's models train on besides its own decisions
  and its codebook (``kind`` ``seed``: a warm-start file). The units are stored in the row
  (JSON), with the file's SHA-256 and the codebook version their labels refer to, so every
  retrain uses them however the server or command was started (``mechcode.store.sources``).
"""
from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        content_hash TEXT NOT NULL UNIQUE,
        file_name TEXT NOT NULL,
        path TEXT,
        n_pages INTEGER NOT NULL DEFAULT 0,
        title TEXT NOT NULL DEFAULT '',
        label TEXT NOT NULL DEFAULT '',
        metadata TEXT NOT NULL DEFAULT '{}',
        text TEXT NOT NULL,
        added_at TEXT NOT NULL
    );
    CREATE TABLE passages (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        page INTEGER NOT NULL,
        bbox TEXT NOT NULL,
        start INTEGER,
        "end" INTEGER,
        section TEXT,
        level INTEGER,
        UNIQUE (document_id, seq)
    );
    CREATE TABLE units (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        passage_id INTEGER REFERENCES passages(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL DEFAULT 'sentence' CHECK (kind IN ('sentence', 'span')),
        text TEXT NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        page INTEGER NOT NULL,
        section TEXT,
        created_by TEXT,
        created_at TEXT NOT NULL,
        CHECK ("end" >= start)
    );
    CREATE INDEX units_doc ON units(document_id, seq);
    CREATE TABLE codebooks (
        version TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        body TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        change TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE models (
        version TEXT PRIMARY KEY,
        backend TEXT NOT NULL,
        path TEXT NOT NULL,
        card TEXT NOT NULL DEFAULT '{}',
        registry_name TEXT,
        registry_version TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE suggestions (
        id INTEGER PRIMARY KEY,
        unit_id INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
        model_version TEXT NOT NULL,
        mechanisms TEXT NOT NULL,
        role TEXT NOT NULL,
        polarity TEXT NOT NULL,
        rationale TEXT NOT NULL DEFAULT '[]',
        confidence REAL NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (unit_id, model_version)
    );
    CREATE INDEX suggestions_model ON suggestions(model_version, confidence);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        unit_id INTEGER NOT NULL REFERENCES units(id),
        reviewer TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('accept', 'correct', 'reject', 'skip', 'undo', 'adjudicate')),
        mechanisms TEXT NOT NULL DEFAULT '[]',
        role TEXT,
        polarity TEXT,
        note TEXT,
        undoes INTEGER REFERENCES decisions(id),
        suggestion_id INTEGER REFERENCES suggestions(id),
        model_version TEXT,
        suggested TEXT,
        codebook_version TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX decisions_unit ON decisions(unit_id, id);
    CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
    CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
    CREATE TABLE reviewers (
        name TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE retrains (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
        model_version TEXT,
        labelled INTEGER,
        metrics TEXT,
        error TEXT
    );
    """,
    # 2: team coding (double-coding assignments) and codebook revisions
    """
    CREATE TABLE assignments (
        id INTEGER PRIMARY KEY,
        unit_id INTEGER REFERENCES units(id) ON DELETE CASCADE,
        document_id INTEGER REFERENCES documents(id) ON DELETE CASCADE,
        reviewer TEXT NOT NULL,
        batch INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        CHECK ((unit_id IS NULL) != (document_id IS NULL)),
        UNIQUE (unit_id, reviewer),
        UNIQUE (document_id, reviewer)
    );
    CREATE INDEX assignments_unit ON assignments(unit_id);
    CREATE INDEX assignments_document ON assignments(document_id);
    CREATE TABLE codebook_changes (
        id INTEGER PRIMARY KEY,
        version_from TEXT NOT NULL REFERENCES codebooks(version),
        version_to TEXT NOT NULL REFERENCES codebooks(version),
        op TEXT NOT NULL CHECK (op IN ('rename', 'merge', 'split', 'retire', 'add')),
        source TEXT NOT NULL DEFAULT '[]',
        target TEXT NOT NULL DEFAULT '[]',
        mapping TEXT NOT NULL DEFAULT '{}',
        review INTEGER NOT NULL DEFAULT 0,
        note TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX codebook_changes_versions ON codebook_changes(version_from, version_to);
    ALTER TABLE models ADD COLUMN stale TEXT;
    """,
    # 3: reviewer page: sessions, full-text search, non-codable units, decision batches
    """
    CREATE TABLE IF NOT EXISTS sessions (
        id_hash TEXT PRIMARY KEY,
        reviewer TEXT,
        token_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions(expires_at);
    CREATE VIRTUAL TABLE IF NOT EXISTS units_fts USING fts5(text, content='units', content_rowid='id',
        tokenize='porter unicode61');
    INSERT INTO units_fts(units_fts) VALUES ('rebuild');
    CREATE TRIGGER IF NOT EXISTS units_fts_insert AFTER INSERT ON units
        BEGIN INSERT INTO units_fts(rowid, text) VALUES (new.id, new.text); END;
    CREATE TRIGGER IF NOT EXISTS units_fts_delete AFTER DELETE ON units
        BEGIN INSERT INTO units_fts(units_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
    CREATE TRIGGER IF NOT EXISTS units_fts_update AFTER UPDATE OF text ON units
        BEGIN INSERT INTO units_fts(units_fts, rowid, text) VALUES ('delete', old.id, old.text);
              INSERT INTO units_fts(rowid, text) VALUES (new.id, new.text); END;
    CREATE TABLE IF NOT EXISTS unit_flags (
        unit_id INTEGER PRIMARY KEY REFERENCES units(id) ON DELETE CASCADE,
        codable INTEGER NOT NULL,
        reason TEXT
    );
    CREATE TABLE IF NOT EXISTS decision_batches (
        decision_id INTEGER PRIMARY KEY REFERENCES decisions(id),
        batch TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS decision_batches_batch ON decision_batches(batch);
    CREATE INDEX IF NOT EXISTS decisions_reviewer ON decisions(reviewer, id);
    """,
    # 4: training sources: labelled data files a review's models always train on
    """
    CREATE TABLE IF NOT EXISTS training_sources (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        path TEXT,
        sha256 TEXT NOT NULL UNIQUE,
        codebook_version TEXT NOT NULL,
        n_units INTEGER NOT NULL,
        units TEXT NOT NULL,
        added_at TEXT NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
