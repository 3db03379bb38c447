"""Codebook revisions: rename, merge, split, retire and add codes without losing work.

Every revision makes a new codebook version (stored in ``codebooks``) and one
``codebook_changes`` row per operation, holding the explicit mapping
``old id -> [new ids]`` it applies. Operations (``from`` ids are codes of the
old version, ``to`` ids codes of the new one):

- ``rename A -> B``: units coded A now carry B (automatic).
- ``merge A, B -> C``: units coded A or B now carry C (automatic); A and B stay
  in the codebook with status ``merged``. With several targets
  (``merge A -> C1, C2``) the findings are spread over them, so, like a split,
  each unit goes to the re-coding queue.
- ``split C -> C1, C2``: never guessed: each unit coded C goes to the
  re-coding queue (:func:`recode_queue`) with C1, C2 as candidates.
- ``retire A``: A stays in the codebook with status ``retired`` (history kept,
  no longer suggested); units lose A (listed under ``retired`` in their code).
- ``add B``: a new code; nothing to migrate.

**Decisions are never rewritten.** Each decision keeps the ids and the
``codebook_version`` it was recorded with; the current code of a unit is
*derived* by carrying those ids through the chain of stored mappings to the
current version (:func:`migrate_codes`). So every old version stays readable
(:func:`codes_at_version`), and a reviewer's new decision on a unit in the
re-coding queue (recorded under the new version) simply becomes its code.

The ops of one step are read together against the old codebook, so a step can
name a code that another op of the same step creates (as in the seed review's
Stage 1a -> 1b history, ``corpora/sims2021/codebook_history.yaml``).
"""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Iterable

import yaml

from mechcode.codebook import Codebook, Mechanism, parse_codebook
from mechcode.errors import CodebookError, StoreError
from mechcode.store.codebooks import codebook_changes, connection_of, insert_codebook, versions
from mechcode.store.db import now
from mechcode.store.decisions import current_codes
from mechcode.files import atomic_path

OPS = ("rename", "merge", "split", "retire", "add")
LIVE = ("active", "no-evidence")  # statuses a code can be changed from


# ----------------------------------------------------------------------------- planning (pure)
def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    return list(dict.fromkeys(str(v) for v in value))


def normalise_op(raw: dict[str, Any]) -> dict[str, Any]:
    """One operation as ``{op, from, to, note, name, description, kind}`` with its arity checked."""
    op = str(raw.get("op", "")).strip()
    if op not in OPS:
        raise CodebookError(f"unknown codebook operation {op!r}; expected one of {', '.join(OPS)}")
    src, dst = _ids(raw.get("from")), _ids(raw.get("to"))
    need = {"rename": (src and len(src) == 1 and len(dst) == 1, "one code to one new code"),
            "merge": (src and dst, "one or more codes into one (or more) codes"),
            "split": (len(src) == 1 and len(dst) >= 2, "one code into two or more codes"),
            "retire": (src and not dst, "one or more codes and no target"),
            "add": (not src and dst, "no source and one or more new codes")}[op]
    if not need[0]:
        raise CodebookError(f"{op} takes {need[1]} (got from={src}, to={dst})")
    return {"op": op, "from": src, "to": dst, "note": raw.get("note"), "name": raw.get("name"),
            "description": raw.get("description"), "kind": raw.get("kind")}


def needs_review(op: dict[str, Any]) -> bool:
    """A split, or a merge into several codes: units cannot be relabelled automatically."""
    return op["op"] == "split" or (op["op"] == "merge" and len(op["to"]) > 1)


def _check_sources(old: Codebook, ops: list[dict[str, Any]]) -> set[str]:
    """Every source exists, is live and is changed by one op only; returns the ids that go away."""
    by_id = {m.id: m for m in old.mechanisms}
    seen: dict[str, str] = {}
    for o in ops:
        for s in o["from"]:
            if s not in by_id:
                raise CodebookError(f"{o['op']}: unknown code {s!r} in codebook v{old.version}")
            if by_id[s].status not in LIVE:
                raise CodebookError(f"{o['op']}: code {s!r} is already {by_id[s].status} in v{old.version}")
            if s in seen:
                raise CodebookError(f"code {s!r} is changed twice in one revision ({seen[s]} and {o['op']})")
            seen[s] = o["op"]
    return {s for o in ops for s in o["from"] if s not in o["to"]}


def _check_targets(old: Codebook, ops: list[dict[str, Any]], gone: set[str]) -> None:
    by_id = {m.id: m for m in old.mechanisms}
    for o in ops:
        for t in o["to"]:
            if t in gone:
                raise CodebookError(f"{o['op']}: target {t!r} is itself changed away in this revision")
            if t in by_id and o["op"] in ("rename", "add"):
                raise CodebookError(f"{o['op']}: code {t!r} already exists in v{old.version}"
                                    + ("; use merge to fold a code into it" if o["op"] == "rename" else ""))
            if t in by_id and by_id[t].status not in LIVE:
                raise CodebookError(f"{o['op']}: target {t!r} is {by_id[t].status} in v{old.version}")


def _new_mechanism(t: str, op: dict[str, Any], old: Codebook, definitions: Codebook | None) -> Mechanism:
    """A code created by ``op``: its definition from ``definitions``, the op, or the renamed code."""
    if definitions is not None and t in definitions.mechanism_ids():
        d = definitions.get(t)
        return Mechanism(id=t, name=d.name, description=d.description, kind=d.kind)
    if op["name"]:
        return Mechanism(id=t, name=str(op["name"]), description=str(op["description"] or ""),
                         kind=str(op["kind"] or "mechanism"))
    if op["op"] == "rename":
        return replace(old.get(op["from"][0]), id=t, status="active", merged_into=[])
    if op["op"] == "add":
        raise CodebookError(f"add: new code {t!r} needs a name")
    return Mechanism(id=t, name=t.replace("-", " ").replace("_", " ").capitalize())


def plan_revision(old: Codebook, ops: Iterable[dict[str, Any]], version: str,
                  definitions: Codebook | None = None) -> tuple[Codebook, list[dict[str, Any]]]:
    """The new codebook and the normalised ops (with their mapping) for one revision (pure)."""
    ops = [normalise_op(o) for o in ops]
    if not ops:
        raise CodebookError("a codebook revision needs at least one operation")
    if str(version) == old.version:
        raise CodebookError(f"the new codebook needs a version other than {old.version!r}")
    gone = _check_sources(old, ops)
    _check_targets(old, ops, gone)
    old_ids = set(old.mechanism_ids())
    by_source = {s: o for o in ops for s in o["from"]}
    out: list[Mechanism] = []
    placed: set[str] = set()

    def place(o: dict[str, Any]) -> None:
        for t in o["to"]:
            if t not in old_ids and t not in placed:
                placed.add(t)
                out.append(_new_mechanism(t, o, old, definitions))

    for m in old.mechanisms:
        o = by_source.get(m.id)
        if o is None:
            out.append(replace(m))
        elif o["op"] == "retire":
            out.append(replace(m, status="retired", merged_into=[]))
        else:
            place(o)
            if m.id in o["to"]:
                out.append(replace(m))
            elif o["op"] == "merge":
                out.append(replace(m, status="merged", merged_into=list(o["to"])))
    for o in ops:
        if o["op"] == "add":
            place(o)
    for o in ops:
        o["mapping"] = {s: ([] if o["op"] == "retire" else list(o["to"])) for s in o["from"]}
        o["review"] = needs_review(o)
    snapshot = {"version": old.version, "mechanisms": [asdict(m) for m in old.mechanisms]}
    body = {**old.to_dict(), "version": str(version), "mechanisms": [asdict(m) for m in out],
            "history": [h for h in old.history if str(h.get("version")) != old.version] + [snapshot]}
    return parse_codebook(json.loads(json.dumps(body)), f"codebook v{version}"), ops


def next_version(current: str, taken: Iterable[str] = ()) -> str:
    """``"3"`` -> ``"4"``, ``"v1.2"`` -> ``"v1.3"``, ``"1b"`` -> ``"1b.1"`` (skipping versions in use)."""
    taken = set(taken)
    m = re.search(r"(\d+)$", current)
    stem, n = (current[:m.start()], int(m.group(1))) if m else (current + ".", 0)
    while f"{stem}{n + 1}" in taken:
        n += 1
    return f"{stem}{n + 1}"


# ----------------------------------------------------------------------------- applying (writes)
def apply_revision(review, ops: Iterable[dict[str, Any]], version: str | None = None,
                   definitions: Codebook | None = None, change: str | None = None) -> dict[str, Any]:
    """Make a new codebook version from ``ops``; store the ops and mappings; mark models stale.

    One transaction (the codebook, its change rows, the stale marks); then the
    review's ``codebook.yaml`` copy is replaced atomically. Decisions are not
    touched. Returns ``{version_from, version_to, ops, recode}``.
    """
    old = review.codebook
    taken = [c["version"] for c in review.codebooks()]
    version = str(version) if version else next_version(old.version, taken)
    if version in taken:
        raise StoreError(f"codebook version {version!r} exists already in this review; choose a new one")
    new, ops = plan_revision(old, ops, version, definitions)
    change = change or "; ".join(describe(o) for o in ops)
    with review.transaction() as con:
        row = con.execute("SELECT version FROM codebooks ORDER BY seq DESC LIMIT 1").fetchone()
        if row["version"] != old.version:
            raise StoreError(f"the codebook changed meanwhile (now v{row['version']}); try again")
        insert_codebook(con, new, change, source=f"codebook revision {old.version} -> {version}")
        stamp = now()
        con.executemany(
            "INSERT INTO codebook_changes (version_from, version_to, op, source, target, mapping, review, note,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(old.version, new.version, o["op"], json.dumps(o["from"]), json.dumps(o["to"]),
              json.dumps(o["mapping"]), int(o["review"]), o["note"], stamp) for o in ops])
        con.execute("UPDATE models SET stale = ? WHERE stale IS NULL",
                    (f"trained on an earlier codebook; codebook changed {old.version} -> {new.version}",))
    with atomic_path(review.codebook_path) as tmp:
        new.dump(tmp)
    return {"version_from": old.version, "version_to": new.version,
            "ops": [{k: o[k] for k in ("op", "from", "to", "mapping", "review", "note")} for o in ops],
            "recode": len(recode_queue(review.connect()))}


def describe(op: dict[str, Any]) -> str:
    """One line for an op: ``merge a, b -> c``."""
    src, dst = ", ".join(op["from"]), ", ".join(op["to"])
    return {"retire": f"retire {src}", "add": f"add {dst}"}.get(op["op"], f"{op['op']} {src} -> {dst}")


def load_history(path: str | Path) -> list[dict[str, Any]]:
    """The ``steps`` of a codebook history file (``corpora/sims2021/codebook_history.yaml`` format)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CodebookError(f"{path}: cannot read the codebook history ({exc})") from exc
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list) or not all(isinstance(s, dict) and "to" in s and "ops" in s for s in steps):
        raise CodebookError(f"{path}: a codebook history needs 'steps', each with 'from', 'to' and 'ops'")
    return steps


def apply_history(review, steps: list[dict[str, Any]], definitions: Codebook | None = None) -> list[dict]:
    """Apply history steps in order (each must start from the review's current version)."""
    results = []
    for step in steps:
        current = review.codebook.version
        if "from" in step and str(step["from"]) != current:
            raise CodebookError(f"history step {step['from']} -> {step['to']} does not start from the "
                                f"review's current codebook v{current}")
        results.append(apply_revision(review, step["ops"], str(step["to"]), definitions,
                                      change=f"{current} -> {step['to']}"))
    return results


# ----------------------------------------------------------------------------- reading
def _steps(con: sqlite3.Connection) -> dict[str, dict[str, dict[str, Any]]]:
    """version_to -> {old id: {to, review, op}} for each stored revision."""
    steps: dict[str, dict[str, dict[str, Any]]] = {}
    for c in codebook_changes(con):
        for src, dst in c["mapping"].items():
            steps.setdefault(c["version_to"], {})[src] = {"to": dst, "review": c["review"], "op": c["op"]}
    return steps


def _dedupe(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _step(code: dict[str, Any], mapping: dict[str, dict[str, Any]], version: str) -> None:
    """Carry one code (in place) through one revision's mapping."""
    certain: list[str] = []
    pending: list[dict[str, Any]] = []
    for mid in code["mechanisms"]:
        m = mapping.get(mid)
        if m is None:
            certain.append(mid)
        elif m["review"]:
            pending.append({"from": mid, "op": m["op"], "version": version, "candidates": list(m["to"])})
        elif not m["to"]:
            code["retired"].append(mid)
        else:
            certain.extend(m["to"])
    for p in code["pending"]:
        cands = _dedupe(t for c in p["candidates"] for t in (mapping[c]["to"] if c in mapping else [c]))
        if len(cands) == 1:
            certain.append(cands[0])
        elif cands:
            pending.append({**p, "candidates": cands})
        else:
            code["retired"].append(p["from"])
    code["mechanisms"], code["pending"] = _dedupe(certain), pending


def migrate_codes(con: Any, codes: dict[int, dict[str, Any]],
                  target: str | None = None) -> dict[int, dict[str, Any]]:
    """Carry codes (``decisions.current_codes`` values) to codebook ``target`` (default: current).

    Updates each code dict in place and returns ``codes``: ``mechanisms`` in the
    target's ids, plus ``recorded_mechanisms`` (as recorded), ``pending``
    (re-coding needed: ``{from, op, version, candidates}``) and ``retired``
    (codes dropped).
    """
    con = connection_of(con)
    order = versions(con)
    target = order[-1] if target is None else str(target)
    steps = _steps(con)
    memo: dict[tuple, dict[str, Any]] = {}  # (version, ids) -> migrated; few distinct keys
    for code in codes.values():
        if "recorded_mechanisms" in code:  # already carried (a dict shared by two views)
            continue
        v, ids = code.get("codebook_version"), tuple(code["mechanisms"])
        m = memo.get((v, ids))
        if m is None:
            m = memo[(v, ids)] = {"mechanisms": list(ids), "pending": [], "retired": []}
            if steps and v in order and target in order:
                for step_version in order[order.index(v) + 1: order.index(target) + 1]:
                    if step_version in steps:
                        _step(m, steps[step_version], step_version)
        code["recorded_mechanisms"] = code["mechanisms"]
        code["mechanisms"] = list(m["mechanisms"])
        code["pending"] = [{**p, "candidates": list(p["candidates"])} for p in m["pending"]]
        code["retired"] = list(m["retired"])
    return codes


def codes_at_version(con: Any, version: str | None = None,
                     reviewer: str | None = None) -> dict[int, dict[str, Any]]:
    """Current codes as they stood at codebook ``version`` (default: now), in that version's ids.

    Only events recorded under ``version`` or earlier count, so an old version
    reads exactly as it did when it was current.
    """
    con = connection_of(con)
    order = versions(con)
    if version is None:
        return migrate_codes(con, current_codes(con, reviewer), order[-1])
    if str(version) not in order:
        raise StoreError(f"the review has no codebook version {version!r}")
    upto = order[: order.index(str(version)) + 1]
    return migrate_codes(con, current_codes(con, reviewer, versions=upto), str(version))


def recode_queue(con: Any, reviewer: str | None = None,
                 codes: dict[int, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Units whose current code (a reviewer's own, if given) waits for re-coding after a split.

    Each item: ``{unit_id, code, pending}`` (plus ``unit``, the unit dict, when
    given a Review); ``pending`` lists ``{from, op, version, candidates}``: the
    old code, the operation and codebook version that made it ambiguous, and
    the codes to choose from. A new decision on the unit (recorded under the
    current codebook) takes it off the queue.
    """
    codes = codes_at_version(con, None, reviewer) if codes is None else codes
    items = [{"unit_id": uid, "code": c, "pending": c["pending"]} for uid, c in codes.items() if c["pending"]]
    if hasattr(con, "unit"):
        for item in items:
            item["unit"] = con.unit(item["unit_id"])
    return items
