"""Coded units: the common input of the evidence matrix, CMO chains and exports.

A *coded unit* is a plain dict, the same whether the code comes from a reviewer
decision or a model suggestion::

    {"id", "document_id", "paper", "text", "start", "end", "page", "section",
     "paragraph", "order", "mechanisms": [...], "role", "polarity",
     "source", "confidence", "kind"}

``paragraph`` is the passage id (``group`` in ``units.jsonl``), ``order`` the
document offset, ``source`` the reviewer name (decisions) or ``model:VERSION``
(suggestions), ``kind`` ``"decision"`` or ``"suggestion"``.

The store-facing functions (:func:`coded_units`, :func:`paper_labels`) are thin;
the conversions (:func:`paper_label`, :func:`from_suggestion`) are pure.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from mechcode.errors import StoreError

SOURCES = ("decisions", "suggestions")
CODED_ACTIONS = ("accept", "correct", "adjudicate")
_YEAR_RE = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)")
_DATE_YEAR_RE = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)")
_NAME_RE = re.compile(r"[A-Z][A-Za-z'\u00C0-\u024F-]+")
_PARTICLE_RE = re.compile(r"\b(?:(?:van|von|de|der|den|da|di|du|le|la|del|ten)\s+)+[A-Z]\S*$")
_NOT_NAMES = {"And", "The", "Of", "University", "Department", "School", "Research", "Open", "Access",
              "Abstract", "Background", "Correspondence", "Email", "Institute", "Faculty", "Centre",
              "Center", "Hospital", "College"}


# ----------------------------------------------------------------------------- labels
def _first_surname(authors: Any) -> str:
    """The surname of the first author from a list/str of names ("Smith, J" or "Jane Smith")."""
    if isinstance(authors, (list, tuple)):
        authors = authors[0] if authors else ""
    if isinstance(authors, dict):
        return str(authors.get("family") or authors.get("surname") or authors.get("name") or "")
    first = re.split(r";| and |&|\n", str(authors).strip())[0].strip()
    if "," in first:
        head = first.split(",")[0].strip()
        if len(head.split()) == 1:  # 'Smith, J.' (surname first)
            return head
        first = head  # 'Sarah Sims, Simon Fletcher'

    names = [w for w in _NAME_RE.findall(first) if w not in _NOT_NAMES]
    full = [w for w in names if not (w.isupper() and len(w) <= 3)]  # 'Thompson TP': TP are initials
    if not names:
        return ""
    surname = (full or names)[-1]
    m = _PARTICLE_RE.search(first[:first.rfind(surname)] + surname) if surname in first else None
    return (m.group(0)[0].upper() + m.group(0)[1:]) if m else surname


def _year(meta: dict[str, Any], text: str) -> str:
    for key in ("year", "date", "published", "CreationDate", "creationDate", "creation_date"):
        m = _DATE_YEAR_RE.search(str(meta.get(key) or ""))  # also 'D:20200101...' PDF dates
        if m:
            return m.group(1)
    m = _YEAR_RE.search(text)
    return m.group(1) if m else ""


def paper_label(doc: dict[str, Any], first_page: Iterable[dict[str, Any]] = ()) -> str:
    """'First author (year)' for a stored document dict.

    Order of preference: the document's ``label``; ``metadata['label']``; first author
    and year from the metadata (``authors``/``author``, ``year``/``date``); the author
    passages and text of the first page; else the file name without extension.
    """
    if str(doc.get("label") or "").strip():
        return str(doc["label"]).strip()
    meta = doc.get("metadata") or {}
    if str(meta.get("label") or "").strip():
        return str(meta["label"]).strip()
    page1 = [p for p in first_page if (p.get("page") or 1) == 1]
    surname = _first_surname(meta.get("authors") or meta.get("author") or "")
    if not surname:
        authors = [p["text"] for p in page1 if p.get("kind") == "author"]
        surname = _first_surname(authors[0]) if authors else ""
    year = _year(meta, " ".join(p.get("text", "") for p in page1))
    if surname and year:
        return f"{surname} ({year})"
    name = str(doc.get("file_name") or doc.get("title") or f"document {doc.get('id', '?')}")
    return re.sub(r"\.pdf$", "", name, flags=re.I)


def paper_labels(rv) -> dict[int, str]:
    """document id -> label for every document of a review (unique: duplicates get a, b, ...)."""
    labels: dict[int, str] = {}
    for doc in rv.documents():
        passages = []
        if not str(doc.get("label") or "").strip() and not (doc.get("metadata") or {}).get("label"):
            passages = [p for p in rv.passages(doc["id"]) if p.get("page") == 1]
        labels[doc["id"]] = paper_label(doc, passages)
    return _disambiguate(labels)


def _disambiguate(labels: dict[int, str]) -> dict[int, str]:
    seen: dict[str, list[int]] = {}
    for did, lab in labels.items():
        seen.setdefault(lab, []).append(did)
    out = dict(labels)
    for lab, ids in seen.items():
        if len(ids) > 1:
            for i, did in enumerate(sorted(ids)):
                out[did] = re.sub(r"\)$", f"{chr(97 + i % 26)})", lab) if lab.endswith(")") \
                    else f"{lab} ({i + 1})"
    return out


# ----------------------------------------------------------------------------- conversions
def _argmax(probs: Any) -> str | None:
    if isinstance(probs, str) or probs is None:
        return probs
    return max(probs.items(), key=lambda kv: kv[1])[0] if probs else None


def from_suggestion(sugg: dict[str, Any], threshold: float = 0.5,
                    order: list[str] | None = None) -> dict[str, Any]:
    """Turn a stored suggestion (probabilities) into codes: mechanisms with p >= threshold
    (in ``order`` if given, else by decreasing p), the most probable role, and the most
    probable polarity unless the role is ``none``."""
    mechs = sugg.get("mechanisms") or {}
    if isinstance(mechs, dict):
        chosen = [m for m, p in sorted(mechs.items(), key=lambda kv: -kv[1]) if p >= threshold]
        if order:
            rank = {m: i for i, m in enumerate(order)}
            chosen.sort(key=lambda m: rank.get(m, len(rank)))
    else:
        chosen = list(mechs)
    role = _argmax(sugg.get("role"))
    polarity = _argmax(sugg.get("polarity")) if role not in (None, "none") else None
    return {"mechanisms": chosen, "role": role, "polarity": polarity,
            "confidence": sugg.get("confidence"),
            "source": f"model:{sugg.get('model_version', '?')}", "kind": "suggestion"}


def from_decision(code: dict[str, Any]) -> dict[str, Any]:
    """Turn a current code (``Review.current_codes`` value) into codes."""
    return {"mechanisms": list(code.get("mechanisms") or []), "role": code.get("role"),
            "polarity": code.get("polarity"), "confidence": None,
            "source": code.get("reviewer"), "kind": "decision", "note": code.get("note"),
            "decision_id": code.get("decision_id")}


def make_coded(unit: dict[str, Any], codes: dict[str, Any], paper: str) -> dict[str, Any]:
    """Merge a stored unit dict and its codes into one coded-unit dict."""
    return {"id": unit["id"], "document_id": unit["document_id"], "paper": paper,
            "text": unit["text"], "start": unit["start"], "end": unit["end"],
            "page": unit.get("page"), "section": unit.get("section"),
            "paragraph": unit.get("passage_id"), "order": unit["start"], **codes}


# ----------------------------------------------------------------------------- store
def check_source(source: str) -> None:
    if source not in SOURCES:
        raise StoreError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")


def current_codes(rv, source: str = "decisions", threshold: float = 0.5,
                  model_version: str | None = None) -> dict[int, dict[str, Any]]:
    """unit id -> codes, from current accepted/corrected decisions or from suggestions."""
    check_source(source)
    if source == "decisions":
        return {uid: from_decision(c) for uid, c in rv.current_codes().items()
                if c.get("action") in CODED_ACTIONS}
    order = rv.codebook.mechanism_ids()
    out = {}
    for uid, s in rv.suggestions(model_version).items():
        s = {"model_version": model_version, **s} if model_version else s
        out[uid] = from_suggestion(s, threshold, order)
    return out


def coded_units(rv, source: str = "decisions", threshold: float = 0.5,
                model_version: str | None = None, document_id: int | None = None,
                labels: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """Every coded unit of the review (or of one document), in document order."""
    codes = current_codes(rv, source, threshold, model_version)
    labels = labels if labels is not None else paper_labels(rv)
    out = []
    for unit in rv.units(document_id):
        c = codes.get(unit["id"])
        if c is not None:
            out.append(make_coded(unit, c, labels.get(unit["document_id"], "")))
    out.sort(key=lambda u: (u["document_id"], u["order"], u["id"]))
    return out
