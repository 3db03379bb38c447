"""The model that serves suggestions in the reviewer loop.

It is the review's latest registered model; a review without one starts from the default
backend (``sparse``: with no labels it is the codebook prior, see ``models/README.md``)
trained on the review's training sources, created and registered on first use. A retrain
swaps in a new model atomically once the suggestions of the units the queues show next are
stored (:meth:`ServingModel.swap` with ``partial=True``), and marks it complete
(:meth:`ServingModel.complete`) once every unit is scored. While it is partial, readers rank
units the new model has not scored yet by the previous model's suggestion (:attr:`ServingModel.fallback`)
and score the units they show on demand; :attr:`ServingModel.generation` changes at every swap
and completion, so suggestion caches know when to reload.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Iterable

log = logging.getLogger(__name__)

INITIAL_BACKEND = "sparse"  # with no labels: the codebook prior (see mechcode.models.backends.prior)
SCORE_BATCH = 256


def to_model_units(units: Iterable[dict[str, Any]]) -> list:
    """Store unit rows as :class:`mechcode.models.base.Unit` (id as string; paper ``doc<document id>``,
    as the review's training codes name it, :func:`mechcode.store.decisions.labelled_units`)."""
    from mechcode.models.base import Unit

    return [Unit(id=str(u["id"]), text=u["text"], context=u.get("context") or "",
                 paper=None if u.get("document_id") is None else f"doc{u['document_id']}") for u in units]


def score_units(review, version: str, backend, units: list[dict[str, Any]],
                batch: int = SCORE_BATCH) -> int:
    """Predict ``units`` with ``backend`` and store the suggestions under ``version`` (one
    transaction per ``batch``, so readers see them as they come)."""
    done = 0
    for i in range(0, len(units), batch):
        chunk = units[i:i + batch]
        preds = backend.predict(to_model_units(chunk))
        review.add_suggestions(version, [{**p, "unit_id": int(p["id"])} for p in preds])
        done += len(chunk)
    return done


def train_into(review, units: list, backend_name: str, params: dict[str, Any] | None = None,
               sources: dict[str, int] | None = None, holdout: bool = True):
    """Train ``backend_name`` on ``units`` into ``REVIEW/models/<version>``; returns (version, path, card).

    The models code writes the directory atomically (temporary sibling renamed into place), so a
    crash never leaves a half-written model under a version name. ``holdout=False``: no holdout
    scores and no training-set scores in the card (a retrain adds them after the swap,
    :func:`holdout_scores`, :func:`training_scores`)."""
    from mechcode.models.train import new_version, train_model

    models_dir = Path(review.models_dir)
    base = new_version(backend_name, units)
    registered = {m["version"] for m in review.models()}
    version, n = base, 1
    while (models_dir / version).exists() or version in registered:
        n += 1
        version = f"{base}.{n}"
    card = train_model(units, review.codebook, backend_name, models_dir / version, version=version,
                       sources=sources, holdout=holdout, training_scores=holdout, **(params or {}))
    return version, models_dir / version, card


def training_scores(review, units: list, backend) -> dict[str, Any] | None:
    """The served model's scores on its own training units (None without units)."""
    from mechcode.models.train import headline_scores

    return headline_scores(units, backend, review.codebook) if units else None


def holdout_scores(review, units: list, backend_name: str, params: dict[str, Any] | None = None):
    """The holdout scores ``train_into`` would put in the card (None with too few groups)."""
    from mechcode.models.train import holdout_metrics

    return holdout_metrics(units, review.codebook, backend_name, dict(params or {})) if units else None


def initial_settings(backend: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Hyperparameters of the initial model; a zeroshot ``encoder`` (``review --zeroshot-encoder``)
    becomes the ``prior`` encoder of a learning backend."""
    params = dict(params or {})
    if backend != "zeroshot" and "encoder" in params:
        params["prior"] = params.pop("encoder")
    return params


class ServingModel:
    """The current model version and its loaded backend (thread-safe, loaded lazily)."""

    def __init__(self, review, initial_backend: str = INITIAL_BACKEND,
                 initial_params: dict[str, Any] | None = None):
        self.review = review
        self.initial_backend = initial_backend
        self.initial_params = initial_settings(initial_backend, initial_params)
        self._lock = threading.RLock()
        self._backend = None
        latest = review.latest_model()
        self._version: str | None = latest["version"] if latest else None
        self._path: str | None = latest["path"] if latest else None
        self._backend_name: str | None = latest["backend"] if latest else None
        self._partial = False
        self._fallback: str | None = None
        self.generation = 0  # changes at every swap and completion

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def backend_name(self) -> str | None:
        return self._backend_name

    def ensure(self) -> tuple[str, Any]:
        """(version, backend), loading the registered model or creating the zeroshot one."""
        with self._lock:
            if self._backend is not None and self._version is not None:
                return self._version, self._backend
            if self._version is None:
                self._create_initial()
            else:
                from mechcode.models.train import load_model

                self._backend, _card = load_model(self._path)
            return self._version, self._backend

    def _create_initial(self) -> None:
        from mechcode.models.train import load_model

        from mechcode.loop.training import training_set

        log.info("no model yet: creating the %s model", self.initial_backend)
        units, counts = training_set(self.review)
        version, path, card = train_into(self.review, units, self.initial_backend, self.initial_params,
                                         sources=counts)
        backend, card = load_model(path)
        self.review.register_model(version, self.initial_backend, str(path), card)
        self._version, self._path, self._backend_name, self._backend = (
            version, str(path), self.initial_backend, backend)

    @property
    def partial(self) -> bool:
        """Whether the serving version still lacks suggestions for some units (being scored)."""
        return self._partial

    @property
    def fallback(self) -> str | None:
        """While :attr:`partial`: the version served before, whose suggestions stand in for
        ranking the units the new one has not scored yet (None when complete)."""
        return self._fallback if self._partial else None

    def swap(self, version: str, backend_name: str, path: str, backend, partial: bool = False) -> None:
        """Serve ``version`` from now on (called by the retrainer once the suggestions the queues
        need first are stored); ``partial``: the remaining units are still being scored."""
        with self._lock:
            self._fallback = self._version if partial else None
            self._partial = partial
            self._version, self._backend_name, self._path, self._backend = version, backend_name, path, backend
            self.generation += 1

    def complete(self, version: str) -> None:
        """Every unit has a suggestion of ``version`` now (or will be scored on demand)."""
        with self._lock:
            if self._version == version and self._partial:
                self._partial, self._fallback = False, None
                self.generation += 1

    def predict_missing(self, units: list[dict[str, Any]], stored: dict[int, Any]) -> int:
        """Score the ``units`` that have no stored suggestion for the serving version."""
        missing = [u for u in units if u["id"] not in stored]
        if not missing:
            return 0
        version, backend = self.ensure()
        return score_units(self.review, version, backend, missing)
