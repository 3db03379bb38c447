"""Linear heads for the embed backend, fitted for every class of a task at once.

Two solvers share one interface, ``fit(X, Y, groups, reg, k, seed, weights)`` ->
``(W, b, oof)`` with ``W`` (d x c), intercepts ``b`` (c,) and out-of-fold decision values
``oof`` (n x c, None when there are too few rows for k folds):

- :func:`fit_logreg`: one-vs-rest logistic regression with class-balanced weights, all
  columns optimised jointly by L-BFGS (one matrix product per step serves every class);
  the fold models start from the full-data solution, so k-fold costs ~2 full fits;
- :func:`fit_ridge`: ridge regression to 0/1 targets in closed form from weighted
  sufficient statistics; a fold is "full minus held-out part", so k-fold is nearly free.

:func:`decision` turns raw scores into values for the calibrators
(:mod:`mechcode.models.calibration`): logistic decision values as they are, ridge scores
(probability estimates) through a clipped logit.
"""
from __future__ import annotations

import numpy as np

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
    """Weighted sufficient statistics: total weight, sums, Gram and cross products."""
    Xw = X * w[:, None]
    return w.sum(), Xw.sum(0), w @ Y, Xw.T @ X, Xw.T @ Y


def _solve(stats: tuple, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge weights with an unpenalised intercept from sufficient statistics."""
    n, sx, sy, gram, cross = stats
    mu, ybar = sx / n, sy / n
    g = gram - n * np.outer(mu, mu)
    c = cross - n * np.outer(mu, ybar)
    g[np.diag_indices_from(g)] += alpha
    w = np.linalg.solve(g, c)
    return w, ybar - mu @ w


def fit_ridge(X: np.ndarray, Y: np.ndarray, groups: list[str], alpha: float, k: int, seed: int,
              weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Ridge heads (``alpha`` = L2 penalty) and their out-of-fold scores."""
    X = X.astype(np.float64)
    Y = Y.astype(np.float64)
    weights = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=np.float64)
    full = _stats(X, Y, weights)
    w, b = _solve(full, alpha)
    split = folds(groups, k, seed)
    if not split:
        return w, b, None
    oof = np.zeros_like(Y)
    for te in split:
        rest = tuple(a - p for a, p in zip(full, _stats(X[te], Y[te], weights[te])))
        wf, bf = _solve(rest, alpha)
        oof[te] = X[te] @ wf + bf
    return w, b, oof


# -- logistic regression --------------------------------------------------------------------

def _balanced(Y: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Sample weights (n x c): class-balanced per column, times the row weights."""
    n = len(Y)
    pos = Y.sum(0)
    w_pos = n / (2.0 * np.maximum(pos, 1))
    w_neg = n / (2.0 * np.maximum(n - pos, 1))
    return np.where(Y > 0, w_pos, w_neg) * rows[:, None]


def _lbfgs(X: np.ndarray, Y: np.ndarray, sw: np.ndarray, C: float, theta0: np.ndarray | None,
           maxiter: int) -> np.ndarray:
    """Minimise ``C * sum(sw * logloss) + ||W||^2 / 2`` (scaled by 1/n) over all columns at once."""
    from scipy.optimize import minimize
    from scipy.special import expit

    n, d = X.shape
    c = Y.shape[1]
    scale = 1.0 / n

    def f(theta):
        W = theta[:d * c].reshape(d, c).astype(np.float32)
        Z = X @ W + theta[d * c:].astype(np.float32)
        loss = np.sum(sw * (np.logaddexp(0, Z) - Y * Z), dtype=np.float64)
        G = (sw * (expit(Z) - Y)).astype(np.float32)
        gw = C * (X.T @ G) + W
        value = scale * (C * loss + 0.5 * float(np.sum(W.astype(np.float64) ** 2)))
        return value, scale * np.concatenate([gw.ravel(), C * G.sum(0)]).astype(np.float64)

    start = np.zeros(d * c + c) if theta0 is None else theta0
    res = minimize(f, start, jac=True, method="L-BFGS-B", options={"maxiter": maxiter, "gtol": 1e-5})
    return res.x


def fit_logreg(X: np.ndarray, Y: np.ndarray, groups: list[str], C: float, k: int, seed: int,
               weights: np.ndarray | None = None, maxiter: int = 100
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Class-balanced one-vs-rest logistic heads and their out-of-fold decision values."""
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    Y32 = np.asarray(Y, dtype=np.float32)
    rows = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=np.float64)
    d, c = X.shape[1], Y.shape[1]
    theta = _lbfgs(X32, Y32, _balanced(Y32, rows).astype(np.float32), C, None, maxiter)
    w, b = theta[:d * c].reshape(d, c), theta[d * c:]
    split = folds(groups, k, seed)
    if not split:
        return w, b, None
    oof = np.zeros((len(X), c))
    for te in split:
        tr = np.setdiff1d(np.arange(len(X)), te)
        sw = _balanced(Y32[tr], rows[tr]).astype(np.float32)
        th = _lbfgs(X32[tr], Y32[tr], sw, C, theta, max(10, maxiter // 2))
        oof[te] = X[te] @ th[:d * c].reshape(d, c) + th[d * c:]
    return w, b, oof


def fit_heads(solver: str, X: np.ndarray, Y: np.ndarray, groups: list[str], reg: float, k: int,
              seed: int, weights: np.ndarray | None = None):
    """Dispatch to :func:`fit_logreg` (``reg`` = C) or :func:`fit_ridge` (``reg`` = alpha)."""
    if solver == "logreg":
        return fit_logreg(X, Y, groups, reg, k, seed, weights)
    return fit_ridge(X, Y, groups, reg, k, seed, weights)
