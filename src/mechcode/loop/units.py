"""Which units the queues offer: codable prose only, and a span instead of the sentences it covers.

- A unit :func:`mechcode.codable.classify` finds not codable (a label, a list number, a
  reference fragment ...) stays in its paper but no queue offers it.
- A span a reviewer coded across several sentences supersedes them: the queues offer the
  span's sentences no more (the span carries the code).
- A span that covers exactly one sentence is that sentence (:func:`sentence_at`): the
  reviewer loop codes the sentence instead of creating a duplicate unit.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from mechcode.codable import classify
from mechcode.store import flags


def hidden_units(review, units: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """unit id -> why no queue offers it (flags are filled for new units first)."""
    con = review.connect()
    flags.ensure(con, classify)
    hidden = {uid: f"not codable: {why}" for uid, why in flags.not_codable(con).items()}
    by_doc: dict[int, list[Mapping[str, Any]]] = {}
    for u in units:
        by_doc.setdefault(u["document_id"], []).append(u)
    for rows in by_doc.values():
        spans = [u for u in rows if u.get("kind") == "span"]
        if not spans:
            continue
        sentences = [u for u in rows if u.get("kind") != "span"]
        for span in spans:
            inside = [s for s in sentences if span["start"] <= s["start"] and s["end"] <= span["end"]]
            if len(inside) >= 2:
                for s in inside:
                    hidden.setdefault(s["id"], f"superseded by span {span['id']}")
    return hidden


def sentence_at(units: Iterable[Mapping[str, Any]], document_id: int, start: int, end: int,
                text: str) -> int | None:
    """The sentence unit whose text is exactly ``text[start:end]`` (whitespace trimmed), if any."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    for u in units:
        if u["document_id"] == document_id and u.get("kind") != "span" and u["start"] == start and u["end"] == end:
            return int(u["id"])
    return None
