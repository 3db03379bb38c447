"""JSON shapes the reviewer page reads: queue items, paper views, progress.

Pure functions over store rows; no text is ever interpreted as markup here (the page renders
everything with ``textContent``).
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from mechcode.loop.active import Pick, suggested_codes, uncertainty
from mechcode.loop.visibility import code_view

MAX_RATIONALE_TERMS = 12
_TERM_KEYS = ("term", "token", "text", "word", "feature", "phrase")


def rationale_terms(rationale: Any, limit: int = MAX_RATIONALE_TERMS) -> list[str]:
    """The words/phrases a suggestion gives as its reasons, whatever shape the backend used
    (a string, a list of strings or ``{"term": ...}`` dicts, or a mapping per mechanism)."""
    out: list[str] = []

    def add(term: Any) -> None:
        if isinstance(term, str):
            t = " ".join(term.split())
            if 2 <= len(t) <= 80 and t.lower() not in (o.lower() for o in out):
                out.append(t)

    def walk(obj: Any, depth: int = 0) -> None:
        if depth > 3 or len(out) >= limit:
            return
        if isinstance(obj, str):
            add(obj)
        elif isinstance(obj, Mapping):
            key = next((k for k in _TERM_KEYS if isinstance(obj.get(k), str)), None)
            if isinstance(obj.get("terms"), (list, tuple)):
                walk(obj["terms"], depth + 1)  # {"task", "label", "terms": [...]}
            elif key:
                add(obj[key])
            elif obj and all(isinstance(v, (int, float)) for v in obj.values()):
                for k, _ in sorted(obj.items(), key=lambda kv: -abs(float(kv[1]))):
                    add(k)
            else:
                for v in obj.values():
                    if not isinstance(v, str):
                        walk(v, depth + 1)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                if isinstance(v, (list, tuple)) and v and isinstance(v[0], str):
                    add(v[0])  # (term, weight) pairs
                else:
                    walk(v, depth + 1)

    walk(rationale)
    return out[:limit]


def evidence_texts(rationale: Any, limit: int = 3) -> list[str]:
    """Definition sentences a backend quotes as evidence (``{"evidence": "..."}`` entries)."""
    items = rationale if isinstance(rationale, (list, tuple)) else [rationale]
    out = [" ".join(r["evidence"].split()) for r in items
           if isinstance(r, Mapping) and isinstance(r.get("evidence"), str) and r["evidence"].strip()]
    return out[:limit]


_COMMON = frozenset("""about above after again against among because before being below between both
could during each every first from further have having into itself might more most much other
order their theirs them then there these they this those through under until very well were what
when where which while whom whose with within without would should shall your also such than
that only same some just over""".split())


def shared_words(text: str, others: Iterable[str], min_len: int = 5, limit: int = MAX_RATIONALE_TERMS) -> list[str]:
    """Longer words of ``text`` that also occur in ``others`` (to highlight why a definition matched)."""
    pool = {w.lower() for o in others for w in re.findall(r"[A-Za-z][A-Za-z-]+", o)} - _COMMON
    out: list[str] = []
    for w in re.findall(r"[A-Za-z][A-Za-z-]+", text):
        if len(w) >= min_len and w.lower() in pool and w.lower() not in (o.lower() for o in out):
            out.append(w)
    return out[:limit]


def context_start(unit: Mapping[str, Any], passage_start: int | None) -> int:
    """Offset of the unit's text inside its context (paragraph), or -1 if it is not in it."""
    context, text = unit.get("context") or "", unit.get("text") or ""
    if passage_start is not None:
        off = int(unit["start"]) - int(passage_start)
        if 0 <= off <= len(context) - len(text) and context[off:off + len(text)] == text:
            return off
    return context.find(text) if text else -1


def suggestion_view(sugg: Mapping[str, Any] | None, allowed: Iterable[str],
                    version: str | None, text: str = "") -> dict[str, Any] | None:
    """A stored suggestion trimmed for the page (probabilities, rationale terms, confidence).

    Only mechanisms of ``allowed`` (the codes a reviewer can choose now) are kept: a model
    trained on an older codebook may still name merged, split or retired codes."""
    if not sugg:
        return None
    evidence = evidence_texts(sugg.get("rationale"))
    allowed = set(allowed)
    return {
        "model_version": sugg.get("model_version") or version,
        "mechanisms": {k: round(float(v), 4) for k, v in (sugg.get("mechanisms") or {}).items() if k in allowed},
        "role": {k: round(float(v), 4) for k, v in (sugg.get("role") or {}).items()},
        "polarity": {k: round(float(v), 4) for k, v in (sugg.get("polarity") or {}).items()},
        "rationale": rationale_terms(sugg.get("rationale")) or shared_words(text, evidence),
        "evidence": evidence,
        "confidence": sugg.get("confidence"),
        "uncertainty": round(uncertainty(sugg), 4),
        "suggested": suggested_codes(sugg, allowed),
    }


def unit_item(unit: Mapping[str, Any], pick: Pick | None, sugg: Mapping[str, Any] | None,
              allowed: Iterable[str], version: str | None, passage_start: int | None) -> dict[str, Any]:
    """One queue entry: the unit, where it comes from, why it was picked, what the model suggests."""
    return {
        "id": unit["id"],
        "kind": unit.get("kind", "sentence"),
        "text": unit["text"],
        "context": unit.get("context") or "",
        "context_start": context_start(unit, passage_start),
        "document_id": unit["document_id"],
        "document_title": unit.get("document_title") or "",
        "document_label": unit.get("document_label") or "",
        "page": unit.get("page"),
        "section": unit.get("section"),
        "seq": unit.get("seq"),
        "start": unit.get("start"),
        "end": unit.get("end"),
        "reason": pick.reason if pick else None,
        "suggestion": suggestion_view(sugg, allowed, version, unit["text"]),
    }


def paper_progress(units: list[Mapping[str, Any]], coded: set[int], mine: set[int],
                   documents: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Coded/total per paper and overall (``coded`` = by anyone, ``mine`` = by this reviewer)."""
    per: dict[int, dict[str, int]] = {}
    for u in units:
        p = per.setdefault(u["document_id"], {"units": 0, "coded": 0, "coded_by_you": 0})
        p["units"] += 1
        p["coded"] += u["id"] in coded
        p["coded_by_you"] += u["id"] in mine
    papers = []
    for d in documents:
        counts = per.get(d["id"], {"units": 0, "coded": 0, "coded_by_you": 0})
        papers.append({"id": d["id"], "title": d.get("title") or d.get("file_name") or f"paper {d['id']}",
                       "label": d.get("label") or "", "file_name": d.get("file_name") or "",
                       "n_pages": d.get("n_pages"), **counts})
    total = {k: sum(p[k] for p in papers) for k in ("units", "coded", "coded_by_you")}
    return {"papers": papers, "total": total}


def paper_view(doc: Mapping[str, Any], passages: list[Mapping[str, Any]], units: list[Mapping[str, Any]],
               codes: Mapping[int, Mapping[str, Any]], hidden: Mapping[int, str] | None = None) -> dict[str, Any]:
    """The whole paper in reading order with its units, their current codes and, for units no
    queue offers, why (``hidden``: not codable, superseded by a span)."""
    hidden = hidden or {}
    return {
        "id": doc["id"],
        "title": doc.get("title") or doc.get("file_name") or "",
        "label": doc.get("label") or "",
        "file_name": doc.get("file_name") or "",
        "n_pages": doc.get("n_pages"),
        "text_length": len(doc.get("text") or ""),
        "passages": [{k: p.get(k) for k in ("id", "seq", "kind", "text", "page", "start", "end", "section", "level")}
                     for p in passages],
        "units": [{"id": u["id"], "kind": u.get("kind"), "start": u["start"], "end": u["end"],
                   "page": u.get("page"), "section": u.get("section"), "code": code_view(codes.get(u["id"])),
                   "hidden": hidden.get(u["id"])} for u in units],
    }
