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
from typing import Any, ClassVar, Iterable, Protocol, runtime_checkable

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
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

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LabelledUnit":
        return cls(id=str(d["id"]), text=d["text"], context=d.get("context") or "",
                   mechanisms=list(d.get("mechanisms") or []), role=d.get("role"),
                   polarity=d.get("polarity"), group=d.get("group"))


def prediction(uid: str, mechanisms: dict[str, float], role: dict[str, float],
               polarity: dict[str, float], rationale: Any) -> dict[str, Any]:
    """A prediction in the ``mechcode predict`` output contract."""
    return {
        "id": uid,
        "mechanisms": {k: round(float(v), 6) for k, v in mechanisms.items()},
        "role": {r: round(float(role.get(r, 0.0)), 6) for r in ROLE_IDS},
        "polarity": {p: round(float(polarity.get(p, 0.0)), 6) for p in POLARITY_IDS},
        "rationale": rationale,
    }


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
    extra = [p.name for p in directory.iterdir() if p.is_file() and p.name != CARD
             and p.relative_to(directory).as_posix() not in card["files"]]
    if extra:
        raise ModelError(f"{directory}: files not listed in the card: {', '.join(sorted(extra))}")
    return card
