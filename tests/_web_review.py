"""Helpers for the reviewer-loop tests: a small generated review and ways to serve it.

The review is built from generated text documents (no PDF): a tiny leadership codebook, a few
papers of templated sentences (each with a mechanism cue and a role pattern, some methods
sentences), and a JSONL file of labelled seed units in the same style.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from mechcode.document import Document, Passage, Sentence

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "test-token-0123456789"
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> is what the text said.'

CODEBOOK = {"name": "Web test review", "version": "1", "mechanisms": [
    {"id": "shared-vision", "name": "Shared vision",
     "description": "Leaders articulate a common purpose and shared goals that staff commit to."},
    {"id": "building-trust", "name": "Building trust",
     "description": "Leaders invest time in relationships so that partners trust one another."},
    {"id": "sharing-power", "name": "Sharing power",
     "description": "Leaders distribute decision making and authority across organisations."},
    {"id": "learning", "name": "Learning culture",
     "description": "Leaders commit to learning, training and the development of staff."},
    {"id": "old-code", "name": "Old code", "status": "retired", "description": "No longer used."},
]}
MECHS = ["shared-vision", "building-trust", "sharing-power", "learning"]
CUES = {"shared-vision": ["a common purpose", "shared goals", "a clear vision"],
        "building-trust": ["mutual trust", "trusting relationships", "openness and trust"],
        "sharing-power": ["shared decision making", "distributed authority", "devolved budgets"],
        "learning": ["joint training", "reflective learning", "staff development"]}
TEMPLATES = {"mechanism-resource": "The leader introduced {cue} across the partnership in site {n}.",
             "mechanism-reasoning": "Staff felt motivated because of {cue} in team {n}.",
             "outcome": "As a result of {cue}, collaboration improved in region {n}.",
             "context": "In settings without {cue}, integration stalled in area {n}."}
NONE = ["We searched five databases for studies published after {n}.",
        "Data were extracted by two reviewers using a standard form {n}."]


def sentence(rng: random.Random, n: int) -> tuple[str, list[str], str, str | None]:
    """A generated sentence with its true (mechanisms, role, polarity)."""
    if rng.random() < 0.2:
        return rng.choice(NONE).format(n=n), [], "none", None
    mech, role = rng.choice(MECHS), rng.choice(list(TEMPLATES))
    return TEMPLATES[role].format(cue=rng.choice(CUES[mech]), n=n), [mech], role, "-" if role == "context" else "+"


def seed_rows(n: int = 48, seed: int = 7) -> list[dict]:
    """Labelled units (units.jsonl shape) in paragraphs of four."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        text, mechs, role, pol = sentence(rng, 1000 + i)
        rows.append({"id": f"s{i}", "text": text, "context": "", "group": f"g{i // 4}", "mechanisms": mechs,
                     "role": role, "polarity": pol})
    return rows


def document(k: int, n_par: int = 3, per: int = 4, extra: str | None = None) -> Document:
    """Paper ``k``: a title, a heading and ``n_par`` paragraphs of ``per`` sentences."""
    rng = random.Random(k)
    blocks: list[tuple[str, object]] = [("title", f"Leadership in integrated care: study {k}"),
                                        ("heading", "Findings")]
    for p in range(n_par):
        sents = [sentence(rng, k * 100 + p * 10 + s)[0] for s in range(per)]
        if extra and p == 0:
            sents.insert(1, extra)
        blocks.append(("paragraph", sents))
    passages, parts, pos = [], [], 0
    for i, (kind, content) in enumerate(blocks):
        sentences = []
        if isinstance(content, list):
            text, off = " ".join(content), 0
            for s in content:
                sentences.append(Sentence(off, off + len(s), s))
                off += len(s) + 1
        else:
            text = str(content)
        if parts:
            pos += 2
        passages.append(Passage(id=i, kind=kind, text=text, page=1 + i // 3, bbox=(0, 0, 100, 100), start=pos,
                                end=pos + len(text), section="Findings" if kind == "paragraph" else None,
                                level=1 if kind == "heading" else None, sentences=sentences))
        parts.append(text)
        pos += len(text)
    text = "\n\n".join(parts)
    return Document(text=text, passages=passages, content_hash=hashlib.sha256(text.encode()).hexdigest(),
                    file_name=f"paper{k}.pdf", n_pages=2)


def make_review(root: Path, n_docs: int = 2, extra: str | None = None, n_par: int = 3):
    """(Review, seed.jsonl path) under ``root``; paper 0 carries ``extra`` as its second sentence."""
    from mechcode.store.review import Review

    root.mkdir(parents=True, exist_ok=True)
    cb = root / "codebook.yaml"
    cb.write_text(yaml.safe_dump(CODEBOOK), encoding="utf-8")
    rv = Review.init(root / "review", cb)
    for k in range(n_docs):
        rv.add_document(document(k, n_par=n_par, extra=extra if k == 0 else None))
    seed = root / "seed.jsonl"
    seed.write_text("".join(json.dumps(r) + "\n" for r in seed_rows()), encoding="utf-8")
    return rv, seed


class ThreadServer:
    """A real uvicorn server for an ASGI app, in a background thread on a free loopback port."""

    def __init__(self, app):
        import uvicorn

        from mechcode.web.server import bind

        self.sock = bind("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "ThreadServer":
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


URL_RE = re.compile(r"(http://127\.0\.0\.1:(\d+))/\?token=(\S+)")


def stop_server(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a :func:`start_cli_server` process: SIGTERM, then kill if it does not exit in time."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


def start_cli_server(review_dir: Path, *args: str, timeout: float = 90) -> tuple[subprocess.Popen, str]:
    """``mechcode review`` in a subprocess; (process, base URL) once it printed its URL."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-c", "from mechcode.cli import main; main()", "review", str(review_dir),
           "--port", "0", "--token", TOKEN, *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    found: list[str] = []

    def reader() -> None:
        for line in proc.stdout:
            lines.append(line)
            m = URL_RE.search(line)
            if m and not found:
                found.append(m.group(1))

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.time() + timeout
    while not found:
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError("server did not print its URL:\n" + "".join(lines))
        time.sleep(0.05)
    base = found[0]
    _wait_ready(base)
    proc.output = lines  # type: ignore[attr-defined]
    return proc, base


def _wait_ready(base: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.time() + timeout
    while True:
        try:
            if httpx.get(base + "/api/status", headers=auth(), timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.time() > deadline:
            raise RuntimeError(f"{base} not ready")
        time.sleep(0.1)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
