"""What a reviewer sees in the loop: code views, unit history, the team queues.

- Blind double coding: codes shown to a reviewer come from
  :func:`mechcode.team.assign.visible_codes`; a unit's history hides the other coder's
  events while the unit is blind (:func:`unit_history`).
- Team queues: ``adjudicate`` (double-coded units whose coders disagree, both codings side
  by side) and ``recode`` (units whose code waits for re-coding after a codebook split).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from mechcode.team.adjudicate import disagreements

TEAM_MODES = ("adjudicate", "recode")
CODE_FIELDS = ("mechanisms", "role", "polarity", "reviewer", "action", "decision_id", "note")


def code_view(code: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A current code as the page shows it (with ``visibility`` and pending re-coding when known)."""
    if not code:
        return None
    out = {k: code.get(k) for k in CODE_FIELDS}
    for key in ("visibility", "pending", "retired"):
        if code.get(key):
            out[key] = code[key]
    return out


def others_double(assigned: Mapping[int, Iterable[str]], reviewer: str) -> set[int]:
    """Units double-coded by a pair the reviewer is not part of (left out of their queues)."""
    return {uid for uid, names in assigned.items() if reviewer not in names}


def adjudication_list(review) -> list[dict[str, Any]]:
    """The disagreements to adjudicate, in reading order (``team.adjudicate.disagreements``)."""
    return disagreements(review)


def coding_rows(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The two (or more) codings of a disagreement, one dict per reviewer, in assignment order."""
    rows = []
    for name in item["reviewers"]:
        code = item["codings"].get(name)
        if code is not None:
            rows.append({**code_view(code), "reviewer": name, "created_at": code.get("created_at")})
    return rows


def recode_list(review, reviewer: str) -> list[dict[str, Any]]:
    """The reviewer's units waiting for re-coding after a split (``Review.recode_queue``)."""
    return review.recode_queue(reviewer)


def recode_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """What a re-coding item shows: the code as it stands and the choices each old code now has."""
    return {"code": code_view(item["code"]),
            "pending": [{"from": p["from"], "op": p["op"], "version": p["version"],
                         "candidates": list(p["candidates"])} for p in item["pending"]]}


def team_list(review, mode: str, reviewer: str,
              known: Mapping[int, Any]) -> tuple[list[int], dict[int, dict[str, Any]]]:
    """(unit ids, extra item fields per unit) of a team queue mode (nothing for the other modes).

    ``adjudicate``: ``codings`` (one row per coder) and ``agreed`` (what they share);
    ``recode``: ``recode`` (:func:`recode_view`). Units not in ``known`` are left out."""
    if mode == "adjudicate":
        items = [i for i in adjudication_list(review) if i["unit_id"] in known]
        extra = {}
        for i in items:
            rows = coding_rows(i)
            extra[i["unit_id"]] = {"codings": rows, "agreed": agreed_codes(rows)}
        return [i["unit_id"] for i in items], extra
    if mode == "recode":
        items = [i for i in recode_list(review, reviewer) if i["unit_id"] in known]
        return [i["unit_id"] for i in items], {i["unit_id"]: {"recode": recode_view(i)} for i in items}
    return [], {}


def unit_history(review, unit_id: int, reviewer: str, blind: bool) -> list[dict[str, Any]]:
    """The unit's decision events the reviewer may see, oldest first.

    On a blind unit only the reviewer's own events are shown (the other coder's codes,
    skips and undos stay private until the unit is agreed or adjudicated)."""
    events = review.decisions(unit_id)
    if blind:
        events = [e for e in events if e["reviewer"] == reviewer]
    keys = ("id", "action", "reviewer", "mechanisms", "role", "polarity", "note", "undoes", "model_version",
            "codebook_version", "created_at")
    return [{k: e.get(k) for k in keys} for e in events]


def agreed_codes(codings: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What every coding shares: the common mechanisms, and role/polarity where all agree."""
    codings = list(codings)
    if not codings:
        return {"mechanisms": [], "role": None, "polarity": None}
    common = set(codings[0].get("mechanisms") or ())
    for c in codings[1:]:
        common &= set(c.get("mechanisms") or ())
    first = codings[0].get("mechanisms") or []
    roles = {c.get("role") for c in codings}
    pols = {c.get("polarity") for c in codings}
    return {"mechanisms": [m for m in first if m in common], "role": roles.pop() if len(roles) == 1 else None,
            "polarity": pols.pop() if len(pols) == 1 else None}
