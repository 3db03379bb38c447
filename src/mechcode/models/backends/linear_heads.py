"""Calibrated linear heads over sparse features: what :mod:`mechcode.models.backends.sparse` trains.

A :class:`Head` is one task (a mechanism, "any mechanism", the role, the polarity): a logistic
regression (stored as plain coefficients, :class:`Linear`) plus a calibrator fitted on
out-of-fold scores (:func:`fit_head`), or a constant when a task has a single class.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mechcode.errors import ModelError
from mechcode.models.backends.calibration import Platt, Temperature


class Linear:
    """A fitted linear model as plain arrays (what prediction needs of a LogisticRegression)."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: list[str]):
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        self.classes_ = [str(c) for c in classes]
        if self.coef_.ndim != 2 or self.coef_.shape[0] != self.intercept_.shape[0] \
                or self.coef_.shape[0] != (1 if len(self.classes_) == 2 else len(self.classes_)):
            raise ModelError("sparse model: coefficient shapes do not match the classes")

    @classmethod
    def of(cls, lr) -> "Linear":
        return cls(lr.coef_, lr.intercept_, list(lr.classes_))

    def decision_function(self, X) -> np.ndarray:
        d = np.asarray(X @ self.coef_.T) + self.intercept_
        return d.ravel() if d.shape[1] == 1 else d


class Head:
    """One calibrated linear head (binary or multiclass), or a constant when a class is missing."""

    def __init__(self, classes: list[str], model=None, calib=None, const: list[float] | None = None):
        self.classes = classes
        self.model = model
        self.calib = calib
        self.const = const

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    def logits(self, X) -> np.ndarray:
        """Binary: decision values (n,). Multiclass: (n, k) over ``self.classes``."""
        return _logits(self.model, X, self.classes)

    def proba(self, X) -> np.ndarray:
        """Binary: P(positive class) (n,). Multiclass: (n, k) rows summing to 1."""
        n = X.shape[0]
        if self.model is None:
            c = np.asarray(self.const, dtype=np.float64)
            return np.full(n, c[1]) if self.binary else np.tile(c, (n, 1))
        return self.calib.transform(self.logits(X))

    def coef(self, label: str) -> np.ndarray | None:
        """Weights that push towards ``label`` (None for a constant head)."""
        if self.model is None:
            return None
        present = [str(c) for c in self.model.classes_]
        if label not in present:
            return None
        w = self.model.coef_
        if w.shape[0] == 1:
            return w[0] if label == present[1] else -w[0]
        return w[present.index(label)]

    def meta(self) -> dict[str, Any]:
        return {"classes": self.classes, "const": self.const,
                "calib": None if self.calib is None else {"type": type(self.calib).__name__,
                                                          **self.calib.to_dict()}}

    @classmethod
    def from_meta(cls, meta: dict[str, Any], model) -> "Head":
        cal = meta.get("calib")
        calib = None if cal is None else (Platt if cal["type"] == "Platt" else Temperature).from_dict(cal)
        return cls(list(meta["classes"]), model, calib, meta.get("const"))


def _logits(model, X, classes: list[str]) -> np.ndarray:
    d = model.decision_function(X)
    if len(classes) == 2:
        return d if [str(c) for c in model.classes_] == [classes[0], classes[1]] else -d
    present = [str(c) for c in model.classes_]
    out = np.full((X.shape[0], len(classes)), -30.0)
    if d.ndim == 1:
        out[:, classes.index(present[0])] = 0.0
        out[:, classes.index(present[1])] = d
    else:
        for j, c in enumerate(present):
            out[:, classes.index(c)] = d[:, j]
    return out


def _lr(C: float, params: dict[str, Any], multiclass: bool):
    from sklearn.linear_model import LogisticRegression

    if multiclass:
        return LogisticRegression(C=C, class_weight=params["class_weight"], max_iter=1000, tol=1e-3,
                                  random_state=params["seed"])
    # dual liblinear: fast when features far outnumber examples, as with n-grams
    return LogisticRegression(C=C, class_weight=params["class_weight"], solver="liblinear", dual=True,
                              max_iter=2000, random_state=params["seed"])


def _folds(groups: list[str], n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Group k-fold splits (never splitting a group); [] when there are too few groups."""
    from sklearn.model_selection import GroupKFold

    k = min(n_folds, len(set(groups)))
    if k < 2:
        return []
    return list(GroupKFold(n_splits=k).split(np.zeros(len(groups)), groups=groups))


def fit_head(X, y: list[str], w: np.ndarray, groups: list[str], classes: list[str], C: float,
             params: dict[str, Any]) -> Head:
    """Fit a calibrated head on labels ``y`` (values in ``classes``; binary if two classes)."""
    y = np.asarray(y, dtype=object)
    idx = np.array([classes.index(v) for v in y], dtype=int)
    counts = np.bincount(idx, minlength=len(classes))
    if (counts > 0).sum() < 2:  # one class only: the smoothed class frequencies
        return Head(classes, const=list((counts + 1.0) / (counts.sum() + len(classes))))
    multiclass = len(classes) > 2
    model = Linear.of(_lr(C, params, multiclass).fit(X, y, sample_weight=w))
    oof, seen = _oof_logits(X, y, w, groups, classes, C, params, multiclass)
    if multiclass:
        calib = Temperature().fit(oof[seen], idx[seen]) if seen.any() else Temperature()
    else:
        shift = float(np.log(counts[1] / counts[0])) if params["class_weight"] == "balanced" else 0.0
        calib = Platt().fit(oof[seen], idx[seen], prior_shift=shift) if seen.any() \
            else Platt(1.0, shift, "prior-shift")
    return Head(classes, model, calib)


def _oof_logits(X, y, w, groups, classes, C, params, multiclass):
    """Out-of-fold logits; ``seen`` marks rows whose fold had at least two classes to learn from."""
    n = X.shape[0]
    oof = np.zeros((n, len(classes))) if multiclass else np.zeros(n)
    seen = np.zeros(n, dtype=bool)
    for tr, te in _folds(groups, params["cal_folds"]):
        if len(set(y[tr])) < 2:
            continue
        m = _lr(C, params, multiclass).fit(X[tr], y[tr], sample_weight=w[tr])
        oof[te] = _logits(m, X[te], classes)
        seen[te] = True
    return oof, seen
