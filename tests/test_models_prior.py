"""The codebook prior in practice: training sources kept, boilerplate gets no mechanism, one
consistent mechanism + role answer, unsuggested codes never suggested."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import _model_data as md
from mechcode.codebook import ROLE_IDS, load_codebook
from mechcode.models.base import LabelledUnit, Unit
from mechcode.models.backends.boilerplate import is_boilerplate

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "pdfs"
HEALTH = ["trials2015_staff_emotions_qualitative", "trials2015_trialist_interviews_qualitative",
          "trials2015_prescreening_cancer_rcts", "scientifica2016_pmtct_health_workers",
          "trials2015_ears_recruitment"]
BACK_MATTER = ("competing interests", "authors' contributions", "acknowledgements", "funding",
               "ethics", "abbreviations", "consent")


def back_matter_sentences() -> list[str]:
    """Sentences under back-matter headings of the shared health-services papers' truth text."""
    from mechcode.segment import split_many

    paras = []
    for name in HEALTH:
        path = SHARED / f"{name}.truth.txt"
        if not path.is_file():
            continue
        inside = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                inside = any(k in line.lower() for k in BACK_MATTER)
                continue
            if inside and line.strip():
                paras.append(line.strip())
    out = []
    for p, spans in zip(paras, split_many(paras)):
        out += [p[s:e] for s, e in spans]
    return out


@pytest.fixture(scope="module")
def sims():
    from mechcode.models.data import read_labelled

    root = Path(__file__).resolve().parents[1] / "corpora" / "sims2021"
    cb = load_codebook(root / "codebook.yaml")
    return cb, read_labelled(root / "units.jsonl", cb)


@pytest.fixture(scope="module")
def sims_model(sims):
    from mechcode.models.backends.sparse import SparseBackend

    cb, units = sims
    return SparseBackend(max_features=20000, cal_folds=2).fit(units, cb)


def test_boilerplate_rule_on_shared_papers():
    sents = back_matter_sentences()
    if not sents:
        pytest.skip("shared PDFs' truth text not available")
    assert len(sents) >= 20
    share = sum(is_boilerplate(s) for s in sents) / len(sents)
    assert share >= 0.6, [s for s in sents if not is_boilerplate(s)][:10]
    for s in ["Objectives.", "1.", "Results", "Table 2 Characteristics of the participants",
              "All other authors have declared no competing interests.",
              "The authors declare that they have no competing interests."]:
        assert is_boilerplate(s), s
    # statements that report something are not boilerplate, even with a table call-out
    for s in ["Staff felt supported by the new manager (Table 2).",
              "Leaders acknowledge the tension between the two professional cultures.",
              "The service was run jointly by the council and the hospital trust.",
              "Staff were supported by their managers to try new ways of working."]:
        assert not is_boilerplate(s), s


def test_boilerplate_gets_no_mechanism_at_the_threshold(sims_model):
    sents = back_matter_sentences() or ["The authors declare that they have no competing interests."]
    preds = sims_model.predict([Unit(str(i), s) for i, s in enumerate(sents) if is_boilerplate(s)])
    assert preds and all(max(p["mechanisms"].values()) < 0.05 for p in preds)
    assert all(max(p["role"], key=p["role"].get) == "none" for p in preds)


def test_list_items_and_label_lines_of_the_sample_get_no_mechanism(sims_model):
    """The sample's numbered list items ("3. Creating the conditions to work together") name a
    mechanism but state nothing; as their own paragraphs they are labels, not evidence."""
    from mechcode.ingest import extract_pdf
    from mechcode.models.backends.boilerplate import is_label
    from mechcode.segment import split_many

    doc = extract_pdf(Path(__file__).resolve().parents[1] / "corpora" / "sims2021" / "sample.pdf")
    paras = [p.text for p in doc.passages if p.kind == "paragraph"]
    units = [Unit(f"{i}.{j}", p[a:b], p) for i, (p, spans) in enumerate(zip(paras, split_many(paras)))
             for j, (a, b) in enumerate(spans)]
    labels = [u for u in units if is_label(u.text, u.context)]
    assert len(labels) >= 5 and any("conditions to work together" in u.text for u in labels)
    from mechcode.models.backends.prior import finalize

    ungated = finalize(sims_model.prior.predict_arrays(labels), labels, labels=False)["mechanisms"]
    assert ungated.max() >= 0.5  # the codebook alone would suggest a mechanism for some of them
    assert all(max(p["mechanisms"].values()) < 0.05 for p in sims_model.prior.predict(labels))  # gated
    probs = [max(p["mechanisms"].values()) for p in sims_model.predict(labels)]
    assert max(probs) < 0.5  # and a model trained on the seed corpus does not suggest them
    statements = [u for u in units if len(u.text.split()) > 12]  # real sentences are never labels
    assert statements and not any(is_label(u.text, u.context) for u in statements)
    assert not is_label("staff are reassured by this", "The Chief Executive listens; staff are reassured by this")
    assert not is_label("'We were worried we would not meet the numbers.' (D3)",
                        "'We were worried we would not meet the numbers.' (D3)")


def test_mechanism_always_comes_with_a_role(sims, sims_model):
    cb, units = sims
    preds = sims_model.predict([Unit(u.id, u.text, u.context) for u in units])
    suggested = [p for p in preds if max(p["mechanisms"].values()) >= 0.5]
    assert suggested  # the seed's own evidence does get suggestions
    for p in suggested:
        assert max(p["role"], key=p["role"].get) != "none"
    for p in preds:  # no_mechanism is consistent with the mechanism probabilities
        assert p["no_mechanism"] >= 1 - max(p["mechanisms"].values()) - 1e-6 or \
            p["no_mechanism"] + max(p["mechanisms"].values()) <= 1 + 1e-6


def test_unsuggested_codes_are_never_suggested(sims, sims_model):
    cb, _ = sims
    unsuggested = [m.id for m in cb.mechanisms if not m.suggested]
    assert "fostering-resilience" in unsuggested  # no-evidence
    assert {"planning-coordinating", "adaptability"} & set(unsuggested) or \
        any(cb.get(m).status == "merged" for m in unsuggested)
    p = sims_model.predict([Unit("x", "Leaders helped staff build resilience to cope with pressure.")])[0]
    assert not set(unsuggested) & set(p["mechanisms"])
    # marked suggestable, a no-evidence code is suggested again
    data = cb.to_dict()
    for m in data["mechanisms"]:
        if m["id"] == "fostering-resilience":
            m["suggest"] = True
    from mechcode.codebook import parse_codebook

    assert "fostering-resilience" in parse_codebook(data).suggested_ids()


def test_rationale_has_content_words_and_nearest_definition(sims_model):
    p = sims_model.predict([Unit("x", "The leaders of the partner agencies were sharing power and decision "
                                      "making with the staff of the other organisations.")])[0]
    mech = next(r for r in p["rationale"] if r["task"] == "mechanism")
    assert mech["terms"] and mech["evidence"]
    stop = {"the", "of", "and", "with", "were", "at", "other"}
    assert not any(w in stop for t in mech["terms"] for w in t.split())


def test_prior_dominates_with_few_labels(sims):
    """With no labels the learned model is the prior; with seed data only, the prior still
    weighs more than the seed (a seed file counts a quarter)."""
    from mechcode.models.backends.prior import weights
    from mechcode.models.backends.sparse import SparseBackend

    cb, units = sims
    params = SparseBackend().params
    assert weights([], params) == {"mechanism": 0.0, "role": 0.0, "gate": 0.0}
    seed = [LabelledUnit(**{**u.__dict__, "origin": "seed"}) for u in units]
    w_seed, w_own = weights(seed, params), weights(units * 20, params)
    assert w_seed["mechanism"] < 0.2 and w_own["mechanism"] > 0.9
    # the mechanism gate is taken over at the mechanism weight (prior_gate=mechanism), not the role weight
    assert w_own["gate"] == w_own["mechanism"] > w_own["role"]
    assert "gate" not in weights(units, {**params, "prior_gate": "role"})


# -- training sources through the loop ------------------------------------------------------

def test_sources_kept_through_background_retrains_and_code(tmp_path):
    from mechcode.batch import code_files
    from mechcode.loop.retrain import RetrainScheduler
    from mechcode.loop.training import add_seed_file
    from mechcode.loop.serving import ServingModel
    from mechcode.store.review import Review
    from test_model_cli import _document

    data, cbp = md.write(tmp_path)
    rv = Review.init(tmp_path / "rv", cbp)
    texts = [u["text"] for u in md.units()]
    rv.add_document(_document([texts[i:i + 4] for i in range(0, 24, 4)]))
    src, added = add_seed_file(rv, data)
    assert added and src["n_units"] == 60
    assert add_seed_file(rv, data)[1] is False  # the same bytes are recorded once
    serving = ServingModel(rv)
    sched = RetrainScheduler(rv, serving, every=0, params={"cal_folds": 2, "max_features": 5000})
    truth = {u["text"]: u for u in md.units()}
    seen = []
    for k, unit in enumerate(rv.units()[:9]):
        t = truth[unit["text"]]
        rv.add_decision(unit["id"], "ann", "accept", t["mechanisms"], t["role"], t["polarity"])
        if k % 3 == 2:  # three retrains, after 3, 6 and 9 decisions
            row = sched.run_once()
            assert row["status"] == "ok", row
            card = rv.latest_model()["card"]
            seen.append(card["n_units"])
            assert card["sources"][f"seed:{Path(data).name}"] == 60
            assert card["sources"]["decisions"] == k + 1 and card["sources"]["codebook"] > 0
            assert row["metrics"]["sources"] == card["sources"] and not row["metrics"].get("warning")
    assert seen == [63, 66, 69]
    status = sched.sources_status()
    assert status["n_units"] == 69 and status["sources"]["decisions"] == 9
    from mechcode.loop.service import LoopService

    page = LoopService(rv, retrain_every=0).status()["training"]  # what /api/status gives the page
    assert page["sources"][f"seed:{Path(data).name}"] == 60 and page["sources"]["decisions"] == 9
    # `code` training a new model uses every source too
    code_files(rv, [], workers=1, model="sparse", progress=False, report=lambda _: None)
    assert rv.latest_model()["card"]["n_units"] == 69
    # a retrain that uses fewer units than the model it replaces says so
    with rv.transaction() as con:
        con.execute("DELETE FROM training_sources")
    row = sched.run_once()
    assert row["status"] == "ok" and "fewer than the 69" in row["metrics"]["warning"]
    assert sched.sources_status()["warning"]


@pytest.mark.slow
def test_demo_codes_a_paper_the_model_did_not_train_on(tmp_path):
    from click.testing import CliRunner

    from mechcode.cli import cli

    paper = SHARED / "bmchsr2014_malawi_qi_situational.pdf"
    if not paper.is_file():
        pytest.skip("shared PDFs not available")
    r = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "demo"), "--paper", str(paper)])
    assert r.exit_code == 0, r.output
    assert "did not train on bmchsr2014_malawi_qi_situational.pdf" in r.output
    from mechcode.store.review import Review

    rv = Review.open(tmp_path / "demo")
    card = rv.latest_model()["card"]
    assert card["sources"]["seed:units.jsonl"] == 258 and card["sources"]["decisions"] == 0
    sugg = rv.suggestions()
    assert len(sugg) == rv.count_units() > 100
    share = sum(max(s["mechanisms"].values()) >= 0.5 for s in sugg.values()) / len(sugg)
    assert share < 0.5  # most sentences of a primary study are not evidence of a mechanism
