"""Linear heads for the embed backend, fitted for every class of a task at once.

Two solvers share one interface, ``fit(X, Y, groups, reg, k, seed, weights)`` ->
``(W, b, oof)`` with ``W`` (d x c), intercepts ``b`` (c,) and out-of-fold decision values
``oof`` (n x c, None when there are too few rows for k folds):

- :func:`fit_logreg`: one scikit-learn LogisticRegression (class-balanced) per column;
  k-fold costs k more fits per column: accurate but slow for many units;
- :func:`fit_ridge`: ridge regression to 0/1 targets in closed form from weighted
  sufficient statistics; a fold is "full minus held-out part", so k-fold is nearly free.

:func:`decision` turns raw scores into values for the calibrators
(:mod:`mechcode.models.backends.calibration`): logistic decision values as they are, ridge scores
(probability estimates) through a clipped logit.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

EPS = 1e-3
SOLVERS = ("logreg", "ridge")


def folds(groups: list[str], k: int, seed: int) -> list[np.ndarray]:
    """Test-index arrays of a k-fold split, grouped when there are at least k groups."""
    from sklearn.model_selection import GroupKFold, KFold

    n = len(groups)
    idx = np.arange(n)
    if k < 2 or n < 2 * k:
        return []
    if len(set(groups)) >= k:
        splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
        return [te for _, te in splitter.split(idx, groups=groups)]
    return [te for _, te in KFold(n_splits=k, shuffle=True, random_state=seed).split(idx)]


def decision(scores: np.ndarray, solver: str) -> np.ndarray:
    """Calibrator input: logistic decision values unchanged, ridge scores as clipped logits."""
    if solver == "logreg":
        return np.asarray(scores, dtype=np.float64)
    s = np.clip(np.asarray(scores, dtype=np.float64), EPS, 1 - EPS)
    return np.log(s / (1 - s))


def prior_shift(Y: np.ndarray, solver: str) -> np.ndarray:
    """Per column, the offset that undoes class balancing (log of the positive:negative ratio)."""
    if solver != "logreg":
        return np.zeros(Y.shape[1])
    pos = Y.sum(0)
    return np.log(np.maximum(pos, EPS) / np.maximum(len(Y) - pos, EPS))


# -- ridge ----------------------------------------------------------------------------------

def _stats(X: np.ndarray, Y: np.ndarray, w: np.ndarray) -> tuple:
    """Weighted sufficient statistics: total weight, sums, Gram and cross products.

    The Gram matrix (the costly part) is computed in float32 and accumulated in float64."""
    Xw = X * w[:, None]
    gram = (Xw.astype(np.float32).T @ X.astype(np.float32)).astype(np.float64)
    return w.sum(), Xw.sum(0), w @ Y, gram, Xw.T @ Y


def _solve(stats: tuple, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge weights with an unpenalised intercept from sufficient statistics."""
    n, sx, sy, gram, cross = stats
    mu, ybar = sx / n, sy / n
    g = gram - n * np.outer(mu, mu)
    c = cross - n * np.outer(mu, ybar)
    g[np.diag_indices_from(g)] += alpha
    w = scipy.linalg.solve(g, c, assume_a="pos", check_finite=False)  # Cholesky
    return w, ybar - mu @ w


def fit_ridge(X: np.ndarray, Y: np.ndarray, groups: list[str], alpha: float, k: int, seed: int,
              weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Ridge heads (``alpha`` = L2 penalty) and their out-of-fold scores.

    The statistics of each fold are computed once; the full-data statistics are their sum
    and each fold model uses "full minus its fold", so k-fold costs about one fit."""
    X = X.astype(np.float64)
    Y = Y.astype(np.float64)
    weights = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=np.float64)
    split = folds(groups, k, seed)
    if not split:
        w, b = _solve(_stats(X, Y, weights), alpha)
        return w, b, None
    parts = [_stats(X[te], Y[te], weights[te]) for te in split]
    full = tuple(sum(p[i] for p in parts) for i in range(5))
    w, b = _solve(full, alpha)
    oof = np.zeros_like(Y)
    for te, part in zip(split, parts):
        wf, bf = _solve(tuple(a - p for a, p in zip(full, part)), alpha)
        oof[te] = X[te] @ wf + bf
    return w, b, oof


# -- logistic regression --------------------------------------------------------------------

def _logreg_columns(X: np.ndarray, Y: np.ndarray, C: float, rows: np.ndarray,
                    max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """One class-balanced scikit-learn LogisticRegression per column of ``Y``."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    W, b = np.zeros((X.shape[1], Y.shape[1])), np.zeros(Y.shape[1])
    for j in range(Y.shape[1]):
        y = Y[:, j] > 0
        if y.all() or not y.any():  # one class only: a constant far on its side
            b[j] = 10.0 if y.all() else -10.0
            continue
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y, sample_weight=rows)
        W[:, j], b[j] = clf.coef_[0], clf.intercept_[0]
    return W, b


def fit_logreg(X: np.ndarray, Y: np.ndarray, groups: list[str], C: float, k: int, seed: int,
               weights: np.ndarray | None = None, max_iter: int = 200
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Class-balanced one-vs-rest logistic heads and their out-of-fold decision values."""
    rows = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=np.float64)
    w, b = _logreg_columns(X, Y, C, rows, max_iter)
    split = folds(groups, k, seed)
    if not split:
        return w, b, None
    oof = np.zeros(Y.shape)
    for te in split:
        tr = np.setdiff1d(np.arange(len(X)), te)
        wf, bf = _logreg_columns(X[tr], Y[tr], C, rows[tr], max_iter)
        oof[te] = X[te] @ wf + bf
    return w, b, oof


def fit_heads(solver: str, X: np.ndarray, Y: np.ndarray, groups: list[str], reg: float, k: int,
              seed: int, weights: np.ndarray | None = None):
    """Dispatch to :func:`fit_logreg` (``reg`` = C) or :func:`fit_ridge` (``reg`` = alpha)."""
    if solver == "logreg":
        return fit_logreg(X, Y, groups, reg, k, seed, weights)
    return fit_ridge(X, Y, groups, reg, k, seed, weights)
