"""Codebook ``examples`` / ``not_examples``: parsed, kept through init, revisions and export,
used by the prior; a codebook without them works as before."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import _model_data as md
from mechcode.cli import cli
from mechcode.codebook import load_codebook, parse_codebook
from mechcode.errors import CodebookError
from mechcode.models.base import Unit, definition_examples

SIMS = Path(__file__).resolve().parents[1] / "corpora" / "sims2021" / "codebook.yaml"


def test_sims2021_examples_come_from_the_discussion_not_from_scored_units():
    cb = load_codebook(SIMS)
    ex = {m.id: m.examples for m in cb.mechanisms if m.examples}
    assert set(ex) == {"inspiring-intent", "working-with-power"}
    assert all(r.examples for r in cb.roles if r.id != "none")
    units = {json.loads(line)["text"] for line in (SIMS.parent / "units.jsonl").read_text().splitlines()}
    passages = [s for m in cb.mechanisms for s in m.examples + m.not_examples]
    assert passages and not any(p in units or any(p in u or u in p for u in units) for p in passages)


def test_examples_round_trip_through_init_revision_and_export(tmp_path):
    from mechcode.store.review import Review

    rv = Review.init(tmp_path / "rv", SIMS)
    before = {m.id: (m.examples, m.not_examples) for m in rv.codebook.mechanisms}
    assert before["working-with-power"][0]
    rv.revise_codebook([{"op": "retire", "from": ["general-contexts"]},
                        {"op": "rename", "from": "general-outcomes", "to": "outcomes", "name": "Outcomes"}],
                       version="2")
    cb = rv.codebook
    assert cb.version == "2" and cb.get("working-with-power").examples == before["working-with-power"][0]
    assert cb.get("inspiring-intent").not_examples == before["inspiring-intent"][1]
    assert [r.examples for r in cb.roles] == [r.examples for r in load_codebook(SIMS).roles]
    out = CliRunner().invoke(cli, ["codebook", "show", str(rv.path), "--format", "yaml"])
    assert out.exit_code == 0, out.output
    shown = yaml.safe_load(out.output)
    again = parse_codebook({**shown, "history": []})
    assert again.get("working-with-power").examples == before["working-with-power"][0]
    cb.dump(tmp_path / "dumped.yaml")
    assert load_codebook(tmp_path / "dumped.yaml").to_dict() == cb.to_dict()


def test_codebook_without_examples_keeps_its_fingerprint_and_works(tmp_path):
    from mechcode.models.backends.sparse import SparseBackend

    cb = parse_codebook(md.CODEBOOK)
    assert all(not m.examples and not m.not_examples for m in cb.mechanisms)
    assert "examples" not in json.dumps(cb.to_dict())  # empty fields are not written
    model = SparseBackend(max_features=5000, cal_folds=2).fit([], cb)
    [p] = model.predict([Unit("a", "Partners came to trust one another over time.")])
    assert max(p["mechanisms"], key=p["mechanisms"].get) == "building-trust"


def test_examples_train_the_prior():
    data = json.loads(json.dumps(md.CODEBOOK))
    text = "Ward sisters ran joint huddles with the council's reablement workers every morning."
    data["mechanisms"][2]["examples"] = [text]
    cb = parse_codebook(data)
    assert any(e.text == text and e.mechanisms == ["sharing-power"] for e in definition_examples(cb))
    from mechcode.models.backends.zeroshot import ZeroShotBackend

    zs = ZeroShotBackend(encoder="tfidf").fit([], cb)
    [p] = zs.predict([Unit("a", text)])
    assert max(p["mechanisms"], key=p["mechanisms"].get) == "sharing-power"


@pytest.mark.parametrize("bad", [{"examples": "one passage"}, {"examples": [""]}, {"not_examples": [3]},
                                 {"suggest": "yes"}])
def test_bad_examples_are_clear_errors(bad):
    data = json.loads(json.dumps(md.CODEBOOK))
    data["mechanisms"][0].update(bad)
    with pytest.raises(CodebookError, match="examples|suggest"):
        parse_codebook(data)
