"""JSONL input/output for the model commands, with line-numbered errors and atomic writes.

Two input shapes:

- units to predict: ``{"id", "text", "context": optional}``;
- labelled units (``units.jsonl``): ``{"id", "text", "context", "group", "mechanisms", "role",
  "polarity", ...}`` with ``role`` / ``polarity`` possibly null (unknown).

A whole file is validated before anything is returned, so a bad line never leaves half a
result behind; errors are :class:`mechcode.errors.DataError` naming the file and line number.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
from mechcode.errors import DataError
from mechcode.models.base import LabelledUnit, Unit, paper_id


def jsonl_records(path: str | Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; DataError on bad JSON or a non-object."""
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with fh:
        try:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}: line {n}: invalid JSON ({exc.msg})") from exc
                if not isinstance(obj, dict):
                    raise DataError(f"{path}: line {n}: expected a JSON object, got {type(obj).__name__}")
                yield n, obj
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from exc


def _unit_fields(path: Path, n: int, obj: dict[str, Any], seen: dict[str, int]) -> tuple[str, str, str]:
    """Validated (id, text, context) of one line."""
    where = f"{path}: line {n}"
    if "id" not in obj or obj["id"] is None:
        raise DataError(f"{where}: missing 'id'")
    if isinstance(obj["id"], bool) or not isinstance(obj["id"], (str, int)):
        raise DataError(f"{where}: 'id' must be a string or an integer")
    uid = str(obj["id"])
    if uid in seen:
        raise DataError(f"{where}: duplicate id {uid!r} (first on line {seen[uid]})")
    seen[uid] = n
    text = obj.get("text")
    if text is None:
        raise DataError(f"{where}: missing 'text'")
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: 'text' must be a non-empty string")
    ctx = obj.get("context")
    if ctx is not None and not isinstance(ctx, str):
        raise DataError(f"{where}: 'context' must be a string or null")
    return uid, text, ctx or ""


def _paper(path: Path, n: int, obj: dict[str, Any]) -> str | None:
    paper = obj.get("paper")
    if paper is not None and (isinstance(paper, bool) or not isinstance(paper, (str, int))):
        raise DataError(f"{path}: line {n}: 'paper' must be a string, an integer or null")
    return paper_id(paper)


def read_units(path: str | Path) -> list[Unit]:
    """Units to predict from a JSONL file (``id``, ``text``, optional ``context`` and ``paper``)."""
    path = Path(path)
    seen: dict[str, int] = {}
    out = [Unit(*_unit_fields(path, n, obj, seen), paper=_paper(path, n, obj)) for n, obj in jsonl_records(path)]
    if not out:
        raise DataError(f"{path}: no units (the file is empty)")
    return out


def read_labelled(path: str | Path, codebook: Codebook | None = None) -> list[LabelledUnit]:
    """Labelled units from a JSONL file; mechanism ids are checked against ``codebook`` if given."""
    path = Path(path)
    seen: dict[str, int] = {}
    known = set(codebook.mechanism_ids()) if codebook is not None else None
    out = []
    for n, obj in jsonl_records(path):
        uid, text, ctx = _unit_fields(path, n, obj, seen)
        out.append(LabelledUnit(uid, text, ctx, *_labels(path, n, obj, known), paper=_paper(path, n, obj)))
    if not out:
        raise DataError(f"{path}: no labelled units (the file is empty)")
    return out


def _labels(path: Path, n: int, obj: dict[str, Any], known: set[str] | None):
    where = f"{path}: line {n}"
    mechs = obj.get("mechanisms", [])
    if mechs is None:
        mechs = []
    if not isinstance(mechs, list) or not all(isinstance(m, str) for m in mechs):
        raise DataError(f"{where}: 'mechanisms' must be a list of mechanism ids")
    if known is not None:
        unknown = [m for m in mechs if m not in known]
        if unknown:
            raise DataError(f"{where}: mechanism id(s) not in the codebook: {', '.join(unknown)}")
    role, pol, group = obj.get("role"), obj.get("polarity"), obj.get("group")
    if role is not None and role not in ROLE_IDS:
        raise DataError(f"{where}: role {role!r} must be one of {', '.join(ROLE_IDS)} or null")
    if pol is not None and pol not in POLARITY_IDS:
        raise DataError(f"{where}: polarity {pol!r} must be '+', '-' or null")
    if group is not None and (isinstance(group, bool) or not isinstance(group, (str, int))):
        raise DataError(f"{where}: 'group' must be a string, an integer or null")
    return list(mechs), role, pol, None if group is None else str(group)
