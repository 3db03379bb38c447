"""A retrain scores the units the queues show next, swaps the model in, then scores the rest.

Checked between the two phases (``RetrainScheduler.on_swap``): the first queue page carries the
new version's suggestions while other units are not scored yet, ranking modes answer without
scoring everything in the request, and after the retrain every unit has a suggestion.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _web_review import make_review  # noqa: E402

from mechcode.loop import worklog  # noqa: E402
from mechcode.loop.service import LoopService  # noqa: E402
from mechcode.loop.training import load_seed_data  # noqa: E402


@pytest.fixture()
def loop(tmp_path):
    rv, seed = make_review(tmp_path, n_docs=6, n_par=8)  # 6 papers x 8 paragraphs x 4 sentences
    svc = LoopService(rv, reviewer="ann", retrain_every=0, seed_units=load_seed_data(seed, rv.codebook))
    first = svc.queue("paper", limit=5)  # creates the initial model
    svc.ensure_suggestions(svc.units())  # which has scored every unit
    return rv, svc, first["model_version"]


def n_scored(rv, version: str) -> int:
    return rv.connect().execute("SELECT COUNT(*) FROM suggestions WHERE model_version = ?",
                                (version,)).fetchone()[0]


def test_first_page_served_by_new_model_before_the_rest_is_scored(loop):
    rv, svc, old = loop
    done = [u["id"] for u in svc.queue("paper", limit=3)["units"]]
    for uid in done:  # the reviewer moves on: three decisions
        svc.decide(uid, "correct", mechanisms=["learning"], role="outcome")
    seen = {}

    def between(version: str) -> None:
        before = n_scored(rv, version)
        page = svc.queue("paper", limit=20)
        seen.update(version=version, before=before, after=n_scored(rv, version), page=page,
                    uncertain=svc.queue("uncertain", limit=10), partial=svc.serving.partial,
                    fallback=svc.serving.fallback, latest=rv.latest_model()["version"],
                    stop_probs=len(worklog._probabilities(svc, None)))

    svc.retrainer.on_swap = between
    row = svc.retrainer.run_once()
    assert row["status"] == "ok", row
    new, total = row["model_version"], rv.count_units()
    assert new != old and seen["version"] == new
    assert seen["partial"] and seen["fallback"] == old and seen["latest"] == old  # registered once complete
    assert 20 <= seen["before"] < total  # the queue's next units scored, most of the review not yet
    assert seen["after"] == seen["before"]  # the first page needed no scoring on demand
    assert seen["stop_probs"] == total  # the stop signal counts unscored units by the previous model
    page = seen["page"]
    assert page["model_version"] == new and len(page["units"]) == 20
    assert all(u["suggestion"]["model_version"] == new for u in page["units"])
    assert not set(done) & {u["id"] for u in page["units"]}  # the page as the reviewer sees it now
    # a ranking mode in the window shows new-version suggestions and scores only what it shows
    assert seen["uncertain"]["model_version"] == new and seen["uncertain"]["units"]
    assert all(u["suggestion"]["model_version"] == new for u in seen["uncertain"]["units"])
    # afterwards: complete, registered, every unit scored, the cache reloaded
    assert not svc.serving.partial and svc.serving.fallback is None
    assert rv.latest_model()["version"] == new and n_scored(rv, new) == total
    assert rv.latest_model()["card"]["metrics"]["holdout"]["n_test"] > 0  # fitted after the swap
    assert row["metrics"]["holdout"] == rv.latest_model()["card"]["metrics"]["holdout"]
    assert rv.latest_model()["card"]["hyperparameters"]["refit_share"] == 0.1  # heads-only when it can
    training = rv.latest_model()["card"]["metrics"]["training"]  # also scored after the swap
    assert 0.0 < training["role_macro_f1"] <= 1.0 and 0.0 <= training["ece_role"] <= 1.0
    assert len(svc.suggestions(new)) == total
    assert svc.retrainer.timings["swapped"] <= svc.retrainer.timings["scored"]


def test_next_units_follow_the_latest_queue_request(loop):
    rv, svc, _ = loop
    papers = sorted({u["document_id"] for u in rv.units()})
    svc.queue("paper", limit=5, paper=papers[3])
    nxt = svc.next_units(per_queue=30)
    by_id = {u["id"]: u for u in rv.units()}
    assert len(nxt) == 30 and {by_id[i]["document_id"] for i in nxt} == {papers[3]}
    first, rest = svc.retrainer.score_order()
    assert [u["id"] for u in first[:30]] == nxt
    assert len(first) + len(rest) == rv.count_units() and not {u["id"] for u in first} & {u["id"] for u in rest}


def test_a_failing_priority_question_only_loses_the_priority(loop):
    rv, svc, _ = loop

    def broken() -> list[int]:
        raise RuntimeError("queue unavailable")

    real = rv.units()[-1]["id"]
    svc.retrainer.first_units = lambda: [10 ** 9, real, real]  # unknown and repeated ids
    assert [u["id"] for u in svc.retrainer.first_batch()] == [real]
    svc.retrainer.first_units = broken
    assert svc.retrainer.first_batch() == []
    row = svc.retrainer.run_once()
    assert row["status"] == "ok"
    assert n_scored(rv, row["model_version"]) == rv.count_units()


def test_rest_failing_keeps_new_model_serving_and_scores_on_demand(loop):
    rv, svc, old = loop

    def boom(version: str) -> None:
        raise RuntimeError("disk full")

    svc.retrainer.on_swap = boom
    row = svc.retrainer.run_once()
    new = row["model_version"]
    assert row["status"] == "ok" and "remaining units failed" in row["metrics"]["warning"]
    assert svc.serving.version == new and not svc.serving.partial
    assert rv.latest_model()["version"] == new and n_scored(rv, new) < rv.count_units()
    page = svc.queue("paper", limit=5, paper=sorted({u["document_id"] for u in rv.units()})[-1])
    assert all(u["suggestion"]["model_version"] == new for u in page["units"])
