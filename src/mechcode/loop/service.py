""":class:`LoopService`: everything the reviewer page does, as plain method calls.

The web routes only parse requests and call these methods, so the loop is usable (and
tested) without HTTP. Every decision is committed by the store before a method returns.

Team coding (:mod:`mechcode.loop.access`, :mod:`mechcode.loop.visibility`): every read takes the reviewer it is for, and the
codes it shows come from :func:`mechcode.team.assign.visible_codes`, so a reviewer never
sees the other coder's code of a blind double-coded unit. The model trains on final codes
only (``Review.labelled_units``). A stale model (the codebook changed since it was trained)
is retrained in the background as soon as the service notices it.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Iterable

from mechcode.codebook import POLARITY_IDS, ROLE_IDS
from mechcode.errors import MechcodeError, StoreError
from mechcode.loop import queue as q
from mechcode.loop import visibility as vis
from mechcode.loop import worklog
from mechcode.loop.access import InvalidRequest, NotFound, check_undo, resolve_coder, resolve_reviewer
from mechcode.loop.active import mechanism_counts, suggested_codes
from mechcode.loop.retrain import DEFAULT_BACKEND, DEFAULT_EVERY, RetrainScheduler
from mechcode.loop.serving import INITIAL_BACKEND, ServingModel
from mechcode.loop.suggestions import SuggestionCache
from mechcode.loop.units import hidden_units, sentence_at
from mechcode.loop.views import unit_item
from mechcode.store import decisions as dec
from mechcode.store.assignments import assignments
from mechcode.team.adjudicate import adjudicate
from mechcode.team.assign import progress, visible_codes
from mechcode.team.reviewers import reviewer_names

log = logging.getLogger(__name__)

LABEL_ACTIONS = ("accept", "correct", "reject")
LAZY_LIMIT = 2000  # at most this many units are scored inside one queue request
ACTIONS = LABEL_ACTIONS + ("skip", "adjudicate")


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
        self.retrainer.first_units = self.next_units  # a retrain scores these first, then swaps
        self.scores = SuggestionCache(review, self.serving)
        self._lock = threading.RLock()
        self._units: list[dict[str, Any]] | None = None
        self._by_id: dict[int, dict[str, Any]] = {}
        self._passage_start: dict[int, int | None] = {}
        self._hidden: dict[int, str] = {}  # unit id -> why no queue offers it (non-codable, superseded)
        self._recent: dict[tuple[str, str], tuple[str, str, str | None, int | None]] = {}  # last queue asks
        self._stale_seen: str | None = None
        self.check_stale()

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
                self._hidden = hidden_units(self.review, rows)
            return self._units

    def hidden(self) -> dict[int, str]:
        """Units no queue offers: unit id -> why (``not codable: label``, ``superseded by span 12``)."""
        self.units()
        return self._hidden

    def unit(self, unit_id: int, missing: type[MechcodeError] | None = None) -> dict[str, Any]:
        """A unit from the cache (``missing``: the error for an unknown id, InvalidRequest by default)."""
        self.units()
        unit = self._by_id.get(unit_id)
        if unit is None:
            raise (missing or InvalidRequest)(f"unknown unit {unit_id}")
        return unit

    def passage_start(self, unit: dict[str, Any]) -> int | None:
        """Document offset of the passage a unit belongs to."""
        self.units()
        return self._passage_start.get(unit.get("passage_id"))

    def suggestions(self, version: str | None) -> dict[int, Any]:
        return self.scores.suggestions(version)

    def ranking_suggestions(self) -> dict[int, Any]:
        return self.scores.ranking()

    def uncertainties(self, version: str | None) -> dict[int, float]:
        return self.scores.uncertainties(version)

    def ensure_suggestions(self, units: Iterable[dict[str, Any]]) -> str | None:
        return self.scores.ensure(units)

    @property
    def model_error(self) -> str | None:
        return self.scores.model_error

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
        """Examples per mechanism in what the model trains on (final codes and seed data)."""
        counts = mechanism_counts(self.review.labelled_units())
        for m, n in mechanism_counts({"mechanisms": u.mechanisms} for u in self.retrainer.current_seed()).items():
            counts[m] = counts.get(m, 0) + n
        return counts

    def mechanism_ids(self) -> list[str]:
        """Mechanisms a reviewer can code now (merged and retired ones are history)."""
        return [m.id for m in self.review.codebook.mechanisms if m.status not in ("merged", "retired")]

    def check_stale(self) -> str | None:
        """Why the latest model is stale (None if it is not); starts one background retrain per
        stale model version, so suggestions follow the codebook as soon as possible."""
        latest = self.review.latest_model()
        stale = latest.get("stale") if latest else None
        with self._lock:
            due = bool(stale) and self._stale_seen != latest["version"] and not self.retrainer.running
            if due:
                self._stale_seen = latest["version"]
        if due:
            log.info("model %s is stale (%s): retraining in the background", latest["version"], stale)
            self.retrainer.trigger()
        return stale

    # -- API ---------------------------------------------------------------------------
    def who(self, signed_in: str | None, requested: str | None = None) -> str:
        """The reviewer a request acts as (see :func:`mechcode.loop.access.resolve_reviewer`)."""
        return resolve_reviewer(signed_in, requested, self.reviewer)

    def coder(self, signed_in: str | None, requested: str | None = None) -> str:
        """The reviewer a coding request is attributed to (see :func:`mechcode.loop.access.resolve_coder`)."""
        return resolve_coder(signed_in, requested, self.reviewer, self.named_reviewers())

    def named_reviewers(self) -> list[str]:
        return reviewer_names(self.review)

    def status(self, reviewer: str | None = None, signed_in: str | None = None) -> dict[str, Any]:
        """Model, retrain and progress figures; the counts cover the codes ``reviewer`` may see."""
        reviewer = reviewer or self.reviewer
        codes = visible_codes(self.review, reviewer)
        team = progress(self.review)
        return {
            "model_version": self.serving.version,
            "model_stale": self.check_stale(),
            "backend": self.serving.backend_name,
            "labelled": sum(c.get("action") in ("accept", "correct", "adjudicate") for c in codes.values()),
            "coded": len(codes),
            "seed_units": len(self.retrainer.seed_units),
            "training": self.retrainer.sources_status(),  # units per source of the serving model, warning
            "units": self.review.count_units(),
            "last_retrain": self.retrainer.last(),
            "retrain_running": self.retrainer.running,
            "retrain_every": self.retrainer.every,
            "retrain_backend": self.retrainer.backend,
            "since_retrain": self.retrainer.since_last,
            "reviewer": reviewer,
            "signed_in": signed_in,
            "named_reviewers": bool(self.named_reviewers()),
            "codebook_version": self.review.codebook.version,
            "model_error": self.model_error,
            "double_coded": team["double_coded"],
            "to_adjudicate": team["disagree"],
            "to_recode": len(self.review.recode_queue(reviewer)),
        }

    def queue(self, mode: str = "paper", reviewer: str | None = None, limit: int = 20,
              mechanism: str | None = None, paper: int | None = None) -> dict[str, Any]:
        """The next units for ``reviewer`` in ``mode`` with their suggestions (scored lazily).

        Units double-coded by a pair the reviewer is not part of are left out; each item
        carries the unit's code as the reviewer may see it (``code``), and in the team modes
        both codings (``adjudicate``) or the re-coding choices (``recode``)."""
        reviewer = reviewer or self.reviewer
        picks, listed, extra, open_units = self._picks(mode, reviewer, limit, mechanism, paper, score=True)
        with self._lock:
            self._recent.pop((reviewer, mode), None)
            self._recent[(reviewer, mode)] = (reviewer, mode, mechanism, paper)
            while len(self._recent) > 8:
                self._recent.pop(next(iter(self._recent)))
        version = self.ensure_suggestions([self._by_id[p.unit_id] for p in picks])
        stored = self.suggestions(version)
        allowed = self.mechanism_ids()
        visible = visible_codes(self.review, reviewer)
        items = [{**unit_item(self._by_id[p.unit_id], p, stored.get(p.unit_id), allowed, version,
                              self._passage_start.get(self._by_id[p.unit_id].get("passage_id"))),
                  "code": vis.code_view(visible.get(p.unit_id)), **extra.get(p.unit_id, {})}
                 for p in picks]
        remaining = len(listed) if mode in q.LIST_MODES else len(open_units)
        return {"mode": mode, "reviewer": reviewer, "model_version": version, "remaining": remaining,
                "units": items}

    def _picks(self, mode: str, reviewer: str, limit: int, mechanism: str | None, paper: int | None,
               score: bool) -> tuple[list, list[int], dict[int, Any], list[dict[str, Any]]]:
        """(picks, listed units, extra item fields, open units) of a queue request; ``score``:
        first score the open units a ranking mode needs (not while a retrain is still scoring)."""
        units = self.units()
        listed, extra = vis.team_list(self.review, mode, reviewer, self._by_id)
        own = set(self.review.current_codes(reviewer))
        coded = own | vis.others_double(assignments(self.review), reviewer) | set(self._hidden)
        open_units = [u for u in units if u["id"] not in coded]
        if score and q.needs_all_suggestions(mode) and not self.serving.partial:
            stored = self.suggestions(self.serving.version)
            self.ensure_suggestions([u for u in open_units if u["id"] not in stored][:LAZY_LIMIT])
        state = q.QueueState(units=units, suggestions=self.ranking_suggestions(), coded=coded,
                             skipped=self._skipped(reviewer),
                             labelled_counts=self._labelled_counts() if mode == "uncertain" else {},
                             mechanisms=self.mechanism_ids(), seed=q.stable_seed(reviewer, len(own)),
                             uncertainty=self.uncertainties(self.serving.version) if mode == "uncertain" else None,
                             listed=listed)
        try:
            return q.select(state, mode, limit, mechanism, paper), listed, extra, open_units
        except q.QueueError as exc:
            raise InvalidRequest(str(exc)) from exc

    def next_units(self, per_queue: int = q.MAX_LIMIT) -> list[int]:
        """Unit ids the reviewers' queues show next (their latest queue requests, up to
        ``per_queue`` each; the default reviewer's paper queue when nobody asked yet): what a
        retrain scores before it swaps the new model in."""
        with self._lock:
            asks = list(self._recent.values())[::-1] or [(self.reviewer, "paper", None, None)]
        out: list[int] = []
        for reviewer, mode, mechanism, paper in asks:
            try:
                out += [p.unit_id for p in self._picks(mode, reviewer, per_queue, mechanism, paper, score=False)[0]]
            except MechcodeError as exc:
                log.info("queue %s of %s not pre-scored: %s", mode, reviewer, exc)
        return list(dict.fromkeys(out))

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
        the reviewer saw (default: the serving one). ``adjudicate`` records the final code of a
        double-coded unit whose coders disagree (:func:`mechcode.team.adjudicate.adjudicate`)."""
        reviewer = reviewer or self.reviewer
        if action not in ACTIONS:
            raise InvalidRequest(f"bad action {action!r}; expected one of {', '.join(ACTIONS)}")
        self.unit(unit_id)
        mechanisms = list(mechanisms or [])
        self._check_codes(mechanisms, role, polarity)
        if action in ("reject", "skip") and mechanisms:
            raise InvalidRequest(f"a {action} carries no mechanisms; use 'correct' to give the right codes")
        if action == "correct" and not (mechanisms or role):
            raise InvalidRequest("choose a mechanism or a role first (or reject: no evidence here)")
        if action == "adjudicate":
            return self._adjudicate(unit_id, reviewer, mechanisms, role, polarity, note)
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

    def _adjudicate(self, unit_id: int, reviewer: str, mechanisms: list[str], role: str | None,
                    polarity: str | None, note: str | None) -> dict[str, Any]:
        if not (mechanisms or role):
            raise InvalidRequest("an adjudication needs the final codes: mechanisms and/or a role "
                                 "(role 'none' when the unit shows no evidence)")
        did = adjudicate(self.review, unit_id, reviewer, mechanisms, role, polarity, note)
        self.retrainer.note_decision()
        return {"id": did, "unit_id": unit_id, "action": "adjudicate", "reviewer": reviewer,
                "mechanisms": mechanisms, "role": role, "polarity": polarity, "note": note, "model_version": None}

    def _decision(self, decision_id: int) -> dict[str, Any]:
        found = dec.decision(self.review.connect(), decision_id)
        if found is None:
            raise NotFound(f"unknown decision {decision_id}")
        return found

    def undo(self, decision_id: int, reviewer: str | None = None, signed_in: str | None = None) -> dict[str, Any]:
        """Append an ``undo`` event cancelling ``decision_id`` by ``reviewer``.

        A reviewer may only undo their own decisions once the review has named reviewers (or
        when signed in with a personal token). The answer carries ``restored``: the codes the
        unit now has for that reviewer (their previous code, else the model's suggestion)."""
        reviewer = reviewer or self.reviewer
        target = self._decision(decision_id)
        check_undo(reviewer, target, strict=signed_in is not None or bool(self.named_reviewers()))
        if target["action"] == "undo":
            raise InvalidRequest(f"decision {decision_id} is itself an undo; undo cannot be undone")
        try:
            uid = self.review.undo(decision_id, reviewer)
        except StoreError as exc:
            raise InvalidRequest(str(exc)) from exc
        if target["action"] in LABEL_ACTIONS + ("adjudicate",):
            self.retrainer.note_decision(-1)  # an undone decision does not count toward the next retrain
        return {"id": uid, "undoes": decision_id, "unit_id": target["unit_id"],
                "restored": worklog.restored(self, target["reviewer"], target["unit_id"])}

    def add_span(self, document_id: int, start: int, end: int, reviewer: str | None = None,
                 mechanisms: list[str] | None = None, role: str | None = None, polarity: str | None = None,
                 note: str | None = None) -> dict[str, Any]:
        """Code a reviewer-selected span of a paper with a ``correct`` decision.

        A span that is exactly one sentence codes that sentence; otherwise it becomes a new
        ``span`` unit, which supersedes the sentences it covers in the queues."""
        reviewer = reviewer or self.reviewer
        mechanisms = list(mechanisms or [])
        self._check_codes(mechanisms, role, polarity)
        if not (mechanisms or role):
            raise InvalidRequest("a span needs at least one mechanism or a role")
        doc = self.document(document_id)
        length = len(doc.get("text") or "")
        if not 0 <= start < end <= length:
            raise InvalidRequest(f"span {start}-{end} is outside paper {document_id} (text length {length})")
        if not (doc["text"][start:end]).strip():
            raise InvalidRequest("the selected span is blank")
        unit_id = sentence_at(self.units(), document_id, start, end, doc["text"])
        sentence = unit_id is not None
        if unit_id is None:
            unit_id = self.review.add_span(document_id, start, end, reviewer)
        did = self.review.add_decision(unit_id, reviewer, "correct", mechanisms=mechanisms, role=role,
                                       polarity=polarity, note=note)
        self.retrainer.note_decision()
        unit = self.review.unit(unit_id)
        return {"unit_id": unit_id, "decision_id": did, "text": unit["text"], "sentence": sentence}

    def document(self, document_id: int) -> dict[str, Any]:
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

    def retrain(self) -> dict[str, Any]:
        """Start a retrain now (or queue one after the running one)."""
        started = self.retrainer.trigger()
        return {"started": started, "queued": not started, "running": self.retrainer.running}
