"""Agreement figures checked against values computed by hand (in the comments)."""
from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from mechcode.cli import cli
from mechcode.document import Document, Passage, Sentence
from mechcode.store.review import Review
from mechcode.team.agreement import agreement, agreement_summary, alpha, compare, kappa, to_markdown

CODEBOOK = """\
name: Agreement review
version: "1"
mechanisms:
  - id: vision
    name: Shared vision
  - id: trust
    name: Trust
"""


# ----------------------------------------------------------------------------- the statistics alone
def test_kappa_classic_two_by_two():
    # 50 units: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # po = 35/50 = 0.7; P(A yes) = 25/50 = .5, P(B yes) = 30/50 = .6
    # pe = .5*.6 + .5*.4 = .5; kappa = (.7 - .5) / (1 - .5) = 0.4
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert kappa(a, b) == pytest.approx(0.4)
    assert compare(a, b)["percent"] == pytest.approx(70.0)


def test_kappa_and_alpha_small_table():
    # 10 units: both yes 3, A only 1, B only 1, both no 5.
    # kappa: po = .8, pA = pB = .4, pe = .16 + .36 = .52 -> (.8 - .52) / .48 = 7/12
    # alpha (nominal): N = 20 pairable values; coincidences o_yy = 6, o_nn = 10, o_yn = o_ny = 2;
    # n_y = 8, n_n = 12; alpha = 1 - (N - 1) * (o_yn + o_ny) / (2 n_y n_n) = 1 - 19 * 4 / 192 = 29/48
    a = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    b = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    assert kappa(a, b) == pytest.approx(7 / 12)
    assert alpha([a, b]) == pytest.approx(29 / 48)


def test_nominal_three_categories():
    # A: c c o o m m ; B: c o o o m c -> po = 4/6
    # marginals A: 2/6 each; B: c 2/6, o 3/6, m 1/6 -> pe = (1/3)(2/6 + 3/6 + 1/6) = 1/3
    # kappa = (2/3 - 1/3) / (2/3) = 0.5
    # alpha: N = 12, n_c = 4, n_o = 5, n_m = 3, off-diagonal coincidences 4,
    # sum_{c != k} n_c n_k = 144 - (16 + 25 + 9) = 94 -> alpha = 1 - 11 * 4 / 94 = 25/47
    a = list("ccoomm")
    b = list("cooomc")
    assert kappa(a, b) == pytest.approx(0.5)
    assert alpha([a, b]) == pytest.approx(25 / 47)


def test_alpha_missing_values_and_three_coders():
    # the 4th unit has one value only (unpairable, dropped): pairs (1,1) (1,0) (0,0)
    # N = 6, o_11 = 2, o_00 = 2, o_10 = o_01 = 1, n_1 = n_0 = 3 -> 1 - 5 * 2 / (2 * 3 * 3) = 4/9
    assert alpha([[1, 1, 0, None], [1, 0, 0, 1]]) == pytest.approx(4 / 9)
    # three coders on units (1,1,1) (1,1,0) (0,0,0): each ordered pair weighs 1/(3-1)
    # o_11 = 3 + 1 = 4, o_10 = o_01 = 1, o_00 = 3; n_1 = 5, n_0 = 4, N = 9
    # alpha = 1 - 8 * 2 / (2 * 5 * 4) = 0.6
    assert alpha([[1, 1, 0], [1, 1, 0], [1, 0, 0]]) == pytest.approx(0.6)


def test_undefined_values_are_none_not_nan():
    assert kappa([1, 1, 1], [1, 1, 1]) is None and alpha([[1, 1], [1, 1]]) is None
    assert kappa([], []) is None
    assert compare([0, 0], [0, 0]) == {"n": 2, "agree": 2, "percent": 100.0, "kappa": None, "alpha": None}


# ----------------------------------------------------------------------------- through a review
ROLE = {"c": "context", "o": "outcome", "m": "mechanism-resource"}
ANN = {"trust": [1, 1, 1, 1, 0, 0, 0, 0, 0, 0], "role": "ccoomm....", "polarity": "++--......"}
BOB = {"trust": [1, 1, 1, 0, 1, 0, 0, 0, 0, 0], "role": "cooomc....", "polarity": "+---......"}  # "." = none
# polarity on the 4 units where both gave one: A + + - -, B + - - -
# po = 3/4, pA+ = 1/2, pB+ = 1/4 -> pe = 1/8 + 3/8 = 1/2 -> kappa = 0.5
# alpha: N = 8, o_++ = 2, o_-- = 4, o_+- = o_-+ = 1, n_+ = 3, n_- = 5 -> 1 - 7 * 2 / 30 = 8/15
# whole code identical on units 0, 2, 6, 7, 8, 9 -> 6/10


def code(spec: dict, i: int) -> tuple[list[str], str | None, str | None]:
    role, pol = spec["role"][i], spec["polarity"][i]
    return (["trust"] if spec["trust"][i] else []), ROLE.get(role), None if pol == "." else pol


@pytest.fixture
def rv(tmp_path) -> Review:
    (tmp_path / "cb.yaml").write_text(CODEBOOK, encoding="utf-8")
    rv = Review.init(tmp_path / "review", tmp_path / "cb.yaml")
    sentences = [f"Sentence number {i}." for i in range(12)]
    body = " ".join(sentences)
    offs, pos = [], 0
    for s in sentences:
        offs.append(Sentence(pos, pos + len(s), s))
        pos += len(s) + 1
    doc = Document(text=body, passages=[Passage(id=0, kind="paragraph", text=body, page=1, bbox=(0, 0, 1, 1),
                                                start=0, end=len(body), sentences=offs)],
                   content_hash=hashlib.sha256(body.encode()).hexdigest(), file_name="a.pdf", n_pages=1)
    rv.add_document(doc)
    units = [u["id"] for u in rv.units()]
    con = rv.connect()
    con.executemany("INSERT INTO assignments (unit_id, reviewer, batch, created_at) VALUES (?, ?, 1, 'now')",
                    [(u, r) for u in units[:10] for r in ("ann", "bob")])
    for i, uid in enumerate(units[:10]):
        for name, spec in (("ann", ANN), ("bob", BOB)):
            mechs, role, pol = code(spec, i)
            rv.add_decision(uid, name, "correct", mechs, role, pol)
    # not double-coded: both coded units[10] after seeing each other -> left out by default
    rv.add_decision(units[10], "ann", "correct", ["vision"], "context")
    rv.add_decision(units[10], "bob", "correct", ["vision"], "context")
    return rv


def test_reviewer_agreement_matches_hand_values(rv):
    rep = agreement(rv)["reviewers"]
    assert rep["units"] == 10 and len(rep["pairs"]) == 1
    pair = rep["pairs"][0]
    assert pair["reviewers"] == ["ann", "bob"] and pair["n"] == 10
    trust = pair["mechanisms"]["trust"]
    assert (trust["present_a"], trust["present_b"], trust["present_both"]) == (4, 4, 3)
    assert trust["percent"] == pytest.approx(80.0)
    assert trust["kappa"] == pytest.approx(7 / 12) and trust["alpha"] == pytest.approx(29 / 48)
    vision = pair["mechanisms"]["vision"]  # never coded on these units: kappa undefined, full agreement
    assert vision["kappa"] is None and vision["percent"] == 100.0
    assert pair["role"]["n"] == 6 and pair["role"]["kappa"] == pytest.approx(0.5)
    assert pair["role"]["alpha"] == pytest.approx(25 / 47)
    assert pair["polarity"]["n"] == 4 and pair["polarity"]["kappa"] == pytest.approx(0.5)
    assert pair["polarity"]["alpha"] == pytest.approx(8 / 15)
    assert pair["exact"]["agree"] == 6 and pair["exact"]["percent"] == pytest.approx(60.0)
    assert rep["alpha"]["mechanisms"]["trust"] == pytest.approx(29 / 48)  # two coders: same as the pair
    everything = agreement(rv, double_only=False)["reviewers"]
    assert everything["pairs"][0]["n"] == 11


def test_model_agreement_with_threshold(rv):
    units = [u["id"] for u in rv.units()]
    p_trust = [0.9, 0.6, 0.4, 0.2, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1]
    rv.register_model("m1", "sparse", rv.models_dir / "m1")
    rv.add_suggestions("m1", [{"unit_id": u, "mechanisms": {"trust": p, "vision": 0.0},
                               "role": {"context": 0.6, "outcome": 0.4}, "polarity": {"+": 0.7, "-": 0.3}}
                              for u, p in zip(units, p_trust)])
    ann = agreement(rv, threshold=0.5)["model"]["reviewers"][0]
    assert ann["reviewer"] == "ann" and ann["n"] == 10
    # model yes at 0.5: units 0, 1, 4; ann yes: 0-3 -> both 2, ann only 2, model only 1, none 5
    # po = .7, pA = .4, pM = .3, pe = .12 + .42 = .54 -> kappa = .16 / .46 = 8/23
    assert ann["mechanisms"]["trust"]["kappa"] == pytest.approx(8 / 23)
    # the model says context everywhere; ann: c c o o m m -> po = 1/3 = pe -> kappa 0
    assert ann["role"]["kappa"] == pytest.approx(0.0) and ann["role"]["percent"] == pytest.approx(100 / 3)
    # at 0.3 the model also says yes on unit 2: the 3/1/1/5 table again -> 7/12
    low = agreement(rv, threshold=0.3)["model"]["reviewers"][0]
    assert low["mechanisms"]["trust"]["kappa"] == pytest.approx(7 / 12)
    rv.revise_codebook([{"op": "add", "to": ["power"], "name": "Power"}])
    assert agreement(rv)["model"]["stale"]


def test_cli_and_summary(rv, tmp_path):
    out = CliRunner().invoke(cli, ["agreement", str(rv.path), "--format", "json"])
    assert out.exit_code == 0, out.output
    rep = json.loads(out.output)
    assert rep["reviewers"]["pairs"][0]["mechanisms"]["trust"]["kappa"] == pytest.approx(7 / 12)
    md = CliRunner().invoke(cli, ["agreement", str(rv.path), "-o", str(tmp_path / "a.md")])
    text = (tmp_path / "a.md").read_text()
    assert md.exit_code == 0 and "| trust | 10 | 4 / 4 / 3 | 80.0% | 0.583 | 0.604 |" in text
    assert "No reviewer code has a model suggestion" in to_markdown(agreement(rv))
    summary = agreement_summary(rv)
    assert summary["ann vs bob"]["units"] == 10 and summary["ann vs bob"]["role_kappa"] == pytest.approx(0.5)
