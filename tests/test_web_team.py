"""Team coding in the reviewer web loop: personal tokens, blind double coding, adjudication,
re-coding after a codebook split and the stale-model retrain, over a real uvicorn server;
and an adjudication session in headless Chromium."""
from __future__ import annotations

import time

import httpx
import pytest

from _web_review import TOKEN, ThreadServer, auth, make_review, seed_rows, start_cli_server
from mechcode.loop.training import load_seed_data
from mechcode.loop.service import LoopService
from mechcode.store.assignments import assignments
from mechcode.team.assign import assign
from mechcode.team.reviewers import add_reviewer
from mechcode.web.app import create_app

ANN = {"mechanisms": ["shared-vision"], "role": "outcome", "polarity": "+", "note": "ann: a shared purpose"}
BOB = {"mechanisms": ["building-trust"], "role": "context", "polarity": "-", "note": "bob: it is about trust"}


def team_review(root):
    """A generated review with reviewers ann, bob, cy; one of its two papers double-coded by ann and bob."""
    rv, seed = make_review(root, n_docs=2)
    tokens = {name: add_reviewer(rv, name) for name in ("ann", "bob", "cy")}
    assign(rv, 0.5, by="paper", reviewers=["ann", "bob"], seed=0)
    double = sorted(assignments(rv), key=lambda uid: rv.unit(uid)["start"])
    single = [u["id"] for u in rv.units() if u["id"] not in set(double)]
    return rv, seed, tokens, double, single


@pytest.fixture
def site(tmp_path):
    rv, _seed, tokens, double, single = team_review(tmp_path)
    svc = LoopService(rv, reviewer="lead", retrain_every=0, initial_params={"encoder": "tfidf"})
    with ThreadServer(create_app(svc, TOKEN)) as server:
        clients = {name: httpx.Client(base_url=server.url, headers=auth(tok), timeout=120)
                   for name, tok in {**tokens, "lead": TOKEN}.items()}
        try:
            yield {"rv": rv, "svc": svc, "server": server, "tokens": tokens, "double": double, "single": single,
                   **clients}
        finally:
            for c in clients.values():
                c.close()
    svc.retrainer.wait(60)


def code(client, unit_id: int, codes: dict, action: str = "correct", **extra) -> httpx.Response:
    return client.post("/api/decisions", json={"unit_id": unit_id, "action": action, **codes, **extra})


def paper_code(client, unit_id: int) -> dict | None:
    """The code of ``unit_id`` in the paper view of the client's reviewer."""
    for paper in client.get("/api/papers").json()["papers"]:
        view = client.get(f"/api/papers/{paper['id']}").json()
        for unit in view["units"]:
            if unit["id"] == unit_id:
                return unit["code"]
    raise AssertionError(f"unit {unit_id} not in any paper view")


def trained_ids(svc) -> set[str]:
    return {u.id for u in svc.retrainer.training_units()}


# ---------------------------------------------------------------------------- personal tokens
def test_personal_tokens_act_as_their_reviewer(site):
    rv, s = site["rv"], site["single"]
    ann, bob, lead = site["ann"], site["bob"], site["lead"]
    r = code(ann, s[0], ANN)
    assert r.status_code == 201 and r.json()["reviewer"] == "ann"
    assert code(ann, s[1], ANN, reviewer="ann").status_code == 201
    before = len(rv.decisions())
    forged = code(ann, s[2], ANN, reviewer="bob")  # ann may not post as bob
    assert forged.status_code == 403 and "signed in as 'ann'" in forged.json()["error"]
    span = ann.post("/api/spans", json={"document_id": rv.unit(s[0])["document_id"], "start": 0, "end": 20,
                                        "reviewer": "bob", "mechanisms": ["learning"]})
    assert span.status_code == 403
    for path in ("/api/queue", "/api/papers", "/api/status", f"/api/units/{s[0]}"):
        assert ann.get(path, params={"reviewer": "bob"}).status_code == 403, path  # nor read as bob
    assert len(rv.decisions()) == before

    st = ann.get("/api/status").json()
    assert st["signed_in"] == "ann" and st["reviewer"] == "ann"
    assert lead.get("/api/status").json()["signed_in"] is None
    # the server token reads as anyone but codes only as the lead's --reviewer, never as a named reviewer
    refused = code(lead, s[2], BOB, reviewer="bob")
    assert refused.status_code == 403 and "cannot code as 'bob'" in refused.json()["error"]
    assert code(bob, s[2], BOB).json()["reviewer"] == "bob"
    assert code(lead, s[3], BOB).json()["reviewer"] == "lead"
    events = {e["unit_id"]: e for e in rv.decisions()}
    assert [events[u]["reviewer"] for u in s[:4]] == ["ann", "ann", "bob", "lead"]

    # undo: one's own decisions only
    bob_id = events[s[2]]["id"]
    assert ann.post(f"/api/decisions/{bob_id}/undo").status_code == 403
    assert ann.post(f"/api/decisions/{r.json()['id']}/undo").status_code == 201
    assert rv.decisions()[-1]["reviewer"] == "ann" and s[0] not in rv.current_codes("ann")

    # bad and re-issued tokens are refused
    url = site["server"].url
    assert httpx.get(url + "/api/status", headers=auth("mc_not-a-token")).status_code == 401
    new = add_reviewer(rv, "bob", new_token=True)
    assert bob.get("/api/status").status_code == 401
    assert httpx.get(url + "/api/status", headers=auth(new)).json()["signed_in"] == "bob"


def test_personal_token_login_url_sets_a_cookie_for_that_reviewer(site):
    rv, server, s = site["rv"], site["server"], site["single"]
    r = httpx.get(server.url + "/?token=" + site["tokens"]["cy"])
    assert r.status_code == 303 and r.headers["location"] == "/"
    name, value = r.headers["set-cookie"].split(";")[0].split("=", 1)
    assert value != site["tokens"]["cy"] and "HttpOnly" in r.headers["set-cookie"]  # a session id
    cookies = {name: value}
    assert httpx.get(server.url + "/api/status", cookies=cookies).json()["signed_in"] == "cy"
    host = f"127.0.0.1:{server.port}"
    same = {"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"}
    ok = httpx.post(server.url + "/api/decisions", cookies=cookies, headers=same,
                    json={"unit_id": s[0], "action": "correct", **ANN})
    assert ok.status_code == 201 and ok.json()["reviewer"] == "cy"
    cross = httpx.post(server.url + "/api/decisions", cookies=cookies, headers={"Origin": "http://evil.example"},
                       json={"unit_id": s[1], "action": "skip"})
    assert cross.status_code == 403 and rv.decisions()[-1]["id"] == ok.json()["id"]


# ---------------------------------------------------------------------------- blind double coding
def test_blind_codes_stay_private_until_adjudicated(site):
    rv, svc, d, s = site["rv"], site["svc"], site["double"], site["single"]
    ann, bob, cy = site["ann"], site["bob"], site["cy"]
    u, agreed, open_ = d[0], d[1], d[2]
    doc = rv.unit(u)["document_id"]
    coded_before = bob.get("/api/status").json()["coded"]
    assert code(ann, u, ANN).status_code == 201

    # bob sees nothing of ann's code: queue item, paper view, unit history, status counts
    item = next(i for i in bob.get("/api/queue", params={"mode": "paper", "paper": doc, "limit": 200}).json()["units"]
                if i["id"] == u)
    assert item["code"] is None
    assert paper_code(bob, u) is None
    hist = bob.get(f"/api/units/{u}").json()
    assert hist["blind"] is True and hist["code"] is None and hist["history"] == []
    assert bob.get("/api/status").json()["coded"] == coded_before
    mine = paper_code(ann, u)
    assert mine["visibility"] == "own" and mine["mechanisms"] == ANN["mechanisms"]
    assert [e["reviewer"] for e in ann.get(f"/api/units/{u}").json()["history"]] == ["ann"]
    # a reviewer outside the pair is not offered the pair's units
    cy_units = {i["id"] for i in cy.get("/api/queue", params={"mode": "paper", "paper": doc, "limit": 200}).json()["units"]}
    assert not cy_units & set(d)
    # one coder's code never trains the model that suggests codes to the other coder
    assert str(u) not in trained_ids(svc)

    assert code(bob, u, BOB).status_code == 201  # bob disagrees
    assert paper_code(bob, u)["mechanisms"] == BOB["mechanisms"]  # still his own only
    assert ANN["note"] not in str(bob.get(f"/api/units/{u}").json())
    for who in (ann, bob):  # both code the next unit alike: agreed, final without adjudication
        assert code(who, agreed, ANN).status_code == 201
    assert code(ann, open_, ANN).status_code == 201
    assert str(agreed) in trained_ids(svc) and str(u) not in trained_ids(svc)
    assert paper_code(bob, agreed)["visibility"] == "final"

    # the adjudication queue: the disagreement only, both codings side by side
    q = cy.get("/api/queue", params={"mode": "adjudicate"}).json()
    assert q["remaining"] == 1 and [i["id"] for i in q["units"]] == [u]
    codings = {c["reviewer"]: c for c in q["units"][0]["codings"]}
    assert set(codings) == {"ann", "bob"}
    for name, want in (("ann", ANN), ("bob", BOB)):
        assert {k: codings[name][k] for k in want} == want and codings[name]["action"] == "correct"
    assert q["units"][0]["text"] == rv.unit(u)["text"]

    # adjudication errors store nothing
    n = len(rv.decisions())
    for unit_id, codes, needle in ((s[0], ANN, "not double-coded"), (open_, ANN, "waits for bob"),
                                   (u, {"note": "no codes"}, "needs the final codes")):
        r = code(cy, unit_id, codes, action="adjudicate")
        assert r.status_code == 400 and needle in r.json()["error"], r.text
    assert len(rv.decisions()) == n

    final = {"mechanisms": ["shared-vision", "building-trust"], "role": "outcome", "polarity": "+",
             "note": "both: vision and trust"}
    r = code(cy, u, final, action="adjudicate")
    assert r.status_code == 201
    event = rv.decisions()[-1]
    assert (event["id"], event["action"], event["reviewer"]) == (r.json()["id"], "adjudicate", "cy")
    assert cy.get("/api/queue", params={"mode": "adjudicate"}).json()["units"] == []
    for who in (ann, bob, cy):  # everyone now sees the final code
        seen = paper_code(who, u)
        assert seen["visibility"] == "final" and seen["action"] == "adjudicate"
        assert seen["mechanisms"] == final["mechanisms"] and seen["reviewer"] == "cy"
    hist = bob.get(f"/api/units/{u}").json()
    assert hist["blind"] is False and [e["reviewer"] for e in hist["history"]] == ["ann", "bob", "cy"]
    trained = {t.id: t for t in svc.retrainer.training_units()}
    assert trained[str(u)].mechanisms == final["mechanisms"] and trained[str(u)].role == "outcome"


# ---------------------------------------------------------------------------- codebook revisions
def wait_for(pred, timeout: float = 120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition never met")


def test_recode_queue_and_stale_model_after_a_split(site):
    rv, svc, s = site["rv"], site["svc"], site["single"]
    ann, lead = site["ann"], site["lead"]
    first = lead.get("/api/queue", params={"limit": 1}).json()["model_version"]  # the zeroshot model
    assert code(ann, s[0], {"mechanisms": ["learning"], "role": "outcome", "polarity": "+"}).status_code == 201
    assert lead.get("/api/status").json()["model_stale"] is None
    rv.revise_codebook([{"op": "split", "from": "learning", "to": ["formal-training", "peer-learning"]}])
    assert rv.latest_model()["stale"]

    # the page is told, and the service retrains in the background at once
    st = lead.get("/api/status").json()
    assert st["model_stale"] and "codebook changed" in st["model_stale"] and st["codebook_version"] == "2"
    st = wait_for(lambda: (lambda x: x if x["model_version"] != first and not x["retrain_running"] else None)(
        lead.get("/api/status").json()))
    assert st["model_stale"] is None and st["last_retrain"]["status"] == "ok"
    sugg = lead.get("/api/queue", params={"limit": 3}).json()["units"][0]["suggestion"]
    assert sugg["model_version"] == st["model_version"]
    assert "learning" not in sugg["mechanisms"] and {"formal-training", "peer-learning"} <= set(sugg["mechanisms"])

    # ann's unit waits for re-coding, with the split codes as choices
    q = ann.get("/api/queue", params={"mode": "recode"}).json()
    assert [i["id"] for i in q["units"]] == [s[0]] and ann.get("/api/status").json()["to_recode"] == 1
    pending = q["units"][0]["recode"]["pending"]
    assert pending == [{"from": "learning", "op": "split", "version": "2",
                        "candidates": ["formal-training", "peer-learning"]}]
    assert str(s[0]) not in {u.id for u in svc.retrainer.training_units()}  # pending codes never train
    assert code(ann, s[0], {"mechanisms": ["learning"], "role": "outcome"}).status_code == 400
    assert code(ann, s[0], {"mechanisms": ["peer-learning"], "role": "outcome", "polarity": "+"}).status_code == 201
    assert ann.get("/api/queue", params={"mode": "recode"}).json()["units"] == []


def test_stale_suggestions_never_offer_unknown_codes(site):
    """Until the retrain lands, the stale model's suggestions list current codes only."""
    rv, lead = site["rv"], site["lead"]
    old = lead.get("/api/queue", params={"limit": 2}).json()["units"][0]["suggestion"]
    assert "sharing-power" in old["mechanisms"]
    rv.revise_codebook([{"op": "retire", "from": ["sharing-power"]}])
    q = lead.get("/api/queue", params={"limit": 2}).json()  # the queue itself does not retrain
    assert rv.latest_model()["stale"] and q["model_version"] == rv.latest_model()["version"]
    for item in q["units"]:
        assert "sharing-power" not in item["suggestion"]["mechanisms"]
        assert "sharing-power" not in item["suggestion"]["suggested"]["mechanisms"]
    keys = {m["id"]: m.get("key") for m in lead.get("/api/codebook").json()["mechanisms"]}
    assert keys["sharing-power"] is None and keys["learning"] == "3"


def test_seed_data_follow_codebook_revisions(tmp_path):
    """Seed units carry renames; a unit of a split code is left out of training, not made a negative."""
    rv, seed = make_review(tmp_path, n_docs=1)
    svc = LoopService(rv, retrain_every=0, seed_units=load_seed_data(seed, rv.codebook))
    rows = seed_rows()
    rv.revise_codebook([{"op": "split", "from": "learning", "to": ["formal-training", "peer-learning"]}])
    rv.revise_codebook([{"op": "rename", "from": "building-trust", "to": "trust"}])
    now = svc.retrainer.current_seed()
    assert len(now) == sum("learning" not in r["mechanisms"] for r in rows)
    assert sum("trust" in u.mechanisms for u in now) == sum("building-trust" in r["mechanisms"] for r in rows) > 0
    assert not {"learning", "building-trust"} & {m for u in now for m in u.mechanisms}
    assert [u.id for u in svc.retrainer.training_units()] == [u.id for u in now]  # no review codes yet


# ---------------------------------------------------------------------------- the browser
@pytest.mark.browser
@pytest.mark.slow
def test_adjudication_in_the_browser(tmp_path):
    from test_web_browser import ARGS, CHROMIUM, need_browser, shoot

    need_browser()
    from playwright.sync_api import sync_playwright

    rv, _seed, tokens, double, _single = team_review(tmp_path / "data")
    u = double[0]
    proc, base = start_cli_server(rv.path, "--retrain-every", "0", "--reviewer", "lead",
                                  "--zeroshot-encoder", "tfidf")
    try:
        for name, codes in (("ann", ANN), ("bob", BOB)):
            r = httpx.post(base + "/api/decisions", headers=auth(tokens[name]), timeout=60,
                           json={"unit_id": u, "action": "correct", **codes})
            assert r.status_code == 201 and r.json()["reviewer"] == name
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            problems: list[str] = []
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            check_blind_paper_view(browser, base, tokens["bob"], rv, u)
            page.goto(f"{base}/?token={tokens['cy']}")
            assert page.url == base + "/"
            page.wait_for_selector("#passage mark.unit", timeout=120_000)
            assert page.input_value("#reviewer") == "cy" and page.get_attribute("#reviewer", "readonly") is not None
            page.select_option("#mode", "adjudicate")
            page.wait_for_selector(f"#unit-card[data-unit='{u}']", timeout=30_000)
            page.wait_for_selector("#adjudication .coding >> nth=1")
            check_side_by_side(page)
            assert "1 to adjudicate" in page.text_content("#team-info")

            page.keyboard.press("[")  # take ann's codes ...
            assert "selected" in page.get_attribute("#roles [data-value='outcome']", "class")
            page.keyboard.press("2")  # ... add "Building trust" (second mechanism)
            page.locator("#mechanisms [data-mech='building-trust']").wait_for()
            assert "selected" in page.get_attribute("#mechanisms [data-mech='building-trust']", "class")
            page.click("#note")
            page.keyboard.type("vision and trust both")
            page.keyboard.press("Escape")
            shoot(page, tmp_path, "adjudicate.png")
            page.click("#btn-save")  # the mouse: save the adjudication
            page.wait_for_selector(".toast.good >> text=Adjudicated", timeout=30_000)
            page.wait_for_selector("#passage .done", timeout=30_000)  # nothing left to adjudicate
            assert not problems, problems
            browser.close()
        q = httpx.get(base + "/api/queue", params={"mode": "adjudicate"}, headers=auth(), timeout=60).json()
        assert q["units"] == []
        seen = httpx.get(base + f"/api/units/{u}", headers=auth(tokens["bob"]), timeout=60).json()
        assert seen["blind"] is False and seen["code"]["visibility"] == "final"
        assert seen["code"]["action"] == "adjudicate" and seen["code"]["reviewer"] == "cy"
        assert seen["code"]["mechanisms"] == ["shared-vision", "building-trust"]
        assert seen["code"]["role"] == "outcome" and seen["code"]["polarity"] == "+"
        assert seen["code"]["note"] == "vision and trust both"
    finally:
        proc.terminate()
        proc.wait(20)


def check_blind_paper_view(browser, base: str, token: str, rv, unit_id: int) -> None:
    """bob's paper view colours the double-coded unit with his own code only, never ann's."""
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(f"{base}/?token={token}")
    page.wait_for_selector("#passage mark.unit", timeout=120_000)
    page.keyboard.press("p")
    docs = [d["id"] for d in rv.documents()]
    row = docs.index(rv.unit(unit_id)["document_id"]) + 1
    page.click(f"#papers-body tr:nth-child({row}) button.link")
    page.wait_for_selector("#paper-text span.coded")
    titles = [page.locator("#paper-text span.coded").nth(i).get_attribute("title")
              for i in range(page.locator("#paper-text span.coded").count())]
    assert titles and all("Building trust" in t and "your blind code" in t for t in titles), titles
    assert "Shared vision" not in page.text_content("#paper-text") + " ".join(titles)
    page.context.close()


def check_side_by_side(page) -> None:
    """Both codings shown next to each other, each with its reviewer, codes and note."""
    cards = page.locator("#adjudication .coding")
    assert cards.count() == 2
    ann, bob = cards.nth(0), cards.nth(1)
    a, b = ann.bounding_box(), bob.bounding_box()
    assert abs(a["y"] - b["y"]) < 2 and b["x"] >= a["x"] + a["width"]  # side by side, not stacked
    assert ann.get_attribute("data-reviewer") == "ann" and bob.get_attribute("data-reviewer") == "bob"
    for card, name, mech, role, want in ((ann, "ann", "Shared vision", "Outcome", ANN),
                                         (bob, "bob", "Building trust", "Context", BOB)):
        text = card.text_content()
        assert name in text and mech in text and role in text and want["note"] in text
        assert card.locator(".polarity").text_content() == want["polarity"]
