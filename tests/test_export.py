"""Exports: CSV/JSONL unit rows, the decision audit trail, REFI-QDA .qdpx, the methods appendix."""
from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from click.testing import CliRunner
from lxml import etree

from mechcode.cli import cli
from mechcode.document import Document, Passage, Sentence
from mechcode.export.appendix import render_appendix, review_appendix
from mechcode.export.qdpx import NS, export_qdpx
from mechcode.export.tables import export_table
from mechcode.store.review import Review

from conftest import SHARED, need

Q = f"{{{NS}}}"

PARAGRAPHS = [
    ["Café leaders in the merged trust 😀 were trusted by staff.",
     "Staff felt reassured – and “stayed”."],
    ["Integration of two departments required new structures.",
     "The leader asked the team for suggestions.",
     "Many physicians stopped attending meetings."],
]


def make_document(name: str, paragraphs=PARAGRAPHS, meta=None) -> Document:
    """A small document with non-ASCII text (incl. a character outside the BMP), sentences filled."""
    blocks = [(f"A study of {name}", "title", [])] + [(" ".join(p), "paragraph", p) for p in paragraphs]
    text, passages = "", []
    for i, (block, kind, sents) in enumerate(blocks):
        start = len(text)
        sentences, pos = [], 0
        for s in sents:
            pos = block.index(s, pos)
            sentences.append(Sentence(pos, pos + len(s), s))
            pos += len(s)
        passages.append(Passage(id=i, kind=kind, text=block, page=1 + i // 2, bbox=(0, 0, 1, 1), start=start,
                                end=start + len(block), section="Results" if i else None, sentences=sentences))
        text += block + "\n\n"
    return Document(text=text, passages=passages, content_hash=f"hash-{name}", file_name=f"{name}.pdf",
                    n_pages=2, metadata=meta or {"authors": ["Jane Smith", "Ann Lee"], "year": 2019})


@pytest.fixture(scope="module")
def review(tmp_path_factory, corpus_dir):
    rv = Review.init(tmp_path_factory.mktemp("exp") / "review", corpus_dir / "codebook.yaml")
    doc_id, _ = rv.add_document(make_document("alpha"))
    rv.add_document(make_document("beta", [["Nothing coded here."]], {"author": "Lee, A.; Wu, B.",
                                                                       "date": "D:20200101"}))
    u = rv.units(doc_id)
    assert len(u) == 5
    rv.add_decision(u[0]["id"], "ann", "correct", ["inspiring-intent"], "mechanism-resource", "+",
                    note="clear example")
    rv.add_decision(u[1]["id"], "ann", "correct", ["inspiring-intent"], "mechanism-reasoning", "+")
    rv.add_decision(u[2]["id"], "bob", "correct", ["working-with-power"], "context")
    d = rv.add_decision(u[3]["id"], "bob", "correct", ["working-with-power"], "outcome", "-")
    rv.undo(d, "bob")
    rv.add_decision(u[4]["id"], "bob", "reject")
    rv.add_suggestions("m-1", [{"unit_id": x["id"], "mechanisms": {"taking-wider-view": p},
                                "role": {"outcome": 0.7, "context": 0.3}, "polarity": {"+": 0.4, "-": 0.6}}
                               for x, p in zip(u, [0.9, 0.2, 0.8, 0.6, 0.1])])
    return rv


def _table(rv, what, fmt):
    buf = io.StringIO()
    n = export_table(rv, what, fmt, buf)
    return n, buf.getvalue()


def test_csv_units(review):
    n, out = _table(review, "units", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert n == len(rows) == 3  # undone and rejected units are not coded
    doc = review.document(review.documents()[0]["id"])
    for r in rows:
        assert doc["text"][int(r["start"]):int(r["end"])] == r["text"]
        assert r["paper"] == "Smith (2019)" and r["kind"] == "decision" and r["confidence"] == ""
    assert rows[0]["mechanisms"] == "inspiring-intent" and rows[0]["role"] == "mechanism-resource"
    assert rows[0]["polarity"] == "+" and rows[0]["source"] == "ann" and rows[0]["section"] == "Results"
    assert {r["source"] for r in rows} == {"ann", "bob"}


def test_jsonl_suggestions_and_all(review):
    n, out = _table(review, "suggestions", "jsonl")
    rows = [json.loads(x) for x in out.splitlines()]
    assert n == 5 and {r["source"] for r in rows} == {"model:m-1"}
    assert [r["mechanisms"] for r in rows] == [["taking-wider-view"], [], ["taking-wider-view"],
                                               ["taking-wider-view"], []]
    assert all(r["role"] == "outcome" and r["polarity"] == "-" and r["confidence"] >= 0.7 for r in rows)
    _, out = _table(review, "all", "jsonl")
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["kind"] for r in rows] == ["decision", "decision", "decision", "suggestion", "suggestion"]


def test_decisions_audit_trail(review):
    n, out = _table(review, "decisions", "jsonl")
    rows = [json.loads(x) for x in out.splitlines()]
    assert n == len(review.decisions()) == 6
    assert [r["action"] for r in rows] == ["correct", "correct", "correct", "correct", "undo", "reject"]
    assert rows[4]["undoes"] == rows[3]["id"]
    res = CliRunner().invoke(cli, ["export", str(review.path), "--what", "decisions", "--format", "jsonl"])
    assert res.exit_code == 0, res.output
    assert [json.loads(x)["id"] for x in res.stdout.splitlines()] == [r["id"] for r in rows]
    n, out = _table(review, "decisions", "csv")
    assert len(list(csv.DictReader(io.StringIO(out)))) == 6


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(need(SHARED / "refi-qda" / "Project-mrt2019.xsd"))))


def _qdpx(review, tmp_path, what="units"):
    path = tmp_path / f"{what}.qdpx"
    export_qdpx(review, path, what)
    zf = zipfile.ZipFile(path)
    return zf, etree.fromstring(zf.read("project.qde"))


def test_qdpx_validates_and_positions_select_unit_text(review, tmp_path, schema):
    zf, root = _qdpx(review, tmp_path)
    assert schema.validate(root), schema.error_log
    by_id = {u["id"]: u for u in review.units()}
    sources = root.findall(f"{Q}Sources/{Q}TextSource")
    assert [s.get("name") for s in sources] == ["Smith (2019)", "Lee (2020)"]
    n_sel = 0
    for src in sources:
        path = src.get("plainTextPath")
        assert path.startswith("internal://")
        text = zf.read("sources/" + path[len("internal://"):]).decode("utf-8")
        for sel in src.findall(f"{Q}PlainTextSelection"):
            unit = by_id[int(sel.get("name").split()[-1])]
            assert text[int(sel.get("startPosition")):int(sel.get("endPosition"))] == unit["text"]
            n_sel += 1
    assert n_sel == 3
    codes = {c.get("guid"): c.get("name") for c in root.iter(f"{Q}Code")}
    first = root.find(f"{Q}Sources/{Q}TextSource/{Q}PlainTextSelection")
    names = {codes[c.find(f"{Q}CodeRef").get("targetGUID")] for c in first.findall(f"{Q}Coding")}
    assert names == {"Inspiring intent to work together", "Mechanism (resource)", "+ Present / works"}
    users = {u.get("name"): u.get("guid") for u in root.iter(f"{Q}User")}
    assert {"ann", "bob"} <= set(users)
    assert first.get("creatingUser") == users["ann"]
    notes = root.findall(f"{Q}Notes/{Q}Note")
    assert [n.findtext(f"{Q}PlainTextContent") for n in notes] == ["clear example"]
    assert first.find(f"{Q}NoteRef").get("targetGUID") == notes[0].get("guid")
    # the emoji before the second unit counts as one character
    assert "😀" in review.document(review.documents()[0]["id"])["text"]


def test_qdpx_suggestions_validate_and_are_stable(review, tmp_path, schema):
    _, root = _qdpx(review, tmp_path, "all")
    assert schema.validate(root), schema.error_log
    assert len(root.findall(f".//{Q}PlainTextSelection")) == 3 + 5
    _, again = _qdpx(review, tmp_path / "..", "all")
    assert [s.get("guid") for s in root.iter(f"{Q}PlainTextSelection")] == \
        [s.get("guid") for s in again.iter(f"{Q}PlainTextSelection")]


def test_appendix(review):
    md = review_appendix(review)
    assert "# Methods appendix" in md and "Papers coded: 2 (4 pages" in md
    assert "Decision events recorded: 6" in md and "undone: 1" in md
    assert "Codes assigned or corrected by reviewers: 3" in md and "rejected: 1" in md
    assert "ann 2, bob 3" in md
    assert "| Working with power | active | mechanism | 1 |" in md
    assert "## Agreement" in md and "no unit has been coded independently by two reviewers" in md


def test_appendix_models_and_agreement_render():
    facts = {"review": "r", "codebook": {"name": "cb", "version": "2", "history": [],
                                         "mechanisms": [{"id": "a", "name": "A", "status": "merged",
                                                         "kind": "mechanism", "merged_into": ["b"]}]},
             "generated": "now", "papers": 1, "pages": 3, "placeholders": 0, "units": 10, "suggested_units": 10,
             "actions": {"accept": 4, "correct": 1}, "live_actions": {"accept": 4, "correct": 1},
             "reviewers": {"ann": 5}, "coded_units": 5,
             "models": [{"version": "sparse-1", "backend": "sparse", "created_at": "2024-01-01T00:00:00",
                         "card": {"n_units": 40, "metrics": {"holdout": {"micro_f1": 0.61234, "n_test": 8}}}}],
             "codebook_versions": [{"version": "2", "fingerprint": "abc", "change": "merged a", "created_at": "x"}],
             "n_per_mechanism": {"a": 0}, "agreement": {"kappa": 0.72}}
    md = render_appendix(facts)
    assert "Suggestions accepted as proposed: 4" in md
    assert "| sparse-1 | sparse | 2024-01-01T00:00:00 | 40 | holdout.micro_f1 = 0.612" in md  # n_units of the card
    assert "merged → b" in md and "v2 stored" in md and "merged a" in md
    assert "- kappa: 0.720" in md


def test_export_cli_errors_and_files(review, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["export", str(review.path), "--format", "csv", "--what", "appendix"])
    assert res.exit_code == 2 and "error:" in res.output
    out = tmp_path / "r.qdpx"
    res = runner.invoke(cli, ["export", str(review.path), "--format", "qdpx", "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert zipfile.is_zipfile(out)
    res = runner.invoke(cli, ["export", str(review.path), "--format", "md"])
    assert res.exit_code == 0 and "# Methods appendix" in res.stdout


def test_qdpx_real_pdf_positions(tmp_path, corpus_dir, pdf_dir, schema):
    """A real paper (ligatures, curly quotes, dashes): every selection selects its unit's text."""
    from mechcode.ingest import extract_pdf

    rv = Review.init(tmp_path / "r", corpus_dir / "codebook.yaml")
    doc_id, _ = rv.add_document(extract_pdf(pdf_dir / "hindawi2010_heartfailure_focusgroups.pdf"))
    units = rv.units(doc_id)
    rv.add_suggestions("m", [{"unit_id": u["id"], "mechanisms": {"inspiring-intent": 0.9},
                              "role": {"context": 0.8}, "polarity": {"+": 0.9}} for u in units])
    zf, root = _qdpx(rv, tmp_path, "suggestions")
    assert schema.validate(root), schema.error_log
    src = root.find(f"{Q}Sources/{Q}TextSource")
    text = zf.read("sources/" + src.get("plainTextPath")[len("internal://"):]).decode("utf-8")
    assert text == rv.document(doc_id)["text"] and any(ord(c) > 127 for c in text)
    sels = src.findall(f"{Q}PlainTextSelection")
    assert len(sels) == len(units) > 50
    for sel, u in zip(sels, units):
        assert text[int(sel.get("startPosition")):int(sel.get("endPosition"))] == u["text"]
        assert len(sel.findall(f"{Q}Coding")) == 3
