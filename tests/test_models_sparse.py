"""The sparse backend on a tiny labelled set: contract, round trip, calibration fallbacks, no torch."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import _model_data as md
from mechcode.codebook import ROLE_IDS, parse_codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit, Unit
from mechcode.models.backends.sparse import SparseBackend
from mechcode.models.train import load_model, train_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def codebook():
    return parse_codebook(md.CODEBOOK)


@pytest.fixture(scope="module")
def units():
    return [LabelledUnit.from_dict(d) for d in md.units()]


@pytest.fixture(scope="module")
def model(units, codebook):
    return SparseBackend().fit(units, codebook)


NEW = [Unit("a", "Managers spent months building mutual trust with their partners."),
       Unit("b", "We searched seven databases for eligible studies.", "We searched seven databases."),
       Unit("c", "Authority for budgets was devolved so partners shared decision making.")]


def test_predict_contract(model, codebook):
    preds = model.predict(NEW)
    assert [p["id"] for p in preds] == ["a", "b", "c"]
    suggestable = codebook.mechanism_ids(suggestable_only=True)
    for p in preds:
        assert list(p["mechanisms"]) == suggestable  # the retired code is never suggested
        probs = [*p["mechanisms"].values(), *p["role"].values(), *p["polarity"].values(), p["no_mechanism"]]
        assert all(0.0 <= v <= 1.0 for v in probs)
        assert list(p["role"]) == list(ROLE_IDS)
        assert sum(p["role"].values()) == pytest.approx(1.0, abs=1e-5)
        assert sum(p["polarity"].values()) == pytest.approx(1.0, abs=1e-5)
        assert p["rationale"] and {r["task"] for r in p["rationale"]} == {"mechanism", "role"}
    top = [max(p["mechanisms"], key=p["mechanisms"].get) for p in preds]
    assert top[0] == "building-trust" and top[2] == "sharing-power"
    assert preds[1]["no_mechanism"] > preds[0]["no_mechanism"]
    assert max(preds[1]["role"], key=preds[1]["role"].get) == "none"
    # the rationale names words of the unit that point at the top mechanism
    terms = next(r["terms"] for r in preds[0]["rationale"] if r["task"] == "mechanism")
    assert any("trust" in t for t in terms)


def test_training_set_is_learned(model, units, codebook):
    preds = model.predict(units)
    hits = [max(p["mechanisms"], key=p["mechanisms"].get) in u.mechanisms for u, p in zip(units, preds) if u.mechanisms]
    assert np.mean(hits) > 0.9
    roles = [max(p["role"], key=p["role"].get) == u.role for u, p in zip(units, preds) if u.role]
    assert np.mean(roles) > 0.9


def test_round_trip_identical(units, codebook, tmp_path):
    card = train_model(units, codebook, "sparse", tmp_path / "m", holdout=False)
    assert card["backend"] == "sparse" and card["n_units"] == len(units)
    assert card["codebook"]["version"] == "1" and card["data_hash"]
    assert {"sparse.npz", "sparse.json"} <= set(card["files"])
    assert card["metrics"]["training"]["role_macro_f1"] > 0.9
    loaded, card2 = load_model(tmp_path / "m")
    fresh = SparseBackend(**card["hyperparameters"]).fit(units, codebook)
    assert loaded.predict(NEW + units) == fresh.predict(NEW + units)
    assert card2["version"] == card["version"]


def test_definitions_only(codebook):
    """Cold start: no labelled unit, only the codebook definitions."""
    m = SparseBackend().fit([], codebook)
    p = m.predict([Unit("x", "Leaders articulate a common purpose and shared goals.")])[0]
    assert max(p["mechanisms"], key=p["mechanisms"].get) == "shared-vision"
    assert sum(p["role"].values()) == pytest.approx(1.0, abs=1e-5)


def test_tiny_class_falls_back(units, codebook):
    """A code with a single example cannot be Platt-scaled: it gets the prior shift instead."""
    m = SparseBackend().fit(units, codebook)
    cal = m.heads["mech:general-contexts"].calib  # only its definition sentences are positives
    assert cal.method == "prior-shift"
    assert m.heads["mech:building-trust"].calib.method == "platt"
    assert m.heads["role"].calib.method == "temperature"


def test_unknown_parameter():
    with pytest.raises(ModelError, match="unknown parameter"):
        SparseBackend(learning_rate=3)


def test_no_torch_at_prediction(units, codebook, tmp_path):
    """Loading and running a sparse model with a TF-IDF prior (or none) never imports torch (nor
    skops, which would pull it in); the default prior avg needs MiniLM and so torch."""
    train_model(units[:30], codebook, "sparse", tmp_path / "m", holdout=False, prior="tfidf")
    code = (
        "import sys, json\n"
        "from mechcode.models.train import load_model\n"
        "from mechcode.models.base import Unit\n"
        f"m, _ = load_model({str(tmp_path / 'm')!r})\n"
        "p = m.predict([Unit('1', 'Leaders built mutual trust.')])\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'skops': 'skops' in sys.modules, 'n': len(p)}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"torch": False, "skops": False, "n": 1}
