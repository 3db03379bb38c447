"""``mechcode init / ingest / info`` on generated PDFs (good and bad) and one real paper."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import PDF_DIR, need
from mechcode.cli import cli
from mechcode.document import Document, Passage
from mechcode.store.ingest import expand_paths, ingest_paths
from mechcode.store.review import Review

CODEBOOK = """\
name: Tiny review
version: "3"
mechanisms:
  - id: shared-vision
    name: Shared vision
  - id: trust
    name: Trust
"""

SENTENCES = [
    "Leaders of integrated care teams articulated a shared vision for the service.",
    "Staff in both organisations trusted leaders who listened to their concerns.",
    "Where power was contested between agencies, integration stalled for many months.",
    "Regular joint meetings created the conditions for collaborative working.",
    "Managers reported that clarity about roles reduced duplication of effort.",
]


def write_pdf(path: Path, title: str, pages: int = 2, **canvas_kwargs) -> Path:
    """A text PDF: a title and a few paragraphs per page (reportlab)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story = [Paragraph(title, styles["Title"])]
    for page in range(pages):
        for i in range(3):
            text = " ".join(SENTENCES[(page + i + k) % len(SENTENCES)] for k in range(4))
            story.append(Paragraph(f"{text} This is paragraph {i + 1} on page {page + 1} of {title}.",
                                   styles["BodyText"]))
        if page < pages - 1:
            story.append(PageBreak())
    SimpleDocTemplate(str(path), pagesize=A4, title=title, **canvas_kwargs).build(story)
    return path


def write_bad_pdfs(folder: Path) -> dict[str, Path]:
    """Five files that are not usable PDFs, each for a different reason."""
    from reportlab.pdfgen import canvas

    folder.mkdir(parents=True, exist_ok=True)
    bad = {"empty": folder / "empty.pdf", "truncated": folder / "truncated.pdf",
           "encrypted": folder / "encrypted.pdf", "image_only": folder / "image_only.pdf",
           "not_pdf": folder / "notes.pdf"}
    bad["empty"].write_bytes(b"")
    whole = write_pdf(folder / "whole.tmp", "Truncated paper").read_bytes()
    (folder / "whole.tmp").unlink()
    bad["truncated"].write_bytes(whole[: len(whole) // 2])
    c = canvas.Canvas(str(bad["encrypted"]), encrypt="secret")
    c.drawString(72, 720, "A secret paper about leadership and shared vision in integrated care.")
    c.save()
    c = canvas.Canvas(str(bad["image_only"]))
    for i in range(10):
        c.rect(50 + 20 * i, 500, 15, 100 + 10 * i, fill=1)
    c.showPage()
    c.save()
    bad["not_pdf"].write_text("These are my notes, not a PDF.\n" * 20, encoding="utf-8")
    return bad


@pytest.fixture(scope="module")
def papers(tmp_path_factory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("papers")
    (folder / "good").mkdir()
    good = [write_pdf(folder / "good" / "a.pdf", "Leadership in integrated care", 2),
            write_pdf(folder / "good" / "b.pdf", "Trust between agencies", 3)]
    return {"folder": folder, "good": good, "bad": write_bad_pdfs(folder / "bad")}


@pytest.fixture
def review_dir(tmp_path) -> Path:
    cb = tmp_path / "codebook.yaml"
    cb.write_text(CODEBOOK, encoding="utf-8")
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "review"), "--codebook", str(cb)])
    assert result.exit_code == 0, result.output
    assert "Tiny review" in result.output and "v3" in result.output
    return tmp_path / "review"


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_init_twice_and_missing_codebook_fail_clearly(review_dir, tmp_path):
    again = invoke("init", review_dir, "--codebook", review_dir / "codebook.yaml")
    assert again.exit_code == 2 and "error:" in again.stderr and "already exists" in again.stderr
    missing = invoke("init", tmp_path / "other", "--codebook", tmp_path / "nope.yaml")
    assert missing.exit_code == 2 and "codebook file not found" in missing.stderr
    assert not (tmp_path / "other").exists()
    no_option = invoke("init", tmp_path / "other")
    assert no_option.exit_code != 0 and "--codebook" in no_option.output


def test_ingest_good_and_bad_files(review_dir, papers):
    folder = papers["folder"]
    result = invoke("ingest", review_dir, folder, "--workers", "2", "--quiet")
    assert result.exit_code == 1, result.output
    err_lines = result.stderr.strip().splitlines()
    for path in papers["bad"].values():
        mine = [line for line in err_lines if line.startswith(f"{path}: ")]
        assert len(mine) == 1, (path, err_lines)
        assert len(mine[0]) > len(f"{path}: ") + 5  # a reason follows
    assert "7 PDF(s): 2 added" in result.stdout and "5 failed" in result.stdout
    rv = Review.open(review_dir)
    docs = rv.documents()
    assert sorted(d["file_name"] for d in docs) == ["a.pdf", "b.pdf"]
    assert sorted(d["n_pages"] for d in docs) == [2, 3]
    for d in docs:
        text = rv.document(d["id"])["text"]
        units = rv.units(d["id"])
        assert d["n_units"] == len(units) >= 10
        assert all(text[u["start"]:u["end"]] == u["text"] for u in units)
        assert any(u["text"] == SENTENCES[1] for u in units)
        assert {u["page"] for u in units} == set(range(1, d["n_pages"] + 1))

    again = invoke("ingest", review_dir, folder, "--workers", "1", "--quiet")
    assert again.exit_code == 1
    assert "0 added" in again.stdout and "2 already in the review" in again.stdout
    assert len(Review.open(review_dir).documents()) == 2


def test_ingest_all_good_exits_zero_and_info_reports(review_dir, papers):
    result = invoke("ingest", review_dir, *papers["good"], "--workers", "1")  # with a progress bar
    assert result.exit_code == 0, result.output
    assert "2 added" in result.stdout and "0 failed" in result.stdout
    dup = invoke("ingest", review_dir, papers["good"][0], papers["good"][0], "-q")
    assert dup.exit_code == 0 and "1 PDF(s): 0 added" in dup.stdout

    info = invoke("info", review_dir, "--format", "json")
    assert info.exit_code == 0, info.output
    data = json.loads(info.stdout)
    rv = Review.open(review_dir)
    assert data["documents"] == 2 and data["pages"] == 5
    assert data["units"] == rv.count_units() > 20
    assert data["codebook"]["version"] == "3" and data["decisions"] == 0 and data["models"] == 0
    text = invoke("info", review_dir)
    assert text.exit_code == 0 and "Tiny review v3" in text.stdout
    assert f"units       {data['units']}" in text.stdout


def test_ingest_and_info_on_a_folder_that_is_not_a_review(tmp_path, papers):
    result = invoke("ingest", tmp_path, papers["good"][0])
    assert result.exit_code == 2 and "not a review folder" in result.stderr
    assert invoke("info", tmp_path).exit_code == 2


def test_real_paper(review_dir):
    pdf = need(PDF_DIR / "trials2015_ears_recruitment.pdf")
    result = invoke("ingest", review_dir, pdf, "-q")
    assert result.exit_code == 0, result.output
    rv = Review.open(review_dir)
    (doc,) = rv.documents()
    assert doc["n_pages"] >= 5 and doc["content_hash"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    text = rv.document(doc["id"])["text"]
    units = rv.units(doc["id"])
    assert len(units) > 100
    assert all(text[u["start"]:u["end"]] == u["text"] for u in units)
    assert any("smok" in u["text"].lower() for u in units)


# ----------------------------------------------------------------------------- ingest_paths internals
def fake_extract(path: str, cache_dir):
    """A stand-in extractor: the file's text as one paragraph; 'crash' files kill the worker."""
    p = Path(path)
    if "crash" in p.name:
        os._exit(3)
    data = p.read_bytes()
    text = data.decode()
    passage = Passage(id=0, kind="paragraph", text=text, page=1, bbox=(0, 0, 1, 1), start=0, end=len(text))
    return path, Document(text=text, passages=[passage], content_hash=hashlib.sha256(data).hexdigest(),
                          file_name=p.name, n_pages=1), None


def test_a_crashing_worker_is_reported_and_the_rest_goes_on(tmp_path, capsys):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for i in range(5):
        (folder / "sub" / f"p{i}.pdf").write_text(f"Paper {i} is here. It has two sentences.")
    (folder / "crash.pdf").write_text("never read")
    (folder / "ignored.txt").write_text("not a pdf name")
    cb = tmp_path / "cb.yaml"
    cb.write_text(CODEBOOK)
    rv = Review.init(tmp_path / "r", cb)
    assert [p.name for p in expand_paths([folder])] == ["crash.pdf", "p0.pdf", "p1.pdf", "p2.pdf", "p3.pdf",
                                                         "p4.pdf"]
    report = ingest_paths(rv, [folder], workers=2, progress=False, extract=fake_extract)
    assert report.added == 5 and report.units == 10 and report.files == 6
    assert report.failures == [(str(folder / "crash.pdf"), "the extraction process crashed on this file")]
    assert capsys.readouterr().err.count("crash.pdf: ") == 1
    again = ingest_paths(rv, [folder / "sub"], workers=1, progress=False, extract=fake_extract)
    assert again.added == 0 and again.skipped == 5 and again.ok
