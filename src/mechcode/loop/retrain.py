"""Background retraining: after every N decisions, train a new model and re-score the queue.

One retrain runs at a time, in a daemon thread, so requests are never blocked. A retrain:

1. records a ``running`` row in the ``retrains`` table;
2. trains the configured backend (``sparse`` by default) on all the review's training
   sources (:func:`mechcode.loop.training.training_set`): the codebook (in the backend), every recorded seed file
   (``training_sources``) and every accepted/corrected unit;
3. scores first the units the reviewers' queues show next (``first_units``: a callable the
   service passes in, asked after training so it reflects where the reviewers are now) and
   swaps the new model in as soon as their suggestions are stored (the page sees the new
   version on its next poll, within a second);
4. scores the rest of the units in the same thread and marks the serving model complete (until
   then readers rank unscored units by the previous model's suggestions and score what they
   show on demand, see :mod:`mechcode.loop.serving`); then fits the holdout model for the card's
   holdout scores (``defer_holdout``; before, it doubled the wait for the swap) and registers it;
5. records ``ok`` with the card's metrics, or ``failed`` with the error (the old model keeps
   serving when training or the first scoring fails).

``timings`` of the last retrain (seconds from its start): ``trained``, ``ordered`` (units to score
first chosen), ``swapped``, ``scored``, ``done``.

A retrain requested while one runs is queued (at most one waits). Rows left ``running`` by a
killed server are marked ``failed`` when the next server starts.

Training data are ``Review.labelled_units()``: final codes only (single-coded units, agreed
or adjudicated double-coded ones), never one coder's side of a blind double-coded unit.
When the codebook changed (the latest model is *stale*) and there is nothing to train on
yet, the initial backend (zeroshot) is rebuilt from the new codebook instead.
"""
from __future__ import annotations

import logging
import threading
import time
import traceback
from typing import Any, Callable

from mechcode.errors import ModelError, StoreError
from mechcode.loop.serving import ServingModel, holdout_scores, score_units, train_into, training_scores
from mechcode.loop.training import add_seed_units, seed_units, training_set
from mechcode.store import retrains as store_retrains

# Background retrains of these backends keep the vocabularies of an earlier fit while the
# training set has grown by at most this share (heads-only refit; mechcode.models.backends.features).
HEADS_ONLY = {"sparse": {"refit_share": 0.1}}

log = logging.getLogger(__name__)

DEFAULT_EVERY = 10
DEFAULT_BACKEND = "sparse"


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
        if self.seed_units:  # recorded in the review: every later retrain keeps them
            add_seed_units(review, self.seed_units)
        self.params = dict(params or {})
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending = False
        self._since = 0
        self.first_units: Callable[[], list[int]] | None = None  # unit ids to score before the swap
        self.on_swap: Callable[[str], None] | None = None  # called between the swap and the rest
        self.timings: dict[str, float] = {}
        self.defer_holdout = True  # False: holdout scores before the swap (as before)

    # -- bookkeeping -------------------------------------------------------------------
    def mark_interrupted(self) -> int:
        """Mark retrains left ``running`` by a server that died as failed; returns how many."""
        return store_retrains.mark_interrupted(self.review.connect())

    def last(self) -> dict[str, Any] | None:
        """The most recent retrain (running, ok or failed)."""
        return store_retrains.last_retrain(self.review.connect())  # this thread's connection

    @property
    def running(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    @property
    def since_last(self) -> int:
        return self._since

    # -- triggering --------------------------------------------------------------------
    def note_decision(self, n: int = 1) -> bool:
        """Count ``n`` labelling decisions (negative: undone ones); start a retrain when ``every`` is reached."""
        with self._lock:
            self._since = max(0, self._since + n)
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
            rid = self._start_row()  # recorded before the thread runs: status never shows a
            # running retrain without its row
            self._thread = threading.Thread(target=self._loop, args=(rid,), name="mechcode-retrain", daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running retrain (and any queued one); True if idle afterwards."""
        t = self._thread
        if t is not None:
            t.join(timeout)
        return not self.running

    def _loop(self, rid: int | None = None) -> None:
        while True:
            self.run_once(rid)
            rid = None
            with self._lock:
                if not self._pending:
                    return
                self._pending = False

    # -- the work ----------------------------------------------------------------------
    def training_units(self) -> list:
        """All training sources (:func:`training_set`: recorded seed data plus the review's final
        codes; blind double-coded units enter only once agreed or adjudicated)."""
        return training_set(self.review)[0]

    def current_seed(self) -> list:
        """The recorded seed units in the current codebook's ids (:func:`carry_seed`)."""
        return seed_units(self.review)

    def sources_status(self) -> dict[str, Any]:
        """What the serving model was trained on (counts per source, from its card) and the
        warning of the last retrain, if it used fewer units than the model it replaced."""
        latest = self.review.latest_model()
        card = (latest or {}).get("card") or {}
        last = self.last() or {}
        return {"sources": card.get("sources"), "n_units": card.get("n_units"),
                "warning": ((last.get("metrics") or {}) if isinstance(last.get("metrics"), dict) else {}
                            ).get("warning")}

    def _start_row(self) -> int:
        return store_retrains.start_retrain(self.review.connect())

    def run_once(self, rid: int | None = None) -> dict[str, Any] | None:
        """One retrain, synchronously; never raises (a failure is recorded). ``rid``: its
        ``retrains`` row when already recorded."""
        if rid is None:
            rid = self._start_row()
        labelled, t0 = None, time.perf_counter()
        self.timings = {}
        try:
            units, counts = training_set(self.review)
            labelled = len(units)
            name, params = self._backend_for(units)
            params = {**HEADS_ONLY.get(name, {}), **(params or {})}  # a setting the review gives wins
            log.info("retrain %s: training %s on %d labelled units", rid, name, labelled)
            before = ((self.review.latest_model() or {}).get("card") or {}).get("n_units")
            version, path, card = train_into(self.review, units, name, params, sources=counts,
                                             holdout=not self.defer_holdout)
            from mechcode.models.train import load_model

            backend, card = load_model(path)
            self.timings["trained"] = time.perf_counter() - t0
            warning = self._score_and_swap(version, name, str(path), backend, t0)
            if self.defer_holdout:
                warning = self._add_holdout(card, units, name, params, backend) or warning
            self.review.register_model(version, name, str(path), card)
            self.timings["done"] = time.perf_counter() - t0
            metrics = {**(card.get("metrics") or {}), "sources": counts}
            if before is not None and labelled < before:
                warning = (f"this retrain used {labelled} labelled units, fewer than the "
                           f"{before} of the model it replaced") + (f"; {warning}" if warning else "")
            if warning:
                metrics["warning"] = warning
                log.warning("retrain %s: %s", rid, warning)
            self._finish(rid, "ok", version=version, labelled=labelled, metrics=metrics)
            log.info("retrain %s: model %s is now suggesting", rid, version)
        except Exception as exc:  # noqa: BLE001 - any failure must leave the old model serving
            log.warning("retrain %s failed: %s", rid, exc)
            log.debug("%s", traceback.format_exc())
            self._finish(rid, "failed", labelled=labelled, error=f"{exc.__class__.__name__}: {exc}")
        return self.last()

    def first_batch(self) -> list[dict[str, Any]]:
        """The units ``first_units`` names, in its order (unknown ids left out); [] when it fails:
        a queue question must not fail the retrain, only lose the priority."""
        try:
            ids = list(dict.fromkeys(self.first_units())) if self.first_units else []
        except Exception as exc:  # noqa: BLE001
            log.warning("retrain: could not tell which units the queues show next: %s", exc)
            return []
        out = []
        for uid in ids:
            try:
                out.append(self.review.unit(uid))
            except StoreError:
                continue
        return out

    def rest_of(self, first: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every other unit, in reading order."""
        chosen = {u["id"] for u in first}
        return [u for u in self.review.units() if u["id"] not in chosen]

    def score_order(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(units to score before the swap, the rest)."""
        first = self.first_batch()
        return first, self.rest_of(first)

    def _score_and_swap(self, version: str, name: str, path: str, backend, t0: float) -> str | None:
        """Score the queues' next units, swap, score the rest; a warning if the rest failed (the
        model serves anyway: units it has not scored are scored when shown)."""
        first = self.first_batch()
        self.timings["ordered"] = time.perf_counter() - t0
        score_units(self.review, version, backend, first)
        self.serving.swap(version, name, path, backend, partial=len(first) < self.review.count_units())
        self.timings["swapped"] = time.perf_counter() - t0
        warning = None
        try:
            if self.on_swap:
                self.on_swap(version)
            score_units(self.review, version, backend, self.rest_of(first))
        except Exception as exc:  # noqa: BLE001
            warning = f"scoring the remaining units failed ({exc.__class__.__name__}: {exc}); they are scored when shown"
        finally:
            self.serving.complete(version)
        self.timings["scored"] = time.perf_counter() - t0
        return warning

    def _add_holdout(self, card: dict[str, Any], units: list, name: str, params: dict[str, Any],
                     backend) -> str | None:
        """Put the training-set and holdout scores in ``card`` (after the swap); a warning if
        they failed."""
        failed = []
        for key, compute in (("training", lambda: training_scores(self.review, units, backend)),
                             ("holdout", lambda: holdout_scores(self.review, units, name, params))):
            try:
                value = compute()
            except Exception as exc:  # noqa: BLE001 - the model serves already; only its scores are missing
                failed.append(f"{key} scores failed ({exc.__class__.__name__}: {exc})")
                continue
            if value is not None:
                card.setdefault("metrics", {})[key] = value
        return "; ".join(failed) or None

    def _backend_for(self, units: list) -> tuple[str, dict[str, Any]]:
        """(backend name, params) of this retrain: the configured backend, or the initial one
        when there is nothing to train on but the codebook changed under the latest model."""
        if units:
            return self.backend, self.params
        latest = self.review.latest_model()
        if latest and latest.get("stale") and self.serving.initial_backend:
            return self.serving.initial_backend, self.serving.initial_params
        raise ModelError("nothing to train on yet: no accepted or corrected decisions and no seed data")

    def _finish(self, rid: int, status: str, version: str | None = None, labelled: int | None = None,
                metrics: Any = None, error: str | None = None) -> None:
        store_retrains.finish_retrain(self.review.connect(), rid, status, version, labelled, metrics, error)
