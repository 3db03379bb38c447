"""REFI-QDA project exchange (``.qdpx``), imported by NVivo, ATLAS.ti, MAXQDA, QualCoder.

A ``.qdpx`` is a zip with ``project.qde`` (QDA-XML 1.0, valid against
``Project-mrt2019.xsd``) and ``sources/GUID.txt``. mechcode writes:

- the codebook as codes in three groups (not codable themselves): *Mechanisms*
  (status noted in the description), *CMO roles* and *Polarity*;
- each paper as a ``TextSource`` with its plain text (``plainTextPath="internal://GUID.txt"``);
- each coded unit as a ``PlainTextSelection`` whose ``startPosition``/``endPosition`` count
  Unicode characters (code points) in that text, with one ``Coding`` (``CodeRef``) per
  mechanism, its role and its polarity;
- reviewers (and model versions, for suggestions) as ``Users``; decision notes as ``Notes``
  referenced by the selection (``NoteRef``).

GUIDs are UUID-5 of stable keys, so exporting the same review twice gives the same ids.
"""
from __future__ import annotations

import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from lxml import etree

from mechcode import __version__
from mechcode.codebook import Codebook
from mechcode.errors import DataError
from mechcode.synthesis.coded import coded_units, paper_labels

NS = "urn:QDA-XML:project:1.0"
_NAMESPACE = uuid.UUID("7b0e3c1e-2f55-4a8e-9f0e-6d1c0de0a11a")
STATUS_COLORS = {"active": "#1f77b4", "merged": "#9467bd", "retired": "#7f7f7f", "no-evidence": "#bcbd22"}
ROLE_COLORS = {"context": "#2ca02c", "mechanism-resource": "#ff7f0e", "mechanism-reasoning": "#d62728",
               "outcome": "#17becf"}


def guid(*key: Any) -> str:
    """A deterministic GUID for a key (e.g. ``guid('unit', 12)``)."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(k) for k in key)))


def _el(parent, tag: str, **attrs: Any):
    return etree.SubElement(parent, f"{{{NS}}}{tag}", {k: str(v) for k, v in attrs.items() if v is not None})


def _text_el(parent, tag: str, text: str):
    el = _el(parent, tag)
    el.text = text
    return el


def _code(parent, key: tuple, name: str, codable: bool, description: str = "", color: str | None = None):
    el = _el(parent, "Code", guid=guid("code", *key), name=name,
             isCodable="true" if codable else "false", color=color)
    if description:
        _text_el(el, "Description", description)
    return el


def codebook_codes(parent, codebook: Codebook) -> None:
    """The ``CodeBook`` element: mechanism, role and polarity code groups."""
    codes = _el(_el(parent, "CodeBook"), "Codes")
    mech = _code(codes, ("group", "mechanisms"), "Mechanisms", False,
                 f"Codebook {codebook.name} version {codebook.version}")
    for m in codebook.mechanisms:
        desc = m.description
        if m.status != "active":
            merged = f" into {', '.join(m.merged_into)}" if m.merged_into else ""
            desc = f"[{m.status}{merged}] {desc}".strip()
        if m.kind == "general":
            desc = f"[general] {desc}"
        _code(mech, ("mechanism", m.id), m.name, True, desc, STATUS_COLORS.get(m.status))
    roles = _code(codes, ("group", "roles"), "CMO roles", False, "Context, mechanism and outcome roles")
    for r in codebook.roles:
        if r.id != "none":
            _code(roles, ("role", r.id), r.name, True, r.description, ROLE_COLORS.get(r.id))
    pol = _code(codes, ("group", "polarity"), "Polarity", False, "Present/works (+) or absent/fails (-)")
    for p in codebook.polarity:
        _code(pol, ("polarity", p.id), f"{p.id} {p.name}", True, p.description)


def unit_code_keys(u: dict[str, Any], codebook: Codebook) -> list[tuple]:
    """The code keys a coded unit is coded with (known mechanisms, role, polarity)."""
    known = set(codebook.mechanism_ids())
    keys = [("mechanism", m) for m in u.get("mechanisms") or () if m in known]
    if u.get("role") and u["role"] != "none":
        keys.append(("role", u["role"]))
        if u.get("polarity") in ("+", "-"):
            keys.append(("polarity", u["polarity"]))
    return keys


def build_project(codebook: Codebook, documents: Iterable[dict[str, Any]],
                  units: list[dict[str, Any]], name: str, created: str | None = None,
                  sink=None) -> tuple[etree._Element, list[tuple[str, str]]]:
    """The ``Project`` element and the (GUID.txt, text) source files.

    With ``sink(file_name, text)`` each source text is handed over as soon as it is read
    (and the returned list stays empty), so documents are never all held in memory.

    ``documents``: dicts with ``id``, ``label`` (or ``paper``), ``text`` and optionally
    ``file_name``; ``units``: coded-unit dicts (``id``, ``document_id``, ``start``, ``end``,
    ``mechanisms``, ``role``, ``polarity``, ``source``, optional ``note``).
    """
    created = created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    owner = guid("user", "mechcode")
    users = {"mechcode": owner}
    for u in units:
        src = str(u.get("source") or "mechcode")
        users.setdefault(src, guid("user", src))
    root = etree.Element(f"{{{NS}}}Project", nsmap={None: NS})
    for k, v in {"name": name, "origin": f"mechcode {__version__}", "creatingUserGUID": owner,
                 "creationDateTime": created}.items():
        root.set(k, v)
    users_el = _el(root, "Users")
    for uname, ug in users.items():
        _el(users_el, "User", guid=ug, name=uname, id=uname)
    codebook_codes(root, codebook)
    by_doc: dict[Any, list[dict]] = {}
    for u in units:
        by_doc.setdefault(u["document_id"], []).append(u)
    sources_el = _el(root, "Sources")
    notes: list[tuple[str, dict]] = []
    files = []
    for doc in documents:
        sg = guid("source", doc["id"])
        src = _el(sources_el, "TextSource", guid=sg, name=doc.get("label") or doc.get("paper") or sg,
                  plainTextPath=f"internal://{sg}.txt", creatingUser=owner, creationDateTime=created)
        if doc.get("file_name"):
            _text_el(src, "Description", f"file: {doc['file_name']}")
        for u in sorted(by_doc.get(doc["id"], []), key=lambda x: (x["start"], x["end"], str(x["id"]))):
            _selection(src, u, codebook, users, created, notes)
        if sink is not None:
            sink(f"{sg}.txt", doc["text"])
        else:
            files.append((f"{sg}.txt", doc["text"]))
    if notes:
        notes_el = _el(root, "Notes")
        for ng, u in notes:
            note = _el(notes_el, "Note", guid=ng, name=f"Note on unit {u['id']}",
                       creatingUser=users[str(u.get("source") or "mechcode")], creationDateTime=created)
            _text_el(note, "PlainTextContent", str(u["note"]))
    return root, files


def _selection(src, u: dict[str, Any], codebook: Codebook, users: dict[str, str], created: str,
               notes: list) -> None:
    user = users[str(u.get("source") or "mechcode")]
    key = (u["id"], u.get("kind", ""), u.get("source", ""))
    sel = _el(src, "PlainTextSelection", guid=guid("selection", *key), name=f"unit {u['id']}",
              startPosition=u["start"], endPosition=u["end"], creatingUser=user, creationDateTime=created)
    for ck in unit_code_keys(u, codebook):
        coding = _el(sel, "Coding", guid=guid("coding", *key, *ck), creatingUser=user,
                     creationDateTime=created)
        _el(coding, "CodeRef", targetGUID=guid("code", *ck))
    if u.get("note"):
        ng = guid("note", *key)
        _el(sel, "NoteRef", targetGUID=ng)
        notes.append((ng, u))


def project_xml(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def write_qdpx(path: str | Path, codebook: Codebook, documents: Iterable[dict[str, Any]],
               units: list[dict[str, Any]], name: str, created: str | None = None) -> Path:
    """Write a ``.qdpx`` zip (``project.qde`` + ``sources/GUID.txt``, UTF-8)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        def sink(fname: str, text: str) -> None:
            zf.writestr(f"sources/{fname}", text.encode("utf-8"))

        root, _ = build_project(codebook, documents, units, name, created, sink=sink)
        zf.writestr("project.qde", project_xml(root))
    tmp.replace(path)
    return path


def review_documents(rv, labels: dict[int, str]):
    """Each stored document with its label and text, one at a time."""
    for d in rv.documents():
        doc = rv.document(d["id"])
        yield {"id": d["id"], "label": labels.get(d["id"]), "text": doc["text"],
               "file_name": d.get("file_name")}


def export_qdpx(rv, path: str | Path, what: str = "units", threshold: float = 0.5) -> dict[str, int]:
    """Write the review (decisions, suggestions or both) as a ``.qdpx`` file."""
    if what not in ("units", "suggestions", "all"):
        raise DataError(f"--what {what!r} cannot be written as qdpx; use units, suggestions or all")

    labels = paper_labels(rv)
    units: list[dict[str, Any]] = []
    if what in ("units", "all"):
        units += coded_units(rv, "decisions", labels=labels)
    if what in ("suggestions", "all"):
        units += coded_units(rv, "suggestions", threshold, labels=labels)
    name = f"{Path(rv.path).name} (mechcode review, codebook {rv.codebook.name} v{rv.codebook.version})"
    write_qdpx(path, rv.codebook, review_documents(rv, labels), units, name)
    return {"units": len(units), "documents": len(labels)}
