"""Background retraining: after every N decisions, train a new model and re-score the queue.

One retrain runs at a time, in a daemon thread, so requests are never blocked. A retrain:

1. records a ``running`` row in the ``retrains`` table;
2. trains the configured backend (``sparse`` by default) on every accepted/corrected unit
   plus the seed data;
3. stores suggestions for all the review's units under the new model version;
4. registers the model and swaps it in (the page sees the new version on its next poll);
5. records ``ok`` with the card's metrics, or ``failed`` with the error (the old model keeps
   serving).

A retrain requested while one runs is queued (at most one waits). Rows left ``running`` by a
killed server are marked ``failed`` when the next server starts.
"""
from __future__ import annotations

import json
import logging
import threading
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mechcode.errors import DataError, ModelError
from mechcode.loop.serving import ServingModel, score_units, train_into

log = logging.getLogger(__name__)

DEFAULT_EVERY = 10
DEFAULT_BACKEND = "sparse"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load_seed_data(path: str | Path, codebook=None) -> list:
    """Labelled units from a JSONL file (``id, text, context, group, mechanisms, role, polarity``).

    Ids get a ``seed:`` prefix so they never clash with the review's unit ids."""
    from mechcode.models.data import read_labelled

    if not Path(path).is_file():
        raise DataError(f"seed data file not found: {path}")
    units = read_labelled(path, codebook)
    for unit in units:
        unit.id = f"seed:{unit.id}"
        unit.group = f"seed:{unit.group if unit.group is not None else unit.id}"
    return units


def retrain_row(row: Any) -> dict[str, Any] | None:
    """A ``retrains`` row as JSON-ready dict (metrics decoded)."""
    if row is None:
        return None
    d = dict(row)
    try:
        d["metrics"] = json.loads(d["metrics"]) if d.get("metrics") else None
    except json.JSONDecodeError:
        pass
    return d


class RetrainScheduler:
    """Counts decisions and retrains in the background every ``every`` of them (0 = only on request)."""

    def __init__(self, review, serving: ServingModel, backend: str = DEFAULT_BACKEND,
                 every: int = DEFAULT_EVERY, seed_units: list | None = None,
                 params: dict[str, Any] | None = None):
        self.review = review
        self.serving = serving
        self.backend = backend
        self.every = every
        self.seed_units = list(seed_units or [])
        self.params = dict(params or {})
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending = False
        self._since = 0

    # -- bookkeeping -------------------------------------------------------------------
    def mark_interrupted(self) -> int:
        """Mark retrains left ``running`` by a server that died as failed; returns how many."""
        with self.review.transaction() as con:
            cur = con.execute("UPDATE retrains SET status = 'failed', finished_at = ?, error = ? "
                              "WHERE status = 'running'", (_now(), "interrupted: the server stopped"))
            return cur.rowcount

    def last(self) -> dict[str, Any] | None:
        """The most recent retrain (running, ok or failed)."""
        con = self.review.connect()  # this thread's connection (kept open by the store)
        return retrain_row(con.execute("SELECT * FROM retrains ORDER BY id DESC LIMIT 1").fetchone())

    @property
    def running(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    @property
    def since_last(self) -> int:
        return self._since

    # -- triggering --------------------------------------------------------------------
    def note_decision(self, n: int = 1) -> bool:
        """Count ``n`` labelling decisions; start a retrain when ``every`` is reached."""
        with self._lock:
            self._since += n
            due = self.every > 0 and self._since >= self.every
            if due:
                self._since = 0
        return self.trigger() if due else False

    def trigger(self) -> bool:
        """Start a retrain now, or queue one if a retrain is running; True if started."""
        with self._lock:
            if self.running:
                self._pending = True
                return False
            self._thread = threading.Thread(target=self._loop, name="mechcode-retrain", daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running retrain (and any queued one); True if idle afterwards."""
        t = self._thread
        if t is not None:
            t.join(timeout)
        return not self.running

    def _loop(self) -> None:
        while True:
            self.run_once()
            with self._lock:
                if not self._pending:
                    return
                self._pending = False

    # -- the work ----------------------------------------------------------------------
    def training_units(self) -> list:
        """Seed data plus every accepted/corrected unit of the review."""
        from mechcode.models.base import LabelledUnit

        return self.seed_units + [LabelledUnit.from_dict(r) for r in self.review.labelled_units()]

    def run_once(self) -> dict[str, Any] | None:
        """One retrain, synchronously; never raises (a failure is recorded)."""
        with self.review.transaction() as con:
            rid = con.execute("INSERT INTO retrains (started_at, status) VALUES (?, 'running')",
                              (_now(),)).lastrowid
        labelled = None
        try:
            units = self.training_units()
            labelled = len(units)
            log.info("retrain %s: training %s on %d labelled units", rid, self.backend, labelled)
            if not units:
                raise ModelError("nothing to train on yet: no accepted or corrected decisions and no seed data")
            version, path, card = train_into(self.review, units, self.backend, self.params)
            from mechcode.models.train import load_model

            backend, card = load_model(path)
            score_units(self.review, version, backend, self.review.units())
            self.review.register_model(version, self.backend, str(path), card)
            self.serving.swap(version, self.backend, str(path), backend)
            self._finish(rid, "ok", version=version, labelled=labelled, metrics=card.get("metrics"))
            log.info("retrain %s: model %s is now suggesting", rid, version)
        except Exception as exc:  # noqa: BLE001 - any failure must leave the old model serving
            log.warning("retrain %s failed: %s", rid, exc)
            log.debug("%s", traceback.format_exc())
            self._finish(rid, "failed", labelled=labelled, error=f"{exc.__class__.__name__}: {exc}")
        return self.last()

    def _finish(self, rid: int, status: str, version: str | None = None, labelled: int | None = None,
                metrics: Any = None, error: str | None = None) -> None:
        with self.review.transaction() as con:
            con.execute("UPDATE retrains SET status = ?, finished_at = ?, model_version = ?, labelled = ?, "
                        "metrics = ?, error = ? WHERE id = ?",
                        (status, _now(), version, labelled,
                         json.dumps(metrics, default=str) if metrics is not None else None, error, rid))
