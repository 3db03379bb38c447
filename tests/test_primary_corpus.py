"""corpora/sims2021-primary: rebuilds from the shared PDFs, deterministic sampling, valid codes."""
from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from conftest import PDF_DIR, ROOT, need
from mechcode.codebook import POLARITY_IDS, ROLE_IDS, load_codebook

CORPUS = ROOT / "corpora" / "sims2021-primary"
_spec = importlib.util.spec_from_file_location("derive_primary", ROOT / "scripts" / "derive_sims2021_primary.py")
derive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(derive)


def _jsonl(name: str) -> list[dict]:
    return derive.load_jsonl(CORPUS / name)


@pytest.fixture(scope="module")
def candidates():
    return _jsonl("candidates.jsonl")


@pytest.fixture(scope="module")
def docs():
    from mechcode.ingest import extract_pdf

    need(PDF_DIR)
    return {short: extract_pdf(need(PDF_DIR / pdf)) for short, (pdf, _) in derive.PAPERS.items()}


def _page_text(doc, page: int) -> str:
    return "\n".join(p.text for p in doc.passages
                     if p.kind in derive.SENTENCE_KINDS and page in (p.pages or [p.page]))


def test_candidates_shape(candidates):
    assert len(candidates) >= 480
    per_paper = Counter(u["paper"] for u in candidates)
    assert set(per_paper) == set(derive.PAPERS) and min(per_paper.values()) >= 60
    assert len({u["id"] for u in candidates}) == len(candidates)
    for u in candidates:
        assert u["text"] in u["context"]
        assert u["end"] - u["start"] == len(u["text"])
        assert u["pdf"] == derive.PAPERS[u["paper"]][0] and u["group"] == u["paper"]
    assert {u["sample"] for u in candidates} == {"focus", "spread"}


def test_units_occur_in_current_extraction(candidates, docs):
    """Every shipped unit's text is in its paper's current extraction, on its page, in its paragraph."""
    missing = []
    for u in candidates:
        doc = docs[u["paper"]]
        if u["text"] not in _page_text(doc, u["page"]) or u["text"] not in doc.text:
            missing.append(u["id"])
    assert not missing, f"{len(missing)} units not found, e.g. {missing[:5]}"
    paragraphs = {(u["paper"], p.text) for u in candidates for p in docs[u["paper"]].passages}
    assert sum((u["paper"], u["context"]) in paragraphs for u in candidates) >= 0.9 * len(candidates)


def test_sampling_is_deterministic_and_follows_rule(docs):
    for short, (pdf, focus) in derive.PAPERS.items():
        first = derive.dump_jsonl(derive.paper_units(short, pdf, docs[short], focus))
        again = derive.dump_jsonl(derive.paper_units(short, pdf, docs[short], focus))
        assert first == again
        units = [json.loads(line) for line in first.splitlines()]
        assert len(units) == derive.PER_PAPER
        eligible = derive.body_sentences(docs[short])
        in_focus = [s for s in eligible if derive._is_focus(s["section"], focus)]
        assert in_focus, f"{short}: no focus section found"
        assert sum(u["sample"] == "focus" for u in units) == min(len(in_focus), derive.PER_PAPER)
        for u in units:
            assert docs[short].text[u["start"]:u["end"]] == u["text"]


def test_spread_sampling_is_even():
    sents = [{"section": "A" if i < 10 else "B", "start": i, "text": str(i)} for i in range(50)]
    picked = derive.sample(sents, ("A",), n=20)
    spread = [s["start"] for s in picked if s["section"] == "B"]
    assert len(picked) == 20 and len(spread) == 10
    assert spread == [12, 16, 20, 24, 28, 32, 36, 40, 44, 48]


def _check_codes(rows: list[dict], ids: set[str], mech_ids: set[str]) -> None:
    for c in rows:
        assert c["id"] in ids
        assert set(c["mechanisms"]) <= mech_ids
        assert c["role"] in ROLE_IDS
        assert c["polarity"] in (None, *POLARITY_IDS)
        if c["role"] == "none":
            assert not c["mechanisms"] and c["polarity"] is None


def test_codes_valid(candidates):
    cb = load_codebook(ROOT / "corpora" / "sims2021" / "codebook.yaml")
    mech_ids = {m.id for m in cb.mechanisms}
    ids = {u["id"] for u in candidates}
    a = _jsonl("codes_coderA.jsonl")
    if not a:
        pytest.skip("coder A codes not written yet")
    assert {c["id"] for c in a} == ids
    _check_codes(a, ids, mech_ids)
    _check_codes(_jsonl("codes_coderB.jsonl"), ids, mech_ids)


def test_build_reproduces_units():
    shipped = CORPUS / "units.jsonl"
    if not shipped.exists():
        pytest.skip("units.jsonl not built yet")
    rows = derive.build(CORPUS)
    assert derive.dump_jsonl(rows) == shipped.read_text(encoding="utf-8")
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert derive.readme_with_counts(readme, rows) == readme, "README counts are stale: run build"
    assert f"| **all** | {len(rows)} |" in readme


def test_double_subset_is_seeded_and_stratified(candidates):
    first = [u["id"] for u in derive.double_subset(candidates)]
    assert first == [u["id"] for u in derive.double_subset(candidates)]
    assert first != [u["id"] for u in derive.double_subset(candidates, seed=7)]
    assert len(first) >= 120
    per = Counter((u["paper"], u["sample"]) for u in derive.double_subset(candidates))
    assert all(per[(p, "focus")] == 15 and per[(p, "spread")] == 7 for p in derive.PAPERS)


def test_handoff_files_carry_no_codes(tmp_path):
    n_all, n_double = derive.handoff(CORPUS, tmp_path)
    rows = derive.load_jsonl(tmp_path / "units_all.jsonl")
    assert len(rows) == n_all and all(set(r) == set(derive.BLIND_KEYS) for r in rows)
    assert len(derive.load_jsonl(tmp_path / "units_double.jsonl")) == n_double


def test_every_disagreement_is_adjudicated_with_a_reason():
    a = {c["id"]: derive.label(c) for c in _jsonl("codes_coderA.jsonl")}
    b = {c["id"]: derive.label(c) for c in _jsonl("codes_coderB.jsonl")}
    if not b:
        pytest.skip("no second coder yet")
    adj = {c["id"]: c for c in _jsonl("adjudication.jsonl")}
    disagree = {i for i in b if b[i] != a[i]}
    assert disagree == {i for i, c in adj.items() if c["kind"] == "disagreement"}
    for i, c in adj.items():
        assert len(c["reason"]) > 20 and c["decided"] in ("A", "B", "other", "ruling")
        if c["kind"] == "consistency":
            assert i not in b


def test_build_refuses_an_unadjudicated_disagreement(tmp_path):
    if not (CORPUS / "codes_coderB.jsonl").exists():
        pytest.skip("no second coder yet")
    for name in ("candidates.jsonl", "codes_coderA.jsonl", "codes_coderB.jsonl"):
        (tmp_path / name).write_text((CORPUS / name).read_text(encoding="utf-8"), encoding="utf-8")
    rows = [c for c in _jsonl("adjudication.jsonl") if c["kind"] == "disagreement"][1:]
    (tmp_path / "adjudication.jsonl").write_text(derive.dump_jsonl(rows), encoding="utf-8")
    with pytest.raises(SystemExit, match="not adjudicated"):
        derive.build(tmp_path)


def test_final_units_fields_and_counts():
    units = _jsonl("units.jsonl")
    if not units:
        pytest.skip("units.jsonl not built yet")
    assert len(units) >= 400 and len({u["paper"] for u in units}) >= 4
    assert sum(u["coding"] in ("agreed", "adjudicated") for u in units) >= 100
    old = json.loads((ROOT / "corpora" / "sims2021" / "units.jsonl").read_text(encoding="utf-8").splitlines()[0])
    shared = {"id", "text", "context", "group", "mechanisms", "role", "polarity", "source"}
    assert shared <= set(old) and all(shared | {"paper", "page", "start", "end"} <= set(u) for u in units)
    assert any(u["role"] != "none" for u in units) and sum(u["role"] == "none" for u in units) > len(units) / 2
    from mechcode.models.data import read_labelled

    cb = load_codebook(ROOT / "corpora" / "sims2021" / "codebook.yaml")
    assert len(read_labelled(CORPUS / "units.jsonl", cb)) == len(units)
