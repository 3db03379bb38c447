"""The reviewer loop's view of the serving model's suggestions: cached per model version,
ranked with the previous version while a retrain is still scoring, and scored on demand."""
from __future__ import annotations

import logging
import threading
from typing import Any, Iterable

from mechcode.loop.active import uncertainty
from mechcode.loop.serving import ServingModel, score_units

log = logging.getLogger(__name__)


class SuggestionCache:
    """Suggestions per unit id for the versions the loop reads (at most three kept)."""

    def __init__(self, review, serving: ServingModel):
        self.review, self.serving = review, serving
        self.model_error: str | None = None  # why no model could suggest, shown in the status
        self._lock = threading.RLock()
        self._score_lock = threading.Lock()
        self._suggestions: dict[str, tuple[int | None, dict[int, Any]]] = {}
        self._ranking: tuple[Any, dict[int, Any]] = (None, {})
        self._uncertainty: tuple[Any, dict[int, float]] = (None, {})

    def suggestions(self, version: str | None) -> dict[int, Any]:
        """Stored suggestions of ``version`` per unit id (cached per version; the serving
        version's reloaded when the retrainer swaps or completes it)."""
        if version is None:
            return {}
        with self._lock:
            gen = self.serving.generation if version == self.serving.version else None
            hit = self._suggestions.get(version)
            if hit is None or hit[0] != gen:
                self._suggestions.pop(version, None)
                if len(self._suggestions) >= 3:
                    self._suggestions.pop(next(iter(self._suggestions)))
                self._suggestions[version] = (gen, self.review.suggestions(version))
            return self._suggestions[version][1]

    def ranking(self) -> dict[int, Any]:
        """What the queues rank by: the serving version's suggestions; while a retrain is still
        scoring it (:attr:`ServingModel.fallback`), the previous version's for the units it has
        not reached. Units shown are always scored by the serving version (:meth:`queue`)."""
        stored = self.suggestions(self.serving.version)
        fallback = self.serving.fallback
        if fallback is None:
            return stored
        prev = self.suggestions(fallback)
        with self._lock:
            key = (id(stored), len(stored), id(prev))
            if self._ranking[0] != key:
                self._ranking = (key, {**prev, **stored})
            return self._ranking[1]

    def uncertainties(self, version: str | None) -> dict[int, float]:
        """Uncertainty of every stored suggestion of ``version`` (cached with the suggestions)."""
        stored = self.ranking() if version == self.serving.version else self.suggestions(version)
        with self._lock:
            key = (version, id(stored), len(stored))
            if self._uncertainty[0] != key:
                self._uncertainty = (key, {uid: uncertainty(s) for uid, s in stored.items()})
            return self._uncertainty[1]

    def _forget_suggestions(self, version: str) -> None:
        with self._lock:
            self._suggestions.pop(version, None)

    def ensure(self, units: Iterable[dict[str, Any]]) -> str | None:
        """Score (and store) the units the serving model has no suggestion for; returns its version.

        A model that cannot be loaded or created is reported by the service's status and the queue
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
