""":class:`LoopService`: everything the reviewer page does, as plain method calls.

The web routes only parse requests and call these methods, so the loop is usable (and
tested) without HTTP. Every decision is committed by the store before a method returns.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Iterable

from mechcode.codebook import POLARITY_IDS, ROLE_IDS
from mechcode.errors import MechcodeError, StoreError
from mechcode.loop import queue as q
from mechcode.loop.active import mechanism_counts, suggested_codes, uncertainty
from mechcode.loop.retrain import DEFAULT_BACKEND, DEFAULT_EVERY, RetrainScheduler
from mechcode.loop.serving import INITIAL_BACKEND, ServingModel, score_units
from mechcode.loop.views import paper_progress, paper_view, unit_item

log = logging.getLogger(__name__)

LABEL_ACTIONS = ("accept", "correct", "reject")
LAZY_LIMIT = 2000  # at most this many units are scored inside one queue request
ACTIONS = LABEL_ACTIONS + ("skip",)


class InvalidRequest(MechcodeError):
    """A request the reviewer loop refuses (unknown unit, mechanism, role ...); nothing is stored."""


class NotFound(MechcodeError):
    """A resource named in the URL does not exist."""


class LoopService:
    """The reviewer loop over one review: queue, decisions, spans, progress, retraining."""

    def __init__(self, review, reviewer: str = "reviewer", retrain_every: int = DEFAULT_EVERY,
                 backend: str = DEFAULT_BACKEND, seed_units: list | None = None,
                 initial_backend: str = INITIAL_BACKEND, params: dict[str, Any] | None = None,
                 initial_params: dict[str, Any] | None = None):
        self.review = review
        self.reviewer = reviewer
        self.serving = ServingModel(review, initial_backend, initial_params)
        self.retrainer = RetrainScheduler(review, self.serving, backend, retrain_every, seed_units, params)
        self.retrainer.mark_interrupted()
        self.model_error: str | None = None
        self._lock = threading.RLock()
        self._score_lock = threading.Lock()
        self._units: list[dict[str, Any]] | None = None
        self._by_id: dict[int, dict[str, Any]] = {}
        self._passage_start: dict[int, int | None] = {}
        self._suggestions: dict[str, dict[int, Any]] = {}
        self._uncertainty: tuple[Any, dict[int, float]] = (None, {})

    # -- cached reads ------------------------------------------------------------------
    def units(self) -> list[dict[str, Any]]:
        """All units in reading order (cached; refreshed when the store has more)."""
        with self._lock:
            if self._units is None or len(self._units) != self.review.count_units():
                rows = sorted(self.review.units(), key=lambda u: (u["document_id"], u["start"], u["seq"], u["id"]))
                starts: dict[int, int | None] = {}
                for doc_id in sorted({u["document_id"] for u in rows}):
                    starts.update({p["id"]: p.get("start") for p in self.review.passages(doc_id)})
                self._units, self._by_id, self._passage_start = rows, {u["id"]: u for u in rows}, starts
            return self._units

    def unit(self, unit_id: int) -> dict[str, Any]:
        self.units()
        unit = self._by_id.get(unit_id)
        if unit is None:
            raise InvalidRequest(f"unknown unit {unit_id}")
        return unit

    def suggestions(self, version: str | None) -> dict[int, Any]:
        """Stored suggestions of ``version`` per unit id (cached per version)."""
        if version is None:
            return {}
        with self._lock:
            if version not in self._suggestions:
                if len(self._suggestions) >= 3:
                    self._suggestions.pop(next(iter(self._suggestions)))
                self._suggestions[version] = self.review.suggestions(version)
            return self._suggestions[version]

    def uncertainties(self, version: str | None) -> dict[int, float]:
        """Uncertainty of every stored suggestion of ``version`` (cached with the suggestions)."""
        stored = self.suggestions(version)
        with self._lock:
            key = (version, id(stored))
            if self._uncertainty[0] != key:
                self._uncertainty = (key, {uid: uncertainty(s) for uid, s in stored.items()})
            return self._uncertainty[1]

    def _forget_suggestions(self, version: str) -> None:
        with self._lock:
            self._suggestions.pop(version, None)

    def ensure_suggestions(self, units: Iterable[dict[str, Any]]) -> str | None:
        """Score (and store) the units the serving model has no suggestion for; returns its version.

        A model that cannot be loaded or created is reported in :meth:`status` and the queue
        works without suggestions."""
        units = list(units)
        with self._score_lock:
            try:
                version, backend = self.serving.ensure()
            except Exception as exc:  # noqa: BLE001 - coding must go on without suggestions
                self.model_error = f"{exc.__class__.__name__}: {exc}"
                log.warning("no model to suggest codes: %s", self.model_error)
                return self.serving.version
            stored = self.suggestions(version)
            missing = [u for u in units if u["id"] not in stored]
            if missing:
                try:
                    score_units(self.review, version, backend, missing)
                    self.model_error = None
                except Exception as exc:  # noqa: BLE001
                    self.model_error = f"{exc.__class__.__name__}: {exc}"
                    log.warning("scoring failed: %s", self.model_error)
                self._forget_suggestions(version)
            return version

    # -- derived state -----------------------------------------------------------------
    def _skipped(self, reviewer: str) -> set[int]:
        """Units whose latest (not undone) event by ``reviewer`` is a skip."""
        events = self.review.decisions()
        undone = {e["undoes"] for e in events if e["action"] == "undo" and e.get("undoes")}
        last: dict[int, str] = {}
        for e in events:
            if e["reviewer"] == reviewer and e["action"] != "undo" and e["id"] not in undone:
                last[e["unit_id"]] = e["action"]
        return {u for u, a in last.items() if a == "skip"}

    def _labelled_counts(self) -> dict[str, int]:
        codes = [c for c in self.review.current_codes().values() if c.get("action") in ("accept", "correct")]
        counts = mechanism_counts(codes)
        for m, n in mechanism_counts({"mechanisms": u.mechanisms} for u in self.retrainer.seed_units).items():
            counts[m] = counts.get(m, 0) + n
        return counts

    def mechanism_ids(self) -> list[str]:
        """Mechanisms a reviewer can code now (merged and retired ones are history)."""
        return [m.id for m in self.review.codebook.mechanisms if m.status not in ("merged", "retired")]

    # -- API ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        codes = self.review.current_codes()
        return {
            "model_version": self.serving.version,
            "backend": self.serving.backend_name,
            "labelled": sum(c.get("action") in ("accept", "correct") for c in codes.values()),
            "coded": len(codes),
            "seed_units": len(self.retrainer.seed_units),
            "units": self.review.count_units(),
            "last_retrain": self.retrainer.last(),
            "retrain_running": self.retrainer.running,
            "retrain_every": self.retrainer.every,
            "retrain_backend": self.retrainer.backend,
            "since_retrain": self.retrainer.since_last,
            "reviewer": self.reviewer,
            "codebook_version": self.review.codebook.version,
            "model_error": self.model_error,
        }

    def queue(self, mode: str = "paper", reviewer: str | None = None, limit: int = 20,
              mechanism: str | None = None, paper: int | None = None) -> dict[str, Any]:
        """The next units for ``reviewer`` in ``mode`` with their suggestions (scored lazily)."""
        reviewer = reviewer or self.reviewer
        units = self.units()
        coded = set(self.review.current_codes(reviewer))
        skipped = self._skipped(reviewer)
        open_units = [u for u in units if u["id"] not in coded]
        if q.needs_all_suggestions(mode):
            stored = self.suggestions(self.serving.version)
            self.ensure_suggestions([u for u in open_units if u["id"] not in stored][:LAZY_LIMIT])
        state = q.QueueState(units=units, suggestions=self.suggestions(self.serving.version), coded=coded,
                             skipped=skipped, labelled_counts=self._labelled_counts(),
                             mechanisms=self.mechanism_ids(), seed=q.stable_seed(reviewer, len(coded)),
                             uncertainty=self.uncertainties(self.serving.version) if mode == "uncertain" else None)
        try:
            picks = q.select(state, mode, limit, mechanism, paper)
        except q.QueueError as exc:
            raise InvalidRequest(str(exc)) from exc
        version = self.ensure_suggestions([self._by_id[p.unit_id] for p in picks])
        stored = self.suggestions(version)
        allowed = self.mechanism_ids()
        items = [unit_item(self._by_id[p.unit_id], p, stored.get(p.unit_id), allowed, version,
                           self._passage_start.get(self._by_id[p.unit_id].get("passage_id")))
                 for p in picks]
        return {"mode": mode, "reviewer": reviewer, "model_version": version, "remaining": len(open_units),
                "units": items}

    def _check_codes(self, mechanisms: list[str], role: str | None, polarity: str | None) -> None:
        known = set(self.review.codebook.mechanism_ids())
        unknown = [m for m in mechanisms if m not in known]
        if unknown:
            raise InvalidRequest(f"unknown mechanism {unknown[0]!r}; expected one of {', '.join(sorted(known))}")
        if len(set(mechanisms)) != len(mechanisms):
            raise InvalidRequest("a mechanism is listed twice")
        if role is not None and role not in ROLE_IDS:
            raise InvalidRequest(f"bad role {role!r}; expected one of {', '.join(ROLE_IDS)}")
        if polarity is not None and polarity not in POLARITY_IDS:
            raise InvalidRequest(f"bad polarity {polarity!r}; expected '+' or '-'")

    def decide(self, unit_id: int, action: str, reviewer: str | None = None, mechanisms: list[str] | None = None,
               role: str | None = None, polarity: str | None = None, note: str | None = None,
               model_version: str | None = None) -> dict[str, Any]:
        """Record one decision (committed before returning) with a snapshot of what was suggested.

        ``accept`` without codes takes the suggestion's codes; ``model_version`` is the version
        the reviewer saw (default: the serving one)."""
        reviewer = reviewer or self.reviewer
        if action not in ACTIONS:
            raise InvalidRequest(f"bad action {action!r}; expected one of {', '.join(ACTIONS)}")
        self.unit(unit_id)
        mechanisms = list(mechanisms or [])
        self._check_codes(mechanisms, role, polarity)
        if action in ("reject", "skip") and mechanisms:
            raise InvalidRequest(f"a {action} carries no mechanisms; use 'correct' to give the right codes")
        version = model_version or self.serving.version
        sugg = self.suggestions(version).get(unit_id)
        if action == "accept" and not (mechanisms or role or polarity):
            if not sugg:
                raise InvalidRequest(f"nothing to accept: unit {unit_id} has no suggestion from model "
                                     f"{version}; send the codes with action 'correct'")
            codes = suggested_codes(sugg, self.mechanism_ids())
            mechanisms, role, polarity = codes["mechanisms"], codes["role"], codes["polarity"]
        snapshot = {**sugg, "model_version": version} if sugg else None
        did = self.review.add_decision(unit_id, reviewer, action, mechanisms=mechanisms, role=role,
                                       polarity=polarity, note=note, suggestion=snapshot)
        if action in LABEL_ACTIONS:
            self.retrainer.note_decision()
        return {"id": did, "unit_id": unit_id, "action": action, "reviewer": reviewer,
                "mechanisms": mechanisms, "role": role, "polarity": polarity, "note": note,
                "model_version": version if sugg else None}

    def _decision(self, decision_id: int) -> dict[str, Any]:
        row = self.review.connect().execute("SELECT id, unit_id, action, reviewer FROM decisions WHERE id = ?",
                                            (decision_id,)).fetchone()
        if row is None:
            raise NotFound(f"unknown decision {decision_id}")
        return dict(row)

    def undo(self, decision_id: int, reviewer: str | None = None) -> dict[str, Any]:
        """Append an ``undo`` event cancelling ``decision_id``."""
        target = self._decision(decision_id)
        if target["action"] == "undo":
            raise InvalidRequest(f"decision {decision_id} is itself an undo; undo cannot be undone")
        uid = self.review.undo(decision_id, reviewer or self.reviewer)
        return {"id": uid, "undoes": decision_id, "unit_id": target["unit_id"]}

    def add_span(self, document_id: int, start: int, end: int, reviewer: str | None = None,
                 mechanisms: list[str] | None = None, role: str | None = None, polarity: str | None = None,
                 note: str | None = None) -> dict[str, Any]:
        """Code a reviewer-selected span of a paper: a new ``span`` unit plus a ``correct`` decision."""
        reviewer = reviewer or self.reviewer
        mechanisms = list(mechanisms or [])
        self._check_codes(mechanisms, role, polarity)
        if not (mechanisms or role):
            raise InvalidRequest("a span needs at least one mechanism or a role")
        doc = self._document(document_id)
        length = len(doc.get("text") or "")
        if not 0 <= start < end <= length:
            raise InvalidRequest(f"span {start}-{end} is outside paper {document_id} (text length {length})")
        if not (doc["text"][start:end]).strip():
            raise InvalidRequest("the selected span is blank")
        unit_id = self.review.add_span(document_id, start, end, reviewer)
        did = self.review.add_decision(unit_id, reviewer, "correct", mechanisms=mechanisms, role=role,
                                       polarity=polarity, note=note)
        self.retrainer.note_decision()
        return {"unit_id": unit_id, "decision_id": did, "text": doc["text"][start:end]}

    def _document(self, document_id: int) -> dict[str, Any]:
        try:
            return self.review.document(document_id)
        except StoreError as exc:
            raise NotFound(f"unknown paper {document_id}") from exc

    def codebook(self) -> dict[str, Any]:
        """The codebook with the keyboard key of each suggestable mechanism (1-9, then 0)."""
        cb = self.review.codebook.to_dict()
        keys = "1234567890"
        for i, mid in enumerate(self.mechanism_ids()):
            cb_m = next(m for m in cb["mechanisms"] if m["id"] == mid)
            cb_m["key"] = keys[i] if i < len(keys) else None
        return cb

    def papers(self, reviewer: str | None = None) -> dict[str, Any]:
        reviewer = reviewer or self.reviewer
        return paper_progress(self.units(), set(self.review.current_codes()),
                              set(self.review.current_codes(reviewer)), self.review.documents())

    def paper(self, document_id: int) -> dict[str, Any]:
        doc = self._document(document_id)
        units = [u for u in self.units() if u["document_id"] == document_id]
        return paper_view(doc, self.review.passages(document_id), units, self.review.current_codes())

    def retrain(self) -> dict[str, Any]:
        """Start a retrain now (or queue one after the running one)."""
        started = self.retrainer.trigger()
        return {"started": started, "queued": not started, "running": self.retrainer.running}
