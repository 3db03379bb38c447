"""Metrics, calibration and the evaluation protocols (grouped folds never leak)."""
from __future__ import annotations

import numpy as np
import pytest

import _model_data as md
from mechcode.codebook import load_codebook, parse_codebook
from mechcode.models.base import LabelledUnit, unit_group
from mechcode.models.backends.calibration import Platt, Temperature, ece, top_label_ece
from mechcode.models.data import read_labelled
from mechcode.models.evaluation.evaluate import definition_units, evaluate, grouped_folds
from mechcode.models.evaluation.metrics import mechanism_scores, multiclass_scores


@pytest.fixture(scope="module")
def codebook():
    return parse_codebook(md.CODEBOOK)


@pytest.fixture(scope="module")
def units():
    return [LabelledUnit.from_dict(d) for d in md.units()]


def test_ece_by_hand():
    # bins [0.1, 0.2): two units at 0.1 and 0.15, one event -> |0.5 - 0.125| = 0.375, weight 2/5
    # bin [0.9, 1.0]: three units at 0.9, 0.95, 1.0, all events -> |1 - 0.95| = 0.05, weight 3/5
    p = [0.1, 0.15, 0.9, 0.95, 1.0]
    y = [1, 0, 1, 1, 1]
    assert ece(p, y) == pytest.approx(2 / 5 * 0.375 + 3 / 5 * 0.05)
    assert ece([0.0, 1.0], [0, 1]) == 0.0
    # top-label: confidences 0.8 (right) and 0.6 (wrong) in different bins
    P = np.array([[0.8, 0.2], [0.4, 0.6]])
    assert top_label_ece(P, np.array([0, 0])) == pytest.approx(0.5 * 0.2 + 0.5 * 0.6)


def test_calibration_improves_held_out_ece():
    """An overconfident scorer, Platt-scaled on one half, is better calibrated on the other."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-z))).astype(int)  # true probability sigmoid(z)
    scores = 4 * z  # four times too confident
    raw = 1 / (1 + np.exp(-scores[2000:]))
    cal = Platt().fit(scores[:2000], y[:2000])
    assert cal.method == "platt" and cal.a == pytest.approx(0.25, abs=0.05)
    assert ece(cal.transform(scores[2000:]), y[2000:]) < ece(raw, y[2000:]) / 2
    t = Temperature().fit(np.stack([np.zeros(2000), scores[:2000]], 1), y[:2000])
    assert t.t == pytest.approx(4.0, rel=0.2)


def test_tiny_classes_fall_back():
    cal = Platt().fit(np.array([1.0, -1.0, -2.0, 0.5]), np.array([1, 0, 0, 0]), prior_shift=-1.1)
    assert (cal.method, cal.a, cal.b) == ("prior-shift", 1.0, -1.1)
    assert Temperature().fit(np.zeros((3, 2)), np.array([0, 1, 0])).method == "identity"


def test_mechanism_counting():
    ids = ["a", "b"]
    truth = [{"a"}, {"b"}, set(), set()]
    probs = np.array([[0.9, 0.1], [0.2, 0.3], [0.7, 0.0], [0.1, 0.1]])
    s = mechanism_scores(truth, probs, ids, 0.5)
    # a: tp 1, fp 1 (a "no mechanism" unit), fn 0; b: never suggested, one missed
    assert s["per_class"]["a"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert s["per_class"]["b"]["f1"] == 0.0
    assert s["macro_f1"] == pytest.approx((0.6667 + 0.0) / 2, abs=1e-4)
    assert s["no_mechanism"]["support"] == 2 and s["no_mechanism"]["recall"] == 0.5
    # the model's own "no mechanism" < 0.5 adds its top mechanism
    s2 = mechanism_scores(truth, probs, ids, 0.5, no_mechanism=np.array([0.1, 0.2, 0.9, 0.9]))
    assert s2["per_class"]["b"]["f1"] == 1.0
    # a class without positives in the test data is left out of the macro average
    s3 = mechanism_scores([{"a"}, set()], np.array([[0.9, 0.6], [0.1, 0.1]]), ids, 0.5)
    assert s3["evaluated"] == ["a"] and s3["macro_f1"] == 1.0


def test_missing_no_mechanism_is_derived(codebook):
    """Backends without a no_mechanism value: P(none) = prod(1 - p_m) drives the top-1 rule."""
    from mechcode.models.base import prediction
    from mechcode.models.evaluation.metrics import score

    ids = codebook.mechanism_ids(suggestable_only=True)
    u = [LabelledUnit("1", "t", mechanisms=["shared-vision"]), LabelledUnit("2", "t")]
    low = {m: 0.0 for m in ids}
    p1 = prediction("1", {**low, "shared-vision": 0.45, "building-trust": 0.4}, {}, {}, [])
    p2 = prediction("2", {**low, "shared-vision": 0.2}, {}, {}, [])
    s = score(u, [p1, p2], codebook)  # unit 1: 1 - 0.55 * 0.6 = 0.67 -> top-1 suggested; unit 2: 0.2
    assert s["mechanism"]["per_class"]["shared-vision"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0,
                                                            "support": 1}


def test_multiclass_scores():
    labels = ["x", "y", "z"]
    P = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    s = multiclass_scores(["x", "y", "y", "y"], P, labels)
    assert s["confusion"] == [[1, 0, 0], [1, 2, 0], [0, 0, 0]]
    assert s["accuracy"] == 0.75
    assert s["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2, abs=1e-4)  # z absent from truth


def test_grouped_folds_never_leak(units, codebook):
    folds = grouped_folds(units, 5, 0, codebook)
    assert len(folds) == 5
    seen = []
    for tr, te in folds:
        train_groups = {unit_group(units[i]) for i in tr}
        test_groups = {unit_group(units[i]) for i in te}
        assert not train_groups & test_groups
        assert len(tr) + len(te) == len(units)
        seen.extend(te)
    assert sorted(seen) == list(range(len(units)))


def test_unstratifiable_folds_still_follow_the_seed(monkeypatch, units):
    """When stratification is impossible the fallback GroupKFold is seeded: different seeds give
    different fold assignments (it used to ignore the seed)."""
    import sklearn.model_selection as ms

    class Refuse:
        def __init__(self, *a, **k):
            pass

        def split(self, *a, **k):
            raise ValueError("cannot stratify")

    monkeypatch.setattr(ms, "StratifiedGroupKFold", Refuse)
    a = [sorted(te) for _, te in grouped_folds(units, 3, 0)]
    b = [sorted(te) for _, te in grouped_folds(units, 3, 1)]
    assert a == [sorted(te) for _, te in grouped_folds(units, 3, 0)] and a != b


def test_units_without_group_are_grouped_by_paragraph(units, codebook):
    loose = [LabelledUnit(u.id, u.text, u.context, u.mechanisms, u.role, u.polarity, None) for u in units]
    for tr, te in grouped_folds(loose, 4, 1, codebook):
        assert not {loose[i].context for i in tr} & {loose[i].context for i in te}


def test_evaluate_grouped_cv(units, codebook, tmp_path):
    r = evaluate(units, codebook, "sparse", "grouped-cv", 4, baselines=("majority", "zeroshot"),
                 zeroshot_params={"encoder": "tfidf"}, figures_dir=tmp_path)
    for task in ("mechanism", "role", "polarity"):
        assert 0.0 <= r[task]["macro_f1"] <= 1.0
    assert set(r["mechanism"]["per_class"]) == set(codebook.mechanism_ids(suggestable_only=True))
    assert r["ece"]["mechanism"] is not None and r["ece"]["role"] is not None
    assert set(r["baselines"]) == {"majority", "zeroshot"}
    assert r["folds"] == 4 and len(r["folds_macro_f1"]["role"]) == 4
    # role/polarity only on units where they are known
    assert r["role"]["n"] == sum(u.role is not None for u in units)
    assert r["polarity"]["n"] == sum(u.polarity is not None and u.role != "none" for u in units)
    # templated paragraphs: the supervised model must beat the constant predictor
    assert r["role"]["macro_f1"] > r["baselines"]["majority"]["role"]["macro_f1"]
    assert r["mechanism"]["macro_f1"] > r["baselines"]["majority"]["mechanism"]["macro_f1"]
    assert {p.name for p in tmp_path.glob("*.png")} == {"role_confusion.png", "mechanism_confusion.png"}


def test_definitions_to_evidence_and_definition_units(units, codebook):
    dup = LabelledUnit("dup", "Trust makes people willing to share information and take risks.", "",
                       ["building-trust"], None, None, "defs")
    data = units + [dup]
    assert definition_units(data, codebook) == {len(units)}
    r = evaluate(data, codebook, "sparse", "definitions-to-evidence", baselines=("majority",))
    assert r["excluded_definition_units"] == 1 and r["n_test_units"] == len(units)
    assert r["mechanism"]["n"] == len(units)
    assert r["mechanism"]["macro_f1"] > 0.3  # the definitions alone carry the cue words


def test_learning_curve(units, codebook):
    from mechcode.models.evaluation.evaluate import learning_curve

    points = learning_curve(units, codebook, "sparse", {"char_ngrams": None}, (0.34, 1.0), n_folds=3)
    assert [p["fraction"] for p in points] == [0.34, 1.0]
    assert points[0]["train_units"] < points[1]["train_units"]
    assert all(0.0 <= p["mechanism_macro_f1"] <= 1.0 for p in points)


def test_sims2021_sparse_beats_majority(corpus_dir):
    """On the bundled corpus, grouped 3-fold CV: sparse is above the constant predictor."""
    data = corpus_dir / "units.jsonl"
    assert data.exists(), "the bundled corpus is part of the repository"
    cb = load_codebook(corpus_dir / "codebook.yaml")
    units = read_labelled(data, cb)
    r = evaluate(units, cb, "sparse", "grouped-cv", 3, params={"char_ngrams": None}, baselines=("majority",))
    assert r["excluded_definition_units"] > 0
    maj = r["baselines"]["majority"]
    assert r["mechanism"]["macro_f1"] > maj["mechanism"]["macro_f1"]
    assert r["role"]["macro_f1"] > maj["role"]["macro_f1"] + 0.15


def test_train_holdout_leaves_out_definition_units_and_groups_by_paper(units, codebook):
    from mechcode.models.base import split_sentences
    from mechcode.models.train import holdout_split

    defs = [LabelledUnit(f"d{i}", split_sentences(m["description"])[0], group=f"def{i}", mechanisms=[m["id"]])
            for i, m in enumerate(md.CODEBOOK["mechanisms"][:3])]
    data = [LabelledUnit(u.id, u.text, u.context, u.mechanisms, u.role, u.polarity, u.group, paper=f"P{k % 6}")
            for k, u in enumerate(units)] + defs
    for seed in range(5):
        tr, te = holdout_split(data, codebook, seed)
        assert not {data[i].id for i in te} & {"d0", "d1", "d2"}  # definition units train, never test
        assert {"d0", "d1", "d2"} <= {data[i].id for i in tr}
        assert not {data[i].paper for i in tr if data[i].paper} & {data[i].paper for i in te}
    # without paper ids the paragraphs are the groups
    tr, te = holdout_split(units, codebook, 0)
    assert not {unit_group(units[i]) for i in tr} & {unit_group(units[i]) for i in te}


def test_ece_over_suggested_pairs_by_hand(codebook):
    from mechcode.models.base import prediction
    from mechcode.models.evaluation.metrics import score

    units = [LabelledUnit("1", "a", mechanisms=["shared-vision"]), LabelledUnit("2", "b")]
    preds = [prediction("1", {"shared-vision": 0.9, "building-trust": 0.2}, {}, {}, [], 0.05),
             prediction("2", {"shared-vision": 0.6, "building-trust": 0.1}, {}, {}, [], 0.3)]
    e = score(units, preds, codebook)["ece"]
    # suggested pairs: (1, shared-vision) 0.9 true -> gap 0.1; (2, shared-vision) 0.6 false -> gap 0.6
    assert e["n_suggested"] == 2 and e["mechanism_suggested"] == pytest.approx(0.35)
    # over all 8 pairs the six easy zeros/lows pull the ECE down
    assert e["mechanism"] < e["mechanism_suggested"]
