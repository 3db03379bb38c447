"""The prior's none gate: P(role none) from a statement's form, trained on the primer's C/M/O
statements against the none primer (``corpora/cmo-primer/none``), and that primer itself."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import PDF_DIR, SEED
from mechcode.codebook import ROLE_IDS, load_codebook
from mechcode.errors import DataError, ModelError
from mechcode.models.backends.zeroshot import ZeroShotBackend
from mechcode.models.base import Unit
from mechcode.models.primer import load_none_primer, load_primer, none_primer_files
from mechcode.segment import split_sentences
from test_models_role_prior import UNSEEN

ROOT = Path(__file__).resolve().parents[1]
NONE_ROLE = ROLE_IDS.index("none")

# Research writing from the same unseen domain (public libraries, local transport), written for this
# test and never used to choose a setting (experiments/none_gate_dev.py chose on the dev corpora).
UNSEEN_NONE = [
    "Library managers at each branch were asked to pass the survey link to front-desk staff.",
    "We interviewed 18 bus drivers and 11 depot supervisors between March and June.",
    "Loan records were extracted from the library management system for the years 2015 to 2019.",
    "The response rate was 41 per cent, and 12 questionnaires were excluded as incomplete.",
    "Ethical approval was granted by the university's social science research ethics committee.",
    "The authors thank the transport authority for access to its ticketing data.",
    "Table 3 lists the characteristics of the passengers who took part in the travel diary study.",
    "Interview transcripts were coded independently by two researchers using a shared framework.",
    "This paper first reviews the literature on public libraries as community spaces.",
    "Funding for the evaluation came from a regional research council grant.",
    "Journey times were modelled with a mixed-effects regression including route as a random effect.",
    "The remainder of the article describes the study sites and the data collection.",
]


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(ROOT / "corpora" / "sims2021" / "codebook.yaml")


def _units(texts):
    return [Unit(id=f"u{i}", text=t, context=t) for i, t in enumerate(texts)]


def test_gate_tells_research_writing_from_statements_in_an_unseen_domain(codebook):
    from sklearn.metrics import roc_auc_score

    texts = [t for _, t in UNSEEN] + UNSEEN_NONE
    y = [0] * len(UNSEEN) + [1] * len(UNSEEN_NONE)
    auc = {}
    for mode in ("prototypes", "classifier"):
        m = ZeroShotBackend(encoder="tfidf", role_model="classifier", none_model=mode).fit([], codebook)
        auc[mode] = roc_auc_score(y, m.predict_arrays(_units(texts))["role"][:, NONE_ROLE])
    assert auc["classifier"] >= 0.75 and auc["classifier"] > auc["prototypes"], auc


def test_gate_keeps_the_cmo_order_and_round_trips(codebook, tmp_path):
    texts = [t for _, t in UNSEEN[:6]] + UNSEEN_NONE[:3]
    gated = ZeroShotBackend(encoder="tfidf", role_model="classifier", none_model="classifier").fit([], codebook)
    plain = ZeroShotBackend(encoder="tfidf", role_model="classifier", none_model="prototypes").fit([], codebook)
    a, b = gated.predict_arrays(_units(texts)), plain.predict_arrays(_units(texts))
    assert np.allclose(a["role"].sum(axis=1), 1.0)
    cmo = [i for i in range(len(ROLE_IDS)) if i != NONE_ROLE]
    assert (a["role"][:, cmo].argmax(axis=1) == b["role"][:, cmo].argmax(axis=1)).all()
    gated.save(tmp_path)
    back = ZeroShotBackend.load(tmp_path, {})
    assert np.allclose(back.predict_arrays(_units(texts))["role"], a["role"])
    meta = json.loads((tmp_path / "zeroshot.json").read_text())
    del meta["params"]["none_model"]  # a model saved before the gate existed
    (tmp_path / "zeroshot.json").write_text(json.dumps(meta))
    old = ZeroShotBackend.load(tmp_path, {})
    assert old.params["none_model"] == "prototypes" and old.none_clf is None


def test_bad_settings_and_files_are_one_clear_error(codebook, tmp_path, monkeypatch):
    from mechcode.models.backends.prior_cache import fit_prior

    with pytest.raises(ModelError, match="prior_none must be one of"):
        fit_prior({"prior": "tfidf", "prior_none": "sometimes"}, [], codebook)
    with pytest.raises(ModelError, match="none_model must be one of"):
        ZeroShotBackend(none_model="sometimes")
    bad = tmp_path / "none.jsonl"
    bad.write_text('{"text": "Fine.", "role": "none"}\nnot json\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        load_none_primer(bad)
    monkeypatch.setenv("MECHCODE_PRIMER_EXCLUDE", "housing,policing")
    rows = [json.loads(line) for f in none_primer_files() for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(load_none_primer()) == sum(r["domain"] not in ("housing", "policing") for r in rows) < len(rows)


# -- the none primer itself ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def none_rows():
    files = none_primer_files()
    assert files, "corpora/cmo-primer/none/ is missing"
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_none_primer_shape(none_rows):
    domains = Counter(r["domain"] for r in none_rows)
    assert set(domains) == {u.group.split(":", 1)[1] for u in load_primer()}  # the primer's 14 domains
    assert set(domains.values()) == {22}
    assert all(r["role"] == "none" and r["polarity"] is None for r in none_rows)
    assert len({r["id"] for r in none_rows}) == len({r["text"].lower() for r in none_rows}) == len(none_rows)
    assert all(len(split_sentences(r["text"])) == 1 for r in none_rows)
    kinds = Counter(r["kind"] for r in none_rows)
    assert set(kinds) == {"methods", "statistics", "ethics", "background", "structure", "hard"}
    assert kinds["hard"] >= 5 * len(domains)  # staff, managers, training named as research procedure


def _shingles(text: str, n: int = 7) -> set[str]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_none_primer_is_written_not_copied(none_rows):
    sources = [(ROOT / "corpora" / "sims2021" / "units.jsonl").read_text(encoding="utf-8"),
               *(f.read_text(encoding="utf-8") for f in (ROOT / "corpora" / "cmo-primer").glob("*.jsonl"))]
    sources += [p.read_text(encoding="utf-8") for p in [SEED, *sorted(PDF_DIR.glob("*.truth.txt"))] if p.exists()]
    seen = set().union(*(_shingles(t) for t in sources))
    assert [(r["id"], s) for r in none_rows for s in _shingles(r["text"]) if s in seen] == []


def test_no_primer_means_no_none_primer(codebook, tmp_path, monkeypatch):
    """A primer folder without none/ has no none primer (the checkout's is not used behind its back),
    and a model built with primer=false has no gate."""
    monkeypatch.setenv("MECHCODE_PRIMER", str(tmp_path))
    assert none_primer_files() == [] and load_none_primer() == []
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "n.jsonl").write_text('{"text": "Data were analysed in R.", "role": "none"}\n')
    assert load_none_primer() == ["Data were analysed in R."]
    monkeypatch.delenv("MECHCODE_PRIMER")
    m = ZeroShotBackend(encoder="tfidf", none_model="classifier", primer=False).fit([], codebook)
    assert m.none_clf is None


def test_own_mechanism_codes_take_over_the_gate(codebook):
    """With a review's own codes, prior_gate=mechanism lets the learned "no mechanism" decide the
    gate at the mechanism weight: evidence units the none gate reads as "none" get their mechanism
    probabilities back, and no-evidence units are not lifted (sims2021, its own units as codes)."""
    from mechcode.models.backends.sparse import SparseBackend
    from mechcode.models.data import read_labelled

    units = read_labelled(ROOT / "corpora" / "sims2021" / "units.jsonl", codebook)
    top = {}
    for gate in ("role", "mechanism"):
        m = SparseBackend(prior_gate=gate, cal_folds=1).fit(units, codebook)
        a = m.predict_arrays(units)
        top[gate] = a["mechanisms"].max(axis=1)
    evidence = np.array([bool(u.mechanisms) for u in units])
    assert top["mechanism"][evidence].mean() > top["role"][evidence].mean() + 0.05, \
        (top["mechanism"][evidence].mean(), top["role"][evidence].mean())
    assert top["mechanism"][~evidence].mean() < 0.05
