"""Queue selection and active learning (pure functions), and the loop service over a real store."""
from __future__ import annotations

import random
import threading

import pytest

from _web_review import MECHS, make_review
from mechcode.loop import queue as q
from mechcode.loop import worklog
from mechcode.loop.active import mechanism_counts, select_uncertain, suggested_codes, uncertainty
from mechcode.loop.access import InvalidRequest
from mechcode.loop.service import LoopService
from mechcode.loop.views import context_start, rationale_terms


def sugg(mechs: dict[str, float], role: dict[str, float] | None = None) -> dict:
    return {"mechanisms": {m: mechs.get(m, 0.0) for m in MECHS},
            "role": role or {"context": 0.05, "mechanism-resource": 0.8, "mechanism-reasoning": 0.05,
                             "outcome": 0.05, "none": 0.05},
            "polarity": {"+": 0.7, "-": 0.3}}


def random_suggestions(n: int, seed: int = 0, rare: str | None = None) -> dict[int, dict]:
    """Units 1..n with random probabilities (``rare`` kept low except on a few units)."""
    rng = random.Random(seed)
    out = {}
    for uid in range(1, n + 1):
        probs = {m: rng.random() for m in MECHS}
        if rare:
            probs[rare] = 0.02 * rng.random()
        roles = [rng.random() for _ in range(5)]
        total = sum(roles)
        out[uid] = sugg(probs, dict(zip(q.MODES + ("a", "b"), (r / total for r in roles))))
    return out


# ---------------------------------------------------------------------------- active learning
def test_uncertainty_is_highest_at_the_decision_boundary():
    sure_no = sugg({m: 0.01 for m in MECHS}, {"none": 0.97, "outcome": 0.03})
    sure_yes = sugg({"learning": 0.99}, {"outcome": 0.96, "none": 0.04})
    coin = sugg({"learning": 0.5}, {"outcome": 0.96, "none": 0.04})
    split_role = sugg({"learning": 0.99}, {"outcome": 0.5, "context": 0.48, "none": 0.02})
    assert uncertainty(coin) == pytest.approx(1.0)
    assert uncertainty(split_role) > 0.9
    assert uncertainty(sure_no) < 0.1 and uncertainty(sure_yes) < 0.1
    assert uncertainty(None) == 1.0


def test_suggested_codes_threshold_role_and_polarity():
    s = sugg({"learning": 0.9, "building-trust": 0.6, "sharing-power": 0.49})
    codes = suggested_codes(s, MECHS)
    assert codes == {"mechanisms": ["learning", "building-trust"], "role": "mechanism-resource", "polarity": "+"}
    assert suggested_codes(s, ["building-trust"])["mechanisms"] == ["building-trust"]
    none = suggested_codes(sugg({}, {"none": 0.9, "outcome": 0.1}))
    assert none["role"] == "none" and none["polarity"] is None and none["mechanisms"] == []
    assert suggested_codes(None) == {"mechanisms": [], "role": None, "polarity": None}


def test_select_uncertain_mixes_uncertain_random_and_coverage():
    suggestions = random_suggestions(300, seed=3, rare="sharing-power")
    suggestions[277]["mechanisms"]["sharing-power"] = 0.4  # the best (only plausible) rare example
    counts = {"shared-vision": 20, "building-trust": 20, "learning": 20, "sharing-power": 0}
    picks = select_uncertain(suggestions, suggestions, 20, labelled_counts=counts, mechanisms=MECHS,
                             random_share=0.1, min_examples=5, seed=11)
    ids = [p.unit_id for p in picks]
    assert len(ids) == 20 == len(set(ids))
    reasons = [p.reason for p in picks]
    assert reasons.count("random") == 2
    assert reasons.count("coverage:sharing-power") == 1
    assert ids[reasons.index("coverage:sharing-power")] == 277
    unc = [p for p in picks if p.reason == "uncertain"]
    assert [p.score for p in unc] == sorted((p.score for p in unc), reverse=True)
    # the uncertain picks are the most uncertain units of all (apart from the coverage pick)
    ranked = sorted((u for u in suggestions if u != 277), key=lambda u: -uncertainty(suggestions[u]))
    assert {p.unit_id for p in unc} == set(ranked[:len(unc)])
    # the random share is really random: other seeds draw other units
    other = select_uncertain(suggestions, suggestions, 20, labelled_counts=counts, mechanisms=MECHS, seed=12)
    assert {p.unit_id for p in other if p.reason == "random"} != {p.unit_id for p in picks if p.reason == "random"}
    # same seed, same queue
    again = select_uncertain(suggestions, suggestions, 20, labelled_counts=counts, mechanisms=MECHS, seed=11)
    assert [p.unit_id for p in again] == ids


def test_select_uncertain_without_rare_mechanisms_or_random_share():
    suggestions = random_suggestions(50, seed=1)
    counts = {m: 10 for m in MECHS}
    picks = select_uncertain(suggestions, suggestions, 10, labelled_counts=counts, mechanisms=MECHS,
                             random_share=0.0)
    assert [p.reason for p in picks] == ["uncertain"] * 10
    assert select_uncertain([], suggestions, 10) == []
    assert len(select_uncertain([1, 2, 3], suggestions, 10)) == 3


def test_mechanism_counts():
    rows = [{"mechanisms": ["a", "b"]}, {"mechanisms": ["a"]}, {"mechanisms": []}]
    assert mechanism_counts(rows) == {"a": 2, "b": 1}


# ---------------------------------------------------------------------------- queue modes
def units(n_docs: int = 2, per: int = 5) -> list[dict]:
    return [{"id": d * per + i + 1, "document_id": d + 1, "start": i * 10} for d in range(n_docs) for i in range(per)]


def test_paper_queue_order_coded_and_skipped():
    us = units()
    state = q.QueueState(units=us, suggestions={}, coded={1, 2}, skipped={3}, mechanisms=MECHS)
    assert [p.unit_id for p in q.select(state, "paper", 10)] == [4, 5, 3]
    assert [p.unit_id for p in q.select(state, "paper", 10, paper=2)] == [6, 7, 8, 9, 10]
    state.coded = {1, 2, 4, 5}
    assert [p.unit_id for p in q.select(state, "paper", 10)] == [6, 7, 8, 9, 10]  # only a skipped one left
    state.coded = {u["id"] for u in us}
    assert q.select(state, "paper", 10) == []
    with pytest.raises(q.QueueError):
        q.select(state, "paper", 10, paper=99)


def test_mechanism_queue_ranks_everything_and_marks_the_unlikely():
    us = units()
    sg = {u["id"]: sugg({"learning": u["id"] / 10}) for u in us}
    state = q.QueueState(units=us, suggestions=sg, coded={10}, skipped={8}, mechanisms=MECHS)
    picks = q.select(state, "mechanism", 50, mechanism="learning")
    assert [p.unit_id for p in picks] == [9, 7, 6, 5, 4, 3, 2, 1, 8]  # 10 coded, the skipped 8 last
    # 1 is under the 0.2 floor: still listed (the ranking is the reading order), marked as unlikely
    assert [p.reason for p in picks] == ["mechanism"] * 7 + ["mechanism:below 0.2", "mechanism"]
    assert [p.unit_id for p in q.select(state, "mechanism", 3, mechanism="learning")] == [9, 7, 6]
    del sg[4], sg[5]  # not scored yet (a large review, or no model): after the scored ones, said so
    picks = q.select(state, "mechanism", 50, mechanism="learning")
    assert [(p.unit_id, p.reason) for p in picks][4:] == [(2, "mechanism"), (1, "mechanism:below 0.2"),
                                                          (4, "mechanism:unscored"), (5, "mechanism:unscored"),
                                                          (8, "mechanism")]
    with pytest.raises(q.QueueError, match="needs"):
        q.select(state, "mechanism", 5)
    with pytest.raises(q.QueueError, match="unknown mechanism"):
        q.select(state, "mechanism", 5, mechanism="nope")
    with pytest.raises(q.QueueError, match="limit"):
        q.select(state, "paper", 0)


def test_uncertain_queue_leaves_out_coded_and_skipped():
    us = units(4, 10)
    sg = random_suggestions(40, seed=5)
    state = q.QueueState(units=us, suggestions=sg, coded=set(range(1, 21)), skipped={21, 22},
                         labelled_counts={m: 9 for m in MECHS}, mechanisms=MECHS)
    ids = [p.unit_id for p in q.select(state, "uncertain", 30)]
    assert len(ids) == 18 and not set(ids) & (set(range(1, 21)) | {21, 22})


# ---------------------------------------------------------------------------- views
def test_rationale_terms_from_backend_shapes():
    sparse = [{"task": "mechanism", "label": "learning", "terms": ["joint training", "training"]},
              {"task": "role", "label": "outcome", "terms": ["as a result", "Training"]}]
    assert rationale_terms(sparse) == ["joint training", "training", "as a result"]
    assert rationale_terms({"trust": 0.2, "vision": -0.9}) == ["vision", "trust"]
    assert rationale_terms([("trust", 0.3), {"term": "power"}]) == ["trust", "power"]
    assert rationale_terms(None) == [] and rationale_terms("x") == []


def test_context_start_falls_back_to_search():
    unit = {"text": "b c", "context": "a b c d", "start": 102}
    assert context_start(unit, 100) == 2
    assert context_start(unit, 90) == 2  # wrong passage start: found by search
    assert context_start({"text": "zz", "context": "a b", "start": 0}, None) == -1


# ---------------------------------------------------------------------------- service over a store
@pytest.fixture
def service(tmp_path):
    rv, _ = make_review(tmp_path, n_docs=2)
    return LoopService(rv, reviewer="ann", retrain_every=0, initial_params={"encoder": "tfidf"})


def test_service_skip_undo_and_progress(service):
    rv = service.review
    us = rv.units()
    first = us[0]["id"]
    d = service.decide(first, "skip")
    assert service.queue("paper", limit=200, paper=us[0]["document_id"])["units"][-1]["id"] == first
    service.undo(d["id"])
    assert service.queue("paper", limit=1)["units"][0]["id"] == first
    service.decide(first, "correct", mechanisms=["learning"], role="outcome", polarity="+")
    service.decide(us[1]["id"], "correct", reviewer="bea", mechanisms=["learning"], role="outcome")
    prog = worklog.papers(service, service.reviewer)
    assert prog["total"] == {"units": len(us), "coded": 2, "coded_by_you": 1}
    assert service.status()["labelled"] == 2
    span = rv.add_span(us[0]["document_id"], us[0]["start"], us[1]["end"], "ann")
    with pytest.raises(InvalidRequest, match="nothing to accept"):
        service.decide(span, "accept")  # a new span has no model suggestion yet
    assert len(rv.decisions()) == 4


def test_service_concurrent_decisions_on_one_store(service):
    """Threads of one server (each with its own SQLite connection) never lose a decision."""
    us = [u["id"] for u in service.review.units()]
    ids: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        for uid in us:
            d = service.decide(uid, "correct", reviewer=name, mechanisms=["building-trust"], role="context")
            with lock:
                ids.append(d["id"])

    threads = [threading.Thread(target=work, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 4 * len(us) == len(service.review.decisions())


def test_uncertain_queue_ranks_only_scored_units_when_some_are_scored():
    us = units(2, 10)
    sg = {uid: s for uid, s in random_suggestions(20, seed=2).items() if uid <= 8}
    state = q.QueueState(units=us, suggestions=sg, coded=set(), labelled_counts={m: 9 for m in MECHS},
                         mechanisms=MECHS)
    assert {p.unit_id for p in q.select(state, "uncertain", 20)} == set(range(1, 9))
    state.suggestions = {}
    assert len(q.select(state, "uncertain", 20)) == 20  # nothing scored yet: everything is a candidate


def test_shared_words_skip_common_words():
    from mechcode.loop.views import shared_words

    text = "In order to support staff, leaders built trust between the teams."
    assert shared_words(text, ["Leaders support staff in order to build trust between teams"]) == \
        ["support", "staff", "leaders", "trust", "teams"]


def test_team_list_modes_keep_the_store_order_with_skipped_last():
    state = q.QueueState(units=[], suggestions={}, coded=set(), skipped={3}, listed=[5, 3, 7, 5])
    picks = q.select(state, "adjudicate", 10)
    assert [p.unit_id for p in picks] == [5, 7, 3] and {p.reason for p in picks} == {"adjudicate"}
    assert [p.unit_id for p in q.select(state, "recode", 1)] == [5]
    with pytest.raises(q.QueueError, match="adjudicate, recode"):
        q.select(state, "team", 5)
