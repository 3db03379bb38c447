"""Report-style PDFs (grey literature) generated with reportlab, each with its expected text.

Used by tests/test_extract_reports.py and by benchmarks/bench_extract.py (order-F1
against the expected text beside PyMuPDF and naive pdfplumber).  ``BUILDERS`` maps a
name to ``build(path) -> (path, expected_text)``; the expected text is what a reviewer
should get as body text: title, headings, paragraphs, list items and box text, once each,
in reading order (no cover, contents, footnotes or page numbers).
"""
from __future__ import annotations

from pathlib import Path

W, H = 595, 842
SENTENCES = [
    "Integrated teams met every week to plan the care of people leaving hospital.",
    "Staff said the meetings built trust between health and social care workers.",
    "Where managers protected time for the meetings, discharge delays fell.",
    "Some teams lacked a shared record, so information was passed on by phone.",
    "Carers valued a single named contact who knew the whole plan.",
    "Funding rules that differed between agencies slowed joint decisions.",
]


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    from reportlab.lib.utils import simpleSplit

    return simpleSplit(text, font, size, width)


def _para(c, text: str, x: float, y: float, width: float = 451, font: str = "Helvetica",
          size: float = 10, lead: float = 13, indent: float = 0) -> float:
    c.setFont(font, size)
    for k, ln in enumerate(_wrap(text, font, size, width - indent)):
        c.drawString(x + (indent if k == 0 else 0), y, ln)
        y -= lead
    return y


def text_of(k: int, n: int = 3) -> str:
    return " ".join(SENTENCES[(k + i) % len(SENTENCES)] for i in range(n))


def one_font_page(path: Path) -> tuple[Path, str]:
    """One page drawn line by line in one font and size: no title block, no headings."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(W, H))
    c.setTitle("Notes from the integrated care workshop")
    paras = [text_of(0), text_of(2), text_of(4, 2), text_of(1, 2)]
    y = 770
    y = _para(c, paras[0], 72, y) - 13  # a blank line between paragraphs
    y = _para(c, paras[1], 72, y) - 13
    y = _para(c, paras[2], 72, y, indent=18)  # a first-line indent, no blank line
    _para(c, paras[3], 72, y, indent=18)
    c.save()
    return path, "\n\n".join(paras)


def report(path: Path) -> tuple[Path, str]:
    """A 4-page report: cover, contents, key-points box, numbered headings, bullets, footnotes."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(W, H))
    title = "Integrated care in practice: lessons from six local teams"
    expected = [title]
    c.setFont("Helvetica-Bold", 24)
    c.drawString(72, 600, "Integrated care in practice:")
    c.drawString(72, 570, "lessons from six local teams")
    c.setFont("Helvetica", 14)
    c.drawString(72, 520, "The Generated Health Trust")
    c.drawString(72, 500, "March 2024")
    c.showPage()
    c.setFont("Helvetica-Bold", 16)
    c.drawString(72, 760, "Contents")
    c.setFont("Helvetica", 10)
    for k, (entry, page) in enumerate([("Key points", 3), ("1 Introduction", 3),
                                       ("1.1 Background", 3), ("2 Findings", 4),
                                       ("2.1 Workforce", 4)]):
        c.drawString(72, 730 - 18 * k, entry + " " + "." * 60)
        c.drawRightString(523, 730 - 18 * k, str(page))
    c.setFont("Helvetica", 9)
    c.drawCentredString(W / 2, 40, "2")
    c.showPage()
    # page 3: key points box, numbered headings, bullet list with a lead-in, a footnote
    c.rect(66, 640, 463, 130)
    c.setFont("Helvetica-Bold", 12)
    c.drawString(78, 752, "Key points")
    expected.append("Key points")
    y = 734
    for k in range(3):
        c.setFont("Helvetica", 10)
        c.drawString(80, y, "\u2022")
        y = _para(c, SENTENCES[k], 92, y, width=420)
        expected.append("\u2022 " + SENTENCES[k])
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 610, "1 Introduction")
    expected.append("1 Introduction")
    y = _para(c, text_of(3), 72, 588)
    c.drawString(72, y, "The survey covered all six teams.")
    c.setFont("Helvetica", 6)  # a raised footnote mark
    c.drawString(72 + c.stringWidth("The survey covered all six teams.", "Helvetica", 10) + 0.5,
                 y + 4, "1")
    y -= 13
    expected.append(text_of(3) + " The survey covered all six teams. 1")
    c.setFont("Helvetica-Bold", 12)
    c.drawString(72, y - 14, "1.1 Background")
    expected.append("1.1 Background")
    y = _para(c, "Three changes were made in every team:", 72, y - 34)
    expected.append("Three changes were made in every team:")
    for k in range(3, 6):
        c.setFont("Helvetica", 10)
        c.drawString(80, y, "\u2022")
        y = _para(c, SENTENCES[k], 92, y, width=420)
        expected.append("\u2022 " + SENTENCES[k])
    c.setFont("Helvetica", 8)
    c.drawString(72, 70, "1 The survey ran from January to March 2023 in all six local areas.")
    c.setFont("Helvetica", 9)
    c.drawCentredString(W / 2, 40, "3")
    c.showPage()
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 770, "2 Findings")
    expected.append("2 Findings")
    y = _para(c, text_of(1), 72, 748)
    expected.append(text_of(1))
    c.setFont("Helvetica-Oblique", 15)  # a pull quote repeating a sentence of the text below
    c.drawString(100, y - 20, "“Funding rules that differed between agencies")
    c.drawString(100, y - 38, "slowed joint decisions.”")
    y -= 50
    c.setFont("Helvetica-Bold", 12)
    c.drawString(72, y - 14, "2.1 Workforce")
    expected.append("2.1 Workforce")
    _para(c, text_of(2) + " " + text_of(5), 72, y - 34)
    expected.append(text_of(2) + " " + text_of(5))
    c.setFont("Helvetica", 9)
    c.drawCentredString(W / 2, 40, "4")
    c.showPage()
    c.save()
    return path, "\n\n".join(expected)


def plain_numbered(path: Path) -> tuple[Path, str]:
    """A word-processor style page: one font and size, numbered headings, a bullet list."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(W, H))
    c.setTitle("Workshop summary")
    expected, y = [], 770
    for head, body in (("1 Background", text_of(0)), ("1.1 Aims of the workshop", text_of(2)),
                       ("2 What participants said", text_of(4))):
        c.setFont("Helvetica", 10)
        c.drawString(72, y, head)
        expected.append(head)
        y = _para(c, body, 72, y - 20) - 13
        expected.append(body)
    y = _para(c, "Participants proposed three actions:", 72, y)
    expected.append("Participants proposed three actions:")
    for k in range(3):
        c.drawString(80, y, "-")
        y = _para(c, SENTENCES[k], 92, y, width=420)
        expected.append("- " + SENTENCES[k])
    c.save()
    return path, "\n\n".join(expected)


BUILDERS = {"report_one_font_page": one_font_page, "report_numbered_sections": report,
            "report_plain_numbered_headings": plain_numbered}
