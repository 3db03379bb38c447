"""The role part of the codebook prior (a C/M/O classifier trained on the CMO primer) and the
heads-only retrain (vocabularies kept while a training set only grows a little)."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from mechcode.codebook import ROLE_IDS, load_codebook
from mechcode.models.base import LabelledUnit, Unit
from mechcode.models.evaluation.metrics import cmo_of
from mechcode.models.primer import load_primer
from mechcode.models.backends.role_prior import RoleClassifier
from mechcode.models.backends.zeroshot import ZeroShotBackend

SIMS = Path(__file__).resolve().parents[1] / "corpora" / "sims2021"


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(SIMS / "codebook.yaml")


def cmo_accuracy(model, units) -> float:
    a = model.predict_arrays([Unit(id=u.id, text=u.text, context=u.text) for u in units])
    cmo = [cmo_of(ROLE_IDS[i]) for i in a["role"][:, 1:].argmax(axis=1) + 1]  # the most probable C/M/O role
    return float(np.mean([c == cmo_of(u.role) for c, u in zip(cmo, units)]))


# A domain the primer does not have (public libraries and local transport), written for this test
# and never used to choose a setting: the primer's own folds chose the classifier's settings.
UNSEEN = [
    ("context", "The branch library sat on a bus route that ran only twice a day."),
    ("context", "Most borrowers at the mobile library were retired people without a car."),
    ("context", "The council had cut the library budget by a third over five years."),
    ("context", "Commuters in the valley relied on a single rail line that was often delayed."),
    ("context", "Few of the town's teenagers held a library card when the scheme began."),
    ("context", "Ticket prices had risen twice in the year before the fare review."),
    ("mechanism-resource", "The library offered free evening classes on using online public services."),
    ("mechanism-resource", "Drivers were given a half-day course on assisting passengers with dementia."),
    ("mechanism-resource", "The operator introduced a single ticket valid on buses and trains."),
    ("mechanism-resource", "Volunteers delivered books to housebound readers every fortnight."),
    ("mechanism-resource", "Librarians set up a homework club staffed by trained tutors."),
    ("mechanism-resource", "The timetable was redesigned so that every bus met the first train."),
    ("mechanism-reasoning", "Readers felt the library was a place where they were welcome to stay."),
    ("mechanism-reasoning", "Passengers trusted the new timetable once connections stopped failing."),
    ("mechanism-reasoning", "Parents saw the homework club as a safe option after school."),
    ("mechanism-reasoning", "Older travellers felt less anxious knowing drivers would wait for them."),
    ("mechanism-reasoning", "Staff believed the managers valued their ideas about opening hours."),
    ("mechanism-reasoning", "Young people came to regard the library as their own space."),
    ("outcome", "Loans of children's books rose by a fifth in the first year."),
    ("outcome", "Weekday bus use among pensioners doubled after the change."),
    ("outcome", "Complaints about missed connections fell sharply within six months."),
    ("outcome", "More residents completed online benefit claims without help."),
    ("outcome", "Attendance at the homework club stayed high through the exam season."),
    ("outcome", "The number of active library members grew for the first time in a decade."),
]


def test_classifier_role_prior_beats_prototypes_on_an_unseen_domain(codebook):
    held_out = [LabelledUnit(id=f"t{i}", text=t, context=t, mechanisms=[], role=r) for i, (r, t) in enumerate(UNSEEN)]
    clf = ZeroShotBackend(encoder="tfidf", role_model="classifier").fit([], codebook)
    proto = ZeroShotBackend(encoder="tfidf", role_model="prototypes").fit([], codebook)
    acc_clf, acc_proto = cmo_accuracy(clf, held_out), cmo_accuracy(proto, held_out)
    majority = max(np.mean([cmo_of(u.role) == c for u in held_out]) for c in ("context", "mechanism", "outcome"))
    assert acc_clf >= majority + 0.1, (acc_clf, majority)
    assert acc_clf > acc_proto, (acc_clf, acc_proto)


def test_classifier_keeps_p_none_and_round_trips(codebook, tmp_path):
    m = ZeroShotBackend(encoder="tfidf", role_model="classifier").fit([], codebook)
    units = [Unit(id="a", text="Staff felt reassured and trusted their new manager.", context=""),
             Unit(id="b", text="All authors declare no competing interests.", context="")]
    a = m.predict_arrays(units)
    assert np.allclose(a["role"].sum(axis=1), 1.0)
    proto = ZeroShotBackend(encoder="tfidf", role_model="prototypes").fit([], codebook).predict_arrays(units)
    assert np.allclose(a["role"][:, ROLE_IDS.index("none")], proto["role"][:, ROLE_IDS.index("none")])
    m.save(tmp_path)
    back = ZeroShotBackend.load(tmp_path, {})
    assert back.role_clf is not None and np.allclose(back.predict_arrays(units)["role"], a["role"])


def test_role_classifier_needs_two_roles():
    assert RoleClassifier().fit(["a context sentence"], ["context"]) is None


def test_sparse_default_uses_the_classifier_prior(codebook):
    from mechcode.models.backends.sparse import SparseBackend

    m = SparseBackend().fit([], codebook)
    assert m.params["prior_roles"] == "classifier" and m.prior.role_clf is not None


def _units(n: int, start: int = 0) -> list[LabelledUnit]:
    return [LabelledUnit(id=f"u{i}", text=f"Team leaders met staff weekly in meeting {chr(97 + i % 26)}{i}",
                         context="", mechanisms=["learning-development"] if i % 2 else [],
                         role="mechanism-resource" if i % 2 else "none", group=f"p{i % 7}")
            for i in range(start, start + n)]


def test_retrain_keeps_vocabulary_only_while_the_training_set_grows_a_little(codebook, monkeypatch):
    from mechcode.models.backends import features
    from mechcode.models.backends.sparse import SparseBackend

    features.clear_fitted()
    monkeypatch.setattr(features, "REUSE_MIN", 0)  # as if these sets were large
    plain = SparseBackend(char_ngrams=None).fit(_units(20), codebook).features
    assert SparseBackend(char_ngrams=None).fit(_units(21), codebook).features is not plain  # off by default
    monkeypatch.setattr(features, "REUSE_MIN", 2000)
    small = SparseBackend(char_ngrams=None, refit_share=0.1).fit(_units(20), codebook).features
    assert SparseBackend(char_ngrams=None, refit_share=0.1).fit(_units(21), codebook).features is not small
    monkeypatch.setattr(features, "REUSE_MIN", 0)
    SparseBackend = partial(SparseBackend, refit_share=0.1)  # noqa: N806 - as the reviewer loop's retrains
    base = _units(200)
    first = SparseBackend(char_ngrams=None).fit(base, codebook).features
    model = SparseBackend(char_ngrams=None).fit(base + _units(5, 200), codebook)
    assert model.features is first  # a few more decisions: heads-only refit
    kept = model.vocabulary  # and the model says so (saved in sparse.json)
    assert kept["fitted_on_pairs"] + 5 == kept["training_pairs"]
    subset = SparseBackend(char_ngrams=None).fit(base[:150], codebook).features
    assert subset is not first  # a smaller set never reuses a vocabulary fitted on texts it lacks
    assert "u170" not in str(subset.word.vocabulary_) and "meeting o170" not in subset.word.vocabulary_
    big = SparseBackend(char_ngrams=None).fit(base[:150] + _units(100, 400), codebook).features
    assert big is not subset and big is not first  # many new texts: fitted afresh
    again = SparseBackend(char_ngrams=None).fit(base + _units(6, 200), codebook).features
    assert again is first  # the earlier vocabulary is still kept after two other fits
    fresh = SparseBackend(char_ngrams=None, refit_share=0.0).fit(base[:150] + _units(100, 400) + _units(1, 900),
                                                                 codebook).features
    assert fresh is not big


def test_unknown_role_prior_is_one_clear_error(codebook):
    from mechcode.errors import ModelError
    from mechcode.models.backends.sparse import SparseBackend

    with pytest.raises(ModelError, match="prior_roles must be one of prototypes, classifier, not 'foo'"):
        SparseBackend(prior_roles="foo").fit([], codebook)


class _FixedPrior:
    """A prior that answers fixed arrays (to test the pooling rule alone)."""

    def __init__(self, mech: float):
        self.mech = mech

    def predict_arrays(self, units):
        n = len(units)
        role = np.tile([0.1, 0.5, 0.2, 0.1, 0.1], (n, 1))  # ROLE_IDS order: mechanism-resource on top
        return {"mechanisms": np.full((n, 1), self.mech), "no_mechanism": np.full(n, 1 - self.mech),
                "role": role, "polarity": np.full(n, 0.6)}


def test_label_lines_are_gated_in_the_prior_only():
    from mechcode.models.backends.prior import pooled

    bullet = [Unit(id="b", text="Nurses felt supported by their managers",
                   context="- Nurses felt supported by their managers")]
    learned = _FixedPrior(0.99).predict_arrays(bullet)
    cold = pooled(_FixedPrior(0.9), learned, {"mechanism": 0.0, "role": 0.0}, bullet)
    taught = pooled(_FixedPrior(0.9), learned, {"mechanism": 0.9, "role": 0.9}, bullet)
    assert cold["mechanisms"][0, 0] < 0.05  # the codebook alone: a label line is no evidence
    assert taught["mechanisms"][0, 0] > 0.5  # a review that codes its bullet points overrides it
    stated = [Unit(id="s", text="Nurses felt supported by their managers.",
                   context="- Nurses felt supported by their managers.")]
    assert pooled(_FixedPrior(0.9), learned, {"mechanism": 0.0, "role": 0.0}, stated)["mechanisms"][0, 0] > 0.5


def test_quantize_setting_is_part_of_the_prior_cache_key(codebook, monkeypatch):
    from mechcode.models.backends.prior_cache import clear_prior_cache, fit_prior

    clear_prior_cache()
    params = {"prior": "tfidf", "prior_roles": "classifier"}
    first = fit_prior(params, [], codebook)
    monkeypatch.setenv("MECHCODE_EMBED_QUANTIZE", "1")
    assert fit_prior(params, [], codebook) is not first
    monkeypatch.delenv("MECHCODE_EMBED_QUANTIZE")
    assert fit_prior(params, [], codebook) is first


def test_models_saved_before_the_role_classifier_say_prototypes(codebook, tmp_path):
    import json

    from mechcode.models.backends.sparse import SparseBackend

    SparseBackend(char_ngrams=None, prior_roles="prototypes").fit(_units(30), codebook).save(tmp_path)
    meta = json.loads((tmp_path / "sparse.json").read_text())
    del meta["params"]["prior_roles"], meta["params"]["refit_share"]  # as a model of the previous release
    (tmp_path / "sparse.json").write_text(json.dumps(meta))
    old = SparseBackend.load(tmp_path, {})
    assert old.hyperparameters()["prior_roles"] == "prototypes" and old.prior.role_clf is None


def test_role_classifier_is_fitted_once_per_codebook_and_primer(codebook, monkeypatch):
    from mechcode.models.backends.prior_cache import clear_prior_cache, fit_prior

    clear_prior_cache()
    params = {"prior": "tfidf", "prior_roles": "classifier"}
    a = fit_prior(params, _units(10), codebook)
    b = fit_prior(params, _units(11), codebook)  # other texts: the tfidf prior is refitted ...
    assert a is not b and a.role_clf is b.role_clf  # ... its role classifier is not
    monkeypatch.setenv("MECHCODE_PRIMER_EXCLUDE", "housing")
    assert fit_prior(params, _units(11), codebook).role_clf is not a.role_clf  # another primer: refitted
