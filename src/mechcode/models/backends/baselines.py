"""Evaluation-only baselines: a constant predictor and a keyword rule.

- ``majority``: the training label frequencies for every unit (a constant predictor).
- ``keyword``: a fixed, hand-written rule that reads no label and no codebook example. Roles
  from cue words (below); a mechanism when a content word of its name occurs in the unit
  (first five letters, so "learning" matches "learn"); polarity ``-`` when a negation or
  barrier word occurs. The cue lists were written once from the generic realist vocabulary
  of the role definitions, before any evaluation, and are not tuned on any test set. It is
  the "trivial rule" floor a learned model must clear on transfer.
"""
from __future__ import annotations

import re
from typing import Any, ClassVar, Sequence

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
from mechcode.models.base import LabelledUnit, label_space, map_labels, prediction

ROLE_CUES: dict[str, tuple[str, ...]] = {
    "context": ("when", "where", "setting", "settings", "context", "circumstances", "environment"),
    "mechanism-resource": ("provided", "offered", "introduced", "training", "support", "resources",
                           "programme"),
    "mechanism-reasoning": ("felt", "believed", "perceived", "trust", "motivated", "understood",
                            "confidence"),
    "outcome": ("improved", "led", "resulted", "increased", "reduced", "outcome", "outcomes"),
}
NEGATION_CUES = ("not", "no", "lack", "without", "failed", "barrier", "barriers", "poor")
STOPWORDS = frozenset("the and of to a in for with on by from as at or an its their".split())
HIT, MISS = 0.6, 0.05  # keyword rule: mechanism probability with / without a name word


def _freq(values: list[str], labels: Sequence[str]) -> dict[str, float]:
    if not values:
        return {lab: 1.0 / len(labels) for lab in labels}
    return {lab: values.count(lab) / len(values) for lab in labels}


class MajorityBaseline:
    """Predicts the training label frequencies for every unit (a constant predictor)."""

    name: ClassVar[str] = "majority"
    version: ClassVar[str] = "1"

    def fit(self, units: Sequence[LabelledUnit], codebook: Codebook) -> "MajorityBaseline":
        self.ids = label_space(codebook)
        n = max(len(units), 1)
        sets = [set(map_labels(u.mechanisms, codebook)) for u in units]
        self.mech = {m: sum(m in s for s in sets) / n for m in self.ids}
        self.none = sum(not s for s in sets) / n if units else 1.0
        self.role = _freq([u.role for u in units if u.role is not None], ROLE_IDS)
        self.pol = _freq([u.polarity for u in units if u.polarity is not None and u.role != "none"], POLARITY_IDS)
        return self

    def predict(self, units) -> list[dict[str, Any]]:
        return [prediction(u.id, self.mech, self.role, self.pol, [], self.none) for u in units]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


class KeywordRule:
    """The fixed keyword rule described in the module docstring (ignores training labels)."""

    name: ClassVar[str] = "keyword"
    version: ClassVar[str] = "1"

    def fit(self, units: Sequence[LabelledUnit], codebook: Codebook) -> "KeywordRule":
        self.stems = {}
        for m in codebook.mechanisms:
            if m.id in label_space(codebook):
                self.stems[m.id] = {w[:5] for w in _words(m.name) if len(w) > 3 and w not in STOPWORDS}
        return self

    def predict(self, units) -> list[dict[str, Any]]:
        return [self._one(u) for u in units]

    def _one(self, u) -> dict[str, Any]:
        words = _words(u.text)
        stems = {w[:5] for w in words if len(w) > 3}
        mech = {m: HIT if s & stems else MISS for m, s in self.stems.items()}
        hits = {r: sum(w in cues for w in words) for r, cues in ROLE_CUES.items()}
        total = sum(hits.values())
        if total:
            role = {r: (h + 0.1) / (total + 0.5) for r, h in hits.items()}
            role["none"] = 0.1 / (total + 0.5)
        else:
            role = {r: 0.2 for r in ROLE_IDS}
        neg = any(w in NEGATION_CUES for w in words)
        pol = {"+": 0.3, "-": 0.7} if neg else {"+": 0.7, "-": 0.3}
        none = 1.0 - HIT if any(p == HIT for p in mech.values()) else 1.0 - MISS
        return prediction(u.id, mech, role, pol, [], none)
