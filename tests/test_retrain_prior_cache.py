"""The fitted codebook prior is cached in-process by what it depends on (codebook, encoder,
primer, and for tfidf the training texts), never by labels; a cached prior predicts exactly as
a refitted one. Real data: the sims2021 codebook and seed units."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mechcode.codebook import load_codebook
from mechcode.models.backends import prior_cache, zeroshot
from mechcode.models.base import Unit

ROOT = Path(__file__).resolve().parents[1]
PARAMS = {"prior": "tfidf"}


@pytest.fixture()
def sims():
    from mechcode.models.data import read_labelled

    prior_cache.clear_prior_cache()
    cb = load_codebook(ROOT / "corpora" / "sims2021" / "codebook.yaml")
    yield cb, read_labelled(ROOT / "corpora" / "sims2021" / "units.jsonl", cb)
    prior_cache.clear_prior_cache()


def arrays(prior, units) -> dict:
    a = prior.predict_arrays([Unit(id=u.id, text=u.text, context=u.context) for u in units])
    return {k: a[k] for k in ("mechanisms", "no_mechanism", "role", "polarity")}


def test_same_codebook_and_texts_reuse_the_prior_whatever_the_labels(sims):
    cb, units = sims
    first = prior_cache.fit_prior(PARAMS, units, cb)
    relabelled = [dataclasses.replace(u, mechanisms=[], role="none") for u in units[::-1]]
    assert prior_cache.fit_prior(PARAMS, relabelled, cb) is first
    prior_cache.clear_prior_cache()
    fresh = prior_cache.fit_prior(PARAMS, units, cb)
    assert fresh is not first
    for key, value in arrays(first, units[:40]).items():
        np.testing.assert_allclose(value, arrays(fresh, units[:40])[key])


def test_codebook_texts_or_primer_changes_refit(sims, tmp_path, monkeypatch):
    cb, units = sims
    first = prior_cache.fit_prior(PARAMS, units, cb)
    assert prior_cache.fit_prior(PARAMS, units[:-1], cb) is not first  # tfidf vocabulary sees the texts
    edited = dataclasses.replace(cb, mechanisms=[dataclasses.replace(cb.mechanisms[0], description="Something else.")]
                                 + list(cb.mechanisms[1:]))
    assert edited.fingerprint() != cb.fingerprint()
    changed = prior_cache.fit_prior(PARAMS, units, edited)
    assert changed is not first and changed.sentences["mechanism"] != first.sentences["mechanism"]
    primer = tmp_path / "primer.jsonl"
    primer.write_text('{"id": "p1", "text": "Staff trusted the new manager.", "role": "mechanism-reasoning", '
                      '"domain": "x", "polarity": "+"}\n', encoding="utf-8")
    monkeypatch.setenv("MECHCODE_PRIMER", str(primer))
    other = prior_cache.fit_prior(PARAMS, units, cb)
    assert other is not first and "Staff trusted the new manager." in other.sentences["role"]
    assert prior_cache.fit_prior({"prior": "none"}, units, cb) is None


def test_cache_is_bounded(sims):
    cb, units = sims
    for n in range(prior_cache.PRIOR_CACHE_SIZE + 2):
        prior_cache.fit_prior(PARAMS, units[n:], cb)
    assert len(prior_cache._PRIORS) == prior_cache.PRIOR_CACHE_SIZE


def test_retrains_refit_the_prior_only_when_its_inputs_change(tmp_path, monkeypatch):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _web_review import make_review

    from mechcode.loop.service import LoopService
    from mechcode.loop.training import load_seed_data

    prior_cache.clear_prior_cache()
    rv, seed = make_review(tmp_path, n_docs=1)
    svc = LoopService(rv, retrain_every=0, seed_units=load_seed_data(seed, rv.codebook))
    fits = []
    real = zeroshot.ZeroShotBackend.fit
    monkeypatch.setattr(zeroshot.ZeroShotBackend, "fit", lambda self, *a, **k: fits.append(1) or real(self, *a, **k))
    assert svc.retrainer.run_once()["status"] == "ok"
    first = len(fits)  # the model and its holdout model (other texts)
    assert first == 2 and svc.retrainer.run_once()["status"] == "ok" and len(fits) == first
    unit = rv.units()[0]["id"]
    svc.decide(unit, "correct", mechanisms=["learning"], role="outcome")
    assert svc.retrainer.run_once()["status"] == "ok" and len(fits) > first  # a new text: tfidf refits
    after = len(fits)
    svc.decide(unit, "correct", mechanisms=["building-trust"], role="outcome")  # same texts, new label
    assert svc.retrainer.run_once()["status"] == "ok" and len(fits) == after
    prior_cache.clear_prior_cache()
