"""Model directories on disk: the card, file hashes and the safe file formats.

A trained model is a directory::

    model.json        the card (backend, version, hyperparameters, data hash, codebook, metrics,
                      created, and the SHA-256 of every other file)
    ...               backend files in safe formats only (plain ``.npz`` / ``.npy`` without
                      pickle, JSON, safetensors, skops with an explicit trusted-type list)

:func:`write_card` hashes every backend file into the card; :func:`verify_dir` checks the card
and every file hash before a backend reads anything. Nothing here executes code from a file:
arrays are read with ``allow_pickle=False`` and skops files load only listed types.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from mechcode.errors import ModelError
from mechcode.files import read_parsed
from mechcode.models.base import LabelledUnit

CARD = "model.json"


# -- the card and file hashes ---------------------------------------------------------------------

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
    card = read_parsed(card_path, json.loads, (json.JSONDecodeError,), ModelError, "model card", "JSON")
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


def read_meta(path: Path, backend: str, version: str) -> dict[str, Any]:
    """A backend's JSON settings file; :class:`ModelError` unless it is of the format ``version``
    this mechcode reads (an older model must be retrained)."""
    path = Path(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path.parent}: unreadable {backend} model ({exc})") from exc
    found = meta.get("version") if isinstance(meta, dict) else None
    if found != version:
        raise ModelError(f"{path.parent}: {backend} model version {found!r}, this mechcode reads version {version}")
    return meta


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
