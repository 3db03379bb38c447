#!/usr/bin/env python
"""Render ``corpora/sims2021/sample.pdf``: the Sims et al. (2021) review re-typeset from the seed text.

Sims S, Fletcher S, Brearley S, Ross F, Manthorpe J, Harris R. What does success look like for
leaders of integrated health and social care systems? A realist review. Int J Integr Care
2021;21(4):26. DOI 10.5334/ijic.5936. CC BY 4.0 - re-typeset (not the publisher's layout) for the
mechcode demo and for PDF-extraction tests.

Usage::

    python scripts/render_sample_pdf.py [SEED] [--out corpora/sims2021/sample.pdf]

Layout: A4, a full-width title/authors/abstract block on page 1 and two columns below it and on
the following pages; a running header (journal name and short title) and page number on every
page; bold section headings; Boxes 1-7 as shaded panels; Tables 1 and 2 as real tables on
full-width pages; the reference list at the end. The text blocks come from the same reader as
``derive_sims2021.py`` (page-break fragments re-joined, the misplaced fragment moved back).
The output is byte-for-byte reproducible (reportlab ``invariant`` mode).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import yaml
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (BaseDocTemplate, Frame, FrameBreak, KeepTogether, NextPageTemplate,
                                PageBreak, PageTemplate, Paragraph, Spacer, Table, TableStyle)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import derive_sims2021 as derive  # noqa: E402

JOURNAL = "International Journal of Integrated Care"
SHORT_TITLE = "Sims et al. · Leadership of integrated care systems: a realist review"
PAGE_W, PAGE_H = A4
MARGIN, GUTTER, HEAD = 18 * mm, 7 * mm, 16 * mm
COL_W = (PAGE_W - 2 * MARGIN - GUTTER) / 2
BODY_TOP = PAGE_H - MARGIN - HEAD
BODY_H = BODY_TOP - MARGIN
SYMBOL_FONT = "Times-Roman"


def register_symbol_font() -> None:
    """Use matplotlib's bundled DejaVu Sans for the arrows and check marks (Times lacks them)."""
    global SYMBOL_FONT
    try:
        import matplotlib
        path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
        pdfmetrics.registerFont(TTFont("DejaVuSans", path))
        SYMBOL_FONT = "DejaVuSans"
    except (ImportError, OSError):
        SYMBOL_FONT = "Times-Roman"


def styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName="Times-Roman", fontSize=9.2, leading=11.6, alignment=TA_JUSTIFY,
                          spaceAfter=5)
    mk = lambda name, **kw: ParagraphStyle(name, parent=base, **kw)  # noqa: E731
    return {
        "body": base,
        "title": mk("title", fontName="Helvetica-Bold", fontSize=17, leading=21, alignment=0, spaceAfter=8),
        "kicker": mk("kicker", fontName="Helvetica-Bold", fontSize=8, textColor=colors.HexColor("#1f5f8b")),
        "authors": mk("authors", fontName="Helvetica", fontSize=9.5, leading=12, alignment=0, spaceAfter=8),
        "abstract": mk("abstract", fontSize=9, leading=11.2),
        "meta": mk("meta", fontName="Helvetica", fontSize=7.5, leading=9.5, alignment=0, spaceAfter=3),
        "h1": mk("h1", fontName="Helvetica-Bold", fontSize=10.5, leading=13, spaceBefore=8, spaceAfter=4,
                 alignment=0, textColor=colors.HexColor("#1f5f8b")),
        "h2": mk("h2", fontName="Helvetica-Bold", fontSize=9.2, leading=11.5, spaceBefore=6, spaceAfter=3,
                 alignment=0),
        "h3": mk("h3", fontName="Helvetica-BoldOblique", fontSize=8.8, leading=11, spaceBefore=3,
                 spaceAfter=2, alignment=0),
        "box": mk("box", fontSize=8.6, leading=10.6, spaceAfter=3),
        "boxtitle": mk("boxtitle", fontName="Helvetica-Bold", fontSize=8.4, leading=10.4, alignment=0),
        "cell": mk("cell", fontSize=8, leading=9.6, alignment=0, spaceAfter=0),
        "cellhead": mk("cellhead", fontName="Helvetica-Bold", fontSize=6.6, leading=7.8, alignment=TA_CENTER,
                       spaceAfter=0),
        "caption": mk("caption", fontName="Helvetica", fontSize=7.8, leading=9.5, alignment=0, spaceBefore=3),
        "ref": mk("ref", fontSize=7.6, leading=9.2, alignment=0, spaceAfter=2, leftIndent=12,
                  firstLineIndent=-12),
        "list": mk("list", leftIndent=12, firstLineIndent=-10, spaceAfter=2),
    }


def markup(text: str) -> str:
    """Seed markdown/HTML -> reportlab paragraph markup (escaped; bold, italics, symbols)."""
    s = escape(text.replace("<i>", "\x01").replace("</i>", "\x02"))
    s = s.replace("\x01", "<i>").replace("\x02", "</i>")
    s = re.sub(r"\[([^\]]+)\]\(#\)", r"\1", s)
    s = re.sub(r"&lt;(https?://[^&]+)&gt;", r"\1", s)
    s = re.sub(r"\$([^$]+)\$", r"\1", s)
    s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
    s = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)(?<=\S)\*(?![\w*])", r"<i>\1</i>", s)
    s = re.sub(r"(?<!\w)\*(?=\w)", "", s)
    return re.sub("([→✓])", rf'<font name="{SYMBOL_FONT}">\1</font>', s)


def page_decor(canvas, doc) -> None:
    """Running header (journal + short title), rule, page number; credit line on page 1."""
    canvas.saveState()
    canvas.setFont("Helvetica-Bold", 7.5)
    canvas.setFillColor(colors.HexColor("#1f5f8b"))
    canvas.drawString(MARGIN, PAGE_H - MARGIN + 2, JOURNAL)
    canvas.setFont("Helvetica", 7.5)
    canvas.setFillColor(colors.black)
    canvas.drawRightString(PAGE_W - MARGIN, PAGE_H - MARGIN + 2, SHORT_TITLE)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN, PAGE_H - MARGIN - 3, PAGE_W - MARGIN, PAGE_H - MARGIN - 3)
    canvas.drawCentredString(PAGE_W / 2, MARGIN - 18, str(doc.page))
    if doc.page == 1:
        canvas.setFont("Helvetica", 6.5)
        canvas.drawString(MARGIN, MARGIN - 28, "Re-typeset from the seed text for the mechcode demo (not the "
                          "publisher's layout). © 2021 The Author(s), CC BY 4.0, doi:10.5334/ijic.5936")
    canvas.restoreState()


def build_doc(out: Path, top_h: float) -> BaseDocTemplate:
    """Page templates: 'first' (full-width block + two columns), 'two' (columns), 'one' (full width)."""
    doc = BaseDocTemplate(str(out), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                          bottomMargin=MARGIN, title="What does success look like for leaders of integrated "
                          "health and social care systems? A realist review", author="Sims S, Fletcher S, "
                          "Brearley S, Ross F, Manthorpe J, Harris R", subject=f"{JOURNAL} 2021;21(4):26. "
                          "doi:10.5334/ijic.5936. CC BY 4.0", creator="mechcode scripts/render_sample_pdf.py")
    cols = lambda h: [Frame(MARGIN + i * (COL_W + GUTTER), MARGIN, COL_W, h, id=f"col{i}",  # noqa: E731
                            leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0) for i in (0, 1)]
    top = Frame(MARGIN, BODY_TOP - top_h, PAGE_W - 2 * MARGIN, top_h, id="top", leftPadding=0,
                rightPadding=0, topPadding=0, bottomPadding=0)
    one = Frame(MARGIN, MARGIN, PAGE_W - 2 * MARGIN, BODY_H, id="one", leftPadding=0, rightPadding=0)
    doc.addPageTemplates([
        PageTemplate("first", [top] + cols(BODY_H - top_h - 8), onPage=page_decor, autoNextPageTemplate="two"),
        PageTemplate("two", cols(BODY_H), onPage=page_decor),
        PageTemplate("one", [one], onPage=page_decor),
    ])
    return doc


def front_matter(blocks: list, st: dict) -> tuple[list, int]:
    """Title, article type, authors, abstract, keywords and citation; returns (flowables, next index)."""
    kicker = next(b.text for b in blocks if b.kind == "heading")
    flow = [Paragraph(escape(kicker), st["kicker"]), Paragraph(markup(blocks[0].text), st["title"])]
    names, meta, section, i, done = [], [], "", 0, set()
    for i, b in enumerate(blocks[1:], 1):
        if b.kind == "heading" and b.text == "INTRODUCTION":
            break
        if b.kind == "heading":
            section = b.text
            if re.fullmatch(r"[A-Z'-]+ [A-Z'-]+", b.text) and not meta:
                names.append(b.text.title())
            continue
        if section == "ABSTRACT":
            label, _, rest = b.text.partition(": ")
            meta.append(Paragraph(f"<b>{escape(label)}:</b> {markup(rest)}", st["abstract"]))
        elif section in ("KEYWORDS:", "TO CITE THIS ARTICLE:", "CORRESPONDING AUTHOR:"):
            label = f"<b>{section.title()}</b> " if section not in done else ""
            done.add(section)
            meta.append(Paragraph(label + markup(b.text), st["meta"]))
    flow.append(Paragraph(", ".join(names), st["authors"]))
    flow.append(Paragraph("ABSTRACT", st["h1"]))
    return flow + meta, i


def box_panel(title: str, paras: list[str], st: dict) -> Table:
    """A shaded box (title row, then one row per paragraph so it can split across columns)."""
    cells = [Paragraph(markup(p), st["box"]) for p in paras]
    rows = [[[Paragraph(markup(title), st["boxtitle"]), Spacer(1, 4), cells[0]]]] + [[c] for c in cells[1:]]
    t = Table(rows, colWidths=[COL_W], splitByRow=1)
    t.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#e8f0f6")),
                           ("LINEABOVE", (0, 0), (-1, 0), 1.2, colors.HexColor("#1f5f8b")),
                           ("LEFTPADDING", (0, 0), (-1, -1), 6), ("RIGHTPADDING", (0, 0), (-1, -1), 6)]))
    return t


def data_table(rows: list[list[str]], st: dict, table2: bool) -> Table:
    """Table 1 (mechanism, description) or Table 2 (papers x ticks) at full page width."""
    width = PAGE_W - 2 * MARGIN
    if table2:
        head = [Paragraph(markup(h.capitalize() if i else h.title()), st["cellhead"]) for i, h in enumerate(rows[0])]
        body = [[Paragraph(markup(c), st["cell"]) if j == 0 else
                 Paragraph(markup(c), ParagraphStyle("tick", parent=st["cell"], alignment=TA_CENTER))
                 for j, c in enumerate(r)] for r in rows[1:]]
        widths = [34 * mm] + [(width - 34 * mm) / (len(rows[0]) - 1)] * (len(rows[0]) - 1)
    else:
        head = [Paragraph(f"<b>{h}</b>", st["cell"]) for h in rows[0]]
        body = [[Paragraph(f"<b>{markup(r[0])}</b>", st["cell"]), Paragraph(markup(r[1]), st["cell"])]
                for r in rows[1:]]
        widths = [38 * mm, width - 38 * mm]
    t = Table([head] + body, colWidths=widths, repeatRows=1)
    t.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#c9dbe8")),
                           ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#9ab")),
                           ("VALIGN", (0, 0), (-1, -1), "TOP")]
                          + ([("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                              ("VALIGN", (0, 0), (-1, 0), "BOTTOM")] if table2 else [])))
    return t


def body(blocks: list, st: dict) -> list:
    """The article body from INTRODUCTION on, in reading order."""
    flow, tables, box, section, n_ref = [], {}, None, "", 0
    for b in blocks:
        if box is not None and b.kind in ("para", "chain"):
            box["paras"].append(b.text)
            if b.kind == "chain":
                flow += [box_panel(box["title"], box["paras"], st), Spacer(1, 6)]
                box = None
            continue
        if b.kind == "heading":
            section = b.text
            level = "h2" if re.match(r"^(STAGE|MECHANISM)", b.text) else "h1"
            flow.append(Paragraph(markup(b.text), st[level]))
        elif b.kind == "subheading":
            flow.append(Paragraph(markup(b.text), st["h3"]))
        elif b.kind == "box-title":
            box = {"title": b.text, "paras": []}
        elif b.kind == "table":
            rows = [ln.split("\t") for ln in b.lines]
            key = rows[0][0]
            tables[key] = tables.get(key, []) + (rows if key not in tables else rows[1:])
        elif b.kind == "caption" and b.text.startswith("Table"):
            key = "MECHANISM" if b.text.startswith("Table 1") else "PAPER"
            flow += [NextPageTemplate("one"), PageBreak(), data_table(tables[key], st, key == "PAPER"),
                     Paragraph(markup(f"**{b.text[:7]}** {b.text[8:]}"), st["caption"]),
                     NextPageTemplate("two"), PageBreak()]
        elif b.kind == "caption" and b.text.startswith("Figure"):
            flow.append(KeepTogether([figure_placeholder(st), Paragraph(markup(f"**{b.text[:8]}** {b.text[9:]}"),
                                                                        st["caption"])]))
        elif b.kind in ("para", "list") and section == "REFERENCES":
            for ln in b.lines:
                n_ref += 1
                flow.append(Paragraph(f"{n_ref}. {reference(ln)}", st["ref"]))
        elif b.kind == "list":
            flow += [Paragraph(f"{n}. {markup(x)}", st["list"]) for n, x in enumerate(b.lines, 1)]
        elif b.kind in ("para", "chain"):
            flow.append(Paragraph(markup(b.text), st["body"]))
    return flow


def reference(line: str) -> str:
    """One reference line ('- Authors.** Title...' or '29. **Authors.** Title...') as markup."""
    line = re.sub(r"^(- |\d+\. )", "", line).removeprefix("**")
    authors, _, rest = line.partition("**")
    return f"<b>{markup(authors)}</b>{markup(rest)}" if rest else markup(line)


def figure_placeholder(st: dict) -> Table:
    t = Table([[Paragraph("[Figure 1: flow diagram of the Stage 2 searches, not reproduced]", st["caption"])]],
              colWidths=[COL_W], rowHeights=[60])
    t.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return t


def render(seed: Path, out: Path, decisions: Path) -> int:
    """Render the PDF; returns the number of pages."""
    rl_config.invariant = 1
    register_symbol_font()
    st = styles()
    blocks = derive.read_blocks(seed.read_text(encoding="utf-8"), yaml.safe_load(decisions.read_text("utf-8")))
    front, start = front_matter(blocks, st)
    width = PAGE_W - 2 * MARGIN
    top_h = sum(f.wrap(width, BODY_H)[1] + f.getSpaceAfter() + f.getSpaceBefore() for f in front) + 14
    doc = build_doc(out, top_h)
    story = front + [FrameBreak()] + body(blocks[start:], st)
    doc.build(story)
    return doc.page


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Render corpora/sims2021/sample.pdf from the seed text.")
    ap.add_argument("seed", nargs="?", type=Path, default=derive.DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=derive.CORPUS / "sample.pdf")
    ap.add_argument("--decisions", type=Path, default=derive.CORPUS / "decisions.yaml")
    args = ap.parse_args(argv)
    if not args.seed.is_file():
        ap.error(f"seed text not found: {args.seed}")
    pages = render(args.seed, args.out, args.decisions)
    print(f"wrote {args.out} ({pages} pages, {args.out.stat().st_size // 1024} KB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
