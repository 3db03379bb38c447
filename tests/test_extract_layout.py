"""Unit tests of the extractor's geometry stages on hand-made chars and lines."""
from __future__ import annotations

from mechcode.ingest.blocks import Block, split_references
from mechcode.ingest.clean import mark_running
from mechcode.ingest.layout import xy_order
from mechcode.ingest.lines import Line, group_lines
from mechcode.ingest.pdf import Char
from mechcode.ingest.tables import mark_tables


def line(text, x0, x1, top, size=10.0, page=1, font="Times-Roman"):
    return Line(page=page, x0=x0, x1=x1, top=top, bottom=top + size, text=text, size=size,
                font=font, purity=1.0, bold=False, italic=False, n_chars=len(text))


def word_chars(word, x, top, size=10.0, width=5.0, font="Times-Roman"):
    return [Char(ch, x + i * width, x + (i + 1) * width, top, top + size, size, font, True)
            for i, ch in enumerate(word)]


def test_group_lines_splits_columns_and_words():
    chars = (word_chars("left", 50, 100) + word_chars("column", 73, 100)
             + word_chars("right", 320, 100) + word_chars("side", 348, 100)
             + word_chars("next", 50, 112))
    lines = sorted(group_lines(chars, 1), key=lambda l: (l.top, l.x0))
    assert [l.text for l in lines] == ["left column", "right side", "next"]


def test_group_lines_keeps_superscripts_and_drops_fake_bold():
    chars = word_chars("cited", 50, 100)
    chars.append(Char("7", 75.5, 79, 97, 104, 7.0, "Times-Roman", True))  # raised and smaller
    bold = word_chars("Bold", 50, 130) + word_chars("Bold", 50.2, 130)  # drawn twice
    lines = sorted(group_lines(chars + bold, 1), key=lambda l: l.top)
    assert lines[0].text == "cited 7"
    assert lines[1].text == "Bold"


def test_xy_order_title_columns_and_spanning_figure():
    title = line("Title across the page", 50, 540, 50, size=18)
    left_top = [line(f"L{i}", 50, 290, 100 + 12 * i) for i in range(3)]
    right_top = [line(f"R{i}", 305, 545, 100 + 12 * i) for i in range(3)]
    figure = line("Figure 1 spans both columns", 50, 545, 160)
    left_low = [line(f"l{i}", 50, 290, 200 + 12 * i) for i in range(2)]
    right_low = [line(f"r{i}", 305, 545, 200 + 12 * i) for i in range(2)]
    items = right_low + left_low + [figure] + right_top + left_top + [title]  # scrambled
    order = [it.text for it in xy_order(items)]
    assert order == (["Title across the page", "L0", "L1", "L2", "R0", "R1", "R2",
                      "Figure 1 spans both columns", "l0", "l1", "r0", "r1"])


def test_mark_running_headers_footers_and_page_numbers():
    pages = []
    for p in range(1, 5):
        pages.append([
            line(f"Smith et al. Journal 2020, 3:{p}", 50, 300, 20, size=8, page=p),
            line("A body line that differs on every page " + str(p * 17), 50, 540, 300, page=p),
            line(str(p), 290, 300, 770, size=8, page=p),
        ])
    mark_running(pages, [800.0] * 4)
    for lines in pages:
        assert [ln.kind for ln in lines] == ["header", "", "footer"]


def test_mark_tables_tags_grid_not_prose():
    col = 240.0
    prose = [line("a full line of ordinary running text here", 50, 290, 100 + 12 * i)
             for i in range(5)]
    cells = [line(t, x, x + 30, 400 + 14 * r)
             for r in range(4) for t, x in ((f"v{r}a", 320), (f"v{r}b", 380), (f"v{r}c", 440))]
    mark_tables(prose + cells, col, 595.0)
    assert all("cell" in c.tags for c in cells)
    assert not any("cell" in p.tags for p in prose)


def test_split_references_by_label_and_outdent():
    lines = [line("References", 50, 120, 100),
             line("[1] Smith J. A paper title that wraps onto", 50, 290, 112),
             line("the next line. J Test. 2001;1:2.", 60, 200, 124),
             line("[2] Doe A. Another paper. J Test. 2002.", 50, 220, 136),
             line("Roe R, Poe P. 2003. Author-year style entry", 50, 290, 148),
             line("continued with a hanging indent.", 60, 200, 160),
             line("Moe M. 2004. Next entry.", 50, 180, 172)]
    entries = split_references(Block("reference", lines))
    assert [len(e.lines) for e in entries] == [1, 2, 1, 2, 1]
