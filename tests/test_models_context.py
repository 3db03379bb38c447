"""Paragraph context in the default model: the prior's paragraph weight (``prior_context``) and the
sparse backend's ``context_weight`` (both chosen on the development sides: experiments/context_dev.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import _model_data as md
from mechcode.codebook import load_codebook, parse_codebook
from mechcode.errors import ModelError
from mechcode.models.backends.prior_cache import fit_prior
from mechcode.models.backends.sparse import SparseBackend
from mechcode.models.base import LabelledUnit, Unit

ROOT = Path(__file__).resolve().parents[1]
# A sentence that says little by itself, in a paragraph that is about one of the codebook's mechanisms.
SENTENCE = "This changed over the following year."
PARAGRAPH = ("Managers said that power and influence over the budget sat with one partner, and how they "
             "used that power shaped every meeting. " + SENTENCE)


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(ROOT / "corpora" / "sims2021" / "codebook.yaml")


def _mech(prior, context: str) -> np.ndarray:
    return prior.predict_arrays([Unit(id="u", text=SENTENCE, context=context)])["mech_sims"][0]


def test_prior_context_reaches_the_prior(codebook):
    alone = fit_prior({"prior": "tfidf", "prior_context": 0.0}, [], codebook)
    read = fit_prior({"prior": "tfidf", "prior_context": 0.5}, [], codebook)
    assert alone is not read and read.params["context_weight"] == 0.5
    power = alone.mechanisms.index("working-with-power")
    assert np.allclose(_mech(alone, PARAGRAPH), _mech(alone, SENTENCE))  # weight 0: the paragraph is not read
    assert _mech(read, PARAGRAPH)[power] > _mech(read, SENTENCE)[power]
    assert int(np.argmax(_mech(read, PARAGRAPH))) == power


@pytest.mark.parametrize("bad", ["a lot", -1, 11, True])
def test_bad_prior_context_is_one_clear_error(codebook, bad):
    with pytest.raises(ModelError, match="prior_context must be a number between 0 and 10"):
        fit_prior({"prior": "tfidf", "prior_context": bad}, [], codebook)


def test_defaults_and_models_saved_before(tmp_path):
    cb, units = parse_codebook(md.CODEBOOK), [LabelledUnit.from_dict(d) for d in md.units()]
    new = SparseBackend(max_features=5000, cal_folds=2)
    assert new.params["context_weight"] == 1.0 and new.params["prior_context"] == 0.5
    # a model as it was trained before the setting existed: the old weights, and no prior_context in its file
    model = SparseBackend(max_features=5000, cal_folds=2, context_weight=0.5, prior_context=0.25).fit(units, cb)
    assert model.prior.params["context_weight"] == 0.25
    test = [Unit(id=u.id, text=u.text, context=u.context) for u in units[:8]]
    before = model.predict(test)
    model.save(tmp_path)
    meta = json.loads((tmp_path / "sparse.json").read_text(encoding="utf-8"))
    del meta["params"]["prior_context"]
    (tmp_path / "sparse.json").write_text(json.dumps(meta), encoding="utf-8")
    old = SparseBackend.load(tmp_path, {})
    assert old.params["prior_context"] == 0.25 and old.params["context_weight"] == 0.5
    assert old.prior.params["context_weight"] == 0.25
    after = old.predict(test)
    for a, b in zip(before, after):
        assert a["mechanisms"] == pytest.approx(b["mechanisms"]) and a["role"] == pytest.approx(b["role"])


def test_embed_shares_the_setting_and_old_embed_models_keep_theirs():
    from mechcode.models.backends.embed import EmbedBackend
    from mechcode.models.backends.prior import LEGACY_PRIOR

    assert EmbedBackend().prior_params["prior_context"] == 0.5
    saved = {k: v for k, v in EmbedBackend().hyperparameters().items() if k != "prior_context"}
    assert EmbedBackend(**{**LEGACY_PRIOR, **saved}).prior_params["prior_context"] == 0.25


@pytest.mark.parametrize("key, bad, message", [
    ("prior_gate", "sometimes", "prior_gate must be one of mechanism, role, not 'sometimes'"),
    ("prior_context", -1, "prior_context must be a number between 0 and 10"),
    ("prior_k_mechanism", -5.0, "prior_k_mechanism must be a number at least 0"),
    ("prior", "bert", "prior must be one of tfidf, avg, minilm, none"),
])
def test_bad_prior_settings_fail_when_the_backend_is_built(key, bad, message):
    """Before any fit (a bad --param must not cost a long training run first); sparse and embed alike."""
    from mechcode.models.backends.embed import EmbedBackend

    for backend in (SparseBackend, EmbedBackend):
        with pytest.raises(ModelError, match=message):
            backend(**{key: bad})
