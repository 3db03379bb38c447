"""The ``embed`` backend: sentence embeddings + calibrated linear heads.

Each unit becomes a feature vector from :class:`~mechcode.models.embedding_cache.Encoder`
embeddings of its text and (optionally) its paragraph context:

- ``context="concat"``: ``[emb(text), w * emb(context)]`` (default, w = 1);
- ``context="mix"``: ``normalise(emb(text) + w * emb(context))``;
- ``context="none"``: ``emb(text)``.

Three sets of linear heads (:mod:`mechcode.models.backends.embed_heads`): mechanisms one-vs-rest
(a unit with no mechanism is a negative for every head), role over the five CMO roles
(units whose role is unknown are left out), polarity ``+`` vs ``-`` (unknown left out).
``solver="ridge"`` (default) solves every class of a task in closed form, so retraining on
thousands of cached units takes well under a second; ``solver="logreg"`` fits one
class-balanced scikit-learn LogisticRegression per class (several times slower). Scores are
calibrated on out-of-fold predictions (grouped k-fold by paragraph when groups are given):
Platt scaling per mechanism and for polarity, temperature scaling for role
(:mod:`mechcode.models.backends.calibration`).

The codebook is used as extra training data (weighted ``definition_weight``): every
sentence of each mechanism's description is a positive example of that mechanism, and each
role / polarity definition an example of its role / polarity.

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
from threadpoolctl import threadpool_limits

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit, Unit, check_params, label_space, prediction, unit_group
from mechcode.models.backends.calibration import Platt, Temperature
from mechcode.models.backends.prior import LEGACY_PRIOR, PRIOR_DEFAULTS, check_prior, pooled, weights
from mechcode.models.backends.prior_cache import fit_prior
from mechcode.models.backends.embed_heads import EPS, SOLVERS, decision, fit_heads, prior_shift
from mechcode.models.embedding_cache import Encoder, compute_threads, default_model_path
from mechcode.models.io import load_arrays, read_meta, save_arrays

HEADS = "heads.npz"
META = "embed.json"
CONTEXT_MODES = ("concat", "mix", "none")
CACHE_ENV = "MECHCODE_EMBED_CACHE"
_SENT_RE = re.compile(r"(?<=[.!?;])\s+")


def definition_units(codebook: Codebook) -> list[LabelledUnit]:
    """Training examples from the codebook: description sentences and role/polarity definitions."""
    out = []
    for m in codebook.mechanisms:
        if not m.suggested:
            continue
        desc = " ".join(m.description.split())
        sents = [s for s in _SENT_RE.split(desc) if s.strip()] or [m.name]
        for i, s in enumerate(sents + m.examples):
            out.append(LabelledUnit(id=f"codebook:{m.id}:{i}", text=s, context=desc or s,
                                    mechanisms=[m.id], group=f"codebook:{m.id}"))
        for i, s in enumerate(m.not_examples):
            out.append(LabelledUnit(id=f"codebook:not:{m.id}:{i}", text=s, context=s, mechanisms=[],
                                    group=f"codebook:{m.id}"))
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


class EmbedBackend:
    """Embeddings + ridge heads + out-of-fold calibration (see the module docstring)."""

    name: ClassVar[str] = "embed"
    version: ClassVar[str] = "2"

    #: hyperparameters and their defaults (``cache_dir`` is a run setting, not saved)
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "model_path": None, "context": "concat", "context_weight": 1.0, "solver": "ridge", "C": 10.0,
        "alpha": 0.1, "folds": 5, "definitions": True, "definition_weight": 3.0, "max_length": 128,
        "batch_size": 32, "quantize": False, "seed": 0, "primer": True, **PRIOR_DEFAULTS,
        # the prior's MiniLM would be the bundled model, not model_path; the heads already see
        # MiniLM embeddings, so embed keeps the TF-IDF prior
        "prior": "tfidf"}

    def __init__(self, cache_dir: str | os.PathLike | None = None, **params: Any):
        p = check_params(self.name, self.DEFAULTS, params)
        check_prior(p)
        if p["context"] not in CONTEXT_MODES:
            raise ModelError(f"context must be one of {', '.join(CONTEXT_MODES)}, not {p['context']!r}")
        if p["solver"] not in SOLVERS:
            raise ModelError(f"solver must be one of {', '.join(SOLVERS)}, not {p['solver']!r}")
        mp = p["model_path"]
        self.model_path = None if mp and str(mp) == default_model_path() else (str(mp) if mp else None)
        self.cache_dir = cache_dir or os.environ.get(CACHE_ENV) or None
        self.context, self.solver = p["context"], p["solver"]
        self.C, self.alpha, self.context_weight = float(p["C"]), float(p["alpha"]), float(p["context_weight"])
        self.folds, self.seed = int(p["folds"]), int(p["seed"])
        self.definitions, self.definition_weight = bool(p["definitions"]), float(p["definition_weight"])
        self.max_length, self.batch_size = int(p["max_length"]), int(p["batch_size"])
        self.quantize = bool(p["quantize"])
        self.prior_params = {k: p[k] for k in ("primer", *PRIOR_DEFAULTS)}
        self.prior = None
        self.w: dict[str, float] = {"mechanism": 1.0, "role": 1.0}
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
                "context_weight": self.context_weight, "solver": self.solver, "C": self.C,
                "alpha": self.alpha, "folds": self.folds,
                "definitions": self.definitions, "definition_weight": self.definition_weight,
                "max_length": self.max_length,
                "batch_size": self.batch_size, "quantize": self.quantize, "seed": self.seed,
                **self.prior_params}

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
        self.mechanism_ids = label_space(codebook)
        self.prior = fit_prior(self.prior_params, units, codebook)
        self.w = weights(units, self.prior_params)
        if self.prior_params["primer"]:
            from mechcode.models.primer import load_primer

            units = list(units) + load_primer()
        rows = list(units) + (definition_units(codebook) if self.definitions else [])
        if not rows:
            raise ModelError("no training units (and no codebook definitions) to fit the embed backend")
        X, emb = self.features(rows)
        with threadpool_limits(compute_threads()):
            self._fit_all(X, rows)
        self.arrays["examples"] = emb.astype(np.float16)
        self.examples = example_meta(rows)
        self.encoder_key = self.encoder.model_key
        return self

    def _fit_all(self, X: np.ndarray, rows: list[LabelledUnit]) -> None:
        groups = [unit_group(u) for u in rows]
        col = {m: j for j, m in enumerate(self.mechanism_ids)}
        Y = np.zeros((len(rows), len(col)))
        for i, u in enumerate(rows):
            for m in u.mechanisms:
                if m in col:
                    Y[i, col[m]] = 1.0
        # mechanism task: not the role/polarity definitions, not the primer, not units whose
        # codes are all unsuggested (evidence of a code the model does not suggest)
        not_def = np.array([not u.id.startswith(("codebook:role:", "codebook:polarity:"))
                            and u.origin != "primer" and not (u.mechanisms and not Y[i].any())
                            for i, u in enumerate(rows)])
        self._fit_binary("mech", X, Y, rows, groups, not_def)
        self._fit_role(X, rows, groups)
        pol = np.array([u.polarity in POLARITY_IDS for u in rows])
        self._fit_binary("pol", X, np.array([[float(u.polarity == "+")] for u in rows]), rows, groups, pol)

    def _heads(self, X, Y, rows, groups, mask):
        idx = np.flatnonzero(mask)
        w = np.array([self.definition_weight if rows[i].id.startswith("codebook:") else 1.0 for i in idx])
        reg = self.C if self.solver == "logreg" else self.alpha
        return fit_heads(self.solver, X[idx], Y[idx], [groups[i] for i in idx], reg, self.folds, self.seed, w)

    def _fit_binary(self, name: str, X, Y, rows, groups, mask) -> None:
        """Independent binary heads (mechanisms one-vs-rest, polarity) with Platt calibration."""
        if not mask.any():  # no labels at all: p = 0.5 for polarity
            self.arrays[f"{name}_w"] = np.zeros((X.shape[1], Y.shape[1]))
            self.arrays[f"{name}_b"] = np.zeros(Y.shape[1])
            self.calibrators[name] = [Platt(a=0.0).to_dict() for _ in range(Y.shape[1])]
            return
        w, b, oof = self._heads(X, Y, rows, groups, mask)
        self.arrays[f"{name}_w"], self.arrays[f"{name}_b"] = w, b
        Ym = Y[mask]
        shift = prior_shift(Ym, self.solver)
        self.calibrators[name] = [
            (Platt().fit(decision(oof[:, j], self.solver), Ym[:, j], prior_shift=shift[j]) if oof is not None
             else Platt(b=shift[j], method="prior-shift")).to_dict() for j in range(Y.shape[1])]

    def _fit_role(self, X, rows, groups) -> None:
        """Role heads over the five roles (rows with a known role) with temperature scaling."""
        mask = np.array([u.role in ROLE_IDS for u in rows])
        y = np.array([ROLE_IDS.index(u.role) if u.role in ROLE_IDS else 0 for u in rows])
        Y = np.eye(len(ROLE_IDS))[y] * mask[:, None]
        if not mask.any():  # no role labels at all: uniform
            self.arrays["role_w"], self.arrays["role_b"] = np.zeros((X.shape[1], 5)), np.zeros(5)
            self.arrays["role_shift"] = np.zeros(5)
            self.calibrators["role"] = Temperature().to_dict()
            return
        w, b, oof = self._heads(X, Y, rows, groups, mask)
        self.arrays["role_w"], self.arrays["role_b"] = w, b
        self.arrays["role_shift"] = prior_shift(Y[mask], self.solver)
        temp = Temperature().fit(self._role_logits(oof), y[mask]) if oof is not None else Temperature()
        self.calibrators["role"] = temp.to_dict()

    def _role_logits(self, scores: np.ndarray) -> np.ndarray:
        if self.solver == "logreg":
            return scores + self.arrays["role_shift"]
        return np.log(np.clip(scores, EPS, None))

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
        out = {"emb": emb}
        for name in ("mech", "pol"):
            dec = decision(X @ a[f"{name}_w"] + a[f"{name}_b"], self.solver)
            cols = [Platt.from_dict(c).transform(dec[:, j]) for j, c in enumerate(self.calibrators[name])]
            out[name] = np.column_stack(cols) if cols else np.zeros((len(units), 0))
        role = Temperature.from_dict(self.calibrators["role"]).transform(
            self._role_logits(X @ a["role_w"] + a["role_b"]))
        a = {"mechanisms": out["mech"], "role": role, "polarity": out["pol"][:, 0],
             "no_mechanism": 1.0 - (out["mech"].max(axis=1) if out["mech"].shape[1] else np.zeros(len(units)))}
        return pooled(self.prior, a, self.w, units, emb=emb)

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
                {"+": p["polarity"][i], "-": 1.0 - p["polarity"][i]}, self._rationale(p, i, u, near[i]),
                p["no_mechanism"][i]))
        return out

    def _rationale(self, p: dict, i: int, u: Unit, near: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Top mechanism: content words shared with the nearest definition / example, that
        passage, and the nearest coded units."""
        from mechcode.models.backends.prior import shared_terms

        out: dict[str, Any] = {"task": "mechanism", "label": None, "terms": [], "nearest_units": near}
        if self.mechanism_ids:
            mid = self.mechanism_ids[int(p["mechanisms"][i].argmax())]
            out["label"] = mid
            if self.prior is not None:
                ev, sim = self.prior.nearest(p, i, mid)
                out.update(terms=shared_terms(u.text, ev), evidence=ev, similarity=round(sim, 4))
        return [out]

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
        save_arrays(directory / HEADS, self.arrays)
        meta = {"backend": self.name, "version": self.version, "hyperparameters": self.hyperparameters(),
                "encoder_key": self.encoder_key, "mechanism_ids": self.mechanism_ids,
                "role_ids": list(ROLE_IDS), "calibrators": self.calibrators, "examples": self.examples,
                "prior_weights": self.w}
        if self.prior is not None:
            (directory / "prior").mkdir(exist_ok=True)
            self.prior.save(directory / "prior")
        (directory / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, card: dict[str, Any] | None = None) -> "EmbedBackend":
        """Read a saved backend (the caller has checked the card with ``verify_dir``)."""
        directory = Path(directory)
        meta = read_meta(directory / META, cls.name, cls.version)
        arrays = load_arrays(directory / HEADS)
        self = cls(**{**LEGACY_PRIOR, **meta["hyperparameters"]})  # models saved before these settings
        self.arrays, self.calibrators = arrays, meta["calibrators"]
        self.mechanism_ids, self.examples = meta["mechanism_ids"], meta["examples"]
        self.encoder_key = meta["encoder_key"]
        self.w = dict(meta.get("prior_weights") or self.w)
        if self.prior_params["prior"] != "none":
            from mechcode.models.backends.zeroshot import ZeroShotBackend

            self.prior = ZeroShotBackend.load(directory / "prior", card or {})
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
