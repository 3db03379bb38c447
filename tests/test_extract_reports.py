"""Grey literature: report-style PDFs (one font, cover, contents, boxes, lists, footnotes)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from click.testing import CliRunner

from _report_pdfs import SENTENCES, one_font_page, plain_numbered, report
from conftest import SHARED, need
from mechcode.ingest import extract_pdf


def _score(text: str, expected: str) -> float:
    spec = importlib.util.spec_from_file_location("s", need(SHARED / "tools" / "extract_score.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.score(text, mod.toks(expected))["orderF1"]


def test_one_font_page_is_split_into_paragraphs_and_sentences(tmp_path):
    pdf, expected = one_font_page(tmp_path / "one.pdf")
    doc = extract_pdf(pdf)
    assert [p.kind for p in doc.passages] == ["paragraph"] * 4  # no made-up title
    assert [p.text for p in doc.passages] == expected.split("\n\n")
    units = [s.text for p in doc.passages for s in p.sentences]
    assert units == [s for para in expected.split("\n\n") for s in re.split(r"(?<=\.) ", para)]
    assert doc.metadata["title"] == "Notes from the integrated care workshop"


def test_report_cover_contents_headings_lists_box_and_footnote(tmp_path):
    pdf, expected = report(tmp_path / "report.pdf")
    doc = extract_pdf(pdf)
    assert _score(doc.to_text(), expected) >= 0.98
    assert doc.title == "Integrated care in practice: lessons from six local teams"
    text = doc.text
    for probe in ("Generated Health Trust", "Contents", ".....", "The survey ran from"):
        assert probe not in text, probe
    kinds = {p.kind for p in doc.passages}
    assert {"contents", "footnote", "boilerplate"} <= kinds
    levels = {p.text: p.level for p in doc.passages if p.kind == "heading"}
    assert levels["1 Introduction"] == 1 and levels["1.1 Background"] == 2
    assert levels["2 Findings"] == 1 and levels["2.1 Workforce"] == 2
    box = [p for p in doc.passages if p.role == "box" and p.kind == "paragraph"]
    assert [p.text for p in box] == ["\u2022 " + s for s in SENTENCES[:3]]
    items = [p for p in doc.passages if p.role == "list-item"]
    assert [p.text for p in items] == ["\u2022 " + s for s in SENTENCES[3:6]]
    assert all(len(p.sentences) == 1 for p in items)  # one unit per item
    (quote,) = [p for p in doc.passages if p.role == "pull-quote"]
    assert quote.kind == "other" and "Funding rules that differed" in quote.text
    assert text.count("Funding rules that differed") == expected.count("Funding rules that differed")
    (note,) = [p for p in doc.passages if p.kind == "footnote"]
    (caller,) = [p for p in doc.passages if "all six teams" in p.text]
    assert note.links == [caller.id]  # the footnote points at the paragraph with its mark
    for b in box:  # box text is a passage of its own, never repeated in another passage
        assert [p.text for p in doc.passages].count(b.text) == 1
        assert not any(b.text in p.text for p in doc.passages if p is not b)


def test_numbered_headings_and_dash_lists_in_the_body_font(tmp_path):
    pdf, expected = plain_numbered(tmp_path / "plain.pdf")
    doc = extract_pdf(pdf)
    assert [(p.kind, p.level, p.role) for p in doc.passages] == [
        ("heading", 1, None), ("paragraph", None, None), ("heading", 2, None),
        ("paragraph", None, None), ("heading", 1, None), ("paragraph", None, None),
        ("paragraph", None, None)] + [("paragraph", None, "list-item")] * 3
    assert doc.to_text().strip() == "\n\n".join(
        "#" * (2 if b.startswith("1.1") else 1) + " " + b if b[0].isdigit() else b
        for b in expected.split("\n\n"))


def test_ingest_warns_when_a_document_yields_few_units(tmp_path):
    from reportlab.pdfgen import canvas

    from mechcode.cli import cli

    sparse = tmp_path / "pdfs" / "sparse.pdf"
    sparse.parent.mkdir()
    c = canvas.Canvas(str(sparse))
    for k in range(3):
        c.setFont("Helvetica", 10)
        c.drawString(72, 700, f"Only one sentence on page {k + 1} of this leaflet.")
        c.showPage()
    c.save()
    one_font_page(tmp_path / "pdfs" / "dense.pdf")
    book = tmp_path / "cb.yaml"
    book.write_text("name: Tiny\nversion: '1'\nmechanisms:\n  - id: trust\n    name: Trust\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path / "r"), "--codebook", str(book)]).exit_code == 0
    res = runner.invoke(cli, ["ingest", str(tmp_path / "r"), str(tmp_path / "pdfs"), "-q",
                              "--workers", "1"])
    assert res.exit_code == 0, res.output
    warnings = [ln for ln in res.output.splitlines() if "warning:" in ln]
    assert len(warnings) == 1 and warnings[0].startswith(str(sparse))
    assert "only 3 codable unit(s) on 3 page(s)" in warnings[0]
