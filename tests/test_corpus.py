"""The bundled sims2021 corpus: codebook, labelled units, evidence matrix, sample PDF, reproducibility."""
from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import ROOT, SEED, need
from mechcode.codebook import POLARITY_IDS, ROLE_IDS, load_codebook

SCRIPTS = ROOT / "scripts"
DERIVED = ["codebook.yaml", "codebook_history.yaml", "units.jsonl", "evidence_matrix.csv",
           "evidence_matrix_discrepancies.json", "README.md"]
ACTIVE = {"inspiring-intent", "taking-wider-view", "creating-conditions", "clarifying-complexity",
          "balancing-perspectives", "working-with-power", "learning-development"}
ROLE_ORDER = {"context": 0, "mechanism-resource": 1, "mechanism-reasoning": 1, "outcome": 2}


@pytest.fixture(scope="module")
def codebook(corpus_dir):
    return load_codebook(corpus_dir / "codebook.yaml")


@pytest.fixture(scope="module")
def units(corpus_dir):
    lines = (corpus_dir / "units.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def matrix(corpus_dir):
    with open(corpus_dir / "evidence_matrix.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def pdf(corpus_dir):
    import pdfplumber

    with pdfplumber.open(corpus_dir / "sample.pdf") as doc:
        yield doc


@pytest.fixture(scope="module")
def pdf_words(pdf):
    """The words of every page (extracted once)."""
    return [page.extract_words() for page in pdf.pages]


# --------------------------------------------------------------------------- codebook
def test_codebook_mechanisms_statuses_history(codebook):
    by_id = {m.id: m for m in codebook.mechanisms}
    assert codebook.version == "1b"
    assert len([m for m in codebook.mechanisms if m.kind == "mechanism"]) == 10
    assert {m.id for m in codebook.mechanisms if m.kind == "general"} == {"general-contexts", "general-outcomes"}
    assert {m.id for m in codebook.mechanisms if m.status == "active" and m.kind == "mechanism"} == ACTIVE
    for mid in ("planning-coordinating", "adaptability-style"):
        assert by_id[mid].status == "merged" and set(by_id[mid].merged_into) <= ACTIVE and by_id[mid].merged_into
    assert by_id["fostering-resilience"].status == "no-evidence"
    for m in codebook.mechanisms:
        assert len(m.description) > 80 and "<i>" not in m.description, m.id
    assert [r.id for r in codebook.roles] == list(ROLE_IDS)
    assert [h["version"] for h in codebook.history] == ["1a"]
    assert len(codebook.history[0]["mechanisms"]) == 10


def test_codebook_descriptions_are_table1(codebook, seed_text):
    rows = [ln.split("\t") for ln in seed_text.splitlines() if "\t" in ln and not ln.startswith(("MECHANISM", "PAPER"))]
    table1 = {r[0].strip(): re.sub(r"</?i>", "", r[1]).strip() for r in rows if len(r) == 2}
    assert {m.name: m.description for m in codebook.mechanisms if m.kind == "mechanism"} == table1


def test_history_file_replays_to_current_codebook(corpus_dir, codebook):
    import yaml

    hist = yaml.safe_load((corpus_dir / "codebook_history.yaml").read_text(encoding="utf-8"))
    codes = {m["id"] for m in codebook.history[0]["mechanisms"]}
    for step in hist["steps"]:
        for op in step["ops"]:
            assert op["op"] in {"rename", "merge", "split", "retire", "add"}
            assert set(op["from"]) <= codes, (step["to"], op)
            assert (op["op"] == "add") == (not op["from"]) and (op["op"] == "retire") == (not op["to"])
            codes = (codes - set(op["from"])) | set(op["to"])
        if step["to"] == "1b":
            assert codes == {m.id for m in codebook.mechanisms if m.kind == "mechanism"}
    assert codes == ACTIVE  # after the final step: the seven with evidence


# --------------------------------------------------------------------------- units
def test_units_fields_and_values(units, codebook):
    ids = set(codebook.mechanism_ids())
    for u in units:
        for key in ("id", "text", "context", "group", "mechanisms", "role", "polarity", "source", "rule"):
            assert key in u, (u["id"], key)
        assert u["text"].strip() and u["context"][u["start"]:u["end"]] == u["text"], u["id"]
        assert set(u["mechanisms"]) <= ids, u["id"]
        assert u["role"] is None or u["role"] in ROLE_IDS, u["id"]
        assert u["polarity"] is None or u["polarity"] in POLARITY_IDS, u["id"]
        assert not re.search(r"\((C|[MO][+\-–])", u["text"]), f"tag leaked into text of {u['id']}"
    assert len({u["id"] for u in units}) == len(units)
    assert [u["id"] for u in units] == [f"sims2021-{i:04d}" for i in range(1, len(units) + 1)]


def test_groups_follow_paragraphs(units):
    group_of_context, contexts_of_group = {}, defaultdict(set)
    for u in units:
        assert group_of_context.setdefault(u["context"], u["group"]) == u["group"], u["id"]
        contexts_of_group[u["group"]].add(u["context"])
    for g, contexts in contexts_of_group.items():
        assert len(contexts) == 1 or g.startswith("sims2021-box"), g  # a box: narrative + chain


def test_rules_never_guess_roles(units):
    rules = {u["rule"] for u in units}
    assert {"table1-description", "results-section", "box-narrative", "box-chain", "methods"} <= rules
    for u in units:
        if u["rule"] in ("table1-description", "results-section", "box-narrative"):
            assert u["role"] is None and u["polarity"] is None and u["mechanisms"], u["id"]
        elif u["rule"] in ("methods", "backmatter", "results-meta"):
            assert u["role"] == "none" and u["mechanisms"] == [] and u["polarity"] is None, u["id"]
        else:
            assert u["rule"] == "box-chain" and u["role"] in ROLE_ORDER, u["id"]
    # the moved page-break fragment sits in mechanism 5's stakeholder feedback, re-joined
    frag = [u for u in units if "their curiosity and develop" in u["text"]]
    assert len(frag) == 1 and "comfortable to both feed their curiosity" in frag[0]["text"]
    assert frag[0]["mechanisms"] == ["learning-development"] and "M5 stakeholder" in frag[0]["source"]


def seed_box_titles(seed_text: str) -> dict[int, str]:
    """Box number -> 'presence' / 'absence', from the box titles of the seed."""
    found = re.findall(r"^Box (\d): CMO configuration for the \*?(presence|absence)", seed_text, re.M)
    return {int(n): kind for n, kind in found}


def test_box_chains(units, seed_text):
    titles = seed_box_titles(seed_text)
    assert sorted(titles) == list(range(1, 8))
    chains = defaultdict(list)
    for u in units:
        if u["rule"] == "box-chain":
            chains[u["box"]].append(u)
    assert sorted(chains) == sorted(titles)
    for n, segs in chains.items():
        segs.sort(key=lambda u: u["position"])
        assert [u["position"] for u in segs] == list(range(len(segs)))
        assert [u["start"] for u in segs] == sorted(u["start"] for u in segs)
        roles = [u["role"] for u in segs]
        assert roles[0] == "context" and {"mechanism-resource", "mechanism-reasoning", "outcome"} <= set(roles)
        assert [ROLE_ORDER[r] for r in roles] == sorted(ROLE_ORDER[r] for r in roles), n
        assert len({u["group"] for u in segs}) == 1 and len({tuple(u["mechanisms"]) for u in segs}) == 1
        sign = "+" if titles[n] == "presence" else "-"
        assert all(u["box_polarity"] == sign for u in segs)
        reasoning = [u for u in segs if u["role"] == "mechanism-reasoning"]
        assert all(u["polarity"] == sign for u in reasoning), f"box {n}: reasoning polarity vs title"
        for u in segs:
            assert ("Resource" in u["tag"]) == (u["role"] == "mechanism-resource")
            assert u["polarity"] == ({"+": "+", "-": "-", "–": "-"}.get(u["tag"][2:3]) if u["role"] != "context"
                                     else None)
        rebuilt = segs[0]["text"] + "".join(f" {u['link']} {u['text']}" for u in segs[1:])
        assert re.sub(r"\s+([.])", r"\1", rebuilt).replace(" . ", ". ") == segs[0]["context"].rstrip(".")


# --------------------------------------------------------------------------- evidence matrix
def test_matrix_matches_discrepancy_file(matrix, corpus_dir, seed_text):
    disc = json.loads((corpus_dir / "evidence_matrix_discrepancies.json").read_text(encoding="utf-8"))
    assert len(matrix) == 36 == disc["rows"]
    cols = list(matrix[0])[1:]
    assert len(cols) == 10 and cols[-2:] == ["general-contexts", "general-outcomes"]
    assert all(v in ("0", "1") for r in matrix for v in list(r.values())[1:])
    printed = {}
    for line in seed_text.splitlines():
        if line.startswith("MECHANISM"):
            for name, n in re.findall(r"([A-Z][A-Z ,'’-]+?) \(N = (\d+)\)", line):
                printed[re.sub(r"^(MECHANISMS? [\d AND]+ ?[:–-] |AND )", "", name.strip()).casefold()] = int(n)
    by_id = {e["id"]: e for e in disc["mechanisms"]}
    for e in disc["mechanisms"]:
        if e["printed_n"] is not None:
            assert printed[e["name"].casefold()] == e["printed_n"], e["id"]
    for col in cols:
        ticks = sum(int(r[col]) for r in matrix)
        e = by_id[col]
        assert e["tick_count"] == ticks
        assert e["agrees"] == (None if e["printed_n"] is None else e["printed_n"] == ticks), col
    assert set(disc["disagreements"]) == {c for c in cols if by_id[c]["agrees"] is False}


def test_matrix_cells_follow_seed_tabs(matrix, seed_text):
    rows = [ln.split("\t") for ln in seed_text.splitlines() if "\t" in ln and "(" in ln.split("\t")[0]
            and not ln.startswith(("MECHANISM", "PAPER"))]
    seed_rows = [r for r in rows if len(r) > 2]
    assert [r[0].strip() for r in seed_rows] == [m["paper"] for m in matrix]
    for r, m in zip(seed_rows, matrix):
        assert [int(c.strip() == "✓") for c in r[1:]] == [int(v) for v in list(m.values())[1:]], m["paper"]


# --------------------------------------------------------------------------- reproducibility
def test_derivation_reproduces_committed_files(tmp_path, seed_text, corpus_dir):
    out = tmp_path / "sims2021"
    proc = subprocess.run([sys.executable, str(SCRIPTS / "derive_sims2021.py"), str(need(SEED)), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in DERIVED:
        assert (out / name).read_bytes() == (corpus_dir / name).read_bytes(), f"{name} differs from a fresh derivation"


def test_derivation_rejects_missing_seed(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPTS / "derive_sims2021.py"), str(tmp_path / "nope.txt"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "seed text not found" in proc.stderr
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- sample PDF
def test_sample_pdf_pages_header_size(pdf, pdf_words, corpus_dir):
    assert len(pdf.pages) >= 8
    assert (corpus_dir / "sample.pdf").stat().st_size < 300_000
    for i, (page, words) in enumerate(zip(pdf.pages, pdf_words), 1):
        top = " ".join(w["text"] for w in words if w["bottom"] < 60)
        assert "International Journal of Integrated Care" in top, f"page {i} has no running header"
        bottom = [w["text"] for w in words if w["top"] > page.height - 45]
        assert str(i) in bottom, f"page {i} has no page number"
    first = " ".join(w["text"] for w in pdf_words[0])
    assert "What does Success Look Like for Leaders" in first and "ABSTRACT" in first


def test_sample_pdf_two_columns_on_page_2(pdf, pdf_words):
    page = pdf.pages[1]
    words = [w for w in pdf_words[1] if w["top"] > 60 and w["bottom"] < page.height - 45]
    mid = page.width / 2
    left = [w for w in words if w["x1"] < mid]
    right = [w for w in words if w["x0"] > mid]
    assert len(left) > 100 and len(right) > 100
    assert not [w for w in words if w["x0"] < mid < w["x1"]], "words cross the gutter"
    # left margins of the lines: two clusters (column starts), far apart
    starts = sorted({round(w["x0"]) for w in words})
    gap = max(b - a for a, b in zip(starts, starts[1:]))
    assert gap > 10


def test_sample_pdf_content(pdf, pdf_words):
    texts = [" ".join(w["text"] for w in words) for words in pdf_words]
    text = "\n".join(texts)
    assert "Table 1" in text and "Definitions of the final mechanisms at Stage 1b" in text
    assert "Box 4: CMO configuration" in text and "→" in text and "✓" in text
    refs = [i for i, t in enumerate(texts, 1) if "Tourish D." in t]
    assert refs and refs[0] >= len(texts) - 1
    # Table 2 is a real table: rows ruled, columns aligned (36 papers + header, paper + 10 columns)
    settings = {"vertical_strategy": "text", "horizontal_strategy": "lines"}
    shapes = [(len(rows), len(rows[0])) for p in pdf.pages for t in p.find_tables(settings) for rows in [t.extract()]]
    assert any(n >= 37 and width == 11 for n, width in shapes), shapes
