"""One token = one reviewer, through HTTP: attribution from the token only, the server token
as reader and administrator, opaque expiring session cookies, and token lookups off the event loop."""
from __future__ import annotations

import threading
import time

import httpx
import pytest

from _web_review import TOKEN, ThreadServer, auth, make_review
from mechcode.loop.service import LoopService
from mechcode.team.reviewers import add_reviewer
from mechcode.web.app import create_app
from mechcode.web.identity import ReviewIdentity

CODES = {"mechanisms": ["learning"], "role": "outcome", "polarity": "+"}


@pytest.fixture
def team(tmp_path):
    rv, _ = make_review(tmp_path, n_docs=1)
    tokens = {name: add_reviewer(rv, name) for name in ("ann", "bob")}
    svc = LoopService(rv, reviewer="lead", retrain_every=0, initial_params={"encoder": "tfidf"})
    units = [u["id"] for u in rv.units()]
    yield rv, svc, tokens, units
    svc.retrainer.wait(60)


def login(url: str, token: str) -> tuple[httpx.Response, dict[str, str]]:
    r = httpx.get(url + "/?token=" + token)
    return r, dict([r.headers["set-cookie"].split(";")[0].split("=", 1)]) if r.status_code == 303 else {}


def post(url, path, token, **body):
    return httpx.post(url + path, json=body, headers=auth(token), timeout=60)


def test_decisions_and_undos_are_attributed_from_the_token_only(team):
    rv, svc, tokens, units = team
    with ThreadServer(create_app(svc, TOKEN)) as s:
        ann = post(s.url, "/api/decisions", tokens["ann"], unit_id=units[0], action="correct", **CODES)
        assert ann.status_code == 201 and ann.json()["reviewer"] == "ann"
        assert post(s.url, "/api/decisions", tokens["ann"], unit_id=units[1], action="correct", reviewer="bob",
                    **CODES).status_code == 403
        # the server token may not code as a named reviewer, nor undo their decision
        forged = post(s.url, "/api/decisions", TOKEN, unit_id=units[1], action="correct", reviewer="ann", **CODES)
        assert forged.status_code == 403 and "personal token" in forged.json()["error"]
        undo = post(s.url, f"/api/decisions/{ann.json()['id']}/undo", TOKEN)
        assert undo.status_code == 403 and "only undo your own" in undo.json()["error"]
        assert post(s.url, f"/api/decisions/{ann.json()['id']}/undo", tokens["bob"]).status_code == 403
        span = post(s.url, "/api/spans", TOKEN, document_id=rv.unit(units[0])["document_id"], start=0, end=30,
                    reviewer="bob", **CODES)
        assert span.status_code == 403
        assert [(d["reviewer"], d["action"]) for d in rv.decisions()] == [("ann", "correct")]
        # ... but it reads as anyone and administers
        assert httpx.get(s.url + "/api/status", params={"reviewer": "ann"}, headers=auth()).json()["coded"] == 1
        assert httpx.post(s.url + "/api/retrain", headers=auth()).status_code == 202
        assert post(s.url, f"/api/decisions/{ann.json()['id']}/undo", tokens["ann"]).status_code == 201


def test_server_reviewer_that_is_a_named_reviewer_cannot_code_with_the_server_token(team):
    rv, _svc, _tokens, units = team
    svc = LoopService(rv, reviewer="ann", retrain_every=0, initial_params={"encoder": "tfidf"})
    with ThreadServer(create_app(svc, TOKEN)) as s:
        r = post(s.url, "/api/decisions", TOKEN, unit_id=units[0], action="skip")
        assert r.status_code == 403 and "named reviewer 'ann'" in r.json()["error"]
    assert rv.decisions() == []


def test_session_cookie_is_opaque_expires_and_ends_with_its_token(team):
    rv, svc, tokens, units = team
    with ThreadServer(create_app(svc, TOKEN)) as s:
        r, cookies = login(s.url, tokens["bob"])
        assert tokens["bob"] not in r.headers["set-cookie"] and "Max-Age=604800" in r.headers["set-cookie"]
        assert "Secure" not in r.headers["set-cookie"]
        sid = next(iter(cookies.values()))
        stored = [tuple(row) for row in rv.connect().execute("SELECT id_hash, reviewer FROM sessions")]
        assert len(stored) == 1 and stored[0][1] == "bob" and sid not in stored[0][0]  # only a digest is kept
        assert httpx.get(s.url + "/api/status", cookies=cookies).json()["signed_in"] == "bob"
        with rv.transaction() as con:  # the session runs out
            con.execute("UPDATE sessions SET expires_at = '2000-01-01T00:00:00+00:00'")
        assert httpx.get(s.url + "/api/status", cookies=cookies).status_code == 401
        _, cookies = login(s.url, tokens["bob"])
        assert httpx.get(s.url + "/api/status", cookies=cookies).status_code == 200
        add_reviewer(rv, "bob", new_token=True)  # a re-issued token ends the sessions of the old one
        assert httpx.get(s.url + "/api/status", cookies=cookies).status_code == 401
        _, lead = login(s.url, TOKEN)
        assert httpx.get(s.url + "/api/status", cookies=lead).json()["signed_in"] is None
    other = create_app(svc, "another-server-token-xyz")  # a restart with another --token ends server sessions
    with ThreadServer(other) as s2:
        assert httpx.get(s2.url + "/api/status", cookies={k.replace(str(s.port), str(s2.port)): v
                                                          for k, v in lead.items()}).status_code == 401


def test_cookie_is_secure_when_bound_beyond_loopback(team):
    _rv, svc, tokens, _units = team
    with ThreadServer(create_app(svc, TOKEN, loopback_only=False)) as s:
        r, _ = login(s.url, tokens["ann"])
        assert r.status_code == 303 and "; Secure" in r.headers["set-cookie"]


def test_token_lookups_do_not_block_the_event_loop(team, monkeypatch):
    _rv, svc, tokens, _units = team
    slow_token = tokens["ann"]
    real = ReviewIdentity.token

    def slow(self, value):
        if value == slow_token:
            time.sleep(1.5)  # a slow SQLite read (locked database, cold disk)
        return real(self, value)

    monkeypatch.setattr(ReviewIdentity, "token", slow)
    with ThreadServer(create_app(svc, TOKEN)) as s:
        httpx.get(s.url + "/api/codebook", headers=auth(), timeout=60)  # warm up
        done = []
        t = threading.Thread(target=lambda: done.append(
            httpx.get(s.url + "/api/codebook", headers=auth(slow_token), timeout=60).status_code))
        t.start()
        time.sleep(0.2)
        t0 = time.perf_counter()
        fast = httpx.get(s.url + "/api/codebook", headers=auth(), timeout=60)
        elapsed = time.perf_counter() - t0
        t.join()
    assert fast.status_code == 200 and done == [200]
    assert elapsed < 1.0, f"a request waited {elapsed:.2f}s behind another's token lookup"
