"""Crash safety: ``kill -9`` of the review server at random moments loses no acknowledged decision.

A scripted session posts decisions (and retrain requests) to a real ``mechcode review``
subprocess; the server is killed with SIGKILL at a random moment, the store is checked
directly, and the server is restarted for the next round.
"""
from __future__ import annotations

import os
import random
import signal
import threading
import time

import httpx
import pytest

from _web_review import MECHS, auth, make_review, start_cli_server
from mechcode.store.review import Review

ROUNDS = 3


def session(base: str, units: list[int], acked: dict[int, tuple], stop: threading.Event, seed: int) -> None:
    """Post decisions until the server dies; record every acknowledged (201) one."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base, headers=auth(), timeout=10) as client:
        i = 0
        while not stop.is_set():
            uid = rng.choice(units)
            reviewer = rng.choice(["kim", "lee"])
            mech = rng.choice(MECHS)
            try:
                if i % 6 == 5:
                    client.post("/api/retrain")
                r = client.post("/api/decisions", json={"unit_id": uid, "action": "correct", "reviewer": reviewer,
                                                        "mechanisms": [mech], "role": "outcome", "polarity": "+",
                                                        "note": f"round note {i}"})
            except httpx.HTTPError:
                return  # the server is gone
            if r.status_code == 201:
                acked[r.json()["id"]] = (uid, reviewer, [mech], f"round note {i}")
            i += 1


def check_store(review_dir, acked: dict[int, tuple]) -> None:
    rv = Review.open(review_dir)
    try:
        assert rv.connect().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        events = {e["id"]: e for e in rv.decisions()}
        missing = [d for d in acked if d not in events]
        assert not missing, f"acknowledged decisions lost after kill -9: {missing}"
        for did, (uid, reviewer, mechs, note) in acked.items():
            e = events[did]
            assert (e["unit_id"], e["reviewer"], e["mechanisms"], e["note"]) == (uid, reviewer, mechs, note)
        from mechcode.models.train import load_model

        for m in rv.models():  # every registered model is complete and verifiable
            load_model(m["path"])
    finally:
        rv.close()


def wait_for_model(base: str, review_dir, timeout: float = 120) -> None:
    """Until a model serves and a retrain has finished (a retrain swaps its model in before it
    has scored every unit and recorded ``ok``)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = httpx.get(base + "/api/status", headers=auth(), timeout=10).json()
        if st["model_version"] and landed(review_dir):
            return
        time.sleep(0.3)
    raise AssertionError("no retrain landed")


def landed(review_dir) -> bool:
    rv = Review.open(review_dir)
    try:
        return rv.connect().execute("SELECT 1 FROM retrains WHERE status = 'ok'").fetchone() is not None
    finally:
        rv.close()


@pytest.mark.slow
def test_kill9_loses_no_acknowledged_decision(tmp_path):
    rv, seed = make_review(tmp_path, n_docs=2)
    review_dir = rv.path
    units = [u["id"] for u in rv.units()]
    rv.close()
    acked: dict[int, tuple] = {}
    rng = random.Random(20240611)
    args = ("--retrain-every", "4", "--seed-data", str(seed), "--reviewer", "kim")
    for rnd in range(ROUNDS):
        proc, base = start_cli_server(review_dir, *args)
        stop = threading.Event()
        before = len(acked)
        worker = threading.Thread(target=session, args=(base, units, acked, stop, rnd))
        worker.start()
        if rnd == 1:
            wait_for_model(base, review_dir)  # let a retrain land in this round, then kill at a random moment
        time.sleep(rng.uniform(0.5, 4.0))  # a random moment: mid-request, mid-retrain or idle
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        stop.set()
        worker.join(30)
        assert len(acked) > before, f"round {rnd}: no decision was acknowledged:\n{''.join(proc.output)}"
        check_store(review_dir, acked)

    # a restart after the last kill: interrupted retrains are closed, nothing is left 'running'
    proc, base = start_cli_server(review_dir, *args)
    try:
        st = httpx.get(base + "/api/status", headers=auth(), timeout=10).json()
        assert st["last_retrain"] is None or st["last_retrain"]["status"] in ("ok", "failed")
        assert st["coded"] > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    rv = Review.open(review_dir)
    statuses = [r[0] for r in rv.connect().execute("SELECT status FROM retrains")]
    assert "running" not in statuses and "ok" in statuses and "failed" in statuses
    rv.close()
    check_store(review_dir, acked)
