"""The ``sparse`` backend: TF-IDF word + character n-grams into calibrated linear models.

Features (:mod:`mechcode.models.backends.features`): word 1-2-grams and character 2-5-grams
(``char_wb``) of the sentence, plus word n-grams of its paragraph (the context) scaled by
``context_weight``.

Heads (scikit-learn ``LogisticRegression``, kept as plain coefficient arrays once fitted):

- an "any mechanism" head whose complement is the ``no_mechanism`` probability, and one binary
  head per suggestable mechanism (multi-label). With ``hierarchical`` (default) the mechanism
  heads learn which mechanism *given* that there is one, from the units that have one, and
  ``p(m) = p(any) * p(m | any)``: otherwise they mostly learn to tell leadership prose from
  methods text, which the "any" head already does;
- a multinomial role head over the five CMO roles;
- a binary polarity head (``+`` vs ``-``), trained on units whose polarity is known.

Training data = labelled units plus the codebook definitions (each mechanism's name and the
sentences of its description, each role and polarity definition), so every class has examples
even before the first label. Probabilities are calibrated on group-aware out-of-fold scores:
Platt scaling for binary heads, temperature scaling for the role head; tiny classes fall back
as described in :mod:`mechcode.models.backends.calibration`.

Rationale: the word n-grams that contribute most to the top mechanism and the top role.
Saved as plain arrays and JSON, no pickle: ``sparse.npz`` (idf weights, head coefficients)
and ``sparse.json`` (vocabularies, label space, calibrators, parameters). Neither torch nor
skops is imported (importing skops pulls in torch through scikit-learn's estimator discovery).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
from mechcode.errors import ModelError
from mechcode.models.base import (Example, LabelledUnit, Unit, check_params, label_space, prediction,
                                  training_examples)
from mechcode.models.io import load_arrays, restore_vectorizer, save_arrays, vectorizer_state
from mechcode.models.backends.linear_heads import Head, Linear, fit_head
from mechcode.models.backends.features import Features, content_term, fit_features
from mechcode.models.backends.prior import LEGACY_PRIOR, PRIOR_DEFAULTS, check_prior, pooled, weights
from mechcode.models.backends.prior_cache import fit_prior

ARRAYS_FILE = "sparse.npz"
META_FILE = "sparse.json"

DEFAULTS: dict[str, Any] = {
    "C": 8.0,                  # inverse regularisation of the mechanism / any / polarity heads
    "role_C": 8.0,             # ... of the role head
    "class_weight": "balanced",
    "context_weight": 1.0,     # scale of the paragraph (context) features; 0 = sentence only
                               # (0.5 until chosen on the development sides: experiments/context_dev.py)
    "word_ngrams": [1, 2],
    "char_ngrams": [2, 5],     # null = no character n-grams
    "min_df": 1,
    "max_features": 200000,    # per vectorizer
    "refit_share": 0.0,        # > 0: keep this process's earlier vocabularies while new training texts
                               # are at most this share of them (heads-only; the loop's retrains use 0.1)
    "hierarchical": True,      # mechanism heads trained on mechanism units only; p(m) = p(any) p(m | any)
    "use_definitions": True,   # codebook definitions as extra training examples
    "definition_weight": 1.0,
    "cal_folds": 3,            # group folds for out-of-fold calibration scores
    "rationale_terms": 5,
    "seed": 0,
    "primer": True,            # the CMO role primer's statements as extra role / polarity units
    "role_context": True,      # False: the role head sees the sentence only, not its paragraph
    "clean": True,             # drop citation markers, numbers and URLs before featurising
    **PRIOR_DEFAULTS,          # the codebook prior and how fast learning takes over (backends/prior.py)
}
PRIOR_DIR = "prior"


class SparseBackend:
    """TF-IDF + calibrated logistic regression (the default backend)."""

    name: ClassVar[str] = "sparse"
    version: ClassVar[str] = "2"

    def __init__(self, **params: Any):
        self.params = check_params("sparse", DEFAULTS, params, nullable=("class_weight", "char_ngrams"))
        check_prior(self.params)
        self.mechanisms: list[str] = []
        self.features: Features | None = None
        self.heads: dict[str, Head] = {}
        self._W: np.ndarray | None = None
        self.prior = None
        self.w: dict[str, float] = {"mechanism": 1.0, "role": 1.0}
        self.vocabulary: dict[str, int | None] = {}  # pairs the vocabularies were fitted on, pairs trained on

    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.params)

    # -- training ----------------------------------------------------------------------------
    def fit(self, units: list[LabelledUnit], codebook: Codebook) -> "SparseBackend":
        from threadpoolctl import threadpool_limits

        # Small L-BFGS steps are far slower with threaded BLAS (thread start-up per call).
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(units, codebook)

    def _fit(self, units: list[LabelledUnit], codebook: Codebook) -> "SparseBackend":
        p = self.params
        self.prior = fit_prior(p, units, codebook)
        self.w = weights(units, p)
        if p["primer"]:
            from mechcode.models.primer import load_primer

            units = list(units) + load_primer()
        ex = training_examples(units, codebook, p["use_definitions"], p["definition_weight"])
        if not ex:
            raise ModelError("sparse backend: nothing to train on (no units and no definitions)")
        self.mechanisms = label_space(codebook)
        self.features, X = fit_features(p, [e.text for e in ex], [e.context for e in ex])
        self.vocabulary = {"fitted_on_pairs": self.features.fitted_on,
                           "training_pairs": len(set(zip((e.text for e in ex), (e.context for e in ex))))}
        self.heads = {}
        self._fit_mechanisms(X, ex)
        self._fit_task(self._role_X(X), ex, "role", list(ROLE_IDS), p["role_C"])
        self._fit_task(X, ex, "polarity", list(POLARITY_IDS[::-1]), p["C"])  # classes ["-", "+"]
        self._W = None
        return self

    def _fit_mechanisms(self, X, ex: list[Example]) -> None:
        rows = np.array([i for i, e in enumerate(ex) if e.mechanisms is not None], dtype=int)
        Xm = X[rows]
        w = np.array([ex[i].weight for i in rows])
        groups = [ex[i].group for i in rows]
        labels = [set(ex[i].mechanisms or ()) for i in rows]
        y_any = ["yes" if s else "no" for s in labels]
        self.heads["any"] = fit_head(Xm, y_any, w, groups, ["no", "yes"], self.params["C"], self.params)
        if self.params["hierarchical"]:  # mechanism heads learn P(m | some mechanism)
            sub = np.array([j for j, s in enumerate(labels) if s], dtype=int)
            if sub.size:
                Xm, w, groups, labels = Xm[sub], w[sub], [groups[j] for j in sub], [labels[j] for j in sub]
        for mid in self.mechanisms:
            y = ["yes" if mid in s else "no" for s in labels]
            self.heads[f"mech:{mid}"] = fit_head(Xm, y, w, groups, ["no", "yes"], self.params["C"], self.params)

    def _fit_task(self, X, ex: list[Example], task: str, classes: list[str], C: float) -> None:
        rows = np.array([i for i, e in enumerate(ex) if getattr(e, task) is not None], dtype=int)
        if rows.size == 0:
            self.heads[task] = Head(classes, const=[1.0 / len(classes)] * len(classes))
            return
        y = [getattr(ex[i], task) for i in rows]
        self.heads[task] = fit_head(X[rows], y, np.array([ex[i].weight for i in rows]),
                                    [ex[i].group for i in rows], classes, C, self.params)

    # -- prediction --------------------------------------------------------------------------
    def _mechanism_proba(self, X) -> np.ndarray:
        """(n, M) calibrated probabilities, one stacked sparse product for all trained heads."""
        heads = [self.heads[f"mech:{m}"] for m in self.mechanisms]
        trained = [j for j, h in enumerate(heads) if h.model is not None]
        if self._W is None and trained:
            self._W = np.stack([heads[j].model.coef_[0] for j in trained], axis=1).astype(np.float32)
            self._b = np.array([heads[j].model.intercept_[0] for j in trained])
        out = np.zeros((X.shape[0], len(heads)))
        if trained:
            scores = np.asarray(X @ self._W) + self._b
            for col, j in enumerate(trained):
                out[:, j] = heads[j].calib.transform(scores[:, col])
        for j, h in enumerate(heads):
            if h.model is None:
                out[:, j] = h.const[1]
        return out

    def predict_arrays(self, units: list[Unit]) -> dict[str, Any]:
        """Learned probabilities pooled with the prior (:func:`mechcode.models.backends.prior.blend`) and
        finalised; also the feature matrix ``X``."""
        if self.features is None:
            raise ModelError("sparse backend: predict called before fit/load")
        X = self.features.transform([u.text for u in units], [u.context or "" for u in units])
        mech = self._mechanism_proba(X)
        p_any = self.heads["any"].proba(X)
        if self.params["hierarchical"]:
            mech = mech * p_any[:, None]
        a = {"mechanisms": mech, "no_mechanism": 1.0 - p_any, "role": self.heads["role"].proba(self._role_X(X)),
             "polarity": self.heads["polarity"].proba(X)}  # P("+"); classes ["-", "+"]
        return pooled(self.prior, a, self.w, units, X=X)

    def predict(self, units: list[Unit]) -> list[dict[str, Any]]:
        if not units:
            return []
        a = self.predict_arrays(units)
        mech, role, pol, X = a["mechanisms"], a["role"], a["polarity"], a["X"]
        out, coefs = [], {}
        for i, u in enumerate(units):
            j = int(mech[i].argmax()) if self.mechanisms else -1
            r = int(role[i].argmax())
            rationale = self._rationale(X, i, self.mechanisms[j] if j >= 0 else None, ROLE_IDS[r], coefs)
            if j >= 0 and self.prior is not None:
                near, sim = self.prior.nearest(a, i, self.mechanisms[j])
                rationale[0]["evidence"], rationale[0]["similarity"] = near, round(sim, 4)
            out.append(prediction(u.id, dict(zip(self.mechanisms, mech[i])), dict(zip(ROLE_IDS, role[i])),
                                  {"+": pol[i], "-": 1.0 - pol[i]}, rationale, a["no_mechanism"][i]))
        return out

    def _role_X(self, X):
        """The role head's features: without the paragraph block unless ``role_context``."""
        if self.params["role_context"] or self.features.ctx is None:
            return X
        import scipy.sparse as sp

        keep = np.ones(X.shape[1], dtype=np.float32)
        keep[self.features.n_sentence:] = 0.0
        return X @ sp.diags(keep)

    def _rationale(self, X, i: int, mech: str | None, role: str, coefs: dict) -> list[dict[str, Any]]:
        """The word n-grams of unit ``i`` that push most towards its top mechanism and role.

        The word block comes first in ``X``, so its columns are those below ``n_word``."""
        lo, hi = X.indptr[i], X.indptr[i + 1]
        idx, val = X.indices[lo:hi], X.data[lo:hi]
        sel = idx < self.features.n_word
        idx, val = idx[sel], val[sel]
        out = []
        for task, label in (("mechanism", mech), ("role", role)):
            if label is None:
                continue
            if (task, label) not in coefs:
                head = self.heads.get(f"mech:{label}") if task == "mechanism" else self.heads["role"]
                coefs[(task, label)] = head.coef("yes" if task == "mechanism" else label) if head else None
            coef = coefs[(task, label)]
            if coef is None or idx.size == 0:
                continue
            contrib = val * coef[idx]
            names = self.features.word_names()
            terms = []
            for t in np.argsort(-contrib):  # highlights: content words only
                if contrib[t] <= 0 or len(terms) >= self.params["rationale_terms"]:
                    break
                if content_term(str(names[idx[t]])):
                    terms.append(str(names[idx[t]]))
            out.append({"task": task, "label": label, "terms": terms})
        if not out or out[0]["task"] != "mechanism":
            out.insert(0, {"task": "mechanism", "label": mech, "terms": []})
        return out

    # -- persistence -------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        arrays, vocab = {}, {}
        for key, vec in self.features.parts().items():
            vocab[key], arrays[f"idf.{key}"] = vectorizer_state(vec)
        heads = {}
        for name, h in self.heads.items():
            heads[name] = h.meta()
            if h.model is not None:
                arrays[f"coef.{name}"], arrays[f"intercept.{name}"] = h.model.coef_, h.model.intercept_
                heads[name]["model_classes"] = h.model.classes_
        save_arrays(directory / ARRAYS_FILE, arrays)
        if self.prior is not None:
            (directory / PRIOR_DIR).mkdir(exist_ok=True)
            self.prior.save(directory / PRIOR_DIR)
        meta = {"params": self.params, "mechanisms": self.mechanisms, "heads": heads, "vocabulary": vocab,
                "prior_weights": self.w, "vocabulary_fit": self.vocabulary}
        (directory / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, card: dict[str, Any]) -> "SparseBackend":
        directory = Path(directory)
        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            self = cls(**{**LEGACY_PRIOR, **meta["params"]})  # models saved before these settings
            arrays = load_arrays(directory / ARRAYS_FILE)
            self.mechanisms, self.vocabulary = list(meta["mechanisms"]), dict(meta.get("vocabulary_fit") or {})
            self.features = Features(self.params)
            for key, vec in self.features.parts().items():
                restore_vectorizer(vec, meta["vocabulary"][key], arrays[f"idf.{key}"])
            self.heads = {}
            for name, m in meta["heads"].items():
                model = Linear(arrays[f"coef.{name}"], arrays[f"intercept.{name}"], m["model_classes"]) \
                    if "model_classes" in m else None
                self.heads[name] = Head.from_meta(m, model)
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{directory}: not a readable sparse model ({exc.__class__.__name__}: {exc})") from exc
        if self.params["prior"] != "none":
            from mechcode.models.backends.zeroshot import ZeroShotBackend

            self.prior = ZeroShotBackend.load(directory / PRIOR_DIR, card)
            self.w = dict(meta.get("prior_weights") or self.w)
        missing = [f"mech:{m}" for m in self.mechanisms if f"mech:{m}" not in self.heads]
        missing += [h for h in ("any", "role", "polarity") if h not in self.heads]
        if missing:
            raise ModelError(f"{directory}: sparse model lacks heads {', '.join(missing)}")
        return self
