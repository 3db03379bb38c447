"""The role part of the codebook prior: a small classifier of a statement's C/M/O form.

The CMO role primer (``corpora/cmo-primer``: statements from many domains, each labelled
context / mechanism-resource / mechanism-reasoning / outcome) plus the codebook's role
definitions and examples train a multinomial logistic regression on word uni- and bigrams.
Function words stay in ("this upsets", "staff are reassured by", "as a result"): a role is
carried by the form of a statement rather than its topic, and dropping stopwords cost about
0.1 C/M/O macro-F1 on the primer's leave-one-domain-out folds. Citation markers and numbers
are removed first (:func:`mechcode.models.backends.features.clean`).

It answers "which C/M/O role, given that the unit states one"; whether the unit states any
role (``none``) comes from the prototype similarity of :mod:`mechcode.models.backends.zeroshot`, which
combines both as ``P(role) = (1 - P(none)) * P_classifier(role)``. With ``none_model`` other than
``prototypes`` a second classifier of the same kind, the *none gate*, answers that question from the
form too: every C/M/O statement against the none primer's sentences (``corpora/cmo-primer/none``:
methods, statistics, ethics, back matter, background, signposting, written across the primer's
domains; :func:`mechcode.models.primer.load_none_primer`). ``classifier`` takes its ``P(none)``,
``both`` pools it with the prototypes' in log-odds; the C/M/O shares are rescaled.

Settings (word 1-2-grams, no stopword list, ``C`` = 10, balanced class weights) were chosen
on the primer's leave-one-domain-out folds, ties broken on the seed's Box chains (both data the
team designed with; ``experiments/role_prior_dev.py``, ``models/README`` "Role prior").
Saved as plain arrays and JSON (no pickle).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from mechcode.errors import ModelError

ROLE_STEM = "role_prior"
GATE_STEM = "none_gate"
NONE_MODELS = ("prototypes", "classifier", "both")
ROLE_MODELS = ("prototypes", "classifier")  # the prior's role part: the prototypes alone, or this classifier
C_ROLE = 10.0
KEPT = 4  # fitted classifiers kept in memory (RoleClassifier.of)
_FITTED: dict[str, "RoleClassifier | None"] = {}


def _vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from mechcode.models.backends.features import clean

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, preprocessor=lambda t: clean(t).lower(),
                           dtype=np.float64)


class RoleClassifier:
    """P(role | the unit states a C/M/O role) from a statement's words."""

    def __init__(self, stem: str = ROLE_STEM) -> None:
        self.stem = stem
        self.classes: list[str] = []
        self.vec = _vectorizer()
        self.coef: np.ndarray | None = None
        self.intercept: np.ndarray | None = None

    def fit(self, texts: Sequence[str], roles: Sequence[str]) -> "RoleClassifier | None":
        """Fit on labelled statements; None when fewer than two roles have examples."""
        from sklearn.linear_model import LogisticRegression

        if len(set(roles)) < 2:
            return None
        X = self.vec.fit_transform(list(texts))
        lr = LogisticRegression(C=C_ROLE, max_iter=3000, class_weight="balanced").fit(X, list(roles))
        self.classes = [str(c) for c in lr.classes_]
        coef, icpt = lr.coef_, lr.intercept_
        if len(self.classes) == 2:  # binary LR keeps one row: make it a two-column softmax
            coef, icpt = np.vstack([-coef / 2, coef / 2]), np.array([-icpt[0] / 2, icpt[0] / 2])
        self.coef, self.intercept = coef, icpt
        return self

    @classmethod
    def of(cls, prototypes: Sequence[tuple[str, str]]) -> "RoleClassifier | None":
        """Fitted on (role, text) prototypes other than ``none`` (role definitions, examples, primer).

        Kept in memory by the prototypes' hash (the last ``KEPT``): the tfidf prior is refitted
        whenever a review's training texts change, its role classifier only when the codebook's
        roles or the primer do. A fitted classifier is only read afterwards, so priors may share it."""
        return cls._kept([(role, text) for role, text in prototypes if role != "none"], ROLE_STEM)

    @classmethod
    def gate_of(cls, prototypes: Sequence[tuple[str, str]], none_texts: Sequence[str]) -> "RoleClassifier | None":
        """The none gate: every C/M/O prototype (``statement``) against ``none_texts`` (``none``);
        None without none texts. Kept in memory as :meth:`of`."""
        if not none_texts:
            return None
        pairs = [("statement", t) for role, t in prototypes if role != "none"] + [("none", t) for t in none_texts]
        return cls._kept(pairs, GATE_STEM)

    @classmethod
    def _kept(cls, pairs: list[tuple[str, str]], stem: str) -> "RoleClassifier | None":
        import hashlib

        key = stem + hashlib.sha256("\x00".join(f"{r}\x01{t}" for r, t in pairs).encode()).hexdigest()
        if key not in _FITTED:
            while len(_FITTED) >= KEPT:
                _FITTED.pop(next(iter(_FITTED)))
            _FITTED[key] = cls(stem).fit([t for _, t in pairs], [r for r, _ in pairs])
        return _FITTED[key]

    def gate(self, role_p: np.ndarray, texts: Sequence[str], mode: str) -> np.ndarray:
        """``role_p`` with ``P(none)`` from this gate (``classifier``) or pooled in log-odds with
        the prototypes' (``both``); the C/M/O probabilities rescaled to the rest."""
        from mechcode.codebook import ROLE_IDS

        none = ROLE_IDS.index("none")
        pc = np.clip(self.proba(texts)[:, self.classes.index("none")], 1e-6, 1 - 1e-6)
        p = pc
        if mode == "both":
            pp = np.clip(role_p[:, none], 1e-6, 1 - 1e-6)
            z = (np.log(pp / (1 - pp)) + np.log(pc / (1 - pc))) / 2
            p = 1.0 / (1.0 + np.exp(-z))
        rest = np.array(role_p, dtype=np.float64, copy=True)
        rest[:, none] = 0.0
        total = rest.sum(axis=1, keepdims=True)
        share = np.where(total > 0, rest / np.where(total > 0, total, 1.0), 1.0 / (rest.shape[1] - 1))
        out = share * (1.0 - p)[:, None]
        out[:, none] = p
        return out

    def share_out(self, role_p: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """``role_p`` (n x ROLE_IDS) with ``P(none)`` kept and the rest shared out by this classifier."""
        from mechcode.codebook import ROLE_IDS

        none = ROLE_IDS.index("none")
        out = np.zeros_like(role_p)
        out[:, none] = role_p[:, none]
        cls = self.proba(texts)
        for j, role in enumerate(self.classes):
            out[:, ROLE_IDS.index(role)] = (1.0 - role_p[:, none]) * cls[:, j]
        return out

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, len(classes)) probabilities."""
        if self.coef is None:
            raise ModelError("role prior: proba called before fit/load")
        z = np.asarray(self.vec.transform(list(texts)) @ self.coef.T) + self.intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> None:
        from mechcode.models.io import vectorizer_state

        vocab, idf = vectorizer_state(self.vec)
        for name, arr in (("coef", self.coef), ("intercept", self.intercept), ("idf", idf)):
            np.save(Path(directory) / f"{self.stem}_{name}.npy", arr, allow_pickle=False)
        (Path(directory) / f"{self.stem}.json").write_text(
            json.dumps({"classes": self.classes, "vocabulary": vocab}), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, stem: str = ROLE_STEM) -> "RoleClassifier | None":
        """The saved classifier, or None when the folder has none (models saved before it)."""
        from mechcode.models.io import restore_vectorizer

        directory = Path(directory)
        if not (directory / f"{stem}.json").is_file():
            return None
        self = cls(stem)
        try:
            meta = json.loads((directory / f"{stem}.json").read_text(encoding="utf-8"))
            arr = {n: np.load(directory / f"{stem}_{n}.npy", allow_pickle=False)
                   for n in ("coef", "intercept", "idf")}
            restore_vectorizer(self.vec, meta["vocabulary"], arr["idf"])
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"{directory}: unreadable role prior ({exc})") from exc
        self.classes, self.coef, self.intercept = list(meta["classes"]), arr["coef"], arr["intercept"]
        return self
