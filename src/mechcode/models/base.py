"""The backend protocol every suggestion model follows, and the model-directory card.

A backend learns three tasks from labelled units:

- mechanisms: multi-label over the codebook's suggestable mechanism ids (empty = no mechanism);
- role: one of ``ROLE_IDS`` (context, mechanism-resource, mechanism-reasoning, outcome, none);
- polarity: ``+`` / ``-`` for units that have a role other than ``none``.

Labels may be missing: ``role`` / ``polarity`` ``None`` means "not determined by the
source"; such units train the mechanism task only.

A trained model is a directory::

    model.json        the card (backend, version, hyperparameters, data hash, codebook, metrics,
                      created, and the SHA-256 of every other file)
    ...               backend files in safe formats only (skops with an explicit trusted-type
                      list, safetensors, JSON, .npy without pickle)

:func:`verify_dir` checks the card and every file hash before a backend reads anything.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
import re
from typing import Any, ClassVar, Iterable, Protocol, Sequence, runtime_checkable

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
from mechcode.contracts import PredictLine
from mechcode.errors import ModelError

CARD = "model.json"


@dataclass
class Unit:
    """One unit to predict (``context`` is its paragraph, may be empty)."""

    id: str
    text: str
    context: str = ""


@dataclass
class LabelledUnit(Unit):
    mechanisms: list[str] = field(default_factory=list)
    role: str | None = None
    polarity: str | None = None
    group: str | None = None
    paper: str | None = None  # the paper (document) the unit comes from, where known
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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_hash(units: Iterable[LabelledUnit]) -> str:
    h = hashlib.sha256()
    for u in units:
        h.update(json.dumps([u.id, u.text, u.context, sorted(u.mechanisms), u.role, u.polarity],
                            ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def write_card(directory: Path, card: dict[str, Any]) -> dict[str, Any]:
    """Hash every backend file into the card and write ``model.json`` last."""
    directory = Path(directory)
    files = {p.relative_to(directory).as_posix(): sha256_file(p)
             for p in sorted(directory.rglob("*")) if p.is_file() and p.name != CARD}
    card = {**card, "files": files}
    card.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    (directory / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")
    return card


def verify_dir(directory: Path) -> dict[str, Any]:
    """Read the card and check every file against its hash; :class:`ModelError` if anything is off."""
    directory = Path(directory)
    card_path = directory / CARD
    if not card_path.is_file():
        raise ModelError(f"{directory}: not a mechcode model directory (no {CARD})")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{card_path}: unreadable model card ({exc})") from exc
    if not isinstance(card, dict) or "backend" not in card or not isinstance(card.get("files"), dict):
        raise ModelError(f"{card_path}: model card lacks 'backend' or 'files'")
    for rel, digest in card["files"].items():
        path = (directory / rel).resolve()
        if directory.resolve() not in path.parents:
            raise ModelError(f"{card_path}: file entry {rel!r} points outside the model directory")
        if not path.is_file():
            raise ModelError(f"{directory}: file {rel} listed in the card is missing")
        if sha256_file(path) != digest:
            raise ModelError(f"{directory}: file {rel} does not match its hash in the card (tampered?)")
    extra = [p.relative_to(directory).as_posix() for p in directory.rglob("*")
             if not p.is_dir() and p.name != CARD
             and p.relative_to(directory).as_posix() not in card["files"]]
    if extra:
        raise ModelError(f"{directory}: files not listed in the card: {', '.join(sorted(extra))}")
    return card


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


# -- safe scikit-learn persistence (skops, explicit trusted types) ------------------------------

def _skops_io() -> Any:
    try:
        import skops.io as sio
    except ImportError as exc:
        raise ModelError("this model file needs skops: pip install 'mechcode[skops]'") from exc
    return sio


def save_skops(obj: Any, path: Path) -> None:
    """Write scikit-learn objects with skops (no pickle).

    Note: importing ``skops.io`` runs scikit-learn's estimator discovery, which imports torch
    when it is installed (seconds). The sparse and zeroshot backends therefore store plain
    arrays + JSON instead (:func:`save_arrays`); skops is for backends that need whole estimators.
    """
    sio = _skops_io()
    sio.dump(obj, Path(path))


def load_skops(path: Path, allowed: Sequence[str] = ()) -> Any:
    """Load a skops file, trusting only skops' defaults plus the types in ``allowed``.

    Any other type found in the file is refused with :class:`ModelError` before anything is
    constructed; ``trusted=True`` is never used.
    """
    sio = _skops_io()
    path = Path(path)
    try:
        found = sio.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - any parse failure means a bad file
        raise ModelError(f"{path}: not a readable skops file ({exc.__class__.__name__}: {exc})") from exc
    refused = sorted(set(found) - set(allowed))
    if refused:
        raise ModelError(f"{path}: refusing to load untrusted types: {', '.join(refused)}")
    try:
        return sio.load(path, trusted=sorted(set(found)))
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"{path}: cannot load ({exc.__class__.__name__}: {exc})") from exc



# -- plain-array persistence (npz without pickle + JSON) -----------------------------------------

def vectorizer_state(vec: Any) -> tuple[list[str], Any]:
    """A fitted TF-IDF vectorizer's vocabulary (terms in column order) and idf weights."""
    terms = [""] * len(vec.vocabulary_)
    for term, col in vec.vocabulary_.items():
        terms[col] = term
    return terms, vec.idf_


def restore_vectorizer(vec: Any, terms: list[str], idf: Any) -> Any:
    """Give an unfitted vectorizer, built with the same settings, its vocabulary and idf back."""
    if len(terms) != len(idf) or len(set(terms)) != len(terms):
        raise ModelError("stored vocabulary does not match its idf weights")
    vec.vocabulary_ = {t: i for i, t in enumerate(terms)}
    vec.idf_ = idf
    return vec


def save_arrays(path: Path, arrays: dict[str, Any]) -> None:
    """Write named numeric arrays as an ``.npz`` (plain arrays, no pickle)."""
    import numpy as np

    with open(path, "wb") as fh:
        np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def load_arrays(path: Path) -> dict[str, Any]:
    """Read an ``.npz`` written by :func:`save_arrays`; object (pickled) arrays are refused."""
    import numpy as np

    try:
        with np.load(Path(path), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ModelError(f"{path}: unreadable array file ({exc})") from exc
