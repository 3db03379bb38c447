"""Labelled-unit files (``units.jsonl``), their fingerprint, and backend construction.

A labelled-unit file has one JSON object per line with at least ``id`` and ``text``;
``context``, ``group``, ``mechanisms`` (list), ``role`` and ``polarity`` (``None`` = unknown),
``source`` and ``rule`` are optional. This is the shape of ``corpora/sims2021/units.jsonl``
and of :meth:`mechcode.store.review.Review.labelled_units`.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from mechcode.errors import DataError, ModelError


def read_units(path: str | Path) -> list[dict[str, Any]]:
    """Read a labelled-unit JSONL file; :class:`DataError` names the first bad line.

    Lines are read by the one JSONL reader (:func:`mechcode.models.data.jsonl_records`); each
    row is then checked by :func:`check_row` (ids unique, mechanisms a list)."""
    from mechcode.models.data import jsonl_records

    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    seen: set[str] = set()
    rows = [check_row(obj, f"{path}:{n}", seen) for n, obj in jsonl_records(path)]
    if not rows:
        raise DataError(f"{path}: no units")
    return rows


def check_row(row: Any, where: str, seen: set[str] | None = None) -> dict[str, Any]:
    """Validate one labelled unit and normalise ``id`` to str and ``mechanisms`` to a list."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: each line must be a JSON object")
    if "id" not in row or not isinstance(row.get("text"), str):
        raise DataError(f"{where}: a unit needs 'id' and 'text'")
    mechs = row.get("mechanisms") or []
    if not isinstance(mechs, list):
        raise DataError(f"{where}: 'mechanisms' must be a list")
    uid = str(row["id"])
    if seen is not None:
        if uid in seen:
            raise DataError(f"{where}: duplicate unit id {uid!r}")
        seen.add(uid)
    return {**row, "id": uid, "mechanisms": [str(m) for m in mechs],
            "context": row.get("context") or "", "role": row.get("role"), "polarity": row.get("polarity")}


def rows_hash(rows: Sequence[Mapping[str, Any]]) -> str:
    """A short fingerprint of the units and their gold labels (order matters)."""
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps([r["id"], r["text"], sorted(r.get("mechanisms") or []), r.get("role"),
                             r.get("polarity"), r.get("group")], ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def is_evidence(row: Mapping[str, Any]) -> bool:
    """A unit is *evidence* (a "relevant" unit for recall and WSS) when it has a gold mechanism."""
    return bool(row.get("mechanisms"))


def labelled(rows: Sequence[Mapping[str, Any]]):
    """The rows as :class:`mechcode.models.base.LabelledUnit` objects (for ``Backend.fit``)."""
    from mechcode.models.base import LabelledUnit

    return [LabelledUnit.from_dict(r) for r in rows]


def plain(rows: Sequence[Mapping[str, Any]]):
    """The rows as :class:`mechcode.models.base.Unit` objects (for ``Backend.predict``), with their
    paper where a row names one (as the units the page scores)."""
    from mechcode.models.base import Unit, paper_id

    return [Unit(id=str(r["id"]), text=r["text"], context=r.get("context") or "", paper=paper_id(r.get("paper")))
            for r in rows]


BackendSpec = str | type | Callable[..., Any]


def backend_label(backend: BackendSpec) -> str:
    """A printable name for a backend given by name or class."""
    if isinstance(backend, str):
        return backend
    return str(getattr(backend, "name", getattr(backend, "__name__", "custom")))


def make_backend(backend: BackendSpec, params: Mapping[str, Any] | None = None):
    """A fresh, unfitted backend: ``backend`` is a registry name, a class or a factory."""
    params = dict(params or {})
    if isinstance(backend, str):
        from mechcode.models.registry import get_backend

        factory = get_backend(backend)
    else:
        factory = backend
    try:
        return factory(**params)
    except TypeError as exc:
        raise ModelError(f"backend {backend_label(backend)!r}: bad parameters {params} ({exc})") from exc


def check_codes(rows: Sequence[Mapping[str, Any]], codebook) -> None:
    """:class:`DataError` for a mechanism, role or polarity the codebook does not know."""
    from mechcode.codebook import POLARITY_IDS, ROLE_IDS

    known = set(codebook.mechanism_ids())
    for r in rows:
        unknown = [m for m in r.get("mechanisms") or [] if m not in known]
        if unknown:
            raise DataError(f"unit {r['id']}: mechanism id(s) not in the codebook: {', '.join(unknown)}")
        if r.get("role") is not None and r["role"] not in ROLE_IDS:
            raise DataError(f"unit {r['id']}: role {r['role']!r} must be one of {', '.join(ROLE_IDS)} or null")
        if r.get("polarity") is not None and r["polarity"] not in POLARITY_IDS:
            raise DataError(f"unit {r['id']}: polarity {r['polarity']!r} must be '+', '-' or null")


def drop_definition_units(rows: Sequence[Mapping[str, Any]], codebook) -> tuple[list[dict], int]:
    """The rows without *definition units* (text repeated from a codebook definition).

    Backends train on the definitions, so such units would be recognised trivially; the
    evaluation leaves them out of test sets for the same reason
    (:func:`mechcode.models.evaluation.evaluate.definition_units`). Returns ``(kept rows, number dropped)``.
    """
    from mechcode.models.evaluation.evaluate import definition_units

    drop = definition_units(labelled(rows), codebook)
    return [dict(r) for i, r in enumerate(rows) if i not in drop], len(drop)
