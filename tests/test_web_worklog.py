"""The reviewer page as a place to work for a week, through HTTP: explicit decisions, history
with server-side undo, search and jump, clean units, ranges rejected in one action, the stop
signal and the retrain counter."""
from __future__ import annotations

import httpx
import pytest

from _web_review import TOKEN, ThreadServer, auth, make_review
from mechcode.loop.service import LoopService
from mechcode.team.reviewers import add_reviewer
from mechcode.web.app import create_app

A = {"mechanisms": ["learning"], "role": "outcome", "polarity": "+"}
B = {"mechanisms": ["building-trust"], "role": "context", "polarity": "-"}


@pytest.fixture
def site(tmp_path):
    rv, _ = make_review(tmp_path, n_docs=2, extra="Objectives.")
    tokens = {name: add_reviewer(rv, name) for name in ("ann", "bob")}
    svc = LoopService(rv, reviewer="lead", retrain_every=3, initial_params={"encoder": "tfidf"})
    with ThreadServer(create_app(svc, TOKEN)) as server:
        clients = {n: httpx.Client(base_url=server.url, headers=auth(t), timeout=120) for n, t in tokens.items()}
        try:
            yield {"rv": rv, "svc": svc, "url": server.url, "tokens": tokens, **clients}
        finally:
            for c in clients.values():
                c.close()
    svc.retrainer.wait(60)


def units_of(rv, doc=None):
    return [u for u in rv.units() if doc is None or u["document_id"] == doc]


def code(client, unit_id, action="correct", **codes):
    return client.post("/api/decisions", json={"unit_id": unit_id, "action": action, **codes})


def test_saving_nothing_is_refused_and_stores_nothing(site):
    ann, rv = site["ann"], site["rv"]
    uid = ann.get("/api/queue").json()["units"][0]["id"]
    r = code(ann, uid)
    assert r.status_code == 400 and "choose a mechanism or a role" in r.json()["error"]
    assert rv.decisions() == []


def test_history_pages_filters_and_undo_after_reload(site):
    ann, rv, url = site["ann"], site["rv"], site["url"]
    u = [x["id"] for x in ann.get("/api/queue", params={"limit": 4}).json()["units"]]
    first = code(ann, u[0], **A).json()
    second = code(ann, u[0], **B).json()
    code(ann, u[1], "reject")
    code(ann, u[2], "skip")
    page = ann.get("/api/history", params={"limit": 2}).json()
    assert [(i["unit_id"], i["action"]) for i in page["items"]] == [(u[2], "skip"), (u[1], "reject")]
    assert page["items"][0]["text"] == rv.unit(u[2])["text"] and page["items"][0]["created_at"]
    rest = ann.get("/api/history", params={"limit": 2, "before": page["next_before"]}).json()["items"]
    assert [i["id"] for i in rest] == [second["id"], first["id"]]
    assert rest[0]["before"]["mechanisms"] == A["mechanisms"] and rest[0]["after"]["mechanisms"] == B["mechanisms"]
    assert rest[1]["before"] is None and rest[1]["suggestion"] is not None  # the suggestion ann saw
    assert [i["id"] for i in ann.get("/api/history", params={"action": "reject"}).json()["items"]] == [
        page["items"][1]["id"]]
    assert [i["id"] for i in ann.get("/api/history", params={"mechanism": "learning"}).json()["items"]] == [
        first["id"]]
    other = units_of(rv)[-1]["document_id"]
    assert ann.get("/api/history", params={"paper": other}).json()["items"] == []
    # a "reload": a new client with the same token undoes the correction from the history
    with httpx.Client(base_url=url, headers=auth(site["tokens"]["ann"]), timeout=60) as again:
        undo = again.post(f"/api/decisions/{second['id']}/undo").json()
    assert undo["restored"]["source"] == "previous" and undo["restored"]["mechanisms"] == A["mechanisms"]
    assert rv.current_codes("ann")[u[0]]["mechanisms"] == A["mechanisms"]
    again = ann.post(f"/api/decisions/{first['id']}/undo").json()
    assert again["restored"] is None or again["restored"]["source"] == "suggestion"
    assert u[0] not in rv.current_codes("ann")
    flags = {i["id"]: i["undone"] for i in ann.get("/api/history").json()["items"]}
    assert flags[first["id"]] and flags[second["id"]] and not flags[page["items"][1]["id"]]
    # re-open the unit and change it: a new decision event
    item = ann.get(f"/api/units/{u[1]}/item").json()
    assert item["own"]["action"] == "reject" and item["text"] == rv.unit(u[1])["text"]
    assert code(ann, u[1], **A).status_code == 201 and rv.current_codes("ann")[u[1]]["action"] == "correct"
    assert site["bob"].get("/api/history", params={"reviewer": "ann"}).status_code == 403
    assert ann.get("/api/history", params={"action": "bogus"}).status_code == 400


def test_undone_decisions_do_not_count_toward_retraining(site):
    ann, svc = site["ann"], site["svc"]
    u = [x["id"] for x in ann.get("/api/queue", params={"limit": 3}).json()["units"]]
    d0 = code(ann, u[0], **A).json()
    code(ann, u[1], "reject")
    ann.post(f"/api/decisions/{d0['id']}/undo")
    assert ann.get("/api/status").json()["since_retrain"] == 1
    code(ann, u[2], **B)
    st = ann.get("/api/status").json()
    assert st["since_retrain"] == 2 and st["last_retrain"] is None and not st["retrain_running"]
    trained = {x.id for x in svc.retrainer.training_units()}
    assert str(u[0]) not in trained and {str(u[1]), str(u[2])} <= trained


def test_search_jump_and_open_a_hit(site):
    ann, rv = site["ann"], site["rv"]
    hits = ann.get("/api/search", params={"q": "trust"}).json()
    assert hits["total"] > 0 and all("trust" in h["text"].lower() for h in hits["hits"])
    assert {"document_id", "page", "section", "start"} <= set(hits["hits"][0])
    stem = "partn"  # the last word is a prefix ("partnership")
    prefix = ann.get("/api/search", params={"q": stem}).json()
    assert prefix["total"] == sum(stem in u["text"].lower() for u in rv.units()) > 0
    both = ann.get("/api/search", params={"q": "leader introduced"}).json()  # every word must match
    assert both["total"] == sum("leader" in u["text"].lower() and "introduced" in u["text"]
                                for u in rv.units()) > 0
    doc = hits["hits"][0]["document_id"]
    only = ann.get("/api/search", params={"q": "trust", "paper": doc}).json()["hits"]
    assert only and {h["document_id"] for h in only} == {doc}
    odd = ann.get("/api/search", params={"q": '"trust AND (NEAR'})  # FTS5 syntax is plain text here
    assert odd.status_code == 200
    assert ann.get("/api/search", params={"q": " ;; "}).status_code == 400
    item = ann.get(f"/api/units/{hits['hits'][0]['id']}/item").json()
    assert item["suggestion"] and item["id"] == hits["hits"][0]["id"]
    assert code(ann, item["id"], **A).status_code == 201
    n = rv.count_units()
    added = rv.add_span(doc, 0, 10, "x")  # new units are searchable at once (FTS triggers)
    assert rv.count_units() == n + 1 and any(
        h["id"] == added for h in ann.get("/api/search", params={"q": rv.unit(added)["text"]}).json()["hits"])


def test_span_of_one_sentence_codes_it_and_a_longer_span_supersedes(site):
    ann, rv = site["ann"], site["rv"]
    doc = units_of(rv)[0]["document_id"]
    sents = [u for u in units_of(rv, doc) if u["kind"] == "sentence" and u["text"] != "Objectives."]
    n = rv.count_units()
    one = ann.post("/api/spans", json={"document_id": doc, "start": sents[0]["start"] - 1,
                                       "end": sents[0]["end"], **A}).json()  # a stray space selected too
    assert one["sentence"] and one["unit_id"] == sents[0]["id"] and rv.count_units() == n
    many = ann.post("/api/spans", json={"document_id": doc, "start": sents[1]["start"], "end": sents[3]["end"],
                                        **B}).json()
    assert not many["sentence"] and rv.count_units() == n + 1
    queued = {x["id"] for x in ann.get("/api/queue", params={"paper": doc, "limit": 200}).json()["units"]}
    assert not queued & {sents[1]["id"], sents[2]["id"], sents[3]["id"], sents[0]["id"]}
    assert sents[4]["id"] in queued
    view = {u["id"]: u for u in ann.get(f"/api/papers/{doc}").json()["units"]}
    assert view[sents[2]["id"]]["hidden"] == f"superseded by span {many['unit_id']}"


def test_non_codable_units_stay_in_the_paper_but_out_of_the_queues(site):
    ann, rv = site["ann"], site["rv"]
    label = next(u for u in units_of(rv) if u["text"] == "Objectives.")
    for mode in ("paper", "uncertain"):
        queued = {x["id"] for x in ann.get("/api/queue", params={"mode": mode, "limit": 200,
                                                                  "paper": label["document_id"]}
                                           if mode == "paper" else {"mode": mode, "limit": 200}).json()["units"]}
        assert label["id"] not in queued and queued, mode
    view = {u["id"]: u for u in ann.get(f"/api/papers/{label['document_id']}").json()["units"]}
    assert view[label["id"]]["hidden"] == "not codable: label"
    assert code(ann, label["id"], **A).status_code == 201  # still codable from the paper view


def test_reject_a_section_in_one_action_and_undo_it_as_a_group(site):
    ann, bob, rv = site["ann"], site["bob"], site["rv"]
    doc = units_of(rv)[0]["document_id"]
    first = units_of(rv, doc)[0]["id"]
    code(ann, first, **A)
    r = ann.post("/api/reject-range", json={"document_id": doc, "section": "Findings", "page_from": 1,
                                            "page_to": 1})
    assert r.status_code == 201, r.text
    out = r.json()
    on_page = [u for u in units_of(rv, doc) if u["section"] == "Findings" and u["page"] == 1]
    assert out["rejected"] == len(on_page) - 1 and out["already_coded"] == 1 and out["rejected"] > 0
    codes = rv.current_codes("ann")
    assert codes[first]["action"] == "correct"
    assert all(codes[u]["action"] == "reject" for u in out["unit_ids"])
    assert bob.post(f"/api/batches/{out['batch']}/undo").status_code == 403  # not bob's
    undo = ann.post(f"/api/batches/{out['batch']}/undo").json()
    assert undo["undone"] == out["rejected"]
    assert set(rv.current_codes("ann")) == {first}
    assert ann.post(f"/api/batches/{out['batch']}/undo").json()["undone"] == 0
    assert ann.post("/api/reject-range", json={"document_id": doc}).status_code == 400
    assert ann.post("/api/reject-range", json={"document_id": 999, "section": "x"}).status_code == 404
    assert ann.post("/api/batches/nope/undo").status_code == 404


def test_stop_signal_in_status(site):
    ann, rv, svc = site["ann"], site["rv"], site["svc"]
    svc.retrainer.every = 0
    ann.get("/api/queue", params={"mode": "uncertain"})  # scores every open unit
    st = ann.get("/api/status", params={"mode": "uncertain"}).json()["stop"]
    assert st["coded"] == 0 and st["found"] == 0 and st["remaining"] > 0 and st["unscored"] == 0
    assert not st["stop"] and st["hint"].startswith("Keep coding")
    truth = {u["id"]: ("Data were" in u["text"] or "We searched" in u["text"]) for u in units_of(rv)}
    for uid, is_none in sorted(truth.items(), key=lambda kv: kv[1]):  # evidence first, then the rest
        code(ann, uid, "reject") if is_none else code(ann, uid, **A)
    st = ann.get("/api/status", params={"mode": "uncertain"}).json()["stop"]
    hidden = len(svc.hidden())
    assert st["coded"] == len(truth) - hidden and st["stop"] and st["remaining"] == 0
    assert st["found"] == sum(not v for k, v in truth.items() if k not in svc.hidden())
    mech = ann.get("/api/status", params={"mode": "mechanism", "mechanism": "learning"}).json()["stop"]
    assert mech["mechanism"] == "learning" and mech["per_mechanism"]["learning"] == st["found"]
