"""The ``embed`` backend: sentence embeddings + calibrated linear heads.

Each unit becomes a feature vector from :class:`~mechcode.models.embedding_cache.Encoder`
embeddings of its text and (optionally) its paragraph context:

- ``context="concat"``: ``[emb(text), w * emb(context)]`` (default);
- ``context="mix"``: ``normalise(emb(text) + w * emb(context))``;
- ``context="none"``: ``emb(text)``.

Three linear heads are fitted in closed form as ridge regressions to 0/1 targets (one
solve per task covers every class, so retraining 5,000 units with cached embeddings takes
a fraction of a second; iterative logistic regression per mechanism was ~10x too slow):
mechanisms one-vs-rest (a unit with no mechanism is a negative for every head), role over
the five CMO roles (units whose role is unknown are left out), polarity ``+`` vs ``-``
(unknown left out). Scores are calibrated on out-of-fold predictions (grouped k-fold by
paragraph when groups are given): Platt scaling per mechanism and for polarity,
temperature scaling for role (:mod:`mechcode.models.calibration`).

The codebook is used as extra training data: every sentence of each mechanism's
description is a positive example of that mechanism, and each role / polarity definition
an example of its role / polarity.

The rationale of a prediction is its three nearest training examples by cosine of the
text embeddings. Saved files: ``heads.npz`` (arrays only, read with
``allow_pickle=False``) and ``embed.json`` (ids, calibrators, example metadata).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit, Unit, prediction
from mechcode.models.calibration import Platt, Temperature
from mechcode.models.embedding_cache import Encoder, default_model_path

HEADS = "heads.npz"
META = "embed.json"
EPS = 1e-3
CONTEXT_MODES = ("concat", "mix", "none")
CACHE_ENV = "MECHCODE_EMBED_CACHE"
_SENT_RE = re.compile(r"(?<=[.!?;])\s+")


def definition_units(codebook: Codebook) -> list[LabelledUnit]:
    """Training examples from the codebook: description sentences and role/polarity definitions."""
    out = []
    for m in codebook.mechanisms:
        if not m.suggestable:
            continue
        desc = " ".join(m.description.split())
        sents = [s for s in _SENT_RE.split(desc) if s.strip()] or [m.name]
        for i, s in enumerate(sents):
            out.append(LabelledUnit(id=f"codebook:{m.id}:{i}", text=s, context=desc or s,
                                    mechanisms=[m.id], group=f"codebook:{m.id}"))
    for r in codebook.roles:
        if r.description:
            out.append(LabelledUnit(id=f"codebook:role:{r.id}", text=r.description, context=r.description,
                                    mechanisms=[], role=r.id, group="codebook:roles"))
    for p in codebook.polarity:
        if p.description:
            out.append(LabelledUnit(id=f"codebook:polarity:{p.id}", text=p.description,
                                    context=p.description, mechanisms=[], polarity=p.id,
                                    group="codebook:polarity"))
    return out


def to_logit(scores: np.ndarray) -> np.ndarray:
    """Ridge scores estimate probabilities; their clipped logit is the decision value."""
    s = np.clip(np.asarray(scores, dtype=np.float64), EPS, 1 - EPS)
    return np.log(s / (1 - s))


def _solve(stats: tuple, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge weights with an unpenalised intercept from sufficient statistics."""
    n, sx, sy, gram, cross = stats
    mu, ybar = sx / n, sy / n
    g = gram - n * np.outer(mu, mu)
    c = cross - n * np.outer(mu, ybar)
    g[np.diag_indices_from(g)] += alpha
    w = np.linalg.solve(g, c)
    return w, ybar - mu @ w


def _stats(X: np.ndarray, Y: np.ndarray, w: np.ndarray) -> tuple:
    """Weighted sufficient statistics: total weight, sums, Gram and cross products."""
    Xw = X * w[:, None]
    return w.sum(), Xw.sum(0), w @ Y, Xw.T @ X, Xw.T @ Y


def _folds(groups: list[str], k: int, seed: int) -> list[np.ndarray]:
    """Test-index arrays of a (grouped when possible) k-fold split."""
    from sklearn.model_selection import GroupKFold, KFold

    n = len(groups)
    idx = np.arange(n)
    if n < 2 * k:
        return []
    if len(set(groups)) >= k:
        splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
        return [te for _, te in splitter.split(idx, groups=groups)]
    return [te for _, te in KFold(n_splits=k, shuffle=True, random_state=seed).split(idx)]


def fit_ridge(X: np.ndarray, Y: np.ndarray, groups: list[str], alpha: float, k: int, seed: int,
              weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Weights, intercepts and out-of-fold scores (None when too few rows for folds).

    One solve covers every column of ``Y``; folds reuse the full statistics minus the
    held-out part, so k-fold costs little more than a single fit."""
    X = X.astype(np.float64)
    Y = Y.astype(np.float64)
    weights = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=np.float64)
    full = _stats(X, Y, weights)
    w, b = _solve(full, alpha)
    folds = _folds(groups, k, seed)
    if not folds:
        return w, b, None
    oof = np.zeros_like(Y)
    for te in folds:
        part = _stats(X[te], Y[te], weights[te])
        rest = tuple(a - p for a, p in zip(full, part))
        wf, bf = _solve(rest, alpha)
        oof[te] = X[te] @ wf + bf
    return w, b, oof


class EmbedBackend:
    """Embeddings + ridge heads + out-of-fold calibration (see the module docstring)."""

    name: ClassVar[str] = "embed"
    version: ClassVar[str] = "1"

    def __init__(self, model_path: str | None = None, cache_dir: str | os.PathLike | None = None,
                 context: str = "concat", context_weight: float = 0.5, alpha: float = 1.0,
                 folds: int = 5, definitions: bool = True, definition_weight: float = 1.0, max_length: int = 128,
                 batch_size: int = 32, quantize: bool = False, seed: int = 0):
        if context not in CONTEXT_MODES:
            raise ModelError(f"context must be one of {', '.join(CONTEXT_MODES)}, not {context!r}")
        self.model_path = None if model_path and str(model_path) == default_model_path() else model_path
        self.cache_dir = cache_dir or os.environ.get(CACHE_ENV) or None
        self.context = context
        self.context_weight = float(context_weight)
        self.alpha = float(alpha)
        self.folds = int(folds)
        self.definitions = bool(definitions)
        self.definition_weight = float(definition_weight)
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.quantize = bool(quantize)
        self.seed = int(seed)
        self._encoder: Encoder | None = None
        self.mechanism_ids: list[str] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.calibrators: dict[str, Any] = {}
        self.examples: list[dict[str, Any]] = []
        self.encoder_key: str | None = None
        self.progress = True

    # -- configuration ---------------------------------------------------------------------
    def hyperparameters(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "context": self.context,
                "context_weight": self.context_weight, "alpha": self.alpha, "folds": self.folds,
                "definitions": self.definitions, "definition_weight": self.definition_weight,
                "max_length": self.max_length,
                "batch_size": self.batch_size, "quantize": self.quantize, "seed": self.seed}

    @property
    def encoder(self) -> Encoder:
        """The (lazily created) encoder; set ``cache_dir`` before first use to share a cache."""
        if self._encoder is None:
            self._encoder = Encoder(self.model_path or default_model_path(), cache_dir=self.cache_dir,
                                    batch_size=self.batch_size, max_length=self.max_length,
                                    quantize=self.quantize)
        return self._encoder

    # -- features --------------------------------------------------------------------------
    def features(self, units: list[Unit]) -> tuple[np.ndarray, np.ndarray]:
        """(feature matrix, text embeddings) for ``units``; an empty context uses the text."""
        texts = [u.text for u in units]
        if self.context == "none":
            emb = self.encoder.encode(texts, progress=self.progress)
            return emb, emb
        contexts = [u.context or u.text for u in units]
        both = self.encoder.encode(texts + contexts, progress=self.progress)
        emb, ctx = both[:len(units)], both[len(units):]
        if self.context == "concat":
            return np.hstack([emb, self.context_weight * ctx]), emb
        mixed = emb + self.context_weight * ctx
        return mixed / np.linalg.norm(mixed, axis=1, keepdims=True).clip(1e-9), emb

    # -- training --------------------------------------------------------------------------
    def fit(self, units: list[LabelledUnit], codebook: Codebook) -> "EmbedBackend":
        """Fit the three heads on ``units`` (plus the codebook definitions)."""
        self.mechanism_ids = codebook.mechanism_ids(suggestable_only=True)
        rows = list(units) + (definition_units(codebook) if self.definitions else [])
        if not rows:
            raise ModelError("no training units (and no codebook definitions) to fit the embed backend")
        X, emb = self.features(rows)
        groups = [u.group or u.id for u in rows]
        self._fit_mechanisms(X, rows, groups)
        self._fit_role(X, rows, groups)
        self._fit_polarity(X, rows, groups)
        self.arrays["examples"] = emb.astype(np.float16)
        self.examples = example_meta(rows)
        self.encoder_key = self.encoder.model_key
        return self

    def _task(self, X, Y, rows, groups, mask):
        idx = np.flatnonzero(mask)
        w = np.array([self.definition_weight if rows[i].id.startswith("codebook:") else 1.0 for i in idx])
        return fit_ridge(X[idx], Y[idx], [groups[i] for i in idx], self.alpha, self.folds, self.seed, w)

    def _fit_mechanisms(self, X, rows, groups) -> None:
        col = {m: j for j, m in enumerate(self.mechanism_ids)}
        Y = np.zeros((len(rows), len(col)))
        for i, u in enumerate(rows):
            for m in u.mechanisms:
                if m in col:
                    Y[i, col[m]] = 1.0
        mask = np.array([not (u.id.startswith("codebook:role:") or u.id.startswith("codebook:polarity:"))
                         for u in rows])
        w, b, oof = self._task(X, Y, rows, groups, mask)
        self.arrays["mech_w"], self.arrays["mech_b"] = w, b
        Ym = Y[mask]
        self.calibrators["mechanisms"] = [
            (Platt().fit(to_logit(oof[:, j]), Ym[:, j]) if oof is not None else Platt()).to_dict()
            for j in range(Y.shape[1])]

    def _fit_role(self, X, rows, groups) -> None:
        mask = np.array([u.role in ROLE_IDS for u in rows])
        y = np.array([ROLE_IDS.index(u.role) if u.role in ROLE_IDS else -1 for u in rows])
        Y = np.eye(len(ROLE_IDS))[np.clip(y, 0, None)] * mask[:, None]
        if not mask.any():
            self.arrays["role_w"] = np.zeros((X.shape[1], len(ROLE_IDS)))
            self.arrays["role_b"] = np.full(len(ROLE_IDS), 1.0 / len(ROLE_IDS))
            self.calibrators["role"] = Temperature().to_dict()
            return
        w, b, oof = self._task(X, Y, rows, groups, mask)
        self.arrays["role_w"], self.arrays["role_b"] = w, b
        temp = Temperature().fit(np.log(np.clip(oof, EPS, None)), y[mask]) if oof is not None else Temperature()
        self.calibrators["role"] = temp.to_dict()

    def _fit_polarity(self, X, rows, groups) -> None:
        mask = np.array([u.polarity in POLARITY_IDS for u in rows])
        Y = np.array([[1.0 if u.polarity == "+" else 0.0] for u in rows])
        if not mask.any():
            self.arrays["pol_w"], self.arrays["pol_b"] = np.zeros((X.shape[1], 1)), np.array([0.5])
            self.calibrators["polarity"] = Platt().to_dict()
            return
        w, b, oof = self._task(X, Y, rows, groups, mask)
        self.arrays["pol_w"], self.arrays["pol_b"] = w, b
        platt = Platt().fit(to_logit(oof[:, 0]), Y[mask, 0]) if oof is not None else Platt()
        self.calibrators["polarity"] = platt.to_dict()

    # -- prediction ------------------------------------------------------------------------
    def predict_arrays(self, units: list[Unit]) -> dict[str, np.ndarray]:
        """Calibrated probabilities: ``mechanisms`` (n x M), ``role`` (n x 5), ``polarity`` (n,)
        plus the text embeddings ``emb``."""
        if "mech_w" not in self.arrays:
            raise ModelError("the embed backend is not fitted")
        self._check_encoder()
        X, emb = self.features(units)
        X = X.astype(np.float64)
        a = self.arrays
        mech_s = to_logit(X @ a["mech_w"] + a["mech_b"])
        mech = np.column_stack([Platt.from_dict(c).transform(mech_s[:, j])
                                for j, c in enumerate(self.calibrators["mechanisms"])]) \
            if self.mechanism_ids else np.zeros((len(units), 0))
        role = Temperature.from_dict(self.calibrators["role"]).transform(
            np.log(np.clip(X @ a["role_w"] + a["role_b"], EPS, None)))
        pol = Platt.from_dict(self.calibrators["polarity"]).transform(to_logit(X @ a["pol_w"] + a["pol_b"])[:, 0])
        return {"mechanisms": mech, "role": role, "polarity": pol, "emb": emb}

    def predict(self, units: list[Unit]) -> list[dict[str, Any]]:
        """Predictions in the :func:`mechcode.models.base.prediction` contract."""
        if not units:
            return []
        p = self.predict_arrays(units)
        near = self.nearest(p["emb"], 3)
        out = []
        for i, u in enumerate(units):
            out.append(prediction(
                u.id, dict(zip(self.mechanism_ids, p["mechanisms"][i])),
                dict(zip(ROLE_IDS, p["role"][i])),
                {"+": p["polarity"][i], "-": 1.0 - p["polarity"][i]}, near[i]))
        return out

    def nearest(self, emb: np.ndarray, k: int = 3) -> list[list[dict[str, Any]]]:
        """The ``k`` training examples most similar (cosine) to each row of ``emb``."""
        return nearest_examples(emb, self.arrays["examples"], self.examples, k)

    def _check_encoder(self) -> None:
        if self.encoder_key and self.encoder.model_key != self.encoder_key:
            raise ModelError(f"the embedding model at {self.encoder.model_path} differs from the one this "
                             "model was trained with (different files); retrain or point model_path at it")

    # -- persistence -----------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write ``heads.npz`` (arrays only) and ``embed.json`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / HEADS, **self.arrays)
        meta = {"backend": self.name, "version": self.version, "hyperparameters": self.hyperparameters(),
                "encoder_key": self.encoder_key, "mechanism_ids": self.mechanism_ids,
                "role_ids": list(ROLE_IDS), "calibrators": self.calibrators, "examples": self.examples}
        (directory / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, card: dict[str, Any] | None = None) -> "EmbedBackend":
        """Read a saved backend (the caller has checked the card with ``verify_dir``)."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / META).read_text(encoding="utf-8"))
            with np.load(directory / HEADS, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, json.JSONDecodeError) as exc:
            raise ModelError(f"{directory}: unreadable embed model ({exc})") from exc
        if meta.get("version") != cls.version:
            raise ModelError(f"{directory}: embed model version {meta.get('version')!r}, "
                             f"this mechcode reads version {cls.version}")
        self = cls(**meta["hyperparameters"])
        self.arrays, self.calibrators = arrays, meta["calibrators"]
        self.mechanism_ids, self.examples = meta["mechanism_ids"], meta["examples"]
        self.encoder_key = meta["encoder_key"]
        return self


def nearest_examples(emb: np.ndarray, train: np.ndarray, examples: list[dict[str, Any]],
                     k: int = 3) -> list[list[dict[str, Any]]]:
    """For each row of ``emb``, the ``k`` rows of ``train`` (L2-normalised) with the highest
    cosine, as their ``examples`` metadata plus ``similarity``."""
    train = np.asarray(train, dtype=np.float32)
    k = min(k, len(train))
    out: list[list[dict[str, Any]]] = []
    if k == 0:
        return [[] for _ in range(len(emb))]
    for s in range(0, len(emb), 1024):
        sims = np.asarray(emb[s:s + 1024], dtype=np.float32) @ train.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for row, cand in zip(sims, top):
            cand = cand[np.argsort(-row[cand], kind="stable")]
            out.append([{**examples[j], "similarity": round(float(row[j]), 4)} for j in cand])
    return out


def example_meta(units: list[LabelledUnit]) -> list[dict[str, Any]]:
    """Rationale metadata of training examples: id, text snippet and labels."""
    return [{"id": u.id, "text": _snippet(u.text), "mechanisms": sorted(u.mechanisms),
             "role": u.role, "polarity": u.polarity} for u in units]


def _snippet(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"
