"""The reviewer HTTP API against a real uvicorn server: contract, validation, auth, CSRF, files."""
from __future__ import annotations

import http.client
import threading
import time

import httpx
import pytest

from _web_review import MECHS, TOKEN, ThreadServer, auth, make_review
from mechcode.loop.training import load_seed_data
from mechcode.loop.service import LoopService
from mechcode.web.app import create_app


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A generated review served on a free port (sparse (codebook prior) start, sparse retrains)."""
    rv, seed = make_review(tmp_path_factory.mktemp("api"), n_docs=2)
    svc = LoopService(rv, reviewer="ann", retrain_every=0, seed_units=load_seed_data(seed, rv.codebook),
                      initial_params={"encoder": "tfidf"})
    with ThreadServer(create_app(svc, TOKEN)) as server:
        with httpx.Client(base_url=server.url, headers=auth(), timeout=120) as client:
            yield rv, svc, server, client


def n_decisions(rv) -> int:
    return len(rv.decisions())


# ---------------------------------------------------------------------------- auth
def test_every_request_needs_the_token(site):
    _, _, server, _ = site
    for path in ("/", "/api/status", "/static/app.js", "/api/queue", "/nope"):
        r = httpx.get(server.url + path)
        assert r.status_code == 401, path
        assert "token" in r.json()["error"]
    assert httpx.get(server.url + "/api/status", headers=auth("wrong")).status_code == 401
    assert httpx.post(server.url + "/api/retrain").status_code == 401
    r = httpx.get(server.url + "/", headers={"Accept": "text/html"})
    assert r.status_code == 401 and "text/html" in r.headers["content-type"]


def test_token_url_sets_strict_cookie_and_redirects(site):
    _, _, server, _ = site
    r = httpx.get(server.url + "/?token=" + TOKEN)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie
    assert TOKEN not in cookie and "Secure" not in cookie  # an opaque session id; loopback: plain http
    assert httpx.get(server.url + "/?token=nope").status_code == 401
    name, sid = cookie.split(";")[0].split("=", 1)
    assert httpx.get(server.url + "/api/status", cookies={name: TOKEN}).status_code == 401  # a token is no session
    page = httpx.get(server.url + "/", cookies={name: sid})
    assert page.status_code == 200 and "<script" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    # the page itself has no inline script or style: every <script> has a src
    assert page.text.count("<script") == page.text.count('<script src="/static/')
    assert "style=" not in page.text and "<style" not in page.text


def test_cross_site_cookie_posts_are_refused(site):
    rv, _, server, _ = site
    unit = rv.units()[0]["id"]
    body = {"unit_id": unit, "action": "skip", "reviewer": "csrf"}
    login = httpx.get(server.url + "/?token=" + TOKEN)
    cookies = dict([login.headers["set-cookie"].split(";")[0].split("=", 1)])
    host = f"127.0.0.1:{server.port}"
    before = n_decisions(rv)
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "null"}, {}, {"Sec-Fetch-Site": "same-site", "Origin": f"http://{host}"}):
        r = httpx.post(server.url + "/api/decisions", json=body, cookies=cookies, headers=headers)
        assert r.status_code == 403, headers
        assert "cross-site" in r.json()["error"]
    assert n_decisions(rv) == before
    ok = httpx.post(server.url + "/api/decisions", json=body, cookies=cookies,
                    headers={"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"})
    assert ok.status_code == 201
    assert httpx.post(server.url + "/api/decisions", json=body, headers=auth()).status_code == 201
    assert n_decisions(rv) == before + 2


def test_host_header_must_be_loopback(site):
    _, _, server, client = site
    r = client.get("/api/status", headers={"Host": "evil.example"})
    assert r.status_code == 400


@pytest.mark.parametrize("path", [
    "/static/../../etc/passwd", "/static/..%2f..%2fetc%2fpasswd", "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/static/..%5c..%5cetc%5cpasswd", "/static//etc/passwd",
    "/static/app.js/../../../../etc/passwd", "/static/%252e%252e/etc/passwd", "/../../etc/passwd",
    "/static/..", "/static/", "/static/app.py", "/static/../app.py", "/static/index.html%00.js",
])
def test_no_path_traversal(site, path):
    _, _, server, _ = site
    con = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    con.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})  # sent verbatim, not normalised
    resp = con.getresponse()
    body = resp.read()
    con.close()
    assert resp.status in (400, 404), (path, resp.status)
    assert b"root:" not in body and b"import" not in body


def test_static_allow_list_serves_page_files(site):
    _, _, _, client = site
    for name, ctype in (("app.js", "javascript"), ("dom.js", "javascript"), ("app.css", "text/css")):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and ctype in r.headers["content-type"]
    scripts = ("app.js", "paper.js", "team.js", "status.js", "dom.js")
    assert not any("innerHTML" in client.get(f"/static/{name}").text for name in scripts)


# ---------------------------------------------------------------------------- contract
def test_status_contract(site):
    _, _, _, client = site
    st = client.get("/api/status").json()
    for key in ("model_version", "labelled", "units", "last_retrain"):
        assert key in st
    assert st["units"] == 2 * 12


def test_queue_modes_compute_and_store_suggestions_lazily(site):
    rv, svc, _, client = site
    q = client.get("/api/queue", params={"mode": "paper", "limit": 5}).json()
    assert q["model_version"] and q["model_version"].startswith("sparse")  # the default: codebook prior, no labels yet
    units = q["units"]
    assert len(units) == 5
    first = units[0]
    for key in ("id", "text", "context", "context_start", "document_id", "document_title", "page", "section"):
        assert key in first
    assert first["context"][first["context_start"]:].startswith(first["text"])
    sugg = first["suggestion"]
    assert set(sugg["mechanisms"]) == set(MECHS)  # retired code never suggested
    assert abs(sum(sugg["role"].values()) - 1) < 1e-3
    stored = rv.suggestions(q["model_version"])
    assert {u["id"] for u in units} <= set(stored)
    # reading order: one paper, increasing offsets
    assert len({u["document_id"] for u in units}) == 1
    assert [u["start"] for u in units] == sorted(u["start"] for u in units)

    unc = client.get("/api/queue", params={"mode": "uncertain", "limit": 10}).json()["units"]
    assert len(unc) == 10 and len({u["id"] for u in unc}) == 10
    assert {u["reason"].split(":")[0] for u in unc} <= {"uncertain", "random", "coverage"}
    assert len(rv.suggestions(q["model_version"])) == rv.count_units()  # ranking needed them all

    mech = client.get("/api/queue", params={"mode": "mechanism", "mechanism": "building-trust", "limit": 50}).json()
    probs = [u["suggestion"]["mechanisms"]["building-trust"] for u in mech["units"]]
    assert probs == sorted(probs, reverse=True) and any(p < 0.2 for p in probs)  # the unlikely ones follow
    assert all((u["reason"] == "mechanism") == (p >= 0.2) for u, p in zip(mech["units"], probs))


@pytest.mark.parametrize("params, needle", [
    ({"mode": "bogus"}, "mode"), ({"mode": "mechanism"}, "mechanism"),
    ({"mode": "mechanism", "mechanism": "nope"}, "unknown mechanism"), ({"mode": "paper", "paper": 999}, "paper"),
])
def test_bad_queue_requests(site, params, needle):
    _, _, _, client = site
    r = client.get("/api/queue", params=params)
    assert r.status_code == 400 and needle in r.json()["error"]
    assert client.get("/api/queue", params={"limit": 0}).status_code == 422


def test_decision_is_stored_with_suggestion_snapshot_and_undo(site):
    rv, _, _, client = site
    q = client.get("/api/queue", params={"mode": "paper", "limit": 3, "reviewer": "bob"}).json()
    unit = q["units"][0]
    r = client.post("/api/decisions", json={"unit_id": unit["id"], "action": "accept", "reviewer": "bob",
                                            "model_version": q["model_version"], "note": "looks right"})
    assert r.status_code == 201
    did = r.json()["id"]
    event = next(e for e in rv.decisions() if e["id"] == did)  # committed before the answer
    assert event["reviewer"] == "bob" and event["action"] == "accept" and event["note"] == "looks right"
    assert event["model_version"] == q["model_version"]
    assert event["suggested"]["mechanisms"] == pytest.approx(unit["suggestion"]["mechanisms"], abs=1e-3)
    assert event["mechanisms"] == unit["suggestion"]["suggested"]["mechanisms"]
    assert rv.current_codes("bob")[unit["id"]]["decision_id"] == did
    nxt = client.get("/api/queue", params={"mode": "paper", "limit": 3, "reviewer": "bob"}).json()["units"]
    assert unit["id"] not in [u["id"] for u in nxt]

    u = client.post(f"/api/decisions/{did}/undo", json={"reviewer": "bob"})
    assert u.status_code == 201 and u.json()["undoes"] == did
    assert unit["id"] not in rv.current_codes("bob")
    assert client.get("/api/queue", params={"mode": "paper", "limit": 1, "reviewer": "bob"}).json()["units"][0]["id"] \
        == unit["id"]
    assert client.post(f"/api/decisions/{did}/undo", json={}).status_code == 400  # already undone
    assert client.post("/api/decisions/999999/undo").status_code == 404


def test_correct_reject_skip(site):
    rv, _, _, client = site
    units = client.get("/api/queue", params={"mode": "paper", "limit": 3, "reviewer": "cy"}).json()["units"]
    a, b, c = (u["id"] for u in units)
    assert client.post("/api/decisions", json={"unit_id": a, "action": "correct", "reviewer": "cy",
                                               "mechanisms": ["sharing-power", "learning"], "role": "outcome",
                                               "polarity": "-"}).status_code == 201
    assert client.post("/api/decisions", json={"unit_id": b, "action": "reject", "reviewer": "cy"}).status_code == 201
    assert client.post("/api/decisions", json={"unit_id": c, "action": "skip", "reviewer": "cy"}).status_code == 201
    codes = rv.current_codes("cy")
    assert codes[a]["mechanisms"] == ["sharing-power", "learning"] and codes[a]["role"] == "outcome"
    assert codes[b]["action"] == "reject" and c not in codes
    order = [u["id"] for u in client.get("/api/queue", params={"mode": "paper", "limit": 200, "reviewer": "cy",
                                                               "paper": units[0]["document_id"]}).json()["units"]]
    assert a not in order and b not in order and order[-1] == c  # skipped comes last


@pytest.mark.parametrize("body, status, needle", [
    ({"unit_id": 99999, "action": "correct", "mechanisms": ["learning"]}, 400, "unknown unit"),
    ({"action": "correct", "mechanisms": ["nope"]}, 400, "unknown mechanism"),
    ({"action": "correct", "mechanisms": ["old-code"]}, 400, "retired"),
    ({"action": "correct", "role": "villain"}, 400, "role"),
    ({"action": "correct", "role": "outcome", "polarity": "?"}, 400, "polarity"),
    ({"action": "destroy"}, 422, "action"),
    ({"action": "skip", "sneaky": 1}, 422, "sneaky"),
    ({"action": "reject", "mechanisms": ["learning"]}, 400, "no mechanisms"),
    ({"action": "correct", "reviewer": "a\nb", "role": "none"}, 422, "reviewer"),
    ({"action": "correct", "mechanisms": ["learning"], "note": "x" * 70_000}, 413, "too large"),
])
def test_invalid_decisions_store_nothing(site, body, status, needle):
    rv, _, _, client = site
    body = {"unit_id": rv.units()[0]["id"], **body}
    before = n_decisions(rv)
    r = client.post("/api/decisions", json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]
    assert n_decisions(rv) == before


def test_malformed_json_and_missing_token_store_nothing(site):
    rv, _, server, client = site
    before = n_decisions(rv)
    r = client.post("/api/decisions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "error" in r.json()
    r = httpx.post(server.url + "/api/decisions", json={"unit_id": rv.units()[0]["id"], "action": "skip"})
    assert r.status_code == 401
    assert n_decisions(rv) == before


def test_span_coding_and_paper_view(site):
    rv, _, _, client = site
    papers = client.get("/api/papers").json()
    assert papers["total"]["units"] == rv.count_units()
    doc_id = papers["papers"][1]["id"]
    view = client.get(f"/api/papers/{doc_id}").json()
    para = next(p for p in view["passages"] if p["kind"] == "paragraph")
    start, end = para["start"] + 4, para["end"] - 3  # across sentence boundaries
    r = client.post("/api/spans", json={"document_id": doc_id, "start": start, "end": end, "reviewer": "dee",
                                        "mechanisms": ["building-trust"], "role": "context", "polarity": "-"})
    assert r.status_code == 201
    uid = r.json()["unit_id"]
    assert rv.unit(uid)["kind"] == "span" and rv.unit(uid)["text"] == rv.document(doc_id)["text"][start:end]
    assert rv.current_codes("dee")[uid]["mechanisms"] == ["building-trust"]
    view = client.get(f"/api/papers/{doc_id}").json()
    span = next(u for u in view["units"] if u["id"] == uid)
    assert span["code"]["role"] == "context" and span["kind"] == "span"
    before = n_decisions(rv)
    for body, status in (({"start": 5, "end": 10 ** 6}, 400), ({"start": 10, "end": 5}, 400),
                         ({"start": 0, "end": 5, "mechanisms": []}, 400),
                         ({"document_id": 999, "start": 0, "end": 5}, 404)):
        payload = {"document_id": doc_id, "mechanisms": ["learning"], **body}
        assert client.post("/api/spans", json=payload).status_code == status, body
    assert n_decisions(rv) == before
    assert client.get("/api/papers/999").status_code == 404


def test_codebook_has_keys_for_codable_mechanisms(site):
    _, _, _, client = site
    cb = client.get("/api/codebook").json()
    keys = {m["id"]: m.get("key") for m in cb["mechanisms"]}
    assert [keys[m] for m in MECHS] == ["1", "2", "3", "4"]
    assert keys["old-code"] is None


def test_two_reviewers_posting_concurrently_lose_nothing(site):
    rv, _, server, _ = site
    units = [u["id"] for u in rv.units()]
    before = n_decisions(rv)
    results: dict[str, list[int]] = {"r1": [], "r2": []}
    errors: list[str] = []

    def work(name: str) -> None:
        with httpx.Client(base_url=server.url, headers=auth(), timeout=60) as c:
            for i, uid in enumerate(units):
                r = c.post("/api/decisions", json={"unit_id": uid, "action": "correct", "reviewer": name,
                                                   "mechanisms": [MECHS[i % 4]], "role": "outcome",
                                                   "polarity": "+"})
                if r.status_code != 201:
                    errors.append(r.text)
                else:
                    results[name].append(r.json()["id"])

    threads = [threading.Thread(target=work, args=(n,)) for n in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    ids = results["r1"] + results["r2"]
    assert len(ids) == len(set(ids)) == 2 * len(units)
    events = [e for e in rv.decisions() if e["id"] in set(ids)]
    assert len(events) == len(ids) and n_decisions(rv) == before + len(ids)
    for name in results:
        assert sorted(e["unit_id"] for e in events if e["reviewer"] == name) == sorted(units)


def test_retrain_lands_new_version_and_rescoring(site):
    rv, svc, _, client = site
    unit = rv.units()[-1]["id"]
    assert client.post("/api/decisions", json={"unit_id": unit, "action": "correct", "reviewer": "zed",
                                               "mechanisms": ["learning"], "role": "outcome"}).status_code == 201
    old = client.get("/api/status").json()["model_version"]
    r = client.post("/api/retrain")
    assert r.status_code == 202
    deadline = time.time() + 120
    while time.time() < deadline:
        st = client.get("/api/status").json()
        if st["model_version"] != old and not st["retrain_running"]:
            break
        time.sleep(0.3)
    assert st["model_version"] != old and st["model_version"].startswith("sparse")
    assert st["last_retrain"]["status"] == "ok" and st["last_retrain"]["metrics"]
    assert st["labelled"] > 0
    assert len(rv.suggestions(st["model_version"])) == rv.count_units()
    assert rv.latest_model()["version"] == st["model_version"]
    q = client.get("/api/queue", params={"mode": "paper", "limit": 1, "reviewer": "zed"}).json()
    assert q["units"][0]["suggestion"]["model_version"] == st["model_version"]


# ---------------------------------------------------------------------------- retrain scheduling
class GatedBackend:
    """A stand-in backend whose training waits for ``gate`` (or fails when ``fail`` is set)."""

    name = "gated"
    version = "1"
    gate = threading.Event()
    fail = False

    def __init__(self, **params):
        self.mechs: list[str] = []

    def hyperparameters(self):
        return {}

    def fit(self, units, codebook):
        if GatedBackend.fail:
            raise RuntimeError("boom: the optimiser did not converge")
        assert GatedBackend.gate.wait(60)
        from mechcode.models.base import label_space

        self.mechs = label_space(codebook)
        return self

    def predict(self, units):
        from mechcode.models.base import prediction

        return [prediction(u.id, {m: 0.6 for m in self.mechs}, {"outcome": 0.9, "none": 0.1}, {"+": 0.8, "-": 0.2},
                           [{"terms": ["trust"]}]) for u in units]

    def save(self, directory):
        import json

        (directory / "gated.json").write_text(json.dumps(self.mechs))

    @classmethod
    def load(cls, directory, card):
        import json

        self = cls()
        self.mechs = json.loads((directory / "gated.json").read_text())
        return self


@pytest.fixture
def gated(tmp_path, monkeypatch):
    """A fresh review served with the gated backend for retrains (every 2 decisions)."""
    import mechcode.models.train as train

    real = train.get_backend
    monkeypatch.setattr(train, "get_backend", lambda name: GatedBackend if name == "gated" else real(name))
    GatedBackend.gate.clear()
    GatedBackend.fail = False
    rv, seed = make_review(tmp_path, n_docs=1)
    svc = LoopService(rv, reviewer="ann", retrain_every=2, backend="gated",
                      seed_units=load_seed_data(seed, rv.codebook), params={})
    with ThreadServer(create_app(svc, TOKEN)) as server:
        with httpx.Client(base_url=server.url, headers=auth(), timeout=60) as client:
            yield rv, svc, client
    GatedBackend.gate.set()
    svc.retrainer.wait(30)


def wait_status(client, pred, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = client.get("/api/status").json()
        if pred(st):
            return st
        time.sleep(0.1)
    raise AssertionError(f"status never matched: {st}")


def test_retrain_runs_in_background_without_blocking_requests(gated):
    rv, svc, client = gated
    units = [u["id"] for u in rv.units()]
    for uid in units[:2]:  # the 2nd decision triggers a retrain, which blocks in fit()
        r = client.post("/api/decisions", json={"unit_id": uid, "action": "correct", "mechanisms": ["learning"],
                                                "role": "outcome", "polarity": "+"})
        assert r.status_code == 201
    st = wait_status(client, lambda s: s["retrain_running"])
    assert st["last_retrain"]["status"] == "running" and st["model_version"] is None
    # while training is stuck, decisions and reads are still answered
    r = client.post("/api/decisions", json={"unit_id": units[2], "action": "reject"})
    assert r.status_code == 201 and r.json()["id"] in {e["id"] for e in rv.decisions()}
    assert client.get("/api/papers").status_code == 200
    assert client.post("/api/retrain").json()["queued"] is True  # one more is queued, not started twice
    GatedBackend.gate.set()
    st = wait_status(client, lambda s: s["model_version"] and not s["retrain_running"])
    assert st["model_version"].startswith("gated") and st["last_retrain"]["status"] == "ok"
    rows = rv.connect().execute("SELECT status, labelled FROM retrains ORDER BY id").fetchall()
    assert [r["status"] for r in rows] == ["ok", "ok"] and rows[-1]["labelled"] == 48 + 3
    q = client.get("/api/queue", params={"limit": 1}).json()
    assert q["units"][0]["suggestion"]["model_version"] == st["model_version"]
    assert q["units"][0]["suggestion"]["rationale"] == ["trust"]


def test_failed_retrain_keeps_old_model_and_shows_error(gated):
    rv, svc, client = gated
    GatedBackend.gate.set()
    client.post("/api/retrain")
    good = wait_status(client, lambda s: s["model_version"] and not s["retrain_running"])["model_version"]
    GatedBackend.fail = True
    assert client.post("/api/retrain").status_code == 202
    st = wait_status(client, lambda s: s["last_retrain"]["status"] == "failed")
    assert "boom" in st["last_retrain"]["error"] and st["model_version"] == good
    assert rv.latest_model()["version"] == good
    q = client.get("/api/queue", params={"limit": 2}).json()
    assert q["model_version"] == good and q["units"][0]["suggestion"]["model_version"] == good
    assert [m["version"] for m in rv.models()] == [good]


def test_nothing_to_train_on_is_a_recorded_failure(tmp_path):
    rv, _ = make_review(tmp_path, n_docs=1)
    svc = LoopService(rv, retrain_every=0)
    row = svc.retrainer.run_once()
    assert row["status"] == "failed" and "nothing to train on" in row["error"]
    assert svc.status()["model_version"] is None


# ---------------------------------------------------------------------------- command line
def test_review_command_help_and_errors(tmp_path):
    from click.testing import CliRunner

    from mechcode.cli import cli

    runner = CliRunner()
    r = runner.invoke(cli, ["review", "--help"])
    assert r.exit_code == 0
    for opt in ("--reviewer", "--host", "--port", "--token", "--retrain-every", "--seed-data", "--backend"):
        assert opt in r.output
    r = runner.invoke(cli, ["review", str(tmp_path / "nowhere"), "--port", "0"])
    assert r.exit_code == 2 and "not a review folder" in r.output
    rv, _ = make_review(tmp_path / "x", n_docs=1)
    r = runner.invoke(cli, ["review", str(rv.path), "--backend", "nope", "--port", "0"])
    assert r.exit_code == 2 and "unknown backend" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "x", "mechanisms": ["not-a-code"]}\n')
    r = runner.invoke(cli, ["review", str(rv.path), "--seed-data", str(bad), "--port", "0"])
    assert r.exit_code == 2 and "not-a-code" in r.output
