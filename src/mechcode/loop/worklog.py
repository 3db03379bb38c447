"""What a reviewer does beyond the queue: their history, search and jump, ranges rejected in
one action, and the stop signal. Functions over a :class:`mechcode.loop.service.LoopService`
(the web routes call them; nothing here talks HTTP)."""
from __future__ import annotations

import uuid
from typing import Any

from mechcode.errors import StoreError
from mechcode.loop import stopping
from mechcode.loop import visibility as vis
from mechcode.loop.access import InvalidRequest, NotFound, check_undo
from mechcode.loop.active import suggested_codes
from mechcode.loop.views import paper_progress, paper_view, unit_item
from mechcode.store import decisions as dec
from mechcode.store import search as fts
from mechcode.team.assign import is_blind, visible_codes

HISTORY_ACTIONS = ("accept", "correct", "reject", "skip", "adjudicate")
_PROBS: dict[tuple, dict[int, float]] = {}  # (service, model version, n suggestions, mechanism) -> probabilities
MAX_RANGE = 5000  # units one "reject range" may cover


def history(svc, reviewer: str, limit: int = 50, before: int | None = None, paper: int | None = None,
            mechanism: str | None = None, action: str | None = None) -> dict[str, Any]:
    """The reviewer's decisions, newest first: unit text and place, codes before and after, the
    suggestion they saw, time, and whether it was undone. ``next_before`` pages on."""
    if not 1 <= limit <= 200:
        raise InvalidRequest("limit must be between 1 and 200")
    if action is not None and action not in HISTORY_ACTIONS:
        raise InvalidRequest(f"bad action {action!r}; expected one of {', '.join(HISTORY_ACTIONS)}")
    rows = dec.reviewer_history(svc.review.connect(), reviewer, limit, before, paper, mechanism, action)
    items = []
    for r in rows:
        u = svc.unit(r["unit_id"])
        sugg = r.get("suggested")
        items.append({
            "id": r["id"], "unit_id": r["unit_id"], "action": r["action"], "created_at": r["created_at"],
            "text": u["text"], "document_id": u["document_id"], "document_label": u.get("document_label") or "",
            "section": u.get("section"), "page": u.get("page"), "note": r.get("note"),
            "after": {"mechanisms": r["mechanisms"], "role": r["role"], "polarity": r["polarity"]},
            "before": r["before"], "undone": r["undone"], "undone_at": r["undone_at"], "batch": r["batch"],
            "suggestion": suggested_codes(sugg, None) if sugg else None,
            "model_version": r.get("model_version")})
    return {"reviewer": reviewer, "items": items,
            "next_before": items[-1]["id"] if len(items) == limit else None}


def item(svc, unit_id: int, reviewer: str) -> dict[str, Any]:
    """One unit as a queue item (to re-open it from the history, a search hit or the paper view),
    with the reviewer's visible code and ``restored`` (their own current code, to pre-fill)."""
    unit = svc.unit(unit_id, NotFound)
    version = svc.ensure_suggestions([unit])
    sugg = svc.suggestions(version).get(unit_id)
    out = unit_item(unit, None, sugg, svc.mechanism_ids(), version, svc.passage_start(unit))
    own = dec.previous_code(svc.review.connect(), reviewer, unit_id)
    out["code"] = vis.code_view(visible_codes(svc.review, reviewer).get(unit_id))
    out["own"] = {k: own[k] for k in ("mechanisms", "role", "polarity", "action", "decision_id")} if own else None
    out["hidden"] = svc.hidden().get(unit_id)
    return out


def search(svc, query: str, limit: int = 30, offset: int = 0, paper: int | None = None) -> dict[str, Any]:
    """Units matching ``query`` (all words, the last as a prefix), best first."""
    if not fts.terms(query):
        raise InvalidRequest("type a word to search for")
    total, hits = fts.search(svc.review.connect(), query, limit, offset, paper)
    hidden = svc.hidden()
    for h in hits:
        h["hidden"] = hidden.get(h["id"])
    return {"query": query, "terms": fts.terms(query), "total": total, "hits": hits}


def range_units(svc, paper: int, section: str | None = None, page_from: int | None = None,
                page_to: int | None = None) -> list[dict[str, Any]]:
    """The units of a paper in a section and/or a page range (reading order)."""
    if section is None and page_from is None and page_to is None:
        raise InvalidRequest("name a section or a page range to reject")
    svc.document(paper)
    rows = [u for u in svc.units() if u["document_id"] == paper
            and (section is None or (u.get("section") or "") == section)
            and (page_from is None or (u.get("page") or 0) >= page_from)
            and (page_to is None or (u.get("page") or 0) <= page_to)]
    if len(rows) > MAX_RANGE:
        raise InvalidRequest(f"the range holds {len(rows)} units; reject at most {MAX_RANGE} at once")
    return rows


def reject_range(svc, reviewer: str, paper: int, section: str | None = None, page_from: int | None = None,
                 page_to: int | None = None, note: str | None = None) -> dict[str, Any]:
    """Reject every unit of the range the reviewer has not coded yet as "not evidence": one decision
    per unit, all under one batch id (undone together with :func:`undo_batch`)."""
    rows = range_units(svc, paper, section, page_from, page_to)
    own = svc.review.current_codes(reviewer)
    todo = [u["id"] for u in rows if u["id"] not in own]
    batch = uuid.uuid4().hex[:16]
    ids = dec.add_batch(svc.review.connect(), svc.review.codebook, todo, reviewer, "reject", batch,
                        note or "not evidence (range rejected)")
    if ids:
        svc.retrainer.note_decision(len(ids))
    return {"batch": batch if ids else None, "rejected": len(ids), "already_coded": len(rows) - len(todo),
            "unit_ids": todo}


def undo_batch(svc, reviewer: str, batch: str, signed_in: str | None) -> dict[str, Any]:
    """Undo every decision of a batch (the reviewer's own; one transaction)."""
    con = svc.review.connect()
    owners = dec.batch_reviewers(con, batch)
    if not owners:
        raise NotFound(f"unknown batch {batch!r}")
    for owner in owners:
        check_undo(reviewer, {"id": f"batch {batch}", "reviewer": owner},
                   strict=signed_in is not None or bool(svc.named_reviewers()))
    try:
        undos = dec.undo_batch(con, svc.review.codebook, batch, reviewer)
    except StoreError as exc:
        raise InvalidRequest(str(exc)) from exc
    if undos:
        svc.retrainer.note_decision(-len(undos))
    return {"batch": batch, "undone": len(undos)}


def stop(svc, reviewer: str | None, mode: str = "paper", mechanism: str | None = None,
         paper: int | None = None) -> dict[str, Any]:
    """The stop figures of a queue mode (``mechanism`` in mechanism mode, ``paper`` in paper mode)."""
    mechanism = mechanism if mode == "mechanism" and mechanism in svc.mechanism_ids() else None
    paper = paper if mode == "paper" else None
    codes = svc.review.current_codes(reviewer) if reviewer else svc.review.current_codes()
    out = stopping.review_figures(svc.review, codes, _probabilities(svc, mechanism), svc.hidden(),
                                  reviewer, mechanism, paper, svc.units())
    out["mode"] = mode
    if mode == "mechanism":
        hidden = svc.hidden()
        counted = [c for uid, c in codes.items() if uid not in hidden]
        out["per_mechanism"] = {m: sum(stopping.is_evidence(c, m) for c in counted) for m in svc.mechanism_ids()}
    return out


def restored(svc, reviewer: str, unit_id: int) -> dict[str, Any] | None:
    """After an undo: the reviewer's current code of a unit (``source: previous``), else the
    codes the model suggests (``source: suggestion``), else None."""
    prev = dec.previous_code(svc.review.connect(), reviewer, unit_id)
    if prev is not None:
        return {"source": "previous", **{k: prev[k] for k in ("mechanisms", "role", "polarity", "action")}}
    sugg = svc.suggestions(svc.serving.version).get(unit_id)
    return {"source": "suggestion", **suggested_codes(sugg, svc.mechanism_ids())} if sugg else None


def unit_history(svc, unit_id: int, reviewer: str) -> dict[str, Any]:
    """A unit's code and decision history as ``reviewer`` may see them (blind units: own events only)."""
    svc.unit(unit_id, NotFound)
    blind = is_blind(svc.review, unit_id)
    code = visible_codes(svc.review, reviewer).get(unit_id)
    return {"unit_id": unit_id, "reviewer": reviewer, "blind": blind, "code": vis.code_view(code),
            "history": vis.unit_history(svc.review, unit_id, reviewer, blind)}


def _probabilities(svc, mechanism: str | None) -> dict[int, float]:
    """Evidence probabilities of the serving model's suggestions (cached per suggestion set);
    while a retrain is still scoring, units it has not reached count with the previous model's."""
    stored = svc.ranking_suggestions()
    key = (id(svc), svc.serving.version, svc.serving.generation, id(stored), len(stored), mechanism)
    if key not in _PROBS:
        if len(_PROBS) >= 8:
            _PROBS.pop(next(iter(_PROBS)))
        _PROBS[key] = stopping.probabilities(stored, mechanism)
    return _PROBS[key]


def papers(svc, reviewer: str) -> dict[str, Any]:
    """Progress per paper: units with a code the reviewer may see, and the reviewer's own."""
    return paper_progress(svc.units(), set(visible_codes(svc.review, reviewer)),
                          set(svc.review.current_codes(reviewer)), svc.review.documents())


def paper(svc, document_id: int, reviewer: str) -> dict[str, Any]:
    """A whole paper with the codes ``reviewer`` may see and why units are hidden from the queues."""
    doc = svc.document(document_id)
    units = [u for u in svc.units() if u["document_id"] == document_id]
    codes = visible_codes(svc.review, reviewer)
    return paper_view(doc, svc.review.passages(document_id), units, codes, svc.hidden())
