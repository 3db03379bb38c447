"""The backend protocol every suggestion model follows, and the units and examples it learns from.

A backend learns three tasks from labelled units:

- mechanisms: multi-label over the codebook's suggestable mechanism ids (empty = no mechanism);
- role: one of ``ROLE_IDS`` (context, mechanism-resource, mechanism-reasoning, outcome, none);
- polarity: ``+`` / ``-`` for units that have a role other than ``none``.

Labels may be missing: ``role`` / ``polarity`` ``None`` means "not determined by the
source"; such units train the mechanism task only.

A trained model is a directory with a card and backend files in safe formats
(:mod:`mechcode.models.io`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
import re
from typing import Any, ClassVar, Protocol, Sequence, runtime_checkable

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
from mechcode.contracts import PredictLine
from mechcode.errors import ModelError


@dataclass
class Unit:
    """One unit to predict (``context`` is its paragraph, may be empty; ``paper``, keyword only:
    the paper (document) it comes from, where known)."""

    id: str
    text: str
    context: str = ""
    paper: str | None = field(default=None, kw_only=True)


def paper_id(value: Any) -> str | None:
    """A unit's paper as given in a row: None when absent (or a DataFrame's NaN), else a string."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


@dataclass
class LabelledUnit(Unit):
    mechanisms: list[str] = field(default_factory=list)
    role: str | None = None
    polarity: str | None = None
    group: str | None = None
    origin: str | None = None  # training source: "decision", "seed", "primer", ... (None = given data)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LabelledUnit":
        return cls(id=str(d["id"]), text=d["text"], context=d.get("context") or "",
                   mechanisms=list(d.get("mechanisms") or []), role=d.get("role"),
                   polarity=d.get("polarity"), group=None if d.get("group") is None else str(d["group"]),
                   paper=None if d.get("paper") is None else str(d["paper"]), origin=d.get("origin"))


def prediction(uid: str, mechanisms: dict[str, float], role: dict[str, float],
               polarity: dict[str, float], rationale: Any,
               no_mechanism: float | None = None) -> PredictLine:
    """A prediction in the ``mechcode predict`` output contract (:class:`mechcode.contracts.PredictLine`).

    ``no_mechanism`` (optional extra key) is the probability that the unit supports no
    mechanism at all.
    """
    out: PredictLine = {
        "id": uid,
        "mechanisms": {k: round(float(v), 6) for k, v in mechanisms.items()},
        "role": {r: round(float(role.get(r, 0.0)), 6) for r in ROLE_IDS},
        "polarity": {p: round(float(polarity.get(p, 0.0)), 6) for p in POLARITY_IDS},
        "rationale": rationale,
    }
    if no_mechanism is not None:
        out["no_mechanism"] = round(float(no_mechanism), 6)
    return out


@runtime_checkable
class Backend(Protocol):
    """What every backend module provides (see ``mechcode.models.registry``)."""

    name: ClassVar[str]
    version: ClassVar[str]

    def fit(self, units: list[LabelledUnit], codebook: Codebook) -> "Backend": ...

    def predict(self, units: list[Unit]) -> list[dict[str, Any]]: ...

    def save(self, directory: Path) -> None:
        """Write backend files (safe formats only) into ``directory``; the card is written by the caller."""

    @classmethod
    def load(cls, directory: Path, card: dict[str, Any]) -> "Backend": ...

    def hyperparameters(self) -> dict[str, Any]: ...


def check_params(backend: str, defaults: dict[str, Any], params: dict[str, Any],
                 nullable: Sequence[str] = ()) -> dict[str, Any]:
    """``defaults`` updated with ``params``; ModelError for unknown names or wrong value types.

    A value must have the type of its default (int and float interchangeable); ``None`` is
    accepted where the default is ``None`` or the name is in ``nullable``.
    """
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ModelError(f"{backend} backend: unknown parameter(s) {', '.join(unknown)}; "
                         f"known: {', '.join(defaults)}")
    for key, value in params.items():
        d = defaults[key]
        if value is None:
            ok = d is None or key in nullable
        elif d is None:
            ok = True
        elif isinstance(d, bool):
            ok = isinstance(value, bool)
        elif isinstance(d, (int, float)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif isinstance(d, (list, tuple)):
            ok = isinstance(value, (list, tuple)) and len(value) == len(d) \
                and all(isinstance(v, type(x)) for v, x in zip(value, d))
        else:
            ok = isinstance(value, type(d))
        if not ok:
            raise ModelError(f"{backend} backend: parameter {key}={value!r} should be like {d!r}")
    return {**defaults, **params}


# -- training examples from labelled units and codebook definitions -----------------------------

_SENT_RE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9\"'(\u2018\u201c])")


@dataclass
class Example:
    """One training example for a backend.

    ``mechanisms`` is ``None`` when the example says nothing about mechanisms (a role or
    polarity definition); ``role`` / ``polarity`` ``None`` means unknown for that task.
    """

    text: str
    context: str = ""
    mechanisms: list[str] | None = None
    role: str | None = None
    polarity: str | None = None
    group: str = ""
    weight: float = 1.0
    source: str = "unit"  # "unit" or "definition"


def split_sentences(text: str) -> list[str]:
    """Split a definition into sentences (simple punctuation rule; definitions are clean prose)."""
    return [s.strip() for s in _SENT_RE.split(text or "") if len(s.strip()) > 2]


def label_space(codebook: Codebook) -> list[str]:
    """The mechanism ids a model suggests (:meth:`Codebook.suggested_ids`: active codes, and
    others the codebook marks ``suggest: true``), codebook order."""
    return codebook.suggested_ids()


def map_labels(mechanisms: Sequence[str], codebook: Codebook) -> list[str]:
    """Labels in the model's label space: suggested ids kept, others (merged, retired,
    no-evidence, unknown) dropped, duplicates removed."""
    space = set(label_space(codebook))
    return list(dict.fromkeys(m for m in mechanisms if m in space))


def unit_mechanisms(mechanisms: Sequence[str], codebook: Codebook) -> list[str] | None:
    """A unit's mechanism labels for training: :func:`map_labels`, or ``None`` (unknown for the
    mechanism task) when it had codes but none of them is suggested -- such a unit is evidence
    of a code the model does not suggest, not evidence of "no mechanism"."""
    mapped = map_labels(mechanisms, codebook)
    return None if mechanisms and not mapped else mapped


def definition_examples(codebook: Codebook, weight: float = 1.0) -> list[Example]:
    """Codebook definitions as extra training examples.

    Each suggested mechanism gives its name, every sentence of its description (context = the
    whole description) and its ``examples`` as positives for that mechanism, its
    ``not_examples`` as "no mechanism" units; each role gives its definition and examples for
    that role only (role ``not_examples`` teach nothing on their own and are left to the prior);
    polarity definitions likewise.
    """
    out: list[Example] = []
    for m in codebook.mechanisms:
        if not m.suggested:
            continue
        for s in [m.name, *split_sentences(m.description)]:
            out.append(Example(s, m.description, [m.id], None, None, f"def:mechanism:{m.id}", weight,
                               "definition"))
        for s in m.examples:
            out.append(Example(s, s, [m.id], None, None, f"ex:mechanism:{m.id}", weight, "definition"))
        for s in m.not_examples:
            out.append(Example(s, s, [], None, None, f"notex:mechanism:{m.id}", weight, "definition"))
    for r in codebook.roles:
        for s in [r.name, *split_sentences(r.description), *r.examples]:
            out.append(Example(s, r.description, None, r.id, None, f"def:role:{r.id}", weight, "definition"))
    for p in codebook.polarity:
        for s in split_sentences(p.description) or [p.name]:
            out.append(Example(s, p.description, None, None, p.id, f"def:polarity:{p.id}", weight,
                               "definition"))
    return out


def unit_group(u: Unit) -> str:
    """The grouping key of a unit: its ``group`` (source paragraph) or else its context text."""
    g = getattr(u, "group", None)
    if g not in (None, ""):
        return str(g)
    return "ctx:" + hashlib.sha1((u.context or u.id).encode("utf-8")).hexdigest()[:16]


def training_examples(units: Sequence[LabelledUnit], codebook: Codebook, use_definitions: bool = True,
                      definition_weight: float = 1.0) -> list[Example]:
    """Labelled units (labels mapped into the label space) plus, optionally, the definitions."""
    out = [Example(u.text, u.context,
                   None if u.origin == "primer" else unit_mechanisms(u.mechanisms, codebook), u.role,
                   u.polarity if u.role != "none" else None, unit_group(u)) for u in units]
    if use_definitions:
        out.extend(definition_examples(codebook, definition_weight))
    return out
