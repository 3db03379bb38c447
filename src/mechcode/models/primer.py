"""The CMO role primer: statements labelled context / mechanism-resource / mechanism-reasoning /
outcome, written across many domains (``corpora/cmo-primer/``).

It is the default role prior of every codebook: the zeroshot prior compares a unit with its
statements, and the learning backends add them to their role training data, so a model learns
the *form* of a context, a resource, a response and a result from many topics rather than
from one review. A JSONL line: ``{"id", "text", "domain", "role", "polarity"}``.

Where the primer lives: ``$MECHCODE_PRIMER`` (a file or a folder of ``*.jsonl``), else
``corpora/cmo-primer/`` of the source checkout; ``$MECHCODE_PRIMER_EXCLUDE`` (comma-separated
domains) leaves domains out, for leave-one-domain-out evaluation. A missing primer is not an error: the role
prior then uses the codebook's role definitions and examples only.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from mechcode.codebook import POLARITY_IDS, ROLE_IDS
from mechcode.errors import DataError
from mechcode.models.base import LabelledUnit

ENV = "MECHCODE_PRIMER"


def primer_files(path: str | os.PathLike | None = None) -> list[Path]:
    """The primer's JSONL files (sorted), or [] when there is none."""
    raw = path or os.environ.get(ENV)
    p = Path(raw) if raw else Path(__file__).resolve().parents[3] / "corpora" / "cmo-primer"
    if p.is_file():
        return [p]
    return sorted(p.glob("*.jsonl")) if p.is_dir() else []


def load_primer(path: str | os.PathLike | None = None,
                exclude_domains: set[str] | None = None) -> list[LabelledUnit]:
    """Primer statements as role-labelled units (no mechanism labels: ``mechanisms`` is empty
    and the unit is used for role and polarity only; ``group`` is the domain)."""
    exclude_domains = _excluded(exclude_domains)
    out: list[LabelledUnit] = []
    for f, n, d in _lines(primer_files(path), "a primer statement", ("text", "role")):
        text, role = str(d["text"]).strip(), d["role"]
        if role not in ROLE_IDS or not text:
            raise DataError(f"{f}: line {n}: role {role!r} must be one of {', '.join(ROLE_IDS)}")
        dom = str(d.get("domain") or "")
        if exclude_domains and dom in exclude_domains:
            continue
        pol = d.get("polarity") if d.get("polarity") in POLARITY_IDS else None
        out.append(LabelledUnit(id=f"primer:{d.get('id', n)}", text=text, context=text, mechanisms=[],
                                role=role, polarity=pol, group=f"primer:{dom}", origin="primer"))
    return out


def primer_hash(path: str | os.PathLike | None = None) -> str | None:
    """SHA-256 (16 hex) of the primer files' bytes, or None when there is no primer."""
    files = primer_files(path)
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def none_primer_files(path: str | os.PathLike | None = None) -> list[Path]:
    """The none primer's JSONL files: ``none/*.jsonl`` in the primer's folder (``$MECHCODE_PRIMER``'s
    folder when it is set; ``$MECHCODE_PRIMER_NONE`` overrides: a file or a folder), or [] when
    there is none."""
    raw = path or os.environ.get(ENV + "_NONE")
    if raw:
        p = Path(raw)
    else:  # beside the primer: none/ in its folder (or in the folder of a primer file)
        default = Path(__file__).resolve().parents[3] / "corpora" / "cmo-primer"
        base = Path(os.environ[ENV]) if os.environ.get(ENV) else default
        p = (base.parent if base.is_file() else base) / "none"
    if p.is_file():
        return [p]
    return sorted(p.glob("*.jsonl")) if p.is_dir() else []


def load_none_primer(path: str | os.PathLike | None = None, exclude_domains: set[str] | None = None) -> list[str]:
    """Texts of the none primer: sentences of research writing that state no context, mechanism or
    outcome (role ``none``). ``$MECHCODE_PRIMER_EXCLUDE`` domains are left out, as for the primer."""
    exclude_domains = _excluded(exclude_domains)
    out: list[str] = []
    for f, n, d in _lines(none_primer_files(path), "a none-primer sentence", ("text",)):
        text = str(d["text"]).strip()
        if d.get("role", "none") != "none" or not text:
            raise DataError(f"{f}: line {n}: a none-primer sentence needs a text and role none")
        if not (exclude_domains and str(d.get("domain") or "") in exclude_domains):
            out.append(text)
    return out


def _lines(files: list[Path], what: str, keys: tuple[str, ...]):
    """(file, line number, object) for each non-empty JSONL line of ``files``; a line that is not a
    JSON object with ``keys`` is one DataError naming the file and line."""
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                missing = [k for k in keys if k not in d] if isinstance(d, dict) else list(keys)
                if missing:
                    raise KeyError(missing[0])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(f"{f}: line {n}: not {what} ({exc})") from exc
            yield f, n, d


def _excluded(domains: set[str] | None) -> set[str] | None:
    """``domains``, or in leave-one-domain-out runs the ones ``$MECHCODE_PRIMER_EXCLUDE`` names."""
    if domains is None and os.environ.get(ENV + "_EXCLUDE"):
        return set(os.environ[ENV + "_EXCLUDE"].split(","))
    return domains
