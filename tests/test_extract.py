"""PDF extraction: reading order, cleaning, provenance, bad input, CLI.

Real-paper tests use the PDFs in ../shared/pdfs that have a .truth.txt and
score them with the reference scorer (../shared/tools/extract_score.py).
Each real PDF is extracted once per session (pdfplumber is slow).
"""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import PDF_DIR, SHARED, need, truth_pdfs
from mechcode.document import BODY_KINDS, Document
from mechcode.errors import BadPDF
from mechcode.ingest import extract_pdf

SCORER = SHARED / "tools" / "extract_score.py"
TRUTH = truth_pdfs()


@pytest.fixture(scope="session")
def scorer():
    spec = importlib.util.spec_from_file_location("extract_score", need(SCORER))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_DOCS: dict[str, Document] = {}


@pytest.fixture(scope="session")
def extracted():
    """name -> Document, extracted on first use and shared by all tests."""
    def get(pdf: Path) -> Document:
        if pdf.name not in _DOCS:
            _DOCS[pdf.name] = extract_pdf(pdf)
        return _DOCS[pdf.name]
    return get


def _ids(paths):
    return [p.stem for p in paths]


@pytest.fixture(params=TRUTH or [None], ids=_ids(TRUTH) or ["no-shared-pdfs"])
def truth_pdf(request) -> Path:
    need(PDF_DIR)
    if request.param is None:
        pytest.fail("no PDF with a .truth.txt in " + str(PDF_DIR))
    return request.param


# --------------------------------------------------------------- real papers

def test_order_f1_at_least_095(truth_pdf, extracted, scorer):
    doc = extracted(truth_pdf)
    truth = scorer.truth_tokens(str(truth_pdf.with_suffix(".truth.txt")))
    s = scorer.score(doc.to_text(), truth)
    assert s["orderF1"] >= 0.95, s


def test_offsets_rebuild_text(truth_pdf, extracted):
    doc = extracted(truth_pdf)
    body = doc.body()
    assert body and body[0].kind == "title"
    assert doc.text == "\n\n".join(p.text for p in body)
    for p in doc.passages:
        if p.kind in BODY_KINDS:
            assert doc.text[p.start:p.end] == p.text
        else:
            assert p.start is None and p.end is None
        for s in p.sentences:
            assert p.text[s.start:s.end] == s.text
    paras = [p for p in doc.passages if p.kind == "paragraph"]
    assert sum(len(p.sentences) for p in paras) > len(paras)  # sentences really split


def test_provenance(truth_pdf, extracted):
    import pdfplumber

    doc = extracted(truth_pdf)
    with pdfplumber.open(truth_pdf) as pdf:
        sizes = [(float(pg.width), float(pg.height)) for pg in pdf.pages]
    assert doc.n_pages == len(sizes)
    assert doc.file_name == truth_pdf.name and len(doc.content_hash) == 64
    for p in doc.passages:
        assert 1 <= p.page <= doc.n_pages and p.page == p.pages[0]
        w, h = sizes[p.page - 1]
        x0, top, x1, bottom = p.bbox
        assert -1 <= x0 <= x1 <= w + 1 and -1 <= top <= bottom <= h + 1, (p.kind, p.bbox)


def test_reference_list_kept_out_of_body(truth_pdf, extracted):
    doc = extracted(truth_pdf)
    refs = [p for p in doc.passages if p.kind == "reference"]
    assert len(refs) >= 5
    body = re.sub(r"\s+", " ", doc.text)
    for r in refs:
        probe = r.text[:80]
        if len(probe) >= 40:
            assert probe not in body
    assert not any(re.fullmatch(r"(\d+\s*)?references", p.text, re.I) for p in doc.body())


def test_running_headers_removed(truth_pdf, extracted):
    doc = extracted(truth_pdf)
    running = [p for p in doc.passages if p.kind in ("header", "footer")]
    assert len(running) >= doc.n_pages - 1  # at least a page number or header per page
    lines = set(doc.text.split("\n"))
    for p in running:
        if len(p.text) > 12:
            assert p.text not in doc.text
        assert p.text not in lines


def test_non_body_kinds_recognised(extracted):
    pdf = need(PDF_DIR) / "trials2015_ears_recruitment.pdf"
    doc = extracted(need(pdf))
    kinds = {p.kind for p in doc.passages}
    assert {"caption", "table", "author", "reference", "header"} <= kinds
    text = doc.text
    assert "Correspondence" not in text and "licensee BioMed Central" not in text
    assert not re.search(r"^Table \d", text, re.M)
    heads = [s["title"] for s in doc.sections()]
    assert "Background" in heads and "Competing interests" in heads
    assert doc.metadata["year"] == 2015 and doc.metadata["title"].startswith("Lessons learned")
    assert doc.metadata["authors"][0].startswith("Tom P Thompson")


# --------------------------------------------------------- generated papers

def _wrap(text, font, size, width):
    from reportlab.lib.utils import simpleSplit

    return simpleSplit(text, font, size, width)


def two_column_pdf(path: Path, *, right_first: bool = True) -> Path:
    """A small two-column paper; the right column is drawn before the left one."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(595, 842))
    left = ("Alphaword opens the left column. " + "Left column text keeps going here. " * 12 +
            "The left column ends with omegaleft.")
    right = ("Betaword opens the right column. " + "Right column text follows on. " * 12 +
             "The right column ends with omegaright.")
    for page in (1, 2):
        c.setFont("Helvetica", 8)
        c.drawString(56, 810, "Journal of Generated Tests 2024, 7:12")
        c.drawString(500, 810, f"Page {page} of 2")
        y_col = 700
        if page == 1:
            c.setFont("Helvetica-Bold", 20)
            c.drawString(56, 770, "A generated paper about column order")
            c.setFont("Helvetica", 11)
            c.drawString(56, 748, "Ann Author1, Bob Writer2")
            c.setFont("Helvetica-Bold", 11)
            c.drawString(56, 725, "Abstract")
            c.setFont("Helvetica", 10)
            y = 710
            for ln in _wrap("Gammaword starts the full-width abstract. " * 6, "Helvetica", 10, 480):
                c.drawString(56, y, ln)
                y -= 12
            y_col = y - 20
        cols = [(56, left if page == 1 else "Second page left text continues. " * 10),
                (310, right if page == 1 else "Second page right text continues. " * 10)]
        if right_first:
            cols.reverse()
        for x, text in cols:
            y = y_col
            if page == 1 and x == 56:
                c.setFont("Helvetica-Bold", 11)
                c.drawString(x, y, "Background")
                y -= 16
            c.setFont("Helvetica", 10)
            for ln in _wrap(text, "Helvetica", 10, 230):
                c.drawString(x, y, ln)
                y -= 12
        if page == 2:
            c.setFont("Helvetica-Bold", 11)
            c.drawString(56, 300, "References")
            c.setFont("Helvetica", 8)
            c.drawString(56, 285, "1. Smith J, Doe A. A cited paper title. J Cit. 2001;1:1-2.")
            c.drawString(56, 275, "2. Roe R. Another cited paper. J Cit. 2002;2:3-4.")
        c.showPage()
    c.save()
    return path


def test_generated_two_column_reading_order(tmp_path):
    doc = extract_pdf(two_column_pdf(tmp_path / "two.pdf"))
    text = doc.to_text()
    order = [text.find(w) for w in ("generated paper", "Gammaword", "Background", "Alphaword",
                                    "omegaleft", "Betaword", "omegaright")]
    assert -1 not in order and order == sorted(order), order
    assert "Journal of Generated Tests" not in text and "Page 1 of 2" not in text
    assert "Smith J" not in text and "Ann Author" not in text
    assert doc.title == "A generated paper about column order"
    assert any(p.kind == "reference" and "Smith J" in p.text for p in doc.passages)
    assert doc.metadata["authors"][:2] == ["Ann Author", "Bob Writer"]


def test_both_char_readers_agree(tmp_path):
    pdf = two_column_pdf(tmp_path / "two.pdf")
    fast = extract_pdf(pdf, backend="pdfium")
    ref = extract_pdf(pdf, backend="pdfplumber")
    assert fast.text == ref.text
    assert [p.kind for p in fast.passages] == [p.kind for p in ref.passages]


def test_column_order_does_not_depend_on_drawing_order(tmp_path):
    a = extract_pdf(two_column_pdf(tmp_path / "a.pdf", right_first=True))
    b = extract_pdf(two_column_pdf(tmp_path / "b.pdf", right_first=False))
    assert a.text == b.text


def test_cache_reuses_result(tmp_path, monkeypatch):
    pdf = two_column_pdf(tmp_path / "c.pdf")
    first = extract_pdf(pdf, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").glob(f"{first.content_hash}*.json"))
    import mechcode.ingest.extract as ex

    def boom(*a, **k):
        raise AssertionError("extracted twice")

    monkeypatch.setattr(ex, "read_pages", boom)
    again = extract_pdf(pdf, cache_dir=tmp_path / "cache")
    assert again.text == first.text and again.content_hash == first.content_hash


def test_text_cleaning_helpers():
    from collections import Counter

    from mechcode.ingest.clean import join_lines
    from mechcode.ingest.lines import normalise

    assert normalise("e\ufb03cient \ufb01sh \ufb02ow \ufb00ect") == "efficient fish flow ffect"
    vocab = Counter({"follow-up": 3, "follow": 2, "up": 5, "recruitment": 4})
    assert join_lines(["the recruit-", "ment was done"], vocab) == "the recruitment was done"
    assert join_lines(["at the follow-", "up visit"], vocab) == "at the follow-up visit"
    assert join_lines(["item five of the EQ-", "5D form"], vocab) == "item five of the EQ-5D form"
    assert join_lines(["two", "lines"], vocab) == "two lines"
    assert join_lines(["a government-", "funded post"], vocab) == "a government-funded post"
    assert join_lines(["what would occur-", "ring"], Counter({"ring": 2, "occur": 2})) == \
        "what would occurring"


# ----------------------------------------------------------------- bad input

def _png(path: Path) -> None:
    """A grey page-sized raster image (a stand-in for a scanned page)."""
    from PIL import Image

    Image.new("L", (200, 280), color=200).save(path)


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    ok = tmp_path / "ok.pdf"
    c = canvas.Canvas(str(ok))
    c.drawString(100, 700, "Hello world")
    c.showPage()
    c.drawString(100, 700, "Second page")
    c.save()
    files = {"ok": ok}
    files["empty"] = tmp_path / "empty.pdf"
    files["empty"].write_bytes(b"")
    data = ok.read_bytes()
    files["truncated"] = tmp_path / "truncated.pdf"
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["corrupt"] = tmp_path / "corrupt.pdf"
    files["corrupt"].write_bytes(b"%PDF-1.4\n" + b"junk " * 300 + b"\nstartxref\n0\n%%EOF\n")
    files["encrypted"] = tmp_path / "encrypted.pdf"
    c = canvas.Canvas(str(files["encrypted"]), encrypt=StandardEncryption("secret", "owner"))
    c.drawString(100, 700, "Hidden text")
    c.save()
    files["image_only"] = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(files["image_only"]))
    c.rect(100, 100, 300, 400, fill=1)
    c.circle(300, 600, 40, fill=1)
    c.save()
    files["scan_with_stamp"] = tmp_path / "stamped.pdf"
    img = tmp_path / "page.png"
    _png(img)
    c = canvas.Canvas(str(files["scan_with_stamp"]))
    for k in range(2):
        c.drawImage(str(img), 20, 20, width=555, height=800)
        c.setFont("Helvetica", 8)
        c.drawString(500, 10, f"p. {k + 1}")
        c.showPage()
    c.save()
    files["not_pdf"] = tmp_path / "notes.pdf"
    files["not_pdf"].write_text("just some text\n" * 10)
    return files


@pytest.mark.parametrize("kind,message", [
    ("empty", "empty file"), ("truncated", "truncated or corrupt"),
    ("corrupt", "truncated or corrupt"), ("encrypted", "encrypted"),
    ("image_only", "no text layer (scanned?)"), ("scan_with_stamp", "no text layer (scanned?)"),
    ("not_pdf", "not a PDF"),
])
def test_bad_input_raises_badpdf(tmp_path, kind, message):
    files = _bad_files(tmp_path)
    with pytest.raises(BadPDF) as err:
        extract_pdf(files[kind])
    assert message in str(err.value) and files[kind].name in str(err.value)
    assert "\n" not in str(err.value)


def test_size_limits(tmp_path):
    files = _bad_files(tmp_path)
    with pytest.raises(BadPDF, match="too many pages"):
        extract_pdf(files["ok"], max_pages=1)
    with pytest.raises(BadPDF, match="too large"):
        extract_pdf(files["ok"], max_bytes=100)
    assert "Second page" in extract_pdf(files["ok"]).to_text()


def test_extract_many_streams_docs_and_errors(tmp_path):
    from mechcode.ingest import extract_many

    files = _bad_files(tmp_path)
    paths = [files["ok"], files["empty"], two_column_pdf(tmp_path / "two.pdf")]
    got = {p.name: r for p, r in extract_many(paths, workers=2)}
    assert set(got) == {"ok.pdf", "empty.pdf", "two.pdf"}
    assert isinstance(got["ok.pdf"], Document) and isinstance(got["two.pdf"], Document)
    assert isinstance(got["empty.pdf"], BadPDF)


# ---------------------------------------------------------------------- CLI

def test_cli_text_and_json(tmp_path):
    from mechcode.cli import cli

    pdf = two_column_pdf(tmp_path / "p.pdf")
    runner = CliRunner()
    res = runner.invoke(cli, ["extract", str(pdf), "--format", "text", "-q"])
    assert res.exit_code == 0, res.output
    blocks = res.stdout.strip().split("\n\n")
    assert blocks[0] == "A generated paper about column order"
    assert "# Background" in blocks and "# Abstract" in blocks
    out = tmp_path / "p.json"
    res = runner.invoke(cli, ["extract", str(pdf), "--format", "json", "--output", str(out), "-q"])
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    assert {"metadata", "sections", "passages", "text", "content_hash", "n_pages"} <= set(d)
    assert d["n_pages"] == 2 and d["sections"][0]["title"] == "Abstract"
    p = next(p for p in d["passages"] if p["kind"] == "paragraph")
    assert d["text"][p["start"]:p["end"]] == p["text"] and len(p["bbox"]) == 4
    assert p["sentences"] and {"start", "end", "text"} <= set(p["sentences"][0])
    assert Document.from_dict(d).text == d["text"]


def test_cli_bad_pdf_is_one_line_error(tmp_path):
    from mechcode.cli import cli

    bad = tmp_path / "empty.pdf"
    bad.write_bytes(b"")
    res = CliRunner().invoke(cli, ["extract", str(bad), "-q"])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [f"error: {bad.name}: empty file (0 bytes)"]
