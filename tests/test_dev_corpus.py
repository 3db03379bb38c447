"""corpora/sims2021-dev: the development side for relevance; same rule as sims2021-primary, other papers."""
from __future__ import annotations

import importlib.util
from collections import Counter

import pytest

from conftest import PDF_DIR, ROOT, need
from mechcode.codebook import POLARITY_IDS, ROLE_IDS, load_codebook

_spec = importlib.util.spec_from_file_location("derive_dev", ROOT / "scripts" / "derive_sims2021_primary.py")
derive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(derive)
derive.use_set("dev")
CORPUS = ROOT / "corpora" / "sims2021-dev"


@pytest.fixture(scope="module")
def candidates():
    return derive.load_jsonl(CORPUS / "candidates.jsonl")


def test_dev_set_is_its_own_corpus(candidates):
    assert derive.CORPUS == CORPUS and derive.PREFIX == "s21d"
    assert len(candidates) == 400 and len({u["id"] for u in candidates}) == 400
    assert Counter(u["paper"] for u in candidates) == {p: derive.PER_PAPER for p in derive.PAPERS_DEV}
    assert all(u["id"].startswith("s21d-") and u["text"] in u["context"] for u in candidates)
    primary = derive.load_jsonl(ROOT / "corpora" / "sims2021-primary" / "candidates.jsonl")
    assert not {u["pdf"] for u in primary} & {u["pdf"] for u in candidates}, "dev and test share a paper"
    shared = {u["text"] for u in primary} & {u["text"] for u in candidates}
    assert len(shared) <= 3 and all(len(t.split()) <= 10 for t in shared), shared  # stock back-matter lines only


def test_dev_units_occur_in_current_extraction(candidates):
    from mechcode.ingest import extract_pdf

    need(PDF_DIR)
    docs = {short: extract_pdf(need(PDF_DIR / pdf)) for short, (pdf, _) in derive.PAPERS_DEV.items()}
    missing = [u["id"] for u in candidates if u["text"] not in docs[u["paper"]].text]
    assert not missing, f"{len(missing)} units not in the current extraction, e.g. {missing[:5]}"
    for short, (pdf, focus) in derive.PAPERS_DEV.items():
        focus_units = [u for u in candidates if u["paper"] == short and u["sample"] == "focus"]
        assert focus_units and all(derive._is_focus(u["section"], focus) for u in focus_units)


def test_both_coders_code_every_unit_and_build_reproduces(candidates):
    cb = load_codebook(ROOT / "corpora" / "sims2021" / "codebook.yaml")
    ids = [u["id"] for u in candidates]
    assert [u["id"] for u in derive.double_subset(candidates)] == ids
    for name in ("codes_coderA.jsonl", "codes_coderB.jsonl"):
        codes = derive.load_jsonl(CORPUS / name)
        assert [c["id"] for c in codes] == ids
        for c in codes:
            assert set(c["mechanisms"]) <= {m.id for m in cb.mechanisms}
            assert c["role"] in ROLE_IDS and c["polarity"] in (None, *POLARITY_IDS)
            assert (c["role"] == "none") == (not c["mechanisms"])
    rows = derive.build(CORPUS)
    assert derive.dump_jsonl(rows) == (CORPUS / "units.jsonl").read_text(encoding="utf-8")
    assert {r["coding"] for r in rows} <= {"agreed", "adjudicated"}
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert derive.readme_with_counts(readme, rows) == readme, "README counts are stale: run build"


def test_primary_default_is_untouched():
    """Loading the script fresh still points at the test side (the set is chosen per call)."""
    spec = importlib.util.spec_from_file_location("derive_fresh", ROOT / "scripts" / "derive_sims2021_primary.py")
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    assert fresh.PREFIX == "s21p" and fresh.CORPUS.name == "sims2021-primary" and "malawi-qi" in fresh.PAPERS


# -- corpora/written-dev: invented papers written and coded by the team ------------------------

_wspec = importlib.util.spec_from_file_location("derive_written", ROOT / "scripts" / "derive_written_dev.py")
written = importlib.util.module_from_spec(_wspec)
_wspec.loader.exec_module(written)


def test_written_dev_extract_and_build_reproduce():
    written.use_written()
    cands = written.derive.load_jsonl(written.CORPUS / "candidates.jsonl")
    assert written.derive.dump_jsonl(written.extract()) == (written.CORPUS / "candidates.jsonl").read_text(encoding="utf-8")
    papers = Counter(u["paper"] for u in cands)
    assert len(papers) == 6 and min(papers.values()) >= 70
    for u in cands:
        assert u["id"].startswith("wdev-") and u["text"] in u["context"] and len(u["text"].split()) >= 4
    cb = load_codebook(ROOT / "corpora" / "sims2021" / "codebook.yaml")
    for name in ("codes_coderA.jsonl", "codes_coderB.jsonl"):
        codes = written.derive.load_jsonl(written.CORPUS / name)
        assert [c["id"] for c in codes] == [u["id"] for u in cands]
        assert all(set(c["mechanisms"]) <= {m.id for m in cb.mechanisms} and c["role"] in ROLE_IDS for c in codes)
    rows = written.derive.build(written.CORPUS)
    assert written.derive.dump_jsonl(rows) == (written.CORPUS / "units.jsonl").read_text(encoding="utf-8")
    readme = (written.CORPUS / "README.md").read_text(encoding="utf-8")
    assert written.derive.readme_with_counts(readme, rows) == readme, "README counts are stale: run build"
    evidence = sum(r["role"] != "none" for r in rows)
    assert 0.2 * len(rows) < evidence < 0.8 * len(rows)  # a development side with evidence in it


def test_written_dev_is_not_copied_from_the_shared_papers():
    """The invented papers share no sentence with the seed review or either coded primary corpus."""
    texts = {u["text"] for u in written.derive.load_jsonl(written.CORPUS / "candidates.jsonl")}
    for other in ("sims2021/units.jsonl", "sims2021-primary/candidates.jsonl", "sims2021-dev/candidates.jsonl"):
        theirs = {u["text"] for u in written.derive.load_jsonl(ROOT / "corpora" / other)}
        assert not {t for t in texts & theirs if len(t.split()) > 10}, other  # stock lines aside
