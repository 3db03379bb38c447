"""Sentence segmentation of scientific text (mechcode.segment)."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mechcode.document import Document, Passage
from mechcode.segment import add_sentences, sentences, split_many, split_sentences

TRICKY = (
    "Smith et al. [23, 24] found a strong effect (r = 0.95, p < 0.001). "
    "As shown in Fig. 2 and Figs. 3-4, the effect held across sites, i.e. in all regions. "
    "Models (e.g. logistic regression vs. random forests) were compared; see Eq. (3) in Sec. 4.2 and ref. 7. "
    "The cohort had approx. 300 members and started ca. 1990 in the U.S. with funding from Dr. Jones. "
    "Leaders said it took “time in getting to know one another” (p676) so that trust developed. "
    "Was it worth it? Prof. Harris thought so! "
    "Data are in Vol. 3, No. 2, pp. 14-20, cf. p. 16 etc. for details. "
    "“We met weekly.” The team agreed."
)
TRICKY_EXPECTED = [
    "Smith et al. [23, 24] found a strong effect (r = 0.95, p < 0.001).",
    "As shown in Fig. 2 and Figs. 3-4, the effect held across sites, i.e. in all regions.",
    "Models (e.g. logistic regression vs. random forests) were compared; see Eq. (3) in Sec. 4.2 and ref. 7.",
    "The cohort had approx. 300 members and started ca. 1990 in the U.S. with funding from Dr. Jones.",
    "Leaders said it took “time in getting to know one another” (p676) so that trust developed.",
    "Was it worth it?",
    "Prof. Harris thought so!",
    "Data are in Vol. 3, No. 2, pp. 14-20, cf. p. 16 etc. for details.",
    "“We met weekly.”",
    "The team agreed.",
]


def texts(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_tricky_abbreviations_citations_decimals_quotes():
    assert texts(TRICKY) == TRICKY_EXPECTED


def test_blank_line_always_ends_a_sentence_and_single_newline_does_not():
    text = "Results were mixed\n\nThe second block starts here. It goes\non over a line break."
    assert texts(text) == ["Results were mixed", "The second block starts here.",
                           "It goes\non over a line break."]


def test_sentences_without_words_join_a_neighbour():
    assert texts("It failed. !? Then it worked. . .") == ["It failed. !?", "Then it worked. . ."]
    assert texts("... Start here. Go on.") == ["... Start here.", "Go on."]
    assert texts("! ?") == ["! ?"]


def test_empty_and_whitespace_only_text():
    assert split_sentences("") == []
    assert split_sentences("  \n\t ") == []
    assert split_sentences("  One sentence  ") == [(2, 14)]


def test_split_many_matches_single_calls():
    items = [TRICKY, "", "A. B.", "Short one. Another one?"]
    assert split_many(items) == [split_sentences(t) for t in items]


def test_seed_box6_paragraph(seed_text):
    para = next(p for p in seed_text.split("\n\n") if "(p676)" in p)
    got = texts(para)
    assert len(got) == 3
    assert got[0].startswith("A clinical merger of two hospital sites in the US")
    assert got[1].startswith("It was understood from the beginning")
    assert got[2].startswith("They achieved this through, “*communication")
    assert "(p676) so that trust was developed" in got[2]
    assert got[2].endswith("at both hospital sites.")


def test_seed_citation_paragraph(seed_text):
    para = next(p for p in seed_text.split("\n\n") if "**Box 6** highlights" in p)
    got = texts(para)
    # five sentences, each ending with a citation bracket before the full stop or with "mechanism."
    assert len(got) == 5
    assert [g.split()[0] for g in got] == ["Empirical", "Leaders", "To", "Leaders", "**Box"]
    assert all(re.search(r"\[\d+(, \d+)*\]\.$", g) for g in got[:4])


def test_seed_abbreviation_paragraph(seed_text):
    para = next(p for p in seed_text.split("\n\n") if p.startswith("A total of 1,446 empirical"))
    got = texts(para)
    assert len(got) == 7
    assert any("(i.e. any team/system which spanned health and social care organisations)." in g for g in got)
    assert any("(e.g., NHS Leadership Academy" in g and g.endswith("NHS Improvement).") for g in got)


def test_seed_whole_text_is_covered(seed_text):
    spans = split_sentences(seed_text)
    assert len(spans) > 300
    assert _covers(seed_text, spans)


def _covers(text: str, spans: list[tuple[int, int]]) -> bool:
    """Offsets are ordered and the gaps between them are whitespace only."""
    pos = 0
    for s, e in spans:
        if s < pos or e <= s or text[pos:s].strip():
            return False
        pos = e
    return not text[pos:].strip()


def test_sentences_objects():
    got = sentences("One. Two.")
    assert [(s.start, s.end, s.text) for s in got] == [(0, 4, "One."), (5, 9, "Two.")]


ALPHABET = st.sampled_from(list("aAbZ. !?,;()[]“”\"'\n\t\u00a00123456789…")
                           + ["et al.", "Fig. ", "e.g. ", "U.S. ", "  "])
TEXT = st.lists(ALPHABET, max_size=80).map("".join) | st.text(max_size=200)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_offsets_property(text):
    spans = split_sentences(text)
    pos = 0
    for s, e in spans:
        assert 0 <= pos <= s < e <= len(text)
        sent = text[s:e]
        assert sent == sent.strip()
        assert not text[pos:s].strip()  # only whitespace between sentences
        pos = e
    assert not text[pos:].strip()
    # offsets plus the whitespace gaps rebuild the exact source text
    pieces, pos = [], 0
    for s, e in spans:
        pieces += [text[pos:s], text[s:e]]
        pos = e
    assert "".join(pieces) + text[pos:] == text


PARAGRAPH = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=120).filter(
    lambda t: t.strip() == t and t)


def build_document(paragraphs: list[str]) -> Document:
    """A Document whose body passages are ``paragraphs`` joined by blank lines."""
    text, passages = "", []
    for i, para in enumerate(paragraphs):
        if text:
            text += "\n\n"
        kind = "title" if i == 0 else ("abstract" if i == 1 else "paragraph")
        passages.append(Passage(id=i, kind=kind, text=para, page=1 + i // 3, bbox=(0, 0, 1, 1),
                                start=len(text), end=len(text) + len(para)))
        text += para
    return Document(text=text, passages=passages, content_hash="h", file_name="x.pdf", n_pages=3)


@settings(max_examples=100, deadline=None)
@given(st.lists(PARAGRAPH, min_size=1, max_size=8))
def test_document_passage_offsets_rebuild_text(paragraphs):
    doc = add_sentences(build_document(paragraphs))
    assert "\n\n".join(doc.text[p.start:p.end] for p in doc.passages) == doc.text
    for p in doc.passages:
        assert doc.text[p.start:p.end] == p.text
        if p.kind == "title":
            assert p.sentences == []
        for s in p.sentences:
            assert p.text[s.start:s.end] == s.text
            assert doc.text[p.start + s.start:p.start + s.end] == s.text
        if p.kind != "title":
            assert _covers(p.text, [(s.start, s.end) for s in p.sentences])
