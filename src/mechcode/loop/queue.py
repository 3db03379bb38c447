"""The queue modes: which units a reviewer codes next, and in what order.

- ``paper``: a paper in reading order (the first paper with uncoded units unless one is given);
- ``uncertain``: active learning (see :func:`mechcode.loop.active.select_uncertain`);
- ``mechanism``: every open unit ranked by one mechanism's probability, most likely first; units
  under ``MECHANISM_FLOOR`` come after the likely ones, marked as such (at the cold start on a new
  paper few units reach it; the ranking is the order ``simulate --target mechanism`` measures);
- ``adjudicate``: double-coded units whose two coders disagree (team coding);
- ``recode``: units whose code waits for re-coding after a codebook split.

Units the reviewer has already coded are left out; units the reviewer skipped come last.
The two team modes list what the store gives (:attr:`QueueState.listed`), skipped ones last.
The functions are pure: the service gathers a :class:`QueueState` from the store.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from mechcode.errors import MechcodeError
from mechcode.loop.active import Pick, select_uncertain

MODES = ("paper", "uncertain", "mechanism", "adjudicate", "recode")
LIST_MODES = ("adjudicate", "recode")  # the store lists the units; the queue only orders them
MECHANISM_FLOOR = 0.2  # ``mechanism`` mode: units under this are listed after the likely ones, marked
BELOW_FLOOR = f"mechanism:below {MECHANISM_FLOOR:g}"
MAX_LIMIT = 200


class QueueError(MechcodeError):
    """A queue request that cannot be answered (unknown mode, mechanism or paper)."""


@dataclass
class QueueState:
    """What queue selection needs to know, gathered from the store."""

    units: list[dict[str, Any]]  # in reading order (document, start)
    suggestions: Mapping[int, Mapping[str, Any]]  # unit id -> suggestion of the serving model
    coded: set[int]  # unit ids the reviewer has a current code for
    skipped: set[int] = field(default_factory=set)  # unit ids the reviewer skipped (not undone)
    labelled_counts: Mapping[str, int] = field(default_factory=dict)
    mechanisms: list[str] = field(default_factory=list)  # suggestable mechanism ids
    seed: int = 0
    uncertainty: Mapping[int, float] | None = None  # precomputed per unit (optional)
    listed: list[int] = field(default_factory=list)  # the units of a list mode, in order


def _open_units(state: QueueState, document_id: int | None = None) -> list[dict[str, Any]]:
    """Uncoded units (optionally of one document), skipped ones moved to the end."""
    rows = [u for u in state.units if u["id"] not in state.coded
            and (document_id is None or u["document_id"] == document_id)]
    return [u for u in rows if u["id"] not in state.skipped] + [u for u in rows if u["id"] in state.skipped]


def paper_queue(state: QueueState, limit: int, paper: int | None = None) -> list[Pick]:
    """Units of one paper in reading order; without ``paper``, the first paper with work left."""
    if paper is not None and not any(u["document_id"] == paper for u in state.units):
        raise QueueError(f"unknown paper {paper} (or it has no units)")
    if paper is None:
        first = next((u for u in state.units if u["id"] not in state.coded and u["id"] not in state.skipped),
                     None) or next((u for u in state.units if u["id"] not in state.coded), None)
        if first is None:
            return []
        paper = first["document_id"]
    return [Pick(u["id"], "paper") for u in _open_units(state, paper)[:limit]]


def mechanism_queue(state: QueueState, limit: int, mechanism: str | None) -> list[Pick]:
    """Uncoded units by their probability of ``mechanism``, most likely first; those under
    ``MECHANISM_FLOOR`` follow with reason :data:`BELOW_FLOOR`, units the model has not scored yet
    come after them (reason ``mechanism:unscored``), skipped units last."""
    if not mechanism:
        raise QueueError("mode 'mechanism' needs &mechanism=ID")
    if mechanism not in state.mechanisms:
        raise QueueError(f"unknown mechanism {mechanism!r}; expected one of {', '.join(state.mechanisms)}")
    ranked = []
    for u in _open_units(state):
        sugg = state.suggestions.get(u["id"])
        p = float(((sugg or {}).get("mechanisms") or {}).get(mechanism, 0.0))
        ranked.append((u["id"] in state.skipped, sugg is None, -p, u["id"]))
    ranked.sort()
    return [Pick(uid, _mechanism_reason(unscored, -negp), -negp) for _, unscored, negp, uid in ranked[:limit]]


def _mechanism_reason(unscored: bool, p: float) -> str:
    if unscored:
        return "mechanism:unscored"
    return "mechanism" if p >= MECHANISM_FLOOR else BELOW_FLOOR


def uncertain_queue(state: QueueState, limit: int) -> list[Pick]:
    """Active learning over the uncoded, unskipped units (skipped ones only when nothing else is left)."""
    pool = [u["id"] for u in state.units if u["id"] not in state.coded and u["id"] not in state.skipped]
    if not pool:
        pool = [u["id"] for u in state.units if u["id"] not in state.coded]
    scored = [u for u in pool if u in state.suggestions]
    pool = scored or pool  # rank what the model has scored (unscored units would all look "unsure")
    return select_uncertain(pool, state.suggestions, limit, labelled_counts=state.labelled_counts,
                            mechanisms=state.mechanisms, seed=state.seed, scores=state.uncertainty)


def list_queue(state: QueueState, limit: int, mode: str) -> list[Pick]:
    """The units a list mode names, in the order given, the ones the reviewer skipped last."""
    rows = list(dict.fromkeys(state.listed))
    rows = [u for u in rows if u not in state.skipped] + [u for u in rows if u in state.skipped]
    return [Pick(u, mode) for u in rows[:limit]]


def select(state: QueueState, mode: str, limit: int = 20, mechanism: str | None = None,
           paper: int | None = None) -> list[Pick]:
    """Dispatch to the queue ``mode``; :class:`QueueError` on a bad request."""
    if mode not in MODES:
        raise QueueError(f"unknown queue mode {mode!r}; expected one of {', '.join(MODES)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise QueueError(f"limit must be between 1 and {MAX_LIMIT}")
    if mode == "paper":
        return paper_queue(state, limit, paper)
    if mode == "mechanism":
        return mechanism_queue(state, limit, mechanism)
    if mode in LIST_MODES:
        return list_queue(state, limit, mode)
    return uncertain_queue(state, limit)


def needs_all_suggestions(mode: str) -> bool:
    """Whether a mode ranks by model output (so every open unit needs a suggestion first)."""
    return mode in ("uncertain", "mechanism")


def stable_seed(*parts: Any) -> int:
    """A deterministic seed from request parts (same reviewer and progress -> same random share)."""
    return zlib.crc32("|".join(map(str, parts)).encode())
