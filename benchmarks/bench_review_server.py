#!/usr/bin/env python
"""Benchmark the reviewer server on a generated review: request latencies and retrain time
(decisions, status with the stop signal, the queue modes, history, search, unit items).

Baseline for a decision: the store call itself (Review.add_decision, a committed SQLite
transaction). Usage: PYTHONPATH=src:tests python bench_review_server.py [--docs 60]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _web_review import MECHS, TOKEN, ThreadServer, auth, document, make_review  # noqa: E402


def timed(fn, n):
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out), sorted(out)[int(0.95 * (len(out) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=60)
    ap.add_argument("--n", type=int, default=40)
    args = ap.parse_args()
    from mechcode.loop.training import load_seed_data
    from mechcode.loop.service import LoopService
    from mechcode.web.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-review-"))
    rv, seed = make_review(tmp, n_docs=0)
    t = time.perf_counter()
    for k in range(args.docs):
        rv.add_document(document(k, n_par=40, per=6))
    print(f"review: {args.docs} papers, {rv.count_units()} units, built in {time.perf_counter() - t:.1f}s")
    svc = LoopService(rv, reviewer="bench", retrain_every=0, seed_units=load_seed_data(seed, rv.codebook))
    t = time.perf_counter()
    row = svc.retrainer.run_once()
    print(f"retrain (sparse, {row['labelled']} labels, train + holdout + re-score all units): "
          f"{time.perf_counter() - t:.1f}s -> {row['status']}")
    units = [u["id"] for u in rv.units()]
    rows = []
    rows.append(("store add_decision (baseline)", *timed(lambda i: rv.add_decision(
        units[i], "base", "correct", [MECHS[i % 4]], "outcome", "+"), args.n)))
    def check(response: httpx.Response) -> None:  # a benchmark of failing requests measures nothing
        if response.status_code >= 400:
            response.read()
            raise SystemExit(f"error: {response.request.url} -> {response.status_code} {response.text}")

    with ThreadServer(create_app(svc, TOKEN)) as server, httpx.Client(
            base_url=server.url, headers=auth(), event_hooks={"response": [check]}) as c:
        c.get("/api/status")
        rows.append(("POST /api/decisions", *timed(lambda i: c.post("/api/decisions", json={
            "unit_id": units[1000 + i], "action": "correct", "mechanisms": [MECHS[i % 4]], "role": "outcome"}), args.n)))
        rows.append(("POST accept (with snapshot)", *timed(lambda i: c.post("/api/decisions", json={
            "unit_id": units[2000 + i], "action": "accept"}), args.n)))
        rows.append(("GET /api/status (with stop signal)", *timed(lambda i: c.get("/api/status", params={
            "mode": "uncertain"}), args.n)))
        for mode, extra in (("paper", {}), ("uncertain", {}), ("mechanism", {"mechanism": "learning"})):
            rows.append((f"GET /api/queue {mode} (20)", *timed(
                lambda i: c.get("/api/queue", params={"mode": mode, "limit": 20, **extra}), args.n)))
        rows.append(("GET /api/history (50)", *timed(lambda i: c.get("/api/history", params={"limit": 50}), args.n)))
        rows.append(("GET /api/history (paged, filtered)", *timed(lambda i: c.get("/api/history", params={
            "limit": 20, "before": 1 + 2 * args.n - i, "mechanism": MECHS[i % 4]}), args.n)))
        words = ["trust", "shared goals", "devolved budg", "integration stalled", "reflective learning"]
        rows.append(("GET /api/search (30 hits)", *timed(lambda i: c.get("/api/search", params={
            "q": words[i % len(words)]}), args.n)))
        rows.append(("GET /api/units/{id}/item", *timed(lambda i: c.get(f"/api/units/{units[5000 + i]}/item"),
                                                          args.n)))
        rows.append(("GET /api/papers", *timed(lambda i: c.get("/api/papers"), args.n // 4)))
        rows.append(("GET /api/papers/{id}", *timed(lambda i: c.get(f"/api/papers/{1 + i % args.docs}"), args.n // 4)))
    print(f"\n{'request':38s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for name, p50, p95 in rows:
        print(f"{name:38s} {p50:8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
