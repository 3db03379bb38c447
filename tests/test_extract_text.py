"""Text normalisation of what PDF text layers yield, and failure reporting."""
from __future__ import annotations

from click.testing import CliRunner

from mechcode.ingest.text import clean_text
from mechcode.segment import split_sentences


def test_clean_text_makes_any_pdf_text_encodable():
    raw = "n\ud835\udc5b = 5 \ud835 lone \udc5d end \uf0b7 item \ue123x \x07bell \ufb01sh\u00a0ok"
    out = clean_text(raw)
    out.encode("utf-8")  # no surrogates left
    assert out == "nn = 5  lone  end \u2022 item x bell fish ok"
    assert clean_text("plain ascii\x00 text") == "plain ascii text"
    assert clean_text("caf\u00e9 \u2013 na\u00efve") == "caf\u00e9 \u2013 na\u00efve"


def test_sentence_splitter_survives_lone_surrogates():
    text = "A first sentence with \ud835 in it. A second one."
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["A first sentence with \ud835 in it.", "A second one."]


def test_cli_unexpected_failure_is_one_error_line(tmp_path, monkeypatch):
    from reportlab.pdfgen import canvas

    import mechcode.ingest as ingest
    from mechcode.cli import cli

    pdf = tmp_path / "odd.pdf"
    c = canvas.Canvas(str(pdf))
    c.drawString(100, 700, "Hello world")
    c.save()

    def boom(*a, **k):
        raise ValueError("something deep inside\nsecond line")

    monkeypatch.setattr(ingest, "extract_pdf", boom)
    res = CliRunner().invoke(cli, ["extract", str(pdf), "-q"])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        "error: odd.pdf: extraction failed (ValueError: something deep inside)"]


def test_version_and_url_tail_is_cut_from_a_title():
    from mechcode.ingest.blocks import TITLE_TAIL

    title = "Longevity of sharks based on tag data [v2; ref status: indexed, http://f1000r.es/4fj]"
    assert TITLE_TAIL.sub("", title) == "Longevity of sharks based on tag data"
    assert TITLE_TAIL.sub("", "Effects of drug [X] on mice") == "Effects of drug [X] on mice"
