"""Evidence matrix: the seed review's Table 2 rebuilt from decisions, reported-N flags, renderers."""
from __future__ import annotations

import csv
import json
import re

import pytest
from click.testing import CliRunner

from mechcode.cli import cli
from mechcode.store.review import Review
from mechcode.synthesis.matrix import (build_matrix, load_matrix_csv, load_reported, parse_reported,
                                       read_matrix_csv, review_matrix)
from mechcode.synthesis.render import to_csv, to_markdown, to_png

HEADING_N = re.compile(r"([A-Z][A-Z ,'’\-]+?) \(N = (\d+)\)")


def _expected(corpus_dir) -> dict[str, dict[str, int]]:
    """paper -> {mechanism id: 0/1}, read straight from the CSV."""
    with open(corpus_dir / "evidence_matrix.csv", encoding="utf-8") as fh:
        return {r.pop("paper"): {k: int(v) for k, v in r.items()} for r in csv.DictReader(fh)}


def seed_reported(seed_text: str, codebook) -> dict[str, int]:
    """N per mechanism as printed in the seed's Results headings ('MECHANISM 3 – NAME (N = 20)')."""
    by_name = {m.name.casefold(): m.id for m in codebook.mechanisms}
    out = {}
    for line in seed_text.splitlines():
        if not line.startswith("MECHANISM"):
            continue
        for name, n in HEADING_N.findall(line):
            name = re.sub(r"^MECHANISMS? [\d ]+(AND [\d ]+)?[:–-]\s*|^AND\s+", "", name.strip())
            out[by_name[name.strip().casefold()]] = int(n)
    return out


@pytest.fixture(scope="module")
def table2(tmp_path_factory, corpus_dir):
    rv = Review.init(tmp_path_factory.mktemp("t2") / "review", corpus_dir / "codebook.yaml")
    stats = load_matrix_csv(rv, corpus_dir / "evidence_matrix.csv", reviewer="table2")
    return rv, stats


def test_table2_every_cell_and_n(table2, corpus_dir):
    rv, stats = table2
    expected = _expected(corpus_dir)
    assert stats["papers"] == stats["new"] == len(expected) == 36
    assert stats["decisions"] == sum(sum(r.values()) for r in expected.values())
    m = review_matrix(rv)
    assert [r.label for r in m.rows] == sorted(expected, key=str.casefold)
    ids = {c.id for c in m.columns}
    for row in m.rows:
        for mid, tick in expected[row.label].items():
            assert mid in ids
            assert (m.cell(row, mid) > 0) == bool(tick), (row.label, mid)
    disc = json.loads((corpus_dir / "evidence_matrix_discrepancies.json").read_text(encoding="utf-8"))
    for mech in disc["mechanisms"]:
        col_sum = sum(r.get(mech["id"], 0) for r in expected.values())
        assert m.n(mech["id"]) == col_sum
        if mech.get("tick_count") is not None:
            assert m.n(mech["id"]) == mech["tick_count"]
    # general columns come last, in codebook order
    kinds = [c.kind for c in m.columns]
    assert kinds == sorted(kinds, key=lambda k: k == "general")


def test_reported_n_from_seed_is_flagged(table2, seed_text, corpus_dir):
    rv, _ = table2
    reported = seed_reported(seed_text, rv.codebook)
    assert reported["inspiring-intent"] == 22 and reported["fostering-resilience"] == 0
    m = review_matrix(rv, reported=reported)
    flagged = {x["mechanism"] for x in m.mismatches()}
    assert flagged == {mid for mid, n in reported.items() if m.n(mid) != n}
    disc = json.loads((corpus_dir / "evidence_matrix_discrepancies.json").read_text(encoding="utf-8"))
    assert set(disc["disagreements"]) <= flagged
    # the discrepancies file, read as --reported, flags the same mechanisms
    from_file = review_matrix(rv, reported=load_reported(corpus_dir / "evidence_matrix_discrepancies.json",
                                                         rv.codebook))
    assert {x["mechanism"] for x in from_file.mismatches()} == flagged
    md = to_markdown(m)
    assert "| Reported N |" in md
    for x in m.mismatches():
        assert f"reported N = {x['reported']} but {x['ticks']} paper" in md
    assert md.count("WARNING") == len(flagged)
    assert "Fostering resilience (no-evidence)" in md  # status shown in the header
    out = to_csv(m).splitlines()
    assert out[-1].startswith("Reported N,") and out[-2].startswith("N,")


def test_active_only_and_counts(table2):
    rv, _ = table2
    m = review_matrix(rv, active_only=True)
    assert {c.status for c in m.columns} == {"active"}
    assert "planning-coordinating" not in {c.id for c in m.columns}
    md = to_markdown(m, counts=True)
    assert "✓" not in md.split("Source:")[0]


def test_csv_round_trip(table2, tmp_path):
    rv, _ = table2
    m = review_matrix(rv)
    path = tmp_path / "matrix.csv"
    path.write_text(to_csv(m), encoding="utf-8")
    rows = read_matrix_csv(path, rv.codebook)
    assert len(rows) == len(m.rows)  # N row skipped
    rv2 = Review.init(tmp_path / "copy", rv.path / "codebook.yaml")
    load_matrix_csv(rv2, path)
    m2 = review_matrix(rv2)
    assert [(r.label, r.counts) for r in m2.rows] == [(r.label, r.counts) for r in m.rows]


def test_png_heat_map(table2, tmp_path):
    import numpy as np
    from PIL import Image

    rv, _ = table2
    path = to_png(review_matrix(rv), tmp_path / "m.png")
    assert path.stat().st_size > 10_000
    img = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert img.shape[0] > 300 and img.shape[1] > 300
    assert img.std() > 20  # not blank: dark cells and text on white


def test_counts_and_suggestions_source(tmp_path, corpus_dir):
    rv = Review.init(tmp_path / "r", corpus_dir / "codebook.yaml")
    (tmp_path / "m.csv").write_text("paper,inspiring-intent,working-with-power\nSmith (2020),1,1\n"
                                    "Jones (2019),0,1\n", encoding="utf-8")
    load_matrix_csv(rv, tmp_path / "m.csv")
    units = rv.units()
    smith = [u for u in units if u["document_label"] == "Smith (2020)"]
    rv.add_decision(smith[1]["id"], "ann", "correct", mechanisms=["inspiring-intent"])
    m = review_matrix(rv)
    row = next(r for r in m.rows if r.label == "Smith (2020)")
    assert m.cell(row, "inspiring-intent") == 2 and m.cell(row, "working-with-power") == 0
    assert m.n("working-with-power") == 1
    assert "| Smith (2020) |" in to_markdown(m, counts=True) and "| 2 |" in to_markdown(m, counts=True)
    rows = [{"unit_id": u["id"], "mechanisms": {"taking-wider-view": p, "inspiring-intent": 0.1},
             "role": {"outcome": 0.9}, "polarity": {"+": 0.8, "-": 0.2}}
            for u, p in zip(units, [0.9, 0.6, 0.4])]
    rv.add_suggestions("m1", rows)
    for threshold, n in ((0.5, 1), (0.3, 2), (0.95, 0)):
        ms = review_matrix(rv, source="suggestions", threshold=threshold)
        assert ms.n("taking-wider-view") == n, threshold
        assert ms.n("inspiring-intent") == 0
    ms = review_matrix(rv, source="suggestions", threshold=0.5)
    assert sum(ms.cell(r, "taking-wider-view") for r in ms.rows) == 2


def test_parse_reported_shapes():
    assert parse_reported({"a": 3, "b": {"printed_n": 2}}) == {"a": 3, "b": 2}
    assert parse_reported([{"mechanism": "a", "reported": 1}, {"id": "b", "printed_n": None}]) == {"a": 1}
    with pytest.raises(Exception, match="no mechanism"):
        parse_reported({"a": "x"})


def test_build_matrix_pure():
    from mechcode.codebook import parse_codebook

    cb = parse_codebook({"mechanisms": [{"id": "g", "name": "General", "kind": "general"},
                                        {"id": "a", "name": "A"}, {"id": "r", "name": "R", "status": "retired"}]})
    units = [{"document_id": 1, "mechanisms": ["a", "g"]}, {"document_id": 1, "mechanisms": ["a"]},
             {"document_id": 2, "mechanisms": ["r"]}, {"document_id": 9, "mechanisms": ["a"]}]
    m = build_matrix([(2, "b (2001)"), (1, "A (2000)")], units, cb, reported={"a": 2})
    assert [c.id for c in m.columns] == ["a", "r", "g"]
    assert [r.label for r in m.rows] == ["A (2000)", "b (2001)"]
    assert m.totals() == {"a": 1, "r": 1, "g": 1}
    assert m.mismatches() == [{"mechanism": "a", "name": "A", "reported": 2, "ticks": 1}]
    assert "R (retired)" in to_markdown(m)


def test_matrix_cli(table2, tmp_path, corpus_dir):
    rv, _ = table2
    runner = CliRunner()
    res = runner.invoke(cli, ["matrix", str(rv.path), "--format", "md", "--reported",
                              str(corpus_dir / "evidence_matrix_discrepancies.json")])
    assert res.exit_code == 0, res.output
    assert "| **N** |" in res.stdout and "warning: Balancing multiple perspectives" in res.stderr
    out = tmp_path / "m.png"
    res = runner.invoke(cli, ["matrix", str(rv.path), "--format", "png", "--output", str(out)])
    assert res.exit_code == 0 and out.stat().st_size > 0
    res = runner.invoke(cli, ["matrix", str(tmp_path / "nope"), "--format", "csv"])
    assert res.exit_code == 2 and "error:" in res.output


def test_paper_labels():
    from mechcode.synthesis.coded import _disambiguate, paper_label

    assert paper_label({"label": "Aitken (2014)", "metadata": {"authors": ["X Y"]}}) == "Aitken (2014)"
    assert paper_label({"metadata": {"authors": ["Tom P Thompson", "C Greaves"], "year": 2015}}) \
        == "Thompson (2015)"
    assert paper_label({"metadata": {"authors": ["Thompson TP"], "year": None,
                                     "CreationDate": "D:20150102"}}) == "Thompson (2015)"
    assert paper_label({"metadata": {"author": "Jane van Eyk and Bob Baum", "year": "2002"}}) == "Van Eyk (2002)"
    page1 = [{"page": 1, "kind": "author", "text": "Sarah Sims, Simon Fletcher"},
             {"page": 1, "kind": "header", "text": "Int J Integr Care 2021;21(4):26"}]
    assert paper_label({"metadata": {}, "file_name": "x.pdf"}, page1) == "Sims (2021)"
    assert paper_label({"metadata": {}, "file_name": "paper7.PDF"}) == "paper7"
    assert _disambiguate({1: "Williams (2012)", 2: "Williams (2012)", 3: "Ling (2012)"}) == \
        {1: "Williams (2012a)", 2: "Williams (2012b)", 3: "Ling (2012)"}
