"""Probability calibration: Platt scaling, temperature scaling and expected calibration error.

Calibrators are fitted on *out-of-fold* scores (the model never saw the units it scores) and
are stored as a few floats in JSON, so they need no pickle.

Small classes are handled gracefully: a calibrator with too few positives or negatives to fit
falls back to a *prior shift* (for a class-weighted classifier the decision value is moved by
the log of the true class ratio, which undoes the balancing) or, for temperature scaling, to
``T = 1``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MIN_CLASS = 3  # fewest positives (and negatives) a calibrator is fitted on


def sigmoid(z: np.ndarray) -> np.ndarray:
    z = np.clip(np.asarray(z, dtype=np.float64), -500, 500)
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class Platt:
    """``p = sigmoid(a * score + b)``; ``method`` records how a and b were chosen."""

    a: float = 1.0
    b: float = 0.0
    method: str = "identity"

    def fit(self, scores: np.ndarray, y: np.ndarray, prior_shift: float = 0.0) -> "Platt":
        """Fit on out-of-fold ``scores`` and 0/1 ``y``; ``prior_shift`` is the fallback offset."""
        scores = np.asarray(scores, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n_pos = int(y.sum())
        n_neg = len(y) - n_pos
        if min(n_pos, n_neg) < MIN_CLASS:
            self.a, self.b, self.method = 1.0, float(prior_shift), "prior-shift"
            return self
        # Platt's smoothed targets keep tiny classes away from 0/1 certainty.
        t = np.where(y > 0, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
        self.a, self.b = _fit_logistic_1d(scores, t)
        self.method = "platt"
        return self

    def transform(self, scores: np.ndarray) -> np.ndarray:
        return sigmoid(self.a * np.asarray(scores, dtype=np.float64) + self.b)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Platt":
        return cls(float(d["a"]), float(d["b"]), str(d.get("method", "platt")))


def _fit_logistic_1d(x: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """Minimise the log loss of ``p = sigmoid(a x + b)`` against soft targets ``t`` (L-BFGS)."""
    from scipy.optimize import minimize

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = w[0] * x + w[1]
        # log(1 + e^z) computed stably; loss = sum log(1 + e^z) - t z
        val = np.sum(np.logaddexp(0.0, z) - t * z)
        g = sigmoid(z) - t
        return float(val), np.array([np.sum(g * x), np.sum(g)])

    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    a, b = (float(v) for v in res.x)
    if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
        return 1.0, 0.0  # a degenerate or inverted fit is worse than none
    return a, b


@dataclass
class Temperature:
    """``p = softmax(logits / T)`` with one temperature fitted by minimising the log loss."""

    t: float = 1.0
    method: str = "identity"

    def fit(self, logits: np.ndarray, y: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0)) -> "Temperature":
        """Fit on out-of-fold ``logits`` (n x k) and class indices ``y``; ``T`` within ``bounds``."""
        logits = np.asarray(logits, dtype=np.float64)
        y = np.asarray(y, dtype=int)
        counts = np.bincount(y, minlength=logits.shape[1])
        if len(y) < 2 * MIN_CLASS or (counts > 0).sum() < 2:
            self.t, self.method = 1.0, "identity"
            return self
        from scipy.optimize import minimize_scalar

        def nll(log_t: float) -> float:
            p = softmax(logits / np.exp(log_t))
            return -float(np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))

        res = minimize_scalar(nll, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded")
        self.t, self.method = float(np.exp(res.x)), "temperature"
        return self

    def transform(self, logits: np.ndarray) -> np.ndarray:
        return softmax(np.asarray(logits, dtype=np.float64) / self.t)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Temperature":
        return cls(float(d["t"]), str(d.get("method", "temperature")))


def ece(probs: np.ndarray, outcomes: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error of binary events.

    ``probs`` are predicted probabilities of the event, ``outcomes`` 0/1 whether it happened.
    Equal-width bins over [0, 1] (a probability of exactly 1 falls in the last bin);
    ECE = sum over bins of (bin size / n) * |mean outcome - mean probability|.
    """
    probs = np.asarray(probs, dtype=np.float64).ravel()
    outcomes = np.asarray(outcomes, dtype=np.float64).ravel()
    if probs.size == 0:
        return float("nan")
    bins = np.minimum((probs * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            total += sel.sum() / probs.size * abs(outcomes[sel].mean() - probs[sel].mean())
    return float(total)


def top_label_ece(prob_matrix: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """ECE of the top-label confidence of a multiclass prediction (``y`` = true class indices)."""
    prob_matrix = np.asarray(prob_matrix, dtype=np.float64)
    if prob_matrix.size == 0:
        return float("nan")
    top = prob_matrix.argmax(axis=1)
    return ece(prob_matrix.max(axis=1), top == np.asarray(y), n_bins)
