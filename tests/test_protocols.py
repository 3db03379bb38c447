"""Transfer protocols on tiny corpora built here: every figure below is worked out by hand."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import _model_data as md
from mechcode.cli import cli
from mechcode.codebook import parse_codebook
from mechcode.models.base import LabelledUnit, prediction
from mechcode.models.evaluation.metrics import cmo_scores, paper_scores
from mechcode.models.evaluation.protocols import box_folds, off_topic, primary_studies, transfer_roles
from mechcode.models.evaluation.transfer import Spec, group_order, take_groups

MAJ, KW = Spec("majority", "majority"), Spec("keyword", "keyword")


@pytest.fixture(scope="module")
def codebook():
    return parse_codebook(md.CODEBOOK)


def _pred(role: dict, mechs: dict | None = None):
    return prediction("x", mechs or {}, role, {"+": 0.5, "-": 0.5}, [])


def test_cmo_scores_count_resource_and_reasoning_as_m():
    roles = ["context", "mechanism-resource", "mechanism-reasoning", "outcome", "none"]
    preds = [_pred({"context": 0.6, "outcome": 0.4}),
             _pred({"mechanism-resource": 0.5, "outcome": 0.5}),       # tie M/O: M is listed first
             _pred({"context": 0.4, "mechanism-resource": 0.3, "mechanism-reasoning": 0.3}),  # M = 0.6
             _pred({"context": 0.7, "outcome": 0.3}),                  # outcome read as context
             _pred({"none": 1.0})]                                     # gold none: not a CMO unit
    s = cmo_scores(roles, preds)
    # 3-way: C tp1 fp1 -> F1 2/3; M tp2 -> 1; O fn1 -> 0; macro (2/3 + 1 + 0) / 3
    assert s["cmo"]["n"] == 4 and s["cmo"]["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3, abs=1e-4)
    # 5-way argmax: context right, resource right, reasoning -> context (wrong), outcome -> context (wrong)
    # context P 1/3 R 1 -> F1 0.5; resource 1; reasoning 0; outcome 0 -> macro 1.5 / 4
    assert s["role5"]["macro_f1"] == pytest.approx(1.5 / 4, abs=1e-4)


def test_paper_scores_by_hand():
    ids = ["a", "b"]
    papers = ["p1", "p1", "p2", "p2"]
    truth = [{"a"}, set(), {"b"}, set()]
    probs = np.array([[0.9, 0.1], [0.2, 0.6], [0.1, 0.4], [0.3, 0.2]])
    s = paper_scores(papers, truth, probs, ids, 0.5)
    # max scores: p1 a 0.9 (true), p1 b 0.6 (false), p2 a 0.3 (false), p2 b 0.4 (true)
    # AUC: true {0.9, 0.4} vs false {0.6, 0.3}: pairs won 0.9>0.6, 0.9>0.3, 0.4>0.3; lost 0.4<0.6 -> 3/4
    assert s["max"]["auc"] == 0.75
    assert s["max"]["recall"] == 0.5 and s["max"]["precision"] == 0.5   # at 0.5: 0.9 (tp), 0.6 (fp)
    # top-3 mean (two units per paper): p1 a 0.55, p1 b 0.35, p2 a 0.2, p2 b 0.3 -> true {0.55, 0.3}
    # vs false {0.35, 0.2}: 3 of 4 pairs won -> 0.75; nothing reaches 0.5 but 0.55
    assert s["top3"]["auc"] == 0.75 and s["top3"]["recall"] == 0.5 and s["top3"]["precision"] == 1.0
    assert (s["n_papers"], s["n_pairs"], s["n_true_pairs"]) == (2, 4, 2)
    # papers resampled: p1 twice or p2 twice separate perfectly (AUC 1), one of each gives 0.75
    assert s["max"]["auc_ci"] == [0.75, 1.0]
    assert paper_scores(["p1", "p1"], truth[:2], probs[:2], ids, 0.5)["max"]["auc_ci"] is None  # one paper


def test_evidence_ranking_by_hand():
    from mechcode.models.evaluation.protocols import evidence_ranking

    papers = ["p", "p", "p", "p", "q", "q"]
    truth = [{"a"}, set(), {"a", "b"}, set(), {"a"}, set()]
    probs = np.array([[0.9, 0.1, 0.5], [0.2, 0.6, 0.5], [0.1, 0.4, 0.5], [0.3, 0.2, 0.5], [0.05, 0.0, 0.5],
                      [0.01, 0.0, 0.5]])
    # a in p: 0.9, 0.1 against 0.2, 0.3 -> 2 of 4 pairs won -> 0.5; a in q: 0.05 > 0.01 -> 1; a = 0.75
    # b in p: 0.4 against 0.1, 0.6, 0.2 -> 2/3; q has no b; c is never coded: left out
    r = evidence_ranking(papers, truth, probs, ["a", "b", "c"])
    assert r == {"mechanism_auc": round((0.75 + 2 / 3) / 2, 4), "n_mechanisms_ranked": 2}
    # pooled, q's low scores (another fold's model) would count against a (5 of 9 pairs); within papers not
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score([bool(t & {"a"}) for t in truth], probs[:, 0]) == pytest.approx(5 / 9)
    assert evidence_ranking(papers, [set()] * 6, probs, ["a", "b"]) == {"mechanism_auc": None,
                                                                        "n_mechanisms_ranked": 0}


def _box_rows():
    rows = []
    for box, ref in ((1, "10"), (2, "20"), (3, "10")):
        rows.append({"id": f"n{box}", "text": f"Narrative of box {box}.", "group": f"box{box}", "box": box,
                     "box_ref": ref, "rule": "box-narrative", "mechanisms": ["building-trust"]})
        for k, role in enumerate(("context", "mechanism-resource", "outcome")):
            rows.append({"id": f"b{box}-{k}", "text": f"Segment {k} of box {box}.", "group": f"box{box}",
                         "box": box, "box_ref": ref, "rule": "box-chain", "role": role, "polarity": "+",
                         "mechanisms": ["building-trust"]})
    rows += [{"id": f"m{i}", "text": f"Methods sentence {i}.", "group": f"p{i}", "role": "outcome",
              "mechanisms": []} for i in range(4)]
    return rows


def test_box_folds_hold_out_boxes_of_one_study_together():
    folds = box_folds(_box_rows())
    assert [f.name for f in folds] == ["boxes 1,3", "boxes 2"]
    first = folds[0]
    assert {u.id for u in first.test} == {"b1-0", "b1-1", "b1-2", "b3-0", "b3-1", "b3-2"}
    # no unit of box 1 or 3 trains (narratives included); box 2 and the methods do
    assert {u.id for u in first.pool} == {"n2", "b2-0", "b2-1", "b2-2", "m0", "m1", "m2", "m3"}


def test_transfer_roles_majority_by_hand(codebook):
    rep = transfer_roles(_box_rows(), codebook, [MAJ, KW], fractions=(0.0, 1.0))
    curve = rep["parts"]["boxes"]["curve"]
    # fraction 0: majority has no labels -> uniform roles -> argmax = context for every unit:
    # C: P 1/3 R 1 -> F1 0.5; M, O: 0 -> macro 0.5 / 3
    assert curve[0]["results"]["majority"]["cmo_macro_f1"] == pytest.approx(0.5 / 3, abs=1e-4)
    # fraction 1, fold "boxes 1,3" trains on box 2 (C, M, O) + 4 outcome methods -> predicts outcome;
    # fold "boxes 2" trains on boxes 1, 3 + methods: outcome 2 + 4 of 10 -> outcome. All 9 -> outcome:
    # O: P 1/3 R 1 -> 0.5; macro 0.5 / 3
    assert curve[1]["results"]["majority"]["cmo_macro_f1"] == pytest.approx(0.5 / 3, abs=1e-4)
    assert curve[1]["train_units"] == pytest.approx((8 + 12) / 2)
    assert rep["summary"]["boxes"]["keyword"]["n"] == 9


def test_primer_is_left_out_one_domain_at_a_time(codebook):
    primer = [{"id": f"{d}{k}", "text": t, "domain": d, "role": r, "polarity": "+"}
              for d in ("housing", "schools") for k, (t, r) in enumerate(
                  [("When tenants had a setting of support", "context"),
                   ("Staff felt trust and believed in it", "mechanism-reasoning"),
                   ("Rents were reduced and outcomes improved", "outcome")])]
    rep = transfer_roles(_box_rows(), codebook, [KW], primer=primer, fractions=(1.0,))
    part = rep["parts"]["primer"]
    assert [f["name"] for f in part["folds"]] == ["domain housing", "domain schools"]
    # the keyword rule reads "setting" -> C, "felt/trust/believed" -> M, "reduced/outcomes/improved" -> O
    assert part["curve"][0]["results"]["keyword"]["cmo_macro_f1"] == 1.0
    # a backend that loads the primer itself is told which domain is held out
    from mechcode.models.evaluation.protocols import domain_folds
    from mechcode.models.evaluation.transfer import environment

    folds = domain_folds(primer, _box_rows(), train_on_primer=False)
    assert folds[0].env == {"MECHCODE_PRIMER_EXCLUDE": "housing"}
    assert not any(u.id.startswith("schools") for u in folds[0].pool)
    import os

    with environment(folds[1].env):
        assert os.environ["MECHCODE_PRIMER_EXCLUDE"] == "schools"
    assert "MECHCODE_PRIMER_EXCLUDE" not in os.environ


def test_take_groups_is_nested_by_whole_groups():
    pool = [LabelledUnit(f"u{i}", "t", group=f"g{i // 2}") for i in range(10)]  # 5 groups of 2
    order = group_order(pool, seed=0, salt=0)
    assert take_groups(pool, 0.0, order) == []
    small, big = take_groups(pool, 0.1, order), take_groups(pool, 0.5, order)
    assert len(small) == 2 and len(big) == 6 and {u.id for u in small} <= {u.id for u in big}
    assert len(take_groups(pool, 1.0, order)) == 10


def _primary_rows():
    rows = []
    for p, n in (("A", 2), ("B", 3), ("C", 4)):
        for i in range(n):
            trust = i == 0
            rows.append({"id": f"{p}{i}", "text": ("Partners built trust over time." if trust
                                                   else f"Patients were recruited in clinic {p}{i}."),
                         "paper": p, "group": f"{p}-para{i}", "mechanisms": ["building-trust"] if trust else [],
                         "role": "mechanism-reasoning" if trust else "none", "polarity": "+" if trust else None})
    return rows


def test_primary_studies_leave_one_paper_out(codebook):
    sources = [{"id": f"s{i}", "text": f"Search sentence {i}.", "group": f"s{i}", "mechanisms": [],
                "role": "none"} for i in range(5)]
    rep = primary_studies(_primary_rows(), codebook, [MAJ, KW], sources, fractions=(0.0, 1.0))
    cold, full = rep["curve"]
    # trained on the 5 sources only, then + all other papers: mean (7 + 6 + 5) / 3 = 6 more
    assert cold["train_units"] == 5 and full["train_units"] == 11
    # the keyword rule flags "trust" (building-trust) in the first sentence of each paper and nothing else:
    # papers x mechanisms: 3 true pairs (building-trust), all found at 0.5, no false pair
    kw = full["results"]["keyword"]["paper"]["max"]
    assert (kw["recall"], kw["precision"], kw["auc"]) == (1.0, 1.0, 1.0)
    # majority trained on sources alone says "no mechanism" everywhere: recall 0
    assert cold["results"]["majority"]["paper"]["max"]["recall"] == 0.0
    assert rep["summary"]["cold"]["keyword"]["mechanism_macro_f1"] == 1.0


def test_off_topic_share_per_paper(codebook):
    units = [LabelledUnit("1", "The power of the laser was varied.", paper="physics"),
             LabelledUnit("2", "Samples were cooled to 4 K.", paper="physics"),
             LabelledUnit("3", "Frogs were measured at night.", paper="frogs"),
             LabelledUnit("4", "Fangs grew longer in males.", paper="frogs")]
    rep = off_topic(units, codebook, [KW, MAJ], [])
    # "power" matches sharing-power's name: 1 of 2 physics sentences, 0 of 2 frog sentences
    kw = rep["results"]["keyword"]
    assert kw["share"] == 0.25 and kw["per_paper"]["physics"]["share"] == 0.5
    assert kw["per_paper"]["frogs"]["flagged"] == 0
    assert rep["results"]["majority"]["share"] == 0.0


def test_cli_transfer_roles_and_errors(tmp_path):
    _, cb = md.write(tmp_path)
    data = tmp_path / "boxes.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _box_rows()), encoding="utf-8")
    out = tmp_path / "r.json"
    run = CliRunner().invoke
    r = run(cli, ["evaluate", "--protocol", "transfer-roles", "--data", str(data), "--codebook", str(cb),
                  "--backend", "keyword", "--baselines", "majority", "--fractions", "0,1", "--output", str(out),
                  "--no-track", "-q"])
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text())
    assert rep["protocol"] == "transfer-roles" and set(rep["summary"]) == {"backend", "majority"}
    assert rep["summary"]["majority"]["boxes"]["cmo_macro_f1"] == pytest.approx(0.5 / 3, abs=1e-4)
    assert [p["fraction"] for p in rep["parts"]["boxes"]["curve"]] == [0.0, 1.0]
    r = run(cli, ["evaluate", "--protocol", "off-topic", "--data", str(data), "--codebook", str(cb),
                  "--output", str(out), "--no-track", "-q"])
    assert r.exit_code != 0 and "off-topic needs --papers" in r.output and "Traceback" not in r.output
    r = run(cli, ["evaluate", "--protocol", "transfer-roles", "--data", str(data), "--codebook", str(cb),
                  "--fractions", "0,2", "--output", str(out), "--no-track", "-q"])
    assert r.exit_code == 2 and "[0, 1]" in r.output


def test_off_topic_on_a_shared_pdf_through_the_cli(pdf_dir, tmp_path):
    """A physics paper: units are the store's sentences, the paper id is the file stem."""
    from mechcode.models.evaluation.protocols import pdf_units

    pdf = pdf_dir / "atoms2016_positron_scattering.pdf"
    units = pdf_units([pdf], tmp_path / "cache")
    assert len(units) > 50 and {u.paper for u in units} == {"atoms2016_positron_scattering"}
    assert all(u.text.strip() and u.text in u.context for u in units)
    data, cb = md.write(tmp_path)
    out = tmp_path / "off.json"
    r = CliRunner().invoke(cli, ["evaluate", "--protocol", "off-topic", "--data", str(data), "--codebook", str(cb),
                                 "--papers", str(pdf), "--extract-cache", str(tmp_path / "cache"), "--backend",
                                 "keyword", "--baselines", "majority", "--output", str(out), "--no-track", "-q"])
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text())
    flagged = sum(any(w.startswith(("share", "shari", "visio", "build", "trust", "power", "gener", "conte"))
                      for w in __import__("re").findall(r"[a-z]+", u.text.lower()) if len(w) > 3) for u in units)
    assert rep["results"]["keyword"]["flagged"] == flagged and rep["n_units"] == len(units)
    assert rep["summary"]["majority"]["share"] == 0.0


def test_cli_primary_studies(tmp_path):
    _, cb = md.write(tmp_path)
    data, src = tmp_path / "primary.jsonl", tmp_path / "sources.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _primary_rows()), encoding="utf-8")
    src.write_text(json.dumps({"id": "s0", "text": "A search sentence.", "mechanisms": [], "role": "none"}) + "\n",
                   encoding="utf-8")
    out = tmp_path / "p.json"
    r = CliRunner().invoke(cli, ["evaluate", "--protocol", "primary-studies", "--data", str(data), "--codebook",
                                 str(cb), "--train-data", str(src), "--backend", "keyword", "--baselines", "majority",
                                 "--fractions", "0,1", "--output", str(out), "--no-track", "-q"])
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text())
    assert rep["n_papers"] == 3 and rep["n_source_units"] == 1
    assert [p["train_units"] for p in rep["curve"]] == [1, 7]  # 1 source unit, + (7 + 6 + 5) / 3 other-paper units
    assert rep["summary"]["backend"]["full"]["paper"]["max"]["recall"] == 1.0
    assert "keyword (primary-studies, no in-domain papers / all other papers)" in r.output


def test_cli_seed_data_counts_as_a_seed_file(tmp_path, monkeypatch):
    """--seed-data trains like a review page's seed file (origin seed, SEED_WEIGHT); --train-data as own codes."""
    from mechcode.models.backends.prior import SEED_WEIGHT, evidence_weight
    from mechcode.models.evaluation import protocols as pr

    _, cb = md.write(tmp_path)
    data, src = tmp_path / "primary.jsonl", tmp_path / "sources.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _primary_rows()), encoding="utf-8")
    src.write_text("".join(json.dumps({"id": f"s{i}", "text": f"Sentence {i} of the seed.", "mechanisms": [],
                                       "role": "none"}) + "\n" for i in range(4)), encoding="utf-8")
    seen, real = [], pr.primary_studies
    monkeypatch.setattr(pr, "primary_studies", lambda rows, cbk, specs, sources, *a, **k:
                        seen.append(pr.as_units(sources)) or real(rows, cbk, specs, sources, *a, **k))
    for flag in ("--train-data", "--seed-data"):
        r = CliRunner().invoke(cli, ["evaluate", "--protocol", "primary-studies", "--data", str(data), "--codebook",
                                     str(cb), flag, str(src), "--backend", "keyword", "--baselines", "majority",
                                     "--fractions", "0", "--output", str(tmp_path / "p.json"), "--no-track", "-q"])
        assert r.exit_code == 0, r.output
    own, seed = seen
    assert {u.origin for u in own} == {None} and {u.origin for u in seed} == {"seed"}
    assert evidence_weight(own, "mechanism") == 4.0
    assert evidence_weight(seed, "mechanism") == 4 * SEED_WEIGHT["mechanism"]


def test_cli_off_topic_data_as_seed(tmp_path, monkeypatch):
    """--data-as-seed trains off-topic on --data as the page would on a seed file (origin seed)."""
    from mechcode.models.base import LabelledUnit
    from mechcode.models.evaluation import protocols as pr

    data, cb = md.write(tmp_path)
    pdf = tmp_path / "other.pdf"
    pdf.write_bytes(b"%PDF-1.4 placeholder: pdf_units is replaced below")
    monkeypatch.setattr(pr, "pdf_units", lambda paths, cache=None: [
        LabelledUnit(id=f"x{i}", text=f"Sentence {i} about fish.", context="", mechanisms=[], paper="other")
        for i in range(3)])
    seen, real = [], pr.off_topic
    monkeypatch.setattr(pr, "off_topic", lambda units, cbk, specs, train, *a, **k:
                        seen.append({u.origin for u in train}) or real(units, cbk, specs, train, *a, **k))
    for extra in ([], ["--data-as-seed"]):
        r = CliRunner().invoke(cli, ["evaluate", "--protocol", "off-topic", "--data", str(data), "--codebook", str(cb),
                                     "--papers", str(pdf), "--backend", "keyword", "--baselines", "majority",
                                     "--output", str(tmp_path / "o.json"), "--no-track", "-q", *extra])
        assert r.exit_code == 0, r.output
    assert seen == [{None}, {"seed"}]
