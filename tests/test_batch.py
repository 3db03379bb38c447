"""Batch coding: many PDFs in parallel, bad files reported, resumable, dask gives the same result."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mechcode.batch import code_files, finished_hashes, iter_pdfs
from mechcode.cli import cli
from mechcode.store.review import Review

TOPICS = [
    ("Leadership in a merged care trust",
     ["The chief executive acknowledged staff concerns about the culture of the new trust. "
      "Staff were reassured and partnership working became a core value.",
      "Team leaders joined steering committees for collaborative projects. "
      "Their presence made staff reduce territorial behaviour."]),
    ("Hospital merger and new reporting lines",
     ["Two clinical departments combined as part of a hospital merger. "
      "Leaders introduced a complex reporting structure with more managers.",
      "Staff did not understand the reasoning behind the new structure. They felt confused and frustrated."]),
    ("Integrated teams in community care",
     ["Community nurses and social workers shared one office for the first time. "
      "A shared vision was written with all professions.",
      "Meetings were held every week to plan joint visits. Waiting times fell over the year."]),
    ("Governance and innovation at board level",
     ["Centralised bureaucratic control at board level made leaders risk averse. "
      "They focused on short term political gains.",
      "Team members could not innovate even when willing. Funding models kept services in silos."]),
]


def make_pdf(path: Path, title: str, paragraphs: list[str], pages: int = 1) -> Path:
    """A small text PDF (title + paragraphs, repeated on ``pages`` pages)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    story = [Paragraph(title, styles["Title"])]
    for page in range(pages):
        if page:
            story.append(PageBreak())
        for i, text in enumerate(paragraphs):
            story += [Paragraph(f"{text} (Part {page + 1}.{i + 1}.)", styles["BodyText"]), Spacer(1, 10)]
    SimpleDocTemplate(str(path), pagesize=A4, title=title, author="Test Author", invariant=1).build(story)
    return path


@pytest.fixture(scope="module")
def pdf_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pdfs")
    for i, (title, paras) in enumerate(TOPICS):
        make_pdf(folder / f"paper{i}.pdf", title, paras, pages=1 + i % 2)
    (folder / "broken.pdf").write_bytes(b"this is not a PDF at all\n")
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, corpus_dir) -> Path:
    """A small sparse model trained on the codebook definitions (shared by the tests)."""
    from mechcode.codebook import load_codebook
    from mechcode.models.train import train_model

    out = tmp_path_factory.mktemp("model") / "sparse-test"
    train_model([], load_codebook(corpus_dir / "codebook.yaml"), "sparse", out, holdout=False,
                version="sparse-test", word_ngrams=[1, 1], char_ngrams=[3, 3], max_features=5000,
                cal_folds=2)
    return out


def _review(tmp_path, corpus_dir, name="review") -> Review:
    return Review.init(tmp_path / name, corpus_dir / "codebook.yaml")


def _state(rv: Review) -> dict:
    """content hash -> [(start, end, text, {label: probability})] for comparing runs."""
    sugg = rv.suggestions("sparse-test")
    out = {}
    for d in rv.documents():
        rows = []
        for u in rv.units(d["id"]):
            s = sugg[u["id"]]
            probs = {**{f"m:{k}": v for k, v in s["mechanisms"].items()}, **s["role"], **s["polarity"]}
            rows.append((u["start"], u["end"], u["text"], probs))
        out[d["content_hash"]] = rows
    return out


def test_code_folder_bad_file_and_rerun(tmp_path, corpus_dir, pdf_folder, model_dir):
    rv = _review(tmp_path, corpus_dir)
    runner = CliRunner()
    args = ["code", str(rv.path), str(pdf_folder), "--model", str(model_dir), "--workers", "2", "--quiet"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 1, res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.pdf" in errors[0] and "not a PDF" in errors[0]
    assert "coded 4 papers" in res.stderr and "1 failed" in res.stderr
    docs = rv.documents()
    assert sorted(d["file_name"] for d in docs) == [f"paper{i}.pdf" for i in range(4)]
    assert sum(d["n_pages"] for d in docs) == 1 + 2 + 1 + 2
    sugg = rv.suggestions("sparse-test")
    units = rv.units()
    assert units and set(sugg) == {u["id"] for u in units}
    assert rv.latest_model()["version"] == "sparse-test"  # the directory was registered
    assert finished_hashes(rv, "sparse-test") == {d["content_hash"] for d in docs}
    before = _state(rv)
    res = runner.invoke(cli, args)  # nothing new: the good papers are skipped, the bad one fails again
    assert res.exit_code == 1
    assert "coded 0 papers" in res.stderr and "4 already done" in res.stderr
    assert len(rv.documents()) == 4 and _state(rv) == before


def test_resume_after_interruption(tmp_path, corpus_dir, pdf_folder, model_dir):
    from mechcode.ingest import extract_pdf

    rv = _review(tmp_path, corpus_dir)
    good = sorted(pdf_folder.glob("paper*.pdf"))
    first = code_files(rv, good[:2], workers=1, model=str(model_dir), progress=False)
    assert first.papers == 2 and not first.failures
    # interrupted between the document write and the suggestions write of a third paper
    rv.add_document(extract_pdf(good[2]), path=str(good[2]))
    assert len(finished_hashes(rv, "sparse-test")) == 2
    lines: list[str] = []
    second = code_files(rv, [pdf_folder], workers=1, model="sparse-test", progress=False, report=lines.append)
    assert second.skipped == 2 and second.papers == 2 and second.duplicates == 1
    assert len(second.failures) == 1 and lines == [f"error: {second.failures[0][1]}"]
    docs = rv.documents()
    assert len(docs) == 4 and len({d["content_hash"] for d in docs}) == 4
    assert finished_hashes(rv, "sparse-test") == {d["content_hash"] for d in docs}
    assert set(rv.suggestions("sparse-test")) == {u["id"] for u in rv.units()}


def test_iter_pdfs(tmp_path, pdf_folder):
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    (sub / "x.PDF").write_bytes(b"%PDF-")
    (sub / "notes.txt").write_text("no")
    found = list(iter_pdfs([tmp_path / "a", pdf_folder, pdf_folder / "paper0.pdf"]))
    assert found[0].name == "x.PDF" and [p.name for p in found].count("paper0.pdf") == 1
    assert len(found) == 1 + 5


@pytest.mark.slow
def test_dask_cluster_gives_the_local_result(tmp_path, corpus_dir, pdf_folder, model_dir):
    from distributed import LocalCluster

    local = _review(tmp_path, corpus_dir, "local")
    code_files(local, [pdf_folder], workers=1, model=str(model_dir), progress=False, report=lambda _: None)
    remote = _review(tmp_path, corpus_dir, "dask")
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        summary = code_files(remote, [pdf_folder], model=str(model_dir), executor="dask",
                             scheduler=cluster.scheduler_address, progress=False, report=lambda _: None)
    assert summary.papers == 4, summary.failures
    assert len(summary.failures) == 1 and "broken.pdf" in summary.failures[0][1], summary.failures
    local_state, remote_state = _state(local), _state(remote)
    assert sorted(remote_state) == sorted(local_state)
    for key, rows in local_state.items():
        assert [r[:3] for r in remote_state[key]] == [r[:3] for r in rows], key
        for a, b in zip(remote_state[key], rows):
            assert a[3] == pytest.approx(b[3], abs=1e-6), (key, a[:2])


def test_resolve_model(tmp_path, corpus_dir, model_dir):
    from mechcode.batch import resolve_model
    from mechcode.errors import ModelError

    rv = _review(tmp_path, corpus_dir)
    with pytest.raises(ModelError, match="not a model directory, a model version"):
        resolve_model(rv, "no-such-model")
    spec = resolve_model(rv, str(model_dir))
    assert spec["version"] == "sparse-test" and [m["version"] for m in rv.models()] == ["sparse-test"]
    assert resolve_model(rv, "sparse-test") == spec == resolve_model(rv, None)
    assert resolve_model(rv, str(model_dir)) == spec and len(rv.models()) == 1  # registered once
    res = CliRunner().invoke(cli, ["code", str(rv.path), str(tmp_path / "missing.pdf"), "--model", "sparse-test",
                                   "-q", "--workers", "1"])
    assert res.exit_code == 1 and "missing.pdf: no such file" in res.stderr


def test_broken_model_stops_the_batch(tmp_path, corpus_dir, pdf_folder, model_dir):
    import shutil

    from mechcode.errors import ModelError

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    rv = _review(tmp_path, corpus_dir)
    code_files(rv, [], model=str(copy), progress=False)  # registers the model
    victim = next(p for p in sorted(copy.iterdir()) if p.is_file() and p.name != "model.json")
    victim.write_bytes(victim.read_bytes() + b"tampered")
    with pytest.raises(ModelError, match="cannot use the model"):
        code_files(rv, [pdf_folder / "paper0.pdf", pdf_folder / "paper1.pdf"], workers=1, model="sparse-test",
                   progress=False)
    assert rv.documents() == []  # nothing half-coded
