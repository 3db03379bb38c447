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


# ------------------------------------------------- 3. justified line with a wide space

def justified(c, lines: list[str], x: float, y: float, width: float = 451,
              font: str = "Times-Roman", size: float = 10, lead: float = 12) -> float:
    """Draw ``lines`` justified to ``width`` (word spacing), the last one ragged."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    for k, ln in enumerate(lines):
        t = c.beginText(x, y)
        t.setFont(font, size)
        if k < len(lines) - 1 and ln.count(" "):
            t.setWordSpace((width - stringWidth(ln, font, size)) / ln.count(" "))
        t.textOut(ln)
        c.drawText(t)
        y -= lead
    return y


def spread(c, words: list[str], x0: float, x1: float, y: float, font: str = "Times-Roman",
           size: float = 10) -> float:
    """Draw ``words`` one by one (no space glyphs) spread from ``x0`` to ``x1``; the gap."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    widths = [stringWidth(w, font, size) for w in words]
    gap = (x1 - x0 - sum(widths)) / (len(words) - 1)
    c.setFont(font, size)
    x = x0
    for w, wd in zip(words, widths):
        c.drawString(x, y, w)
        x += wd + gap
    return gap


def test_line_set_word_by_word_with_wide_gaps_is_one_line(tmp_path):
    c = canvas(tmp_path / "spread.pdf")
    y = paper(c)
    gap = spread(c, "Nurses and managers use the new referral forms in almost every single"
                 .split(), 72, 523, y)
    assert 12 < gap < 25
    justified(c, wrap("clinic of the district, and the managers support them at the weekly "
                      "meetings. " + PROSE), 72, y - 12)
    c.save()
    doc = extract_pdf(tmp_path / "spread.pdf")
    assert "forms in almost every single clinic of the district" in body_text(doc)
    assert not any(p.kind == "table" for p in doc.passages)


def test_justified_line_with_wide_sentence_space_stays_one_line(tmp_path):
    from reportlab.pdfbase.pdfmetrics import stringWidth

    c = canvas(tmp_path / "wide.pdf")
    y = paper(c)
    lines = wrap(PROSE * 2)
    y = justified(c, lines[:3], 72, y)
    left = "performed on the base of the survey results from the clinics in both districts."
    right = "Then we describe a usual ward"
    c.setFont("Times-Roman", 10)
    c.drawString(72, y, left)
    c.drawRightString(523, y, right)  # the line's two halves, 10-20 pt apart
    gap = 451 - stringWidth(left + right, "Times-Roman", 10)
    assert 20 < gap < 25  # 2 font sizes: wider than a normal word space
    justified(c, ["routine in the three clinics, one after the other, with all the staff who"
                  " took part in it.", "This closes the paragraph."], 72, y - 12)
    c.save()
    doc = extract_pdf(tmp_path / "wide.pdf")
    text = body_text(doc)
    assert "both districts. Then we describe a usual ward routine in the three clinics" in text
    para = next(p for p in doc.passages if "survey results" in p.text)
    assert para.text.startswith(lines[0]) and para.text.endswith("This closes the paragraph.")


# ------------------------------------------- 4. body lines that start like captions

def test_body_lines_starting_with_figure_or_table_stay_in_the_paragraph(tmp_path):
    c = canvas(tmp_path / "capt.pdf")
    y = paper(c)
    lines = ["The clinics kept their own registers, and the counts we used are listed in",
             "table 1. Most counts were complete. The overall pattern over time is shown in",
             "Figure 2. It shows a steady rise in referrals over the two years of the study,",
             "and a fall after the new forms were withdrawn in the last quarter."]
    for ln in lines:
        c.setFont("Times-Roman", 10)
        c.drawString(72, y, ln)
        y -= 12
    c.setFillGray(0.5)
    c.rect(72, y - 120, 300, 100, fill=1)  # a figure
    c.setFillGray(0)
    c.setFont("Helvetica", 8)
    c.drawString(72, y - 134, "Figure 1. Referrals per month in the three clinics.")
    para(c, PROSE, y - 160)
    c.save()
    doc = extract_pdf(tmp_path / "capt.pdf")
    text = body_text(doc)
    assert "listed in table 1. Most counts were complete." in text
    assert "shown in Figure 2. It shows a steady rise" in text
    assert "Referrals per month" not in text
    assert any(p.kind == "caption" and p.text.startswith("Figure 1.") for p in doc.passages)


# ----------------------------------------------- 10. a page without a title block

def test_single_page_excerpt_without_title_block(tmp_path):
    c = canvas(tmp_path / "excerpt.pdf")
    c.setFont("Helvetica", 8)
    c.drawString(72, 805, "Generated Journal of Tests 2024; 7: 101-112")
    y = para(c, "were recruited from the waiting rooms of the clinics. " + PROSE, 770)
    c.setFont("Times-Bold", 10)
    c.drawString(72, y - 10, "3.2 Recruitment of the clinics")
    y = para(c, "Recruitment started in the spring. " + PROSE * 2, y - 26)
    y = para(c, "A second paragraph closes the section. " + PROSE, y - 4)
    c.setFont("Helvetica", 8)
    c.drawString(290, 40, "104")
    c.save()
    doc = extract_pdf(tmp_path / "excerpt.pdf")
    kinds = [p.kind for p in doc.body()]
    assert "title" not in kinds
    text = doc.to_text()
    assert text.startswith("were recruited from the waiting rooms")
    assert "## 3.2 Recruitment of the clinics\n\nRecruitment started in the spring." in text
    assert "A second paragraph closes the section." in text
    assert "Generated Journal" not in text and "104" not in text
    assert doc.metadata["title"] == "3.2 Recruitment of the clinics"


# ------------------------------------------ 2. back matter after the reference list

def test_appendix_and_declarations_after_references_are_kept(tmp_path):
    c = canvas(tmp_path / "back.pdf")
    y = para(c, PROSE * 3, paper(c))
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, y - 16, "References")
    y -= 32
    for k in range(1, 7):
        y = para(c, f"{k}. Author{k} A, Writer B. A cited study number {k} of clinics. "
                    f"J Tests. 20{10 + k};{k}:1-9.", y, size=8, lead=10)
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, y - 16, "Appendix A. Interview guide")
    y = para(c, "The interviewers asked each nurse about the referral forms and the meetings. "
                "Probes covered time, training and support from managers.", y - 32)
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, y - 16, "Conflict of interest")
    para(c, "The authors declare that they have no competing interests.", y - 32)
    c.save()
    doc = extract_pdf(tmp_path / "back.pdf")
    text = doc.to_text()
    assert "# Appendix A. Interview guide\n\nThe interviewers asked each nurse" in text
    assert "Probes covered time, training and support from managers." in text
    assert "The authors declare that they have no competing interests." in text
    assert "Author3 A" not in text and "cited study" not in text
    refs = [p for p in doc.passages if p.kind == "reference" and "cited study" in p.text]
    assert len(refs) == 6


# ------------------------------------------------------ 5. a box beside the abstract

def test_box_beside_the_abstract_does_not_split_it(tmp_path):
    c = canvas(tmp_path / "box.pdf")
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, 770, "A generated study of referral forms in rural clinics")
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, 730, "Abstract")
    y = para(c, PROSE * 2 + "The abstract ends here.", 714, width=300)
    c.rect(392, 600, 140, 145)
    para(c, "Key points. What is known: forms are slow. What this adds: they get faster.",
         714, x=400, width=120)
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, y - 20, "Background")
    para(c, PROSE * 2, y - 36)
    c.save()
    doc = extract_pdf(tmp_path / "box.pdf")
    abstract = [p for p in doc.passages if p.kind == "abstract"]
    assert len(abstract) == 1
    assert abstract[0].text.startswith("Health workers") and \
        abstract[0].text.endswith("The abstract ends here.")
    assert "What is known" not in abstract[0].text


# ------------------------------------------------------ 6. boilerplate of its own kind

def test_boilerplate_is_its_own_kind_out_of_the_body(tmp_path):
    c = canvas(tmp_path / "boiler.pdf")
    y = paper(c)
    notices = ["(J Gen Tests 2024;7(2):e107) doi:10.1234/jgt.2024.107",
               "\u00a9 2024 The Authors. Published under the terms of the Creative Commons",
               "[PPT File (Microsoft PowerPoint Presentation), 3MB]",
               "Springer Nature remains neutral with regard to jurisdictional claims."]
    y = para(c, PROSE * 2, y)
    for text in notices:
        c.setFont("Times-Roman", 10)
        c.drawString(72, y - 12, text)
        y = para(c, PROSE, y - 30)
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, y - 12, "Additional files")
    para(c, "Additional file 1: Interview guide used in all clinics (PDF 120 kB).", y - 28)
    c.save()
    doc = extract_pdf(tmp_path / "boiler.pdf")
    text = doc.text
    boiler = " ".join(p.text for p in doc.passages if p.kind == "boilerplate")
    for probe in ("J Gen Tests 2024", "The Authors. Published", "PPT File", "remains neutral",
                  "Interview guide used", "Additional files"):
        assert probe not in text and probe in boiler, probe
    assert text.count("Several managers reported") == 7  # the prose around them stays


# ------------------------------------------------------------- 7. formula debris

def test_displayed_formulas_and_equation_numbers_leave_the_body(tmp_path):
    c = canvas(tmp_path / "formula.pdf")
    y = para(c, PROSE + "The sums were calculated with the following Eq. (1):", paper(c))
    c.setFont("Times-Roman", 10)
    c.drawString(110, y - 8, "SFA = C10:0 + C12:0 + C14:0 + C15:0")
    c.drawString(500, y - 8, "(1)")
    c.drawString(140, y - 22, "+ C16:0 + C18:0,")
    y = para(c, "where SFA is the sum of the saturated fatty acids. " + PROSE, y - 42)
    c.drawString(200, y - 8, "v = Transformer(input)[CLS],")
    c.drawString(200, y - 30, "s = ffiffiffiffiffi")
    para(c, "The vector v then feeds the classifier. " + PROSE, y - 54)
    c.save()
    doc = extract_pdf(tmp_path / "formula.pdf")
    text = doc.text
    for probe in ("SFA = C10", "(1)\n", "C16:0", "Transformer(input)", "ffiff"):
        assert probe not in text, probe
    assert "with the following Eq. (1):" in text and "where SFA is the sum" in text
    assert "The vector v then feeds the classifier." in text
    formulas = " ".join(p.text for p in doc.passages if p.kind == "formula")
    assert "SFA = C10:0" in formulas and "Transformer(input)" in formulas


# ------------------------------------------------------- 8. careful de-hyphenation

def test_line_end_hyphens_of_compounds_are_kept(tmp_path):
    c = canvas(tmp_path / "hyphen.pdf")
    y = paper(c)
    lines = ["Most clinics in the study were small and government-",
             "funded, and the recruit-",
             "ment of nurses took place over a year. A meta-",
             "analysis of earlier trials was the starting point for what would occur-",
             "ring in the new clinics, with the funded posts and a new analysis plan."]
    c.setFont("Times-Roman", 10)
    for ln in lines:
        c.drawString(72, y, ln)
        y -= 12
    para(c, PROSE, y - 6)
    c.save()
    text = extract_pdf(tmp_path / "hyphen.pdf").text
    assert "small and government-funded, and the recruitment of nurses" in text
    assert "A meta-analysis of earlier trials" in text
    assert "what would occurring in the new clinics" in text


# ----------------------------------------------- 9. heading directly over a sub-heading

def test_heading_and_sub_heading_stay_apart(tmp_path):
    c = canvas(tmp_path / "heads.pdf")
    y = para(c, PROSE * 2, paper(c))
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, y - 12, "METHODS")
    c.drawString(72, y - 25, "School recruitment")
    y = para(c, "Schools were invited by letter. " + PROSE, y - 41)
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, y - 12, "Barriers and facilitators to using the new referral forms in the")
    c.drawString(72, y - 25, "rural clinics")
    para(c, "Nurses named three barriers. " + PROSE, y - 41)
    c.save()
    text = extract_pdf(tmp_path / "heads.pdf").to_text()
    assert "\n\n# METHODS\n\n" in text
    assert "School recruitment\n\nSchools were invited by letter." in text
    assert "# Barriers and facilitators to using the new referral forms in the rural clinics\n\n" \
        "Nurses named three barriers." in text


# --------------------------------------------- 6b. a repository's download cover page

def test_download_cover_page_is_boilerplate_and_the_title_comes_from_page_two(tmp_path):
    c = canvas(tmp_path / "cover.pdf")
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 770, "A generated study of referral forms in rural clinics")
    c.setFont("Helvetica", 9)
    for k, ln in enumerate(["This article was downloaded from the Generated Repository.",
                            "Citation for published version: Author A (2024) J Gen Tests 7:1.",
                            "General rights: copyright remains with the authors.",
                            "Take down policy: contact the repository if this breaches copyright."]):
        c.drawString(72, 740 - 14 * k, ln)
    c.showPage()
    y = para(c, PROSE * 3, paper(c))
    para(c, "The second section closes the study. " + PROSE, y - 10)
    c.save()
    doc = extract_pdf(tmp_path / "cover.pdf")
    assert doc.title == "A generated study of referral forms in rural clinics"
    assert doc.body()[0].page == 2
    text = doc.text
    assert "downloaded from" not in text and "Take down policy" not in text
    assert text.count("A generated study of referral forms") == 1
    assert "The second section closes the study." in text
    cover = [p for p in doc.passages if p.page == 1]
    assert cover and all(p.kind == "boilerplate" for p in cover)


# ------------------------------ 9b. a sentence running across a column and a page break

def test_paragraph_continues_across_column_and_page_breaks(tmp_path):
    c = canvas(tmp_path / "flow.pdf")
    words = (PROSE * 20).split()
    lines = wrap(" ".join(words), width=230)
    first = True
    for page in (1, 2):
        c.setFont("Helvetica", 8)
        c.drawString(56, 810, "Generated Journal of Tests 2024")
        c.drawString(520, 810, str(page))
        top = 700
        if first:
            c.setFont("Helvetica-Bold", 18)
            c.drawString(56, 760, "A generated study of referral forms")
            c.setFont("Helvetica-Bold", 11)
            c.drawString(56, 720, "Background")
            top = 700
        for x in (56, 310):
            y = top
            if x == 310 and page == 1:  # a figure and its caption on top of the right column
                c.rect(310, 560, 230, 130, fill=0)
                c.setFont("Helvetica", 8)
                c.drawString(310, 548, "Figure 1. Referrals per month in the three clinics.")
                y = 530
            c.setFont("Times-Roman", 10)
            while lines and y > 80:
                c.drawString(x, y, lines.pop(0))
                y -= 12
        first = False
        c.showPage()
    c.save()
    doc = extract_pdf(tmp_path / "flow.pdf")
    paras = [p for p in doc.passages if p.kind == "paragraph"]
    assert len(paras) == 1 and paras[0].pages == [1, 2]
    assert paras[0].text == " ".join(words)
    assert "Referrals per month" not in doc.text


def test_run_in_back_matter_labels_in_small_print_are_kept(tmp_path):
    c = canvas(tmp_path / "runin.pdf")
    para(c, PROSE * 4, paper(c))
    c.showPage()
    y = para(c, "The last paragraph of the discussion. " + PROSE * 2, 770)
    y = para(c, "Acknowledgements. We thank the nurses of the three clinics for their time "
                "and the managers for the meeting rooms.", y - 10, size=8, lead=10)
    y = para(c, "Conflicts of Interest: The authors declare no conflict of interest.", y - 4,
             size=8, lead=10)
    y = para(c, "Funding This work was paid for by the generated trust.", y - 4, size=8, lead=10)
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, y - 16, "References")
    y -= 32
    for k in range(1, 6):
        y = para(c, f"{k}. Author{k} A. A cited study {k}. J Tests. 2020;{k}:1-9.", y, size=8,
                 lead=10)
    c.save()
    doc = extract_pdf(tmp_path / "runin.pdf")
    text = doc.text
    assert "We thank the nurses of the three clinics" in text
    assert "The authors declare no conflict of interest." in text
    assert "Funding This work was paid for by the generated trust." in text
    assert "A cited study" not in text
    # in reading order, after the body
    assert text.index("The last paragraph") < text.index("We thank the nurses")


# ------------------------------------------- 5b. margin notes and table cells stay apart

def test_margin_note_beside_a_heading_and_a_table_cell_named_like_a_section(tmp_path):
    c = canvas(tmp_path / "margin.pdf")
    c.setFont("Helvetica-Bold", 18)
    c.drawString(196, 770, "A generated study of referral forms")
    y = para(c, PROSE * 2, 740, x=196, width=350)
    c.setFont("Helvetica", 7)
    for k, ln in enumerate(["Copyright: 2024 the authors, an",
                            "open-access article under the", "terms of a generated licence"]):
        c.drawString(37, y - 12 - 9 * k, ln)
    c.setFont("Helvetica-Bold", 12)
    c.drawString(196, y - 21, "Introduction")  # on the row of the second margin line
    y = para(c, PROSE * 2, y - 40, x=196, width=350)
    c.setFont("Helvetica-Bold", 9)  # a small table whose first column is named like a section
    for col, x in (("Affiliation", 196), ("Staff", 300), ("Share", 380)):
        c.drawString(x, y - 14, col)
    c.setFont("Helvetica", 9)
    for r, row in enumerate((("Clinic A", "12", "40%"), ("Clinic B", "18", "60%"))):
        for cell, x in zip(row, (196, 300, 380)):
            c.drawString(x, y - 28 - 12 * r, cell)
    para(c, "After the table the discussion goes on. " + PROSE, y - 70, x=196, width=350)
    c.save()
    doc = extract_pdf(tmp_path / "margin.pdf")
    heads = [p.text for p in doc.passages if p.kind == "heading"]
    assert "Introduction" in heads
    text = doc.text
    assert "generated licence" not in text and "open-access article" not in text
    assert "After the table the discussion goes on." in text


def test_related_article_note_under_the_abstract_is_boilerplate(tmp_path):
    c = canvas(tmp_path / "related.pdf")
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, 770, "A generated study of referral forms in rural clinics")
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, 730, "Abstract")
    y = para(c, PROSE, 714)
    c.setFont("Times-Roman", 10)
    c.drawString(72, y - 12, "Please see related articles: http://example.org/journal/12/163 and http://")
    c.drawString(72, y - 24, "example.org/journal/12/201.")
    c.setFont("Helvetica-Bold", 11)
    c.drawString(72, y - 50, "Background")
    para(c, PROSE * 2, y - 66)
    c.save()
    doc = extract_pdf(tmp_path / "related.pdf")
    assert "related articles" not in doc.text and "example.org" not in doc.text
    (abstract,) = [p for p in doc.passages if p.kind == "abstract"]
    assert abstract.text == PROSE.strip()
    assert any(p.kind == "boilerplate" and "related articles" in p.text for p in doc.passages)


def test_statistics_in_prose_are_not_formulas():
    """A results line such as "F(2, 404) = 19.02, p < .001, η 2 = .09. However, ..." at the top of
    a column is text (it was dropped as formula debris in a shared paper); real formulas still are."""
    from mechcode.ingest.formulas import mathy

    for prose in ("404) = 19.02, p < .001, η 2 = .09. However, there was no",
                  "F(1, 202) = 2.29, p = .13, η 2 = .01.", "t(45) = 2.31, p = .02"):
        assert not mathy(prose), prose
    for formula in ("x = y + 2", "= a + b", "σ(x) = 1/(1+e^{-x})"):
        assert mathy(formula), formula
