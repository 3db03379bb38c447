"""The notebook API returns DataFrames and plain dicts built from the real pipeline."""
from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from mechcode import api
from mechcode.models.base import Unit
from test_simulate import small_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return small_corpus(tmp_path_factory.mktemp("api"))


def test_load_units(corpus):
    df = api.load_units(corpus[0])
    assert isinstance(df, pd.DataFrame)
    assert {"id", "text", "context", "group", "mechanisms", "role", "polarity"} <= set(df.columns)
    assert len(df) == sum(1 for line in corpus[0].read_text().splitlines() if line.strip())
    assert df.mechanisms.map(len).gt(0).any() and df.mechanisms.map(len).eq(0).any()


def test_train_from_a_dataframe_and_to_a_model_directory(corpus, tmp_path):
    df = api.load_units(corpus[0])
    model = api.train(df, corpus[1], backend="sparse", cal_folds=1)
    (pred,) = model.predict([Unit("u1", "Leaders shifted power and relinquished control to partners.")])
    assert set(pred) >= {"id", "mechanisms", "role", "polarity", "rationale"}
    assert sum(pred["role"].values()) == pytest.approx(1.0, abs=1e-3)
    saved = api.train(corpus[0], corpus[1], output=tmp_path / "model", cal_folds=1)
    assert (tmp_path / "model" / "model.json").is_file()
    again = saved.predict([Unit("u1", "Leaders shifted power and relinquished control to partners.")])[0]
    assert again["mechanisms"].keys() == pred["mechanisms"].keys()


def test_evaluate_returns_one_row_per_seed(corpus):
    df = api.evaluate(corpus[0], corpus[1], backend="sparse", folds=3, seeds=[0, 1], cal_folds=1)
    assert list(df.seed) == [0, 1]
    assert {"mechanism_macro_f1", "role_macro_f1", "fit_s", "n_test_units"} <= set(df.columns)
    assert df.mechanism_macro_f1.between(0, 1).all()
    assert len(df.attrs["reports"]) == 2


def test_simulate_returns_the_curve_and_the_summary(corpus):
    curve, summary = api.simulate(corpus[0], corpus[1], strategy=["uncertain", "random"], seeds=1,
                                  seed_labels=8, batch=8, retrain_every=8, max_steps=2,
                                  params={"sparse": {"cal_folds": 1}})
    assert isinstance(curve, pd.DataFrame)
    assert set(curve.strategy) == {"uncertain", "random"}
    assert list(curve[curve.strategy == "random"].n_coded) == [8, 16, 24]
    assert curve.recall_mean.between(0, 1).all()
    assert [r["strategy"] for r in summary["runs"]] == ["uncertain", "random"]


def _document(paragraphs):
    from mechcode.document import Document, Passage

    text, passages = "", []
    for i, p in enumerate(paragraphs):
        if text:
            text += "\n\n"
        passages.append(Passage(id=i, kind="paragraph", text=p, page=1, bbox=(0.0, 0.0, 1.0, 1.0),
                                start=len(text), end=len(text) + len(p), section="Results"))
        text += p
    return Document(text=text, passages=passages, content_hash=hashlib.sha256(text.encode()).hexdigest(),
                    file_name="paper.pdf", n_pages=1, metadata={"label": "Smith (2020)"})


def test_load_review(corpus, tmp_path):
    from mechcode.store.review import Review

    rv = Review.init(tmp_path / "review", corpus[1])
    rv.add_document(_document(["Leaders shared power with care homes. Trust grew.",
                               "We searched five databases."]))
    units = rv.units()
    model = api.train(corpus[0], corpus[1], cal_folds=1)
    preds = model.predict([Unit(str(u["id"]), u["text"], u["context"]) for u in units])
    rv.add_suggestions("v1", [{**p, "unit_id": u["id"]} for p, u in zip(preds, units)])
    rv.add_decision(units[0]["id"], "ana", "accept", mechanisms=["working-with-power"], role="context",
                    polarity="+")
    tables = api.load_review(tmp_path / "review")
    assert set(tables) == {"documents", "units", "decisions", "suggestions"}
    assert all(isinstance(t, pd.DataFrame) for t in tables.values())
    assert len(tables["documents"]) == 1 and len(tables["units"]) == len(units)
    assert list(tables["decisions"].reviewer) == ["ana"]
    sugg = tables["suggestions"].set_index("unit_id")
    assert len(sugg) == len(units)
    assert sugg.loc[units[0]["id"], "suggested_role"] == max(preds[0]["role"], key=preds[0]["role"].get)
