"""One generated PDF per extraction defect class, each with its expected text.

Every fixture reproduces one layout feature seen on real papers (two text
runs overlapping, justified lines with wide gaps, body lines that start with
"Table 1.", sidebars, boilerplate, formulas, hyphenated compounds, back
matter after the references, a page without a title block) in a small
reportlab page, so a regression shows up without the real PDFs.
"""
from __future__ import annotations

from pathlib import Path

from mechcode.ingest import extract_pdf

W, H = 595, 842
PROSE = ("Health workers in the district clinics described how the new referral forms changed "
         "their daily routine. Most nurses said the forms took little time once they were used "
         "to them. Several managers reported that the change was supported by regular meetings. ")


def canvas(path: Path):
    from reportlab.pdfgen import canvas as rl

    return rl.Canvas(str(path), pagesize=(W, H))


def wrap(text: str, font: str = "Times-Roman", size: float = 10, width: float = 451) -> list[str]:
    from reportlab.lib.utils import simpleSplit

    return simpleSplit(text, font, size, width)


def para(c, text: str, y: float, x: float = 72, width: float = 451, font: str = "Times-Roman",
         size: float = 10, lead: float = 12) -> float:
    """Draw wrapped text; return the y below it."""
    c.setFont(font, size)
    for ln in wrap(text, font, size, width):
        c.drawString(x, y, ln)
        y -= lead
    return y


def paper(c, title: str = "A generated study of referral forms in rural clinics") -> float:
    """Title, author line and an abstract; returns the y where the body starts."""
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, 770, title)
    c.setFont("Helvetica", 10)
    c.drawString(72, 748, "Ann Author and Bob Writer, Department of Health, Test University")
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, 720, "Abstract")
    y = para(c, PROSE, 704)
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, y - 14, "Background")
    return y - 30


def body_text(doc) -> str:
    return " ".join(p.text for p in doc.body())


# ------------------------------------------------------------- 1. overlapping runs

def test_overlapping_text_runs_are_not_merged_glyph_by_glyph(tmp_path):
    c = canvas(tmp_path / "overlap.pdf")
    y = para(c, PROSE * 2, paper(c))
    t = c.beginText(72, y - 20)
    t.setFont("Helvetica", 9)
    t.textOut("alphabeta gamma delta epsilon")
    c.drawText(t)
    t = c.beginText(75, y - 17)  # 3 pt higher: the boxes overlap by two thirds
    t.setFont("Times-Bold", 9)
    t.textOut("WORDS HERE AND THERE TOO")
    c.drawText(t)
    c.save()
    doc = extract_pdf(tmp_path / "overlap.pdf")
    everything = " ".join(p.text for p in doc.passages)
    assert "alphabeta gamma delta epsilon" in everything
    assert "WORDS HERE AND THERE TOO" in everything
