"""Shared machinery of the transfer protocols: folds, training-size curves, backends side by side.

A transfer protocol trains on some texts and tests on texts of another kind. Each :class:`Fold`
has a test side, a ``base`` that is always trained on (e.g. other corpora) and a ``pool`` of
labelled units that the learning curve subsamples *by whole groups* (papers where known, else
paragraphs): at fraction ``f`` a fold trains on ``base`` plus the first ``round(f * G)`` groups
of one fixed random order of the pool's ``G`` groups (half up; at least one when ``f > 0``), so
the subsets are nested. Fraction 0 is the codebook (and ``base``) alone.

Every backend of a run (a :class:`Spec`: label, registry name, parameters) gets the same folds
and subsets; predictions of all folds are pooled and scored once per fraction. Label-free
backends (``zeroshot``, ``keyword``) are fitted once per fold and reused at every fraction.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from mechcode.codebook import Codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit

FRACTIONS = (0.0, 0.1, 0.25, 0.5, 1.0)


@dataclass
class Spec:
    """One backend of a comparison: the label it is reported under, registry name, parameters."""

    label: str
    backend: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Fold:
    """One fold: ``env`` holds environment variables set while its models fit and predict (e.g.
    ``MECHCODE_PRIMER_EXCLUDE``, so a backend that loads the role primer by itself leaves the
    held-out domain out)."""

    name: str
    test: list[LabelledUnit]
    pool: list[LabelledUnit] = field(default_factory=list)
    base: list[LabelledUnit] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """Set ``env`` for the duration of the block, then restore the previous values."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def specs_for(backend: str, params: dict[str, Any] | None, baselines: Sequence[str],
              zeroshot_params: dict[str, Any] | None = None) -> list[Spec]:
    """The evaluated backend followed by the baselines (a baseline equal to it is not repeated)."""
    out = [Spec(backend, backend, dict(params or {}))]
    for b in baselines:
        if b != backend:
            out.append(Spec(b, b, dict(zeroshot_params or {}) if b == "zeroshot" else {}))
    return out


def parse_specs(text: str) -> list[Spec]:
    """``"sparse,embed,zeroshot-tfidf"`` -> specs; ``zeroshot-ENC`` is zeroshot with encoder ENC
    (tfidf, minilm, avg), ``sparse-prior-ENC`` / ``embed-prior-ENC`` that backend with prior ENC,
    ``sparse-roles-R`` that backend with the prior's role model R (classifier, prototypes)."""
    out = []
    for name in (t.strip() for t in text.split(",") if t.strip()):
        backend, _, rest = name.partition("-")
        if backend == "zeroshot" and rest:
            out.append(Spec(name, "zeroshot", {"encoder": rest}))
        elif backend in ("sparse", "embed") and rest.startswith("prior-"):
            out.append(Spec(name, backend, {"prior": rest[len("prior-"):]}))
        elif backend in ("sparse", "embed") and rest.startswith("roles-"):
            out.append(Spec(name, backend, {"prior_roles": rest[len("roles-"):]}))
        else:
            out.append(Spec(name, name, {}))
    if not out:
        raise ModelError("no backend given")
    return out


def group_key(u: LabelledUnit) -> str:
    from mechcode.models.train import holdout_groups

    return holdout_groups([u])[0]


def take_groups(pool: Sequence[LabelledUnit], fraction: float, order: Sequence[str]) -> list[LabelledUnit]:
    """The pool units of the first ``round(fraction * len(order))`` groups of ``order``."""
    if fraction <= 0 or not pool:
        return []
    k = max(1, int(fraction * len(order) + 0.5))  # half rounds up
    keep = set(order[:k])
    return [u for u in pool if group_key(u) in keep]


def group_order(pool: Sequence[LabelledUnit], seed: int, salt: int) -> list[str]:
    groups = sorted({group_key(u) for u in pool})
    rng = np.random.default_rng([seed, salt])
    return [groups[i] for i in rng.permutation(len(groups))]


def fit_predict(spec: Spec, train: list[LabelledUnit], test: list[LabelledUnit],
                codebook: Codebook, env: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], float]:
    """Predictions of ``spec`` trained on ``train`` for ``test``, and the seconds it took."""
    from mechcode.models.evaluation.evaluate import make_backend

    t0 = time.perf_counter()
    with environment(env or {}):
        model = make_backend(spec.backend, spec.params).fit(train, codebook)
        preds = model.predict(test) if test else []
    return preds, time.perf_counter() - t0


def run_curve(folds: Sequence[Fold], codebook: Codebook, specs: Sequence[Spec],
              score_fn: Callable[[list[LabelledUnit], list[dict]], dict[str, Any]],
              fractions: Sequence[float] = FRACTIONS, seed: int = 0,
              log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """One point per fraction: ``{"fraction", "train_units", "results": {label: score_fn(...)}}``."""
    from mechcode.models.evaluation.evaluate import LABEL_FREE

    folds = [f for f in folds if f.test]
    if not folds:
        raise ModelError("no test units: every fold is empty")
    test = [u for f in folds for u in f.test]
    orders = [group_order(f.pool, seed, k) for k, f in enumerate(folds)]
    fixed: dict[str, tuple[list[dict], float]] = {}
    points = []
    for frac in fractions:
        trains = [f.base + take_groups(f.pool, frac, o) for f, o in zip(folds, orders)]
        results, seconds = {}, {}
        for spec in specs:
            if spec.backend in LABEL_FREE and spec.label in fixed:  # same codebook, same folds
                preds, secs = fixed[spec.label]
            else:
                preds, secs = [], 0.0
                for f, tr in zip(folds, trains):
                    p, s = fit_predict(spec, tr, f.test, codebook, f.env)
                    preds += p
                    secs += s
                if spec.backend in LABEL_FREE:
                    fixed[spec.label] = (preds, secs)
            results[spec.label] = score_fn(test, preds)
            seconds[spec.label] = round(secs, 2)
            if log:
                log(f"fraction {frac}: {spec.label} done in {secs:.1f} s")
        points.append({"fraction": frac, "train_units": round(float(np.mean([len(t) for t in trains])), 1),
                       "results": results, "seconds": seconds})
    return points


def headline(points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The results at the largest fraction, per backend label."""
    return max(points, key=lambda p: p["fraction"])["results"] if points else {}
