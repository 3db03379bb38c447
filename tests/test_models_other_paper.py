"""Codes on other papers on a paper the review has not coded (``other_paper_weight``,
:func:`mechcode.models.backends.prior.unit_weights`): units carry their paper from the store, from
``code`` and from ``predict`` files, and the weight is picked per unit."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import _model_data as md
from mechcode.codebook import parse_codebook
from mechcode.errors import DataError, ModelError
from mechcode.models.backends.prior import coded_papers, unit_weights, weights
from mechcode.models.backends.sparse import SparseBackend
from mechcode.models.base import LabelledUnit, Unit

FAST = {"max_features": 5000, "cal_folds": 2}


@pytest.fixture(scope="module")
def data():
    cb = parse_codebook(md.CODEBOOK)
    units = [LabelledUnit.from_dict(d) for d in md.units()]
    for k, u in enumerate(units):  # the review's own codes, on two papers
        u.paper, u.origin = ("A" if k % 2 else "B"), "decision"
    return cb, units


def logit(p) -> np.ndarray:
    p = np.clip(np.array(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _as(units, paper):
    return [Unit(id=u.id, text=u.text, context=u.context, paper=paper) for u in units]


def test_weights_count_other_papers_codes_at_d(data):
    cb, units = data
    params = SparseBackend().params
    seed = [LabelledUnit(id=f"s{i}", text=u.text, context=u.context, mechanisms=u.mechanisms, role=u.role,
                         origin="seed", paper="sims") for i, u in enumerate(units)]
    full = weights(seed + units, params)
    assert "mechanism_new" not in full  # d = 1: one weight for every unit, as before the setting
    w = weights(seed + units, {**params, "other_paper_weight": 0.1})
    assert w["coded_papers"] == ["A", "B"]  # the seed file's paper is not a paper the review coded
    n_seed = len(seed) / 160
    n = n_seed + 0.1 * len(units)
    assert w["mechanism_new"] == pytest.approx(n / (n + 10)) and w["gate_new"] == w["mechanism_new"]
    assert w["mechanism"] == full["mechanism"] > w["mechanism_new"] and w["role"] == full["role"]
    # seed files alone: nothing the review coded, so a new paper gets the same weight as any unit
    only_seed = weights(seed, {**params, "other_paper_weight": 0.0})
    assert only_seed["mechanism_new"] == pytest.approx(only_seed["mechanism"]) and only_seed["coded_papers"] == []
    # per unit: coded paper, new paper, no paper
    per = unit_weights(w, [Unit("a", "x", paper="A"), Unit("c", "x", paper="C"), Unit("n", "x")])
    assert list(per["mechanism"]) == [w["mechanism"], w["mechanism_new"], w["mechanism"]]
    assert coded_papers([LabelledUnit("p", "x", origin="primer", paper="P")]) == []


def test_a_new_paper_keeps_more_of_the_prior(data, tmp_path):
    cb, units = data
    model = SparseBackend(**FAST, other_paper_weight=0.05).fit(units, cb)
    same = SparseBackend(**FAST).fit(units, cb)
    prior = SparseBackend(**FAST, prior_k_mechanism=float("inf")).fit(units, cb)
    test = units[:12]
    mech = {k: logit([list(p["mechanisms"].values()) for p in m.predict(_as(test, paper))])
            for k, m, paper in (("coded", model, "A"), ("new", model, "C"), ("none", model, None),
                                ("d1", same, "C"), ("prior", prior, "C"))}
    assert np.allclose(mech["coded"], mech["d1"]) and np.allclose(mech["none"], mech["d1"])
    # on a paper the review has not coded the model stays much closer to the prior (in log-odds)
    to_prior = np.abs(mech["new"] - mech["prior"]).mean()
    assert to_prior < np.abs(mech["d1"] - mech["prior"]).mean() * 0.5
    assert not np.allclose(mech["new"], mech["prior"])
    # saved and loaded, the model still knows which papers it has codes on
    model.save(tmp_path)
    assert json.loads((tmp_path / "sparse.json").read_text())["prior_weights"]["coded_papers"] == ["A", "B"]
    again = SparseBackend.load(tmp_path, {})
    for a, b in zip(again.predict(_as(test, "C")), model.predict(_as(test, "C"))):
        assert a["mechanisms"] == pytest.approx(b["mechanisms"])


@pytest.mark.parametrize("bad, message", [(1.5, "must be a number between 0 and 1"), (-0.1, "between 0 and 1"),
                                          ("half", "should be like 1.0"), (None, "should be like 1.0")])
def test_bad_other_paper_weight_is_one_clear_error(bad, message):
    from mechcode.models.backends.embed import EmbedBackend

    for backend in (SparseBackend, EmbedBackend):
        with pytest.raises(ModelError, match=f"other_paper_weight.*{message}") as err:
            backend(other_paper_weight=bad)
        assert "\n" not in str(err.value)


def test_units_carry_their_paper(tmp_path):
    from mechcode.loop.serving import to_model_units
    from mechcode.models.data import read_units
    from mechcode.store.decisions import labelled_units
    from mechcode.store.review import Review
    from test_model_cli import _document

    _, cbp = md.write(tmp_path)
    rv = Review.init(tmp_path / "rv", cbp)
    texts = [u["text"] for u in md.units()]
    rv.add_document(_document([texts[:4]]))
    doc2, added = rv.add_document(replace(_document([texts[4:8]]), content_hash="tiny-doc-2"))
    assert added
    first = [u for u in rv.units() if u["document_id"] != doc2][0]
    rv.add_decision(first["id"], "ann", "reject")
    trained = {r["paper"] for r in labelled_units(rv.connect())}
    served = {u.id: u.paper for u in to_model_units(rv.units())}
    # the paper a decision trains under is the paper its unit is served under
    assert trained == {served[str(first["id"])]}
    assert {served[str(u["id"])] for u in rv.units(doc2)} == {f"doc{doc2}"} != trained
    from mechcode.batch import paper_units  # `code`: a paper from a file is one the review has not coded

    assert {u.paper for u in paper_units(_document([texts[:4]]), "file:new.pdf")} == {"file:new.pdf"}
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "text": "Leaders met.", "paper": "P7"}\n{"id": 2, "text": "Staff agreed."}\n')
    assert [u.paper for u in read_units(path)] == ["P7", None]
    from mechcode.models.base import paper_id  # the MLflow pyfunc's DataFrame: a missing paper is NaN

    assert (paper_id(float("nan")), paper_id(None), paper_id(7)) == (None, None, "7")
    path.write_text('{"id": 1, "text": "Leaders met.", "paper": true}\n')
    with pytest.raises(DataError, match="line 1: 'paper' must be a string, an integer or null"):
        read_units(path)


def test_review_settings_reach_the_first_model_and_every_retrain(tmp_path):
    """`mechcode review --param` (and --zeroshot-encoder) set the first model and the retrains alike;
    without them the page's first model has the default prior, as its retrains do."""
    from click.testing import CliRunner

    from mechcode.cli import cli
    from mechcode.store.review import Review
    from mechcode.web.server import ServerOptions, build
    from test_model_cli import _document

    _, cbp = md.write(tmp_path)
    rv = Review.init(tmp_path / "rv", cbp)
    rv.add_document(_document([[u["text"] for u in md.units()[:4]]]))
    _, plain, _ = build(ServerOptions(review_dir=str(tmp_path / "rv")))
    _, first = plain.serving.ensure()
    assert first.hyperparameters()["prior"] == "tfidf" and plain.retrainer.params == {}
    r = CliRunner().invoke(cli, ["review", str(tmp_path / "rv"), "--param", "other_paper_weight=1.5"])
    assert r.exit_code != 0 and "other_paper_weight must be a number between 0 and 1" in r.output
    assert len(r.output.strip().splitlines()) == 1
    from mechcode.cli.web_cmds import loop_settings

    hp = {"other_paper_weight": 0.3}
    assert loop_settings("sparse", {}, None) == ({}, {})  # the CLI default: each backend's own prior (tfidf)
    assert loop_settings("sparse", hp, "minilm") == ({**hp, "prior": "minilm"},) * 2
    assert loop_settings("embed", {**hp, "C": 2.0}, "tfidf") == ({**hp, "C": 2.0, "prior": "tfidf"},
                                                                {**hp, "prior": "tfidf"})
    assert loop_settings("finetune", {"epochs": 1}, "tfidf") == ({"epochs": 1}, {"prior": "tfidf"})
    assert loop_settings("zeroshot", {}, "tfidf") == ({"encoder": "tfidf"}, {"prior": "tfidf"})
    # the whole command path: settings reach the retrains and the first model; finetune starts too
    seen = {}
    import mechcode.web.server as server

    def fake_serve(opts, echo=None):
        seen["app"] = build(opts)

    orig, server.serve = server.serve, fake_serve
    try:
        for args in (["--param", "other_paper_weight=0.3", "--zeroshot-encoder", "tfidf"],
                     ["--backend", "finetune", "--zeroshot-encoder", "tfidf"]):
            r = CliRunner().invoke(cli, ["review", str(tmp_path / "rv"), *args])
            assert r.exit_code == 0, r.output
            _, svc, _ = seen.pop("app")
            assert svc.serving.initial_params["prior"] == "tfidf"
            if "--param" in args:
                assert svc.retrainer.params == {"other_paper_weight": 0.3, "prior": "tfidf"}
                assert svc.serving.initial_params["other_paper_weight"] == 0.3
    finally:
        server.serve = orig
