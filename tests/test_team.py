"""Team coding: reviewer tokens, double-coding assignments, blind visibility, adjudication, concurrency."""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import threading

import pytest
from click.testing import CliRunner

from mechcode.cli import cli
from mechcode.document import Document, Passage, Sentence
from mechcode.errors import StoreError
from mechcode.store.review import Review
from mechcode.store.assignments import assignments
from mechcode.store.finals import current_codes_all, double_states, final_codes, training_units
from mechcode.team.adjudicate import adjudicate, disagreements
from mechcode.team.assign import assign, blind_units, is_blind, progress, visible_codes
from mechcode.team.reviewers import add_reviewer, authenticate, reviewers

CODEBOOK = """\
name: Team review
version: "1"
mechanisms:
  - id: vision
    name: Shared vision
  - id: trust
    name: Trust
  - id: power
    name: Working with power
"""


def make_doc(n: int, salt: str) -> Document:
    """A one-paragraph document with ``n`` sentences."""
    sentences = [f"Sentence {i} of {salt} about leaders." for i in range(n)]
    body = " ".join(sentences)
    offs, pos = [], 0
    for s in sentences:
        offs.append(Sentence(pos, pos + len(s), s))
        pos += len(s) + 1
    passage = Passage(id=0, kind="paragraph", text=body, page=1, bbox=(0, 0, 1, 1), start=0, end=len(body),
                      sentences=offs)
    return Document(text=body, passages=[passage], content_hash=hashlib.sha256(body.encode()).hexdigest(),
                    file_name=f"{salt}.pdf", n_pages=1)


@pytest.fixture
def rv(tmp_path) -> Review:
    (tmp_path / "cb.yaml").write_text(CODEBOOK, encoding="utf-8")
    rv = Review.init(tmp_path / "review", tmp_path / "cb.yaml")
    for i in range(5):
        rv.add_document(make_doc(4, f"paper{i}"))
    return rv


@pytest.fixture
def team(rv) -> dict[str, str]:
    return {name: add_reviewer(rv, name) for name in ("ann", "bob", "cy")}


# ----------------------------------------------------------------------------- reviewers
def test_tokens_are_personal_hashed_and_reissuable(rv, team):
    assert {authenticate(rv, t) for t in team.values()} == {"ann", "bob", "cy"}
    stored = [r[0] for r in rv.connect().execute("SELECT token_hash FROM reviewers")]
    assert all(h.startswith("sha256:") for h in stored)
    assert not any(t in h or t[3:] in h for t in team.values() for h in stored)  # never in clear
    for bad in (None, "", "mc_wrong", team["ann"] + "x", team["ann"][:-1], 42):
        assert authenticate(rv, bad) is None
    with pytest.raises(StoreError, match="already exists"):
        add_reviewer(rv, "ann")
    new = add_reviewer(rv, "ann", new_token=True)
    assert authenticate(rv, new) == "ann" and authenticate(rv, team["ann"]) is None
    with pytest.raises(StoreError, match="reserved"):
        add_reviewer(rv, "codebook-migration")
    with pytest.raises(StoreError, match="must be 1-64"):
        add_reviewer(rv, "a/b")


def test_cli_reviewer_add_prints_the_token_once(rv):
    out = CliRunner().invoke(cli, ["reviewer", "add", str(rv.path), "dee"])
    assert out.exit_code == 0, out.output
    token = out.stdout.strip().splitlines()[-1]
    assert authenticate(rv, token) == "dee"
    listed = CliRunner().invoke(cli, ["reviewer", "list", str(rv.path), "--format", "json"])
    assert [r["name"] for r in json.loads(listed.stdout)] == ["dee"] and token not in listed.output
    again = CliRunner().invoke(cli, ["reviewer", "add", str(rv.path), "dee"])
    assert again.exit_code == 2 and "already exists" in again.output


# ----------------------------------------------------------------------------- assignments
def test_assign_by_paper_is_seeded_balanced_and_tops_up(rv, team):
    first = assign(rv, 0.4, by="paper", reviewers=["ann", "bob"], seed=3)
    assert first["added"] == 2 and first["double_coded"] == 2 and first["pairs"] == {"ann+bob": 2}
    double = assignments(rv)
    assert len(double) == 8 and set(double.values()) == {("ann", "bob")}  # 2 papers x 4 units
    assert assign(rv, 0.4, by="paper")["added"] == 0  # already at the share
    more = assign(rv, 1.0, by="paper", seed=3)
    assert more["added"] == 3 and sum(more["pairs"].values()) == 3
    assert len(assignments(rv)) == rv.count_units()
    # a span added later to a double-coded paper is double-coded too
    doc = rv.documents()[0]["id"]
    span = rv.add_span(doc, 0, 10, created_by="ann")
    assert span in assignments(rv)


def test_assign_is_repeatable_with_a_seed(tmp_path, rv, team):
    other = Review.init(tmp_path / "other", rv.codebook_path)
    for i in range(5):
        other.add_document(make_doc(4, f"paper{i}"))
    for name in ("ann", "bob", "cy"):
        add_reviewer(other, name)
    a = assign(rv, 0.5, by="unit", seed=7)
    b = assign(other, 0.5, by="unit", seed=7)
    assert a == b and a["double_coded"] == 10
    assert sorted(assignments(rv).items()) == sorted(assignments(other).items())


@pytest.mark.parametrize("kwargs, match", [
    ({"share": 0.0}, "in \\(0, 1\\]"), ({"share": 0.5, "by": "word"}, "--by"),
    ({"share": 0.5, "reviewers": ["ann", "zed"]}, "unknown reviewer"),
    ({"share": 0.5, "reviewers": ["ann"]}, "at least two"),
])
def test_assign_errors(rv, team, kwargs, match):
    with pytest.raises(StoreError, match=match):
        assign(rv, **kwargs)


def test_cli_assign(rv, team):
    out = CliRunner().invoke(cli, ["assign", str(rv.path), "--double", "0.2", "--reviewers", "ann,bob"])
    assert out.exit_code == 0, out.output
    assert "double coding: 1 of 5 papers" in out.output and "ann & bob: 1" in out.output
    bad = CliRunner().invoke(cli, ["assign", str(rv.path), "--double", "0.2", "--reviewers", "ann"])
    assert bad.exit_code == 2 and "at least two reviewers" in bad.output


# ----------------------------------------------------------------------------- blind coding
@pytest.fixture
def coded(rv, team):
    """Paper 1 double-coded by ann and bob; paper 2 single-coded."""
    docs = [d["id"] for d in rv.documents()]
    con = rv.connect()
    con.executemany("INSERT INTO assignments (document_id, reviewer, batch, created_at) VALUES (?, ?, 1, 'now')",
                    [(docs[0], "ann"), (docs[0], "bob")])
    d1, d2 = rv.units(docs[0]), rv.units(docs[1])
    u = [x["id"] for x in d1]
    rv.add_decision(u[0], "ann", "correct", ["trust"], "outcome", "+")       # agree
    rv.add_decision(u[0], "bob", "correct", ["trust"], "outcome", "+")
    rv.add_decision(u[1], "ann", "correct", ["trust"], "outcome", "+")       # disagree
    rv.add_decision(u[1], "bob", "correct", ["power"], "context")
    rv.add_decision(u[2], "ann", "correct", ["vision"], "context")           # only ann so far
    rv.add_decision(u[3], "ann", "reject")                                   # disagree: reject vs code
    rv.add_decision(u[3], "bob", "accept", ["vision"], "mechanism-resource", "+")
    rv.add_decision(d2[0]["id"], "cy", "correct", ["power"], "context")      # single-coded
    return {"double": u, "single": [x["id"] for x in d2]}


def test_states_visibility_and_training(rv, coded):
    u, s = coded["double"], coded["single"][0]
    states = double_states(rv)
    assert [states[x]["state"] for x in u] == ["agreed", "disagree", "open", "disagree"]
    assert progress(rv) == {"double_coded": 4, "open": 1, "disagree": 2, "agreed": 1, "adjudicated": 0}
    assert blind_units(rv) == {u[1], u[2], u[3]}
    assert [is_blind(rv, x) for x in u] == [False, True, True, True] and not is_blind(rv, s)

    bob = visible_codes(rv, "bob")
    assert bob[u[0]]["visibility"] == "final" and bob[s]["visibility"] == "shared"
    assert bob[u[1]]["visibility"] == "own" and bob[u[1]]["mechanisms"] == ["power"]  # never ann's code
    assert u[2] not in bob  # ann coded it, bob has not: nothing to see
    assert visible_codes(rv, "ann")[u[2]]["mechanisms"] == ["vision"]
    cy = visible_codes(rv, "cy")
    assert set(cy) == {u[0], s}  # a third reviewer sees final and shared codes only

    train = {t["id"]: t for t in training_units(rv)}
    assert set(train) == {u[0], s}  # never one side of an unresolved double-coded unit
    assert rv.labelled_units() == training_units(rv)  # the retrain loop gets the same
    assert set(final_codes(rv)) == {u[0], s}


def test_adjudication_queue_and_decision(rv, coded):
    u = coded["double"]
    queue = disagreements(rv)
    assert [q["unit_id"] for q in queue] == [u[1], u[3]]
    assert queue[0]["codings"]["ann"]["mechanisms"] == ["trust"] and queue[0]["codings"]["bob"]["role"] == "context"
    assert queue[1]["codings"]["ann"]["action"] == "reject" and queue[0]["unit"]["text"].startswith("Sentence 1")
    with pytest.raises(StoreError, match="waits for bob"):
        adjudicate(rv, u[2], "cy", ["vision"])
    with pytest.raises(StoreError, match="not double-coded"):
        adjudicate(rv, coded["single"][0], "cy", ["vision"])
    n = len(rv.decisions())
    did = adjudicate(rv, u[1], "cy", ["trust", "power"], "outcome", "+", note="discussed")
    assert len(rv.decisions()) == n + 1 and rv.decisions()[-1]["action"] == "adjudicate"
    assert [q["unit_id"] for q in disagreements(rv)] == [u[3]]
    assert disagreements(rv, include_adjudicated=True)[0]["final"]["decision_id"] == did
    assert not is_blind(rv, u[1])
    assert visible_codes(rv, "bob")[u[1]]["mechanisms"] == ["trust", "power"]
    train = {t["id"]: t for t in training_units(rv)}
    assert train[u[1]]["mechanisms"] == ["trust", "power"] and train[u[1]]["role"] == "outcome"
    # a later individual code does not override the adjudication
    rv.add_decision(u[1], "bob", "correct", ["vision"], "context")
    assert final_codes(rv)[u[1]]["decision_id"] == did


def test_undo_reopens_a_unit(rv, coded):
    u = coded["double"]
    last = [d for d in rv.decisions(u[0]) if d["reviewer"] == "bob"][-1]
    rv.undo(last["id"], "bob")
    assert double_states(rv)[u[0]]["state"] == "open" and is_blind(rv, u[0])
    assert u[0] not in {t["id"] for t in training_units(rv)}


# ----------------------------------------------------------------------------- concurrency
N_WRITERS, N_EACH = 4, 25


def _write_decisions(path: str, name: str, unit_ids: list[int]) -> None:
    rv = Review.open(path)  # its own connection
    for i, uid in enumerate(unit_ids):
        rv.add_decision(uid, name, "correct", [("vision", "trust", "power")[i % 3]], "context")
    rv.close()


def test_parallel_reviewers_lose_no_decision(rv, team):
    for i in range(5, 10):
        rv.add_document(make_doc(10, f"more{i}"))
    units = [u["id"] for u in rv.units()]
    assign(rv, 0.5, by="unit", reviewers=["ann", "bob"], seed=1)
    before = len(rv.decisions())
    names = [f"t{i}" for i in range(N_WRITERS)]
    threads = [threading.Thread(target=_write_decisions, args=(str(rv.path), n, units[:N_EACH])) for n in names]
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no SQLite state inherited
    procs = [ctx.Process(target=_write_decisions, args=(str(rv.path), n, units[:N_EACH]))
             for n in ("ann", "bob", "cy")]
    for w in threads + procs:
        w.start()
    for w in threads + procs:
        w.join(timeout=120)
    assert all(p.exitcode == 0 for p in procs)
    fresh = Review.open(rv.path)
    events = fresh.decisions()
    assert len(events) - before == (N_WRITERS + 3) * N_EACH
    per = {n: sum(e["reviewer"] == n for e in events) for n in names + ["ann", "bob", "cy"]}
    assert set(per.values()) == {N_EACH}
    assert len({e["id"] for e in events}) == len(events)
    for n in ("ann", "bob"):
        assert len(fresh.current_codes(n)) == N_EACH
    assert {q["unit_id"] for q in disagreements(fresh)} == set()  # ann and bob coded identically: agreed


def test_one_pass_codes_equal_the_store_derivation(rv, coded):
    """current_codes_all (one pass, used for visibility and training) == Review.current_codes per view."""
    u = coded["double"]
    adj = rv.add_decision(u[1], "ann", "adjudicate", ["vision"], "context")
    rv.add_decision(u[1], "ann", "correct", ["power"], "outcome")  # the adjudication still outranks
    rv.undo(rv.add_decision(u[2], "bob", "correct", ["trust"], "context"), "bob")
    rv.revise_codebook([{"op": "rename", "from": "trust", "to": "trust-2"}])
    codes, own = current_codes_all(rv)
    assert codes == rv.current_codes() and codes[u[1]]["decision_id"] == adj
    assert set(own) == {"ann", "bob", "cy"}
    for name, mine in own.items():
        assert mine == rv.current_codes(name)
    assert own["ann"][u[1]]["decision_id"] == adj and codes[u[0]]["mechanisms"] == ["trust-2"]
