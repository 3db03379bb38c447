"""Context -> Mechanism -> Outcome configurations assembled from coded units.

:func:`assemble_chains` is a pure function over coded-unit dicts (``id``, ``text``,
``role``, ``polarity``, ``mechanisms``, ``order`` = document offset, ``paragraph``,
``page``; optional ``document_id``, ``paper``), so it works the same for reviewer
decisions and model suggestions.

Rules
-----
1. Units whose role is ``none`` (or missing) are not part of a configuration.
2. Units are read per document in document order. Paragraphs are numbered in
   the order they first appear, so any paragraph id works.
3. An *open chain* collects contexts (C), mechanism parts (M: resource and
   reasoning) and outcomes (O). It is closed when the next unit
   a. lies more than ``window`` paragraphs after the chain's last unit;
   b. is a context and the chain already has M or O parts (a new configuration starts);
   c. is an M part and the chain already has outcomes;
   d. carries mechanisms none of which is the chain's mechanism (mechanisms in
      ``ignore``, e.g. the codebook's general contexts/outcomes, do not count).
4. Contexts precede the M parts; outcomes follow them: an outcome read while the chain has
   no M part yet is dropped (and so is an outcome that closes a chain by rule d).
5. A closed chain is kept only when it has at least one M part. Its mechanism is the most
   frequent one among its M parts (then C/O parts); its configuration is ``absence`` when
   any M part has polarity ``-``, else ``presence``.
6. Missing parts are printed as "(no context coded)" / "(no outcome coded)"; polarity is
   shown per M and O part in the seed review's notation:
   ``... (C) -> ... (M+, Resource) and ... (M-, Reasoning) -> ... (O-)``.
7. With ``partial=True`` the codes rules 4 and 5 leave out are kept as *partial*
   configurations (``configuration: "partial"``, ``partial: "context-only"`` or
   ``"outcome-only"``): a chain closed with contexts but no M part, and the outcomes read
   with no M part (grouped like chains: same document, within ``window`` paragraphs, a
   shared mechanism). :func:`coverage` counts the coded units that are in no configuration.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any, Iterable

from mechcode.errors import StoreError
from mechcode.synthesis.coded import coded_units, paper_labels

M_ROLES = {"mechanism-resource": "Resource", "mechanism-reasoning": "Reasoning"}
ARROW = " → "
NO_CONTEXT = "(no context coded)"
NO_OUTCOME = "(no outcome coded)"
NO_MECHANISM = "(no mechanism coded)"


def _part(u: dict[str, Any]) -> dict[str, Any]:
    return {"unit_id": u["id"], "text": u["text"], "role": u["role"], "polarity": u.get("polarity"),
            "page": u.get("page"), "order": u.get("order"),
            "mechanisms": list(u.get("mechanisms") or [])}


class _Chain:
    def __init__(self, doc: Any, paper: str, ignore: set[str]):
        self.doc, self.paper, self.ignore = doc, paper, ignore
        self.contexts: list[dict] = []
        self.mparts: list[dict] = []
        self.outcomes: list[dict] = []
        self.last_par: int | None = None

    def mechs(self) -> set[str]:
        src = self.mparts or self.contexts
        return {m for p in src for m in p["mechanisms"] if m not in self.ignore}

    def compatible(self, u: dict[str, Any]) -> bool:
        own = {m for m in (u.get("mechanisms") or ()) if m not in self.ignore}
        mine = self.mechs()
        return not own or not mine or bool(own & mine)

    def empty(self) -> bool:
        return not (self.contexts or self.mparts or self.outcomes)

    def add(self, u: dict[str, Any], par: int) -> None:
        role = u["role"]
        target = self.contexts if role == "context" else self.mparts if role in M_ROLES else self.outcomes
        target.append(_part(u))
        self.last_par = par

    def result(self, partial: bool = False) -> dict[str, Any] | None:
        if not self.mparts:
            return self._partial() if partial else None
        counts = Counter(m for p in self.mparts for m in p["mechanisms"] if m not in self.ignore)
        if not counts:
            counts = Counter(m for p in self.contexts + self.outcomes for m in p["mechanisms"]
                             if m not in self.ignore)
        mechanism = counts.most_common(1)[0][0] if counts else None
        parts = self.contexts + self.mparts + self.outcomes
        return {
            "document_id": self.doc, "paper": self.paper, "mechanism": mechanism,
            "configuration": "absence" if any(p["polarity"] == "-" for p in self.mparts) else "presence",
            "contexts": self.contexts, "mechanism_parts": self.mparts, "outcomes": self.outcomes,
            "pages": sorted({p["page"] for p in parts if p["page"] is not None}),
            "unit_ids": [p["unit_id"] for p in parts],
        }


    def _partial(self) -> dict[str, Any] | None:
        """A chain with no M part, marked partial (None when it has nothing)."""
        if not (self.contexts or self.outcomes):
            return None
        parts = self.contexts + self.outcomes
        counts = Counter(m for p in parts for m in p["mechanisms"] if m not in self.ignore)
        return {
            "document_id": self.doc, "paper": self.paper,
            "mechanism": counts.most_common(1)[0][0] if counts else None, "configuration": "partial",
            "partial": "context-only" if self.contexts else "outcome-only",
            "contexts": self.contexts, "mechanism_parts": [], "outcomes": self.outcomes,
            "pages": sorted({p["page"] for p in parts if p["page"] is not None}),
            "unit_ids": [p["unit_id"] for p in parts],
        }


def _closes(chain: _Chain, u: dict[str, Any], par: int, window: int) -> bool:
    if chain.empty():
        return False
    if chain.last_par is not None and par - chain.last_par > window:
        return True
    role = u["role"]
    if role == "context" and (chain.mparts or chain.outcomes):
        return True
    if role in M_ROLES and chain.outcomes:
        return True
    return not chain.compatible(u)


def _document_chains(units: list[dict[str, Any]], window: int, ignore: set[str],
                     partial: bool = False) -> list[dict]:
    units = sorted(units, key=lambda u: (u.get("order") or 0, str(u["id"])))
    par_index: dict[Any, int] = {}
    doc, paper = units[0].get("document_id"), units[0].get("paper", "")
    chains, chain = [], _Chain(doc, paper, ignore)
    orphans = _Chain(doc, paper, ignore)  # outcomes read with no mechanism part (rule 7)

    def close(c: _Chain) -> None:
        res = c.result(partial)
        if res:
            chains.append(res)

    for u in units:
        par = par_index.setdefault(u.get("paragraph", u["id"]), len(par_index))
        if _closes(chain, u, par, window):
            close(chain)
            chain = _Chain(doc, paper, ignore)
        if u["role"] == "outcome" and not chain.mparts:  # an outcome must follow a mechanism part
            if partial:
                if _closes(orphans, u, par, window):
                    close(orphans)
                    orphans = _Chain(doc, paper, ignore)
                orphans.add(u, par)
            continue
        chain.add(u, par)
    close(chain)
    close(orphans)
    return sorted(chains, key=lambda c: (c["configuration"] == "partial", min(
        (p["order"] or 0 for p in c["contexts"] + c["mechanism_parts"] + c["outcomes"]), default=0)))


def assemble_chains(units: Iterable[dict[str, Any]], window: int = 1,
                    ignore: Iterable[str] = (), partial: bool = False) -> list[dict[str, Any]]:
    """Group coded units into CMO configurations (see the module docstring for the rules;
    ``partial``: also the context-only and outcome-only ones, after the complete ones).

    Returns chain dicts: ``document_id``, ``paper``, ``mechanism``, ``configuration``,
    ``contexts`` / ``mechanism_parts`` / ``outcomes`` (parts with ``unit_id``, ``text``,
    ``role``, ``polarity``, ``page``), ``pages`` and ``unit_ids``.
    """
    by_doc: dict[Any, list[dict]] = {}
    for u in units:
        if u.get("role") in (None, "", "none"):
            continue
        by_doc.setdefault(u.get("document_id"), []).append(u)
    ignore = set(ignore)
    out = []
    for doc_units in by_doc.values():
        out.extend(_document_chains(doc_units, window, ignore, partial))
    return out


def coverage(units: Iterable[dict[str, Any]], chains: list[dict[str, Any]]) -> dict[str, int]:
    """How the coded units fall into configurations: ``coded`` (with a CMO role other than
    ``none``), ``complete`` and ``partial`` (units in such configurations), ``none`` (in no
    configuration) and ``no_role`` (coded with mechanisms but no role, so never in one)."""
    units = list(units)
    evidence = [u for u in units if u.get("role") not in (None, "", "none")]
    complete = {i for c in chains if c["configuration"] != "partial" for i in c["unit_ids"]}
    part = {i for c in chains if c["configuration"] == "partial" for i in c["unit_ids"]} - complete
    ids = {u["id"] for u in evidence}
    return {"coded": len(ids), "complete": len(ids & complete), "partial": len(ids & part),
            "none": len(ids - complete - part),
            "no_role": sum(1 for u in units if u.get("role") in (None, "") and u.get("mechanisms"))}


def coverage_line(chains: list[dict[str, Any]], cov: dict[str, int]) -> str:
    """The one-line summary ``mechcode cmo`` prints."""
    n_partial = sum(c["configuration"] == "partial" for c in chains)
    line = (f"{len(chains) - n_partial} configurations, {n_partial} partial (context-only or outcome-only); "
            f"{cov['none']} of {cov['coded']} coded units are in no configuration")
    return line + (f"; {cov['no_role']} units coded without a role" if cov["no_role"] else "")


# ----------------------------------------------------------------------------- notation
def _clean(text: str) -> str:
    return " ".join(text.split()).rstrip(" .;,:")


def _pol(p: str | None) -> str:
    return p if p in ("+", "-") else "?"


def part_tag(part: dict[str, Any]) -> str:
    """The seed's tag for one part: ``C``, ``M+, Resource``, ``O-`` ..."""
    if part["role"] == "context":
        return "C"
    if part["role"] in M_ROLES:
        return f"M{_pol(part['polarity'])}, {M_ROLES[part['role']]}"
    return f"O{_pol(part['polarity'])}"


def format_chain(chain: dict[str, Any]) -> str:
    """``… (C) → … (M+, Resource) and … (M+, Reasoning) → … (O+) and … (O+)``."""
    def side(parts: list[dict], missing: str) -> str:
        return " and ".join(f"{_clean(p['text'])} ({part_tag(p)})" for p in parts) or missing

    return ARROW.join([side(chain["contexts"], NO_CONTEXT), side(chain["mechanism_parts"], NO_MECHANISM),
                       side(chain["outcomes"], NO_OUTCOME)])


def chain_structure(chain: dict[str, Any]) -> list[str]:
    """The sequence of tags of a chain, e.g. ``['C', 'M+, Resource', 'M-, Reasoning', 'O-']``."""
    return [part_tag(p) for p in chain["contexts"] + chain["mechanism_parts"] + chain["outcomes"]]


def chains_to_markdown(chains: list[dict[str, Any]], names: dict[str, str] | None = None) -> str:
    """One block per configuration: heading (configuration, mechanism, paper, pages), the
    chain in the seed notation, and the unit ids behind it."""
    names = names or {}
    if not chains:
        return "No CMO configuration found (a configuration needs at least one coded mechanism part).\n"
    lines = []
    for i, ch in enumerate(chains, start=1):
        mech = ch["mechanism"]
        name = names.get(mech, mech) if mech else "unassigned mechanism"
        pages = ", ".join(str(p) for p in ch["pages"])
        where = f"{ch['paper']}, p. {pages}" if pages else str(ch["paper"])
        head = (f"### Partial configuration {i} ({ch['partial']}, no mechanism part coded): '{name}' — {where}"
                if ch["configuration"] == "partial" else
                f"### Configuration {i}: {ch['configuration']} of '{name}' — {where}")
        lines += [head, "",
                  format_chain(ch), "",
                  f"Mechanism: `{mech}` · units: {', '.join(str(u) for u in ch['unit_ids'])}", ""]
    return "\n".join(lines)


def chains_to_jsonl(chains: list[dict[str, Any]], names: dict[str, str] | None = None) -> str:
    """One JSON object per configuration (the chain dict + ``mechanism_name`` and ``text``)."""
    names = names or {}
    out = []
    for ch in chains:
        rec = {**ch, "mechanism_name": names.get(ch["mechanism"], ch["mechanism"]),
               "text": format_chain(ch)}
        out.append(json.dumps(rec, ensure_ascii=False, default=str))
    return "\n".join(out) + ("\n" if out else "")


def review_chains(rv, paper: str | None = None, source: str = "decisions",
                  threshold: float = 0.5, window: int = 1, partial: bool = False,
                  report: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """CMO configurations of a review (all papers, or one by id or label); ``partial``: with the
    partial ones; ``report``: filled with :func:`coverage`."""
    labels = paper_labels(rv)
    doc_id = None
    if paper is not None:
        doc_id = next((d for d, lab in labels.items() if str(d) == str(paper)
                       or lab.casefold() == str(paper).casefold()), None)
        if doc_id is None:
            raise StoreError(f"unknown paper {paper!r} (give a document id or its label)")
    units = coded_units(rv, source, threshold, document_id=doc_id, labels=labels)
    general = [m.id for m in rv.codebook.mechanisms if m.kind == "general"]
    chains = assemble_chains(units, window=window, ignore=general, partial=partial)
    if report is not None:
        report.update(coverage(units, chains))
    return chains
