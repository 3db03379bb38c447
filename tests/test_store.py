"""The review store: folder, migrations, documents/units, decisions, suggestions, crash safety."""
from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mechcode.document import Document, Passage, Sentence
from mechcode.errors import CodebookError, StoreError
from mechcode.store import documents as store_documents
from mechcode.store.db import connect, migrate, split_statements, user_version
from mechcode.store.review import Review
from mechcode.store.schema import MIGRATIONS, SCHEMA_VERSION

CODEBOOK = """\
name: Tiny review
version: "1"
mechanisms:
  - id: shared-vision
    name: Shared vision
    description: Leaders articulate a common purpose.
  - id: trust
    name: Trust
  - id: power
    name: Working with power
    status: merged
    merged_into: [trust]
  - id: old-code
    name: Old code
    status: retired
"""


def write_codebook(folder: Path, text: str = CODEBOOK) -> Path:
    path = folder / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def make_document(paragraphs: list[str], title: str = "A title", salt: str = "") -> Document:
    """A Document: title, heading, abstract and paragraphs joined by blank lines, pages 1, 1, 2, 3 ..."""
    blocks = [("title", title, None), ("heading", "Introduction", 1)]
    blocks += [("abstract" if i == 0 else "paragraph", p, None) for i, p in enumerate(paragraphs)]
    text, passages = "", []
    for i, (kind, block, level) in enumerate(blocks):
        if text:
            text += "\n\n"
        passages.append(Passage(id=i, kind=kind, text=block, page=1 + i // 3, bbox=(1.0, 2.0, 3.0, 4.0),
                                start=len(text), end=len(text) + len(block), level=level,
                                section=None if kind in ("title", "heading") else "Introduction"))
        text += block
    passages.append(Passage(id=len(blocks), kind="reference", text="[1] Smith J. 2020.", page=9,
                            bbox=(0, 0, 1, 1)))
    digest = hashlib.sha256((salt + text).encode()).hexdigest()
    return Document(text=text, passages=passages, content_hash=digest, file_name="paper.pdf", n_pages=3,
                    metadata={"label": "Smith (2020)"})


PARAS = ["Leaders shared a vision (p676). Staff trusted them, e.g. in Fig. 2.",
         "Integration failed where power was contested. Trust fell."]


@pytest.fixture
def rv(tmp_path) -> Review:
    return Review.init(tmp_path / "review", write_codebook(tmp_path))


@pytest.fixture
def units(rv) -> list[dict]:
    rv.add_document(make_document(PARAS))
    return rv.units()


def count(rv: Review, table: str) -> int:
    return rv.connect().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# ----------------------------------------------------------------------------- folder
def test_init_creates_folder_and_open_reads_it(tmp_path):
    cb = write_codebook(tmp_path)
    rv = Review.init(tmp_path / "r", cb)
    assert rv.db_path.is_file() and rv.models_dir.is_dir() and rv.cache_dir.is_dir()
    assert (tmp_path / "r" / "codebook.yaml").read_bytes() == cb.read_bytes()
    again = Review.open(tmp_path / "r")
    assert again.codebook.name == "Tiny review"
    assert again.codebook.mechanism_ids()[:2] == ["shared-vision", "trust"]
    assert [c["version"] for c in again.codebooks()] == ["1"]
    with pytest.raises(StoreError, match="already exists"):
        Review.init(tmp_path / "r", cb)


def test_open_rejects_a_folder_that_is_not_a_review(tmp_path):
    with pytest.raises(StoreError, match="not a review"):
        Review.open(tmp_path)


def test_init_with_invalid_codebook_creates_nothing(tmp_path):
    bad = write_codebook(tmp_path, "name: x\nmechanisms: []\n")
    with pytest.raises(CodebookError):
        Review.init(tmp_path / "r", bad)
    assert not (tmp_path / "r").exists()


def test_update_codebook_keeps_every_version(rv, tmp_path):
    assert rv.update_codebook(write_codebook(tmp_path)) is False
    newer = write_codebook(tmp_path, CODEBOOK.replace('version: "1"', 'version: "2"') +
                           "  - id: learning\n    name: Learning\n")
    assert rv.update_codebook(newer, change="add learning") is True
    assert rv.codebook.version == "2" and "learning" in rv.codebook.mechanism_ids()
    assert [c["version"] for c in rv.codebooks()] == ["1", "2"]
    same_version = write_codebook(tmp_path, CODEBOOK.replace("Trust", "Trust and respect"))
    with pytest.raises(StoreError, match="new version"):
        rv.update_codebook(same_version)


# ----------------------------------------------------------------------------- migrations
def test_fresh_database_is_at_schema_version_with_pragmas(rv):
    con = rv.connect()
    assert user_version(con) == SCHEMA_VERSION == rv.schema_version
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"documents", "passages", "units", "codebooks", "models", "suggestions", "decisions"} <= tables


def test_newer_schema_is_refused(rv):
    rv.connect().execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    rv.close()
    with pytest.raises(StoreError, match="newer than this mechcode"):
        Review.open(rv.path)


def test_migrate_applies_each_migration_once(tmp_path):
    con = connect(tmp_path / "x.db")
    assert migrate(con) == SCHEMA_VERSION
    assert migrate(con) == SCHEMA_VERSION  # nothing left to do, no "table exists" error
    triggers = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
    assert sorted(triggers) == ["decisions_no_delete", "decisions_no_update",
                                "units_fts_delete", "units_fts_insert", "units_fts_update"]


def test_split_statements_keeps_trigger_bodies_whole():
    stmts = split_statements(MIGRATIONS[0])
    triggers = [s for s in stmts if s.startswith("CREATE TRIGGER")]
    assert len(triggers) == 2 and all(s.endswith("END;") for s in triggers)


def test_a_failing_migration_leaves_the_database_at_its_old_version(tmp_path, monkeypatch):
    import mechcode.store.db as db

    monkeypatch.setattr(db, "MIGRATIONS", MIGRATIONS + ["CREATE TABLE extra (x INTEGER); SELECT nosuchfn();"])
    monkeypatch.setattr(db, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    con = connect(tmp_path / "x.db")
    with pytest.raises(sqlite3.OperationalError):
        migrate(con)
    assert user_version(con) == SCHEMA_VERSION
    assert con.execute("SELECT name FROM sqlite_master WHERE name = 'extra'").fetchone() is None


# ----------------------------------------------------------------------------- documents and units
def test_add_document_is_idempotent(rv):
    doc = make_document(PARAS)
    doc_id, created = rv.add_document(doc, path="/papers/paper.pdf")
    assert created
    assert rv.add_document(doc) == (doc_id, False)
    assert len(rv.documents()) == 1 and rv.has_document(doc.content_hash)
    d = rv.document(doc_id)
    assert d["text"] == doc.text and d["label"] == "Smith (2020)" and d["path"] == "/papers/paper.pdf"
    assert d["n_units"] == rv.count_units() == 4
    with pytest.raises(StoreError, match="unknown document"):
        rv.document(doc_id + 1)


def test_units_are_sentences_of_abstract_and_paragraphs_with_offsets(rv):
    doc = make_document(PARAS)
    doc_id, _ = rv.add_document(doc)
    units = rv.units(doc_id)
    assert [u["text"] for u in units] == [
        "Leaders shared a vision (p676).", "Staff trusted them, e.g. in Fig. 2.",
        "Integration failed where power was contested.", "Trust fell."]
    for u in units:
        assert doc.text[u["start"]:u["end"]] == u["text"]
        assert u["kind"] == "sentence" and u["section"] == "Introduction"
        assert u["document_label"] == "Smith (2020)" and u["document_title"] == "A title"
        assert u["text"] in u["context"]
    assert [u["page"] for u in units] == [1, 1, 2, 2]  # page of the passage
    passages = rv.passages(doc_id)
    assert [p["kind"] for p in passages] == ["title", "heading", "abstract", "paragraph", "reference"]
    assert passages[0]["bbox"] == [1.0, 2.0, 3.0, 4.0] and passages[4]["start"] is None
    assert rv.unit(units[1]["id"]) == units[1]
    with pytest.raises(StoreError, match="unknown unit 999"):
        rv.unit(999)


def test_extractor_sentences_are_used_as_given(rv):
    doc = make_document(["One. Two. Three."])
    abstract = doc.passages[2]
    abstract.sentences = [Sentence(0, 9, "One. Two."), Sentence(10, 16, "Three.")]
    rv.add_document(doc)
    assert [u["text"] for u in rv.units()] == ["One. Two.", "Three."]


def test_mismatched_offsets_are_refused_and_nothing_stored(rv):
    doc = make_document(PARAS)
    doc.passages[3].start += 1
    with pytest.raises(StoreError, match="do not match"):
        rv.add_document(doc)
    assert count(rv, "documents") == count(rv, "passages") == 0


def test_crash_in_the_middle_of_a_document_leaves_nothing_half_written(rv, monkeypatch):
    first_id, _ = rv.add_document(make_document(PARAS, salt="first"))
    before = {t: count(rv, t) for t in ("documents", "passages", "units")}
    real = store_documents._insert_units
    calls = []

    def crash_on_second_passage(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(store_documents, "_insert_units", crash_on_second_passage)
    with pytest.raises(RuntimeError, match="disk on fire"):
        rv.add_document(make_document(PARAS, salt="second"))
    assert {t: count(rv, t) for t in before} == before
    assert [d["id"] for d in rv.documents()] == [first_id]
    monkeypatch.setattr(store_documents, "_insert_units", real)
    assert rv.add_document(make_document(PARAS, salt="second"))[1] is True  # retry works


def test_killed_process_mid_document_leaves_earlier_documents_intact(rv):
    rv.add_document(make_document(PARAS, salt="kept"))
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_store import make_document, PARAS
        from mechcode.store import documents
        from mechcode.store.review import Review
        rv = Review.open({str(rv.path)!r})
        real = documents._insert_units
        def die(*a, **k):
            real(*a, **k)
            os._exit(9)  # killed after the first passage's units were inserted
        documents._insert_units = die
        rv.add_document(make_document(PARAS, salt="lost"))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    again = Review.open(rv.path)
    assert len(again.documents()) == 1 and again.count_units() == 4
    assert count(again, "passages") == 5
    assert again.connect().execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_add_span(rv, units):
    doc_id = units[0]["document_id"]
    text = rv.document(doc_id)["text"]
    start = text.index("Staff") - 1  # a leading space is trimmed
    end = text.index("them,") + len("them")
    sid = rv.add_span(doc_id, start, end, created_by="ann")
    span = rv.unit(sid)
    assert span["kind"] == "span" and span["text"] == "Staff trusted them" and span["created_by"] == "ann"
    assert span["passage_id"] == units[1]["passage_id"] and span["page"] == units[1]["page"]
    assert rv.add_span(doc_id, start + 1, end, created_by="bob") == sid
    with pytest.raises(StoreError, match="outside"):
        rv.add_span(doc_id, 0, len(text) + 1, created_by="ann")
    with pytest.raises(StoreError, match="unknown document"):
        rv.add_span(99, 0, 1, created_by="ann")


# ----------------------------------------------------------------------------- decisions
def test_decisions_undo_and_current_codes(rv, units):
    u1, u2 = units[0]["id"], units[1]["id"]
    d1 = rv.add_decision(u1, "ann", "accept", ["shared-vision"], "mechanism-resource", "+")
    d2 = rv.add_decision(u1, "ann", "correct", ["trust", "shared-vision", "trust"], "outcome", "+", note="n")
    rv.add_decision(u2, "bob", "skip")
    codes = rv.current_codes()
    assert set(codes) == {u1}
    assert codes[u1]["mechanisms"] == ["trust", "shared-vision"] and codes[u1]["decision_id"] == d2
    assert codes[u1]["action"] == "correct" and codes[u1]["note"] == "n"
    undo_id = rv.undo(d2, "ann")
    assert rv.current_codes()[u1]["decision_id"] == d1
    with pytest.raises(StoreError, match="already undone"):
        rv.undo(d2, "ann")
    with pytest.raises(StoreError, match="itself an undo"):
        rv.undo(undo_id, "ann")
    rv.undo(d1, "ann")
    assert rv.current_codes() == {}
    events = rv.decisions()
    assert [e["action"] for e in events] == ["accept", "correct", "skip", "undo", "undo"]
    assert events[3]["undoes"] == d2 and events[0]["codebook_version"] == "1"


def test_reviewer_filter_and_adjudication(rv, units):
    u = units[0]["id"]
    rv.add_decision(u, "ann", "correct", ["trust"], "outcome", "+")
    adj = rv.add_decision(u, "chair", "adjudicate", ["shared-vision"], "context", "-")
    rv.add_decision(u, "bob", "correct", ["trust"], "outcome", "-")
    assert rv.current_codes()[u]["decision_id"] == adj  # adjudication outranks later individual codes
    assert rv.current_codes("bob")[u]["polarity"] == "-"
    assert rv.current_codes("ann")[u]["reviewer"] == "ann"
    assert rv.current_codes("nobody") == {}


def test_labelled_units_shape_with_reject_as_negative(rv, units):
    rv.add_decision(units[0]["id"], "ann", "accept", ["trust"], "outcome", "+")
    rv.add_decision(units[1]["id"], "ann", "reject")
    rv.add_decision(units[2]["id"], "ann", "skip")
    got = rv.labelled_units()
    assert [g["id"] for g in got] == [units[0]["id"], units[1]["id"]]
    assert got[0] == {"id": units[0]["id"], "text": units[0]["text"], "context": units[0]["context"],
                      "group": units[0]["passage_id"], "paper": f"doc{units[0]['document_id']}",
                      "mechanisms": ["trust"], "role": "outcome", "polarity": "+"}
    assert got[1]["mechanisms"] == [] and got[1]["role"] == "none" and got[1]["polarity"] is None


@pytest.mark.parametrize("kwargs, error, match", [
    ({"unit_id": 999}, StoreError, "unknown unit 999"),
    ({"mechanisms": ["nope"]}, CodebookError, "unknown mechanism id 'nope'"),
    ({"mechanisms": ["power"]}, CodebookError, "merged into trust"),
    ({"mechanisms": ["old-code"]}, CodebookError, "retired"),
    ({"role": "mechanism"}, CodebookError, "unknown role"),
    ({"polarity": "0"}, CodebookError, "unknown polarity"),
    ({"action": "approve"}, StoreError, "unknown action"),
    ({"action": "undo"}, StoreError, "undo"),
    ({"action": "reject"}, StoreError, "carries no mechanisms"),
    ({"reviewer": " "}, StoreError, "reviewer"),
    ({"suggestion": 12345}, StoreError, "unknown suggestion"),
])
def test_invalid_decisions_store_nothing(rv, units, kwargs, error, match):
    args = {"unit_id": units[0]["id"], "reviewer": "ann", "action": "correct", "mechanisms": ["trust"],
            "role": "outcome", "polarity": "+", **kwargs}
    with pytest.raises(error, match=match):
        rv.add_decision(**args)
    assert count(rv, "decisions") == 0


def test_decisions_are_append_only(rv, units):
    rv.add_decision(units[0]["id"], "ann", "accept", ["trust"], "outcome", "+")
    con = rv.connect()
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE decisions SET role = 'context'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM decisions")
    assert rv.decisions()[0]["role"] == "outcome"


def test_decisions_from_many_threads_are_all_stored(rv, units):
    ids = [u["id"] for u in units]

    def work(name):
        for uid in ids:
            rv.add_decision(uid, name, "accept", ["trust"], "outcome", "+")

    threads = [threading.Thread(target=work, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count(rv, "decisions") == 4 * len(ids)


# ----------------------------------------------------------------------------- models and suggestions
def row(uid, top=0.9):
    return {"unit_id": uid, "mechanisms": {"trust": top, "shared-vision": 0.2},
            "role": {"outcome": 0.6, "context": 0.4}, "polarity": {"+": 0.7, "-": 0.3}, "rationale": ["trust"]}


def test_models_and_suggestions(rv, units):
    rv.register_model("m1", "tfidf", rv.models_dir / "m1", {"f1": 0.5})
    with pytest.raises(StoreError, match="already registered"):
        rv.register_model("m1", "tfidf", "x")
    assert rv.add_suggestions("m1", [row(u["id"]) for u in units]) == len(units)
    rv.register_model("m2", "embed", rv.models_dir / "m2", {"f1": 0.6}, "mechcode", "3")
    assert rv.latest_model()["version"] == "m2" and rv.latest_model()["card"] == {"f1": 0.6}
    assert [m["version"] for m in rv.models()] == ["m1", "m2"]
    assert set(rv.suggestions()) == {u["id"] for u in units}  # m2 has none yet: m1's
    rv.add_suggestions("m2", [row(units[0]["id"], 0.95)])
    rv.add_suggestions("m2", [row(units[0]["id"], 0.35)])  # upsert: replaced, not duplicated
    latest = rv.suggestions()
    assert list(latest) == [units[0]["id"]]
    s = latest[units[0]["id"]]
    assert s["model_version"] == "m2" and s["mechanisms"]["trust"] == 0.35
    assert s["confidence"] == pytest.approx(0.6) and s["rationale"] == ["trust"]
    assert len(rv.suggestions("m1")) == len(units)


def test_bad_suggestion_batch_stores_nothing(rv, units):
    with pytest.raises(StoreError, match="unknown unit 999"):
        rv.add_suggestions("m1", [row(units[0]["id"]), row(999)])
    assert count(rv, "suggestions") == 0


def test_decision_keeps_a_snapshot_of_the_suggestion(rv, units):
    uid = units[0]["id"]
    rv.add_suggestions("m1", [row(uid)])
    sugg = rv.suggestions("m1")[uid]
    rv.add_decision(uid, "ann", "accept", ["trust"], "outcome", "+", suggestion=sugg)
    rv.add_suggestions("m1", [row(uid, 0.1)])  # later overwritten: the snapshot stays
    event = rv.decisions()[0]
    assert event["suggestion_id"] == sugg["id"] and event["model_version"] == "m1"
    assert event["suggested"]["mechanisms"]["trust"] == 0.9
    with pytest.raises(StoreError, match="belongs to unit"):
        rv.add_decision(units[1]["id"], "ann", "accept", ["trust"], suggestion=sugg["id"])


# ----------------------------------------------------------------------------- round trip
@pytest.fixture(scope="module")
def shared_review(tmp_path_factory) -> Review:
    folder = tmp_path_factory.mktemp("roundtrip")
    return Review.init(folder / "review", write_codebook(folder))


PARAGRAPH = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=150).map(
    str.strip).filter(bool)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paragraphs=st.lists(PARAGRAPH, min_size=1, max_size=6), title=PARAGRAPH)
def test_round_trip_document_to_store_and_back(shared_review, paragraphs, title):
    doc = make_document(paragraphs, title=title)
    doc_id, _ = shared_review.add_document(doc)
    stored = shared_review.document(doc_id)
    assert stored["text"] == doc.text and stored["title"] == title
    assert [p["text"] for p in shared_review.passages(doc_id)] == [p.text for p in doc.passages]
    units = shared_review.units(doc_id)
    for u in units:
        assert stored["text"][u["start"]:u["end"]] == u["text"] == u["text"].strip()
    # the units of each passage cover all its non-space text, in order
    for p in doc.passages:
        if p.kind not in ("abstract", "paragraph"):
            assert not any(p.start <= u["start"] < p.end for u in units if p.start is not None)
            continue
        mine = [u for u in units if p.start <= u["start"] and u["end"] <= p.end]
        assert "".join("".join(u["text"].split()) for u in mine) == "".join(p.text.split())
