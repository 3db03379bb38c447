"""The evidence matrix: papers x mechanisms (the shape of a realist review's 'Table 2').

One row per paper, one column per codebook mechanism (codebook order, ``kind:
mechanism`` first, then the ``kind: general`` columns such as General contexts /
General outcomes). A cell holds the number of coded units of that paper that
support the mechanism; shown as a tick, or as the count. The last row, ``N``, is
the number of papers per mechanism.

When the review reports its own N per mechanism (the headings of its Results),
pass them as ``reported``: :meth:`Matrix.mismatches` lists every mechanism whose
reported N differs from the ticks, and the renderers print them as a
``Reported N`` row and a warning, never silently.

:func:`build_matrix` is pure; :func:`review_matrix` reads a review;
:func:`load_matrix_csv` imports an existing evidence matrix as decisions.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from mechcode.codebook import Codebook
from mechcode.document import Document, Passage, Sentence
from mechcode.errors import DataError
from mechcode.synthesis.coded import coded_units, paper_labels

TICK_VALUES = {"1", "✓", "x", "X", "yes", "y", "true", "True", "TRUE"}
SUMMARY_ROWS = {"n", "reported n", "total"}


@dataclass
class Column:
    id: str
    name: str
    status: str = "active"
    kind: str = "mechanism"

    @property
    def header(self) -> str:
        """Name with a non-active status noted, e.g. 'Fostering resilience (no-evidence)'."""
        return self.name if self.status == "active" else f"{self.name} ({self.status})"


@dataclass
class Row:
    document_id: Any
    label: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Matrix:
    columns: list[Column]
    rows: list[Row]
    reported: dict[str, int] | None = None
    source: str = "decisions"

    def cell(self, row: Row, column_id: str) -> int:
        return row.counts.get(column_id, 0)

    def n(self, column_id: str) -> int:
        """Number of papers with at least one supporting unit."""
        return sum(1 for r in self.rows if r.counts.get(column_id, 0) > 0)

    def totals(self) -> dict[str, int]:
        return {c.id: self.n(c.id) for c in self.columns}

    def mismatches(self) -> list[dict[str, Any]]:
        """Mechanisms whose reported N differs from the number of ticked papers."""
        out = []
        for c in self.columns:
            if self.reported and c.id in self.reported and self.reported[c.id] != self.n(c.id):
                out.append({"mechanism": c.id, "name": c.name, "reported": self.reported[c.id],
                            "ticks": self.n(c.id)})
        return out

    def warnings(self) -> list[str]:
        return [f"{m['name']} ({m['mechanism']}): reported N = {m['reported']} but "
                f"{m['ticks']} paper{'' if m['ticks'] == 1 else 's'} ticked" for m in self.mismatches()]


def matrix_columns(codebook: Codebook, active_only: bool = False) -> list[Column]:
    """Mechanism columns in codebook order, then the general columns."""
    cols = [Column(m.id, m.name, m.status, m.kind) for m in codebook.mechanisms
            if not active_only or m.status == "active"]
    return [c for c in cols if c.kind != "general"] + [c for c in cols if c.kind == "general"]


def build_matrix(papers: Iterable[tuple[Any, str]], units: Iterable[dict[str, Any]],
                 codebook: Codebook, active_only: bool = False,
                 reported: dict[str, int] | None = None, source: str = "decisions") -> Matrix:
    """Count supporting units per (paper, mechanism).

    ``papers``: (document id, label) pairs, one row each (sorted by label);
    ``units``: coded-unit dicts with ``document_id`` and ``mechanisms``.
    """
    columns = matrix_columns(codebook, active_only)
    wanted = {c.id for c in columns}
    rows = {did: Row(did, label) for did, label in papers}
    for u in units:
        row = rows.get(u["document_id"])
        if row is None:
            continue
        for mid in set(u.get("mechanisms") or ()):
            if mid in wanted:
                row.counts[mid] = row.counts.get(mid, 0) + 1
    ordered = sorted(rows.values(), key=lambda r: (r.label.casefold(), str(r.document_id)))
    return Matrix(columns, ordered, reported, source)


def review_matrix(rv, source: str = "decisions", threshold: float = 0.5,
                  active_only: bool = False, reported: dict[str, int] | None = None,
                  model_version: str | None = None) -> Matrix:
    """The evidence matrix of a review from its decisions or suggestions."""
    labels = paper_labels(rv)
    units = coded_units(rv, source, threshold, model_version, labels=labels)
    return build_matrix(labels.items(), units, rv.codebook, active_only, reported, source)


# ----------------------------------------------------------------------------- reported N
def _reported_value(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return int(v)
    if isinstance(v, dict):
        for key in ("reported", "reported_n", "printed", "printed_n", "n_reported", "N"):
            if key in v and v[key] is not None:
                return _reported_value(v[key])
    return None


def parse_reported(data: Any, codebook: Codebook | None = None) -> dict[str, int]:
    """Reported N per mechanism id from a JSON structure.

    Accepted shapes: ``{id: N}``; ``{id: {"reported": N, ...}}`` (also ``printed``,
    ``printed_n``, ``reported_n``); a list of such dicts with a ``mechanism``/``id`` key;
    any of these under a top-level ``mechanisms`` or ``reported`` key. Mechanism names
    are accepted in place of ids when a codebook is given.
    """
    if isinstance(data, dict):
        for key in ("mechanisms", "reported", "per_mechanism"):
            if key in data and isinstance(data[key], (dict, list)):
                return parse_reported(data[key], codebook)
        items = list(data.items())
    elif isinstance(data, list):
        items = [(d.get("mechanism") or d.get("id") or d.get("mechanism_id"), d)
                 for d in data if isinstance(d, dict)]
    else:
        raise DataError("reported N: expected a JSON object or list")
    by_name = {m.name.casefold(): m.id for m in codebook.mechanisms} if codebook else {}
    out = {}
    for key, v in items:
        n = _reported_value(v)
        if key is None or n is None:
            continue
        key = str(key)
        out[by_name.get(key.casefold(), key)] = n
    if not out:
        raise DataError("reported N: no mechanism with a reported N found")
    return out


def load_reported(path: str | Path, codebook: Codebook | None = None) -> dict[str, int]:
    """Read reported N per mechanism from a JSON file (see :func:`parse_reported`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"reported-N file not found: {path}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    try:
        return parse_reported(data, codebook)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from exc


# ----------------------------------------------------------------------------- import
def read_matrix_csv(path: str | Path, codebook: Codebook) -> list[tuple[str, list[str]]]:
    """(paper, [ticked mechanism ids]) per row of an evidence-matrix CSV.

    Columns: ``paper`` then one column per mechanism (id, or name as in the codebook);
    a cell is a tick when it is 1/✓/x/yes or a positive count. Summary rows (``N``,
    ``Reported N``) are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"evidence matrix not found: {path}")
    by_key = {m.id: m.id for m in codebook.mechanisms}
    by_key.update({m.name.casefold(): m.id for m in codebook.mechanisms})
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header or header[0].strip().casefold() not in ("paper", "study", "label"):
            raise DataError(f"{path}: the first column must be 'paper'")
        cols = []
        for h in header[1:]:
            mid = by_key.get(h.strip()) or by_key.get(h.strip().casefold())
            if mid is None:
                raise DataError(f"{path}: column {h!r} is not a mechanism of the codebook")
            cols.append(mid)
        rows = []
        for line_no, rec in enumerate(reader, start=2):
            if not rec or not rec[0].strip() or rec[0].strip().casefold() in SUMMARY_ROWS:
                continue
            if len(rec) - 1 > len(cols):
                raise DataError(f"{path}:{line_no}: {len(rec)} cells for {len(cols) + 1} columns")
            ticks = [mid for mid, cell in zip(cols, rec[1:]) if _is_tick(cell)]
            rows.append((rec[0].strip(), ticks))
    return rows


def _is_tick(cell: str) -> bool:
    cell = cell.strip()
    if cell in TICK_VALUES:
        return True
    return cell.isdigit() and int(cell) > 0


def placeholder_document(paper: str, mechanisms: list[str], codebook: Codebook,
                         origin: str = "evidence matrix") -> Document:
    """A stand-in document for a paper known only from an evidence matrix: one paragraph
    (one sentence unit) per ticked mechanism."""
    blocks = [paper] + [f"{paper} reports evidence for the mechanism '{codebook.get(m).name}'."
                        for m in mechanisms]
    text, passages, pos = "", [], 0
    for i, block in enumerate(blocks):
        kind = "title" if i == 0 else "paragraph"
        passages.append(Passage(id=i, kind=kind, text=block, page=1, bbox=(0.0, 0.0, 0.0, 0.0),
                                start=pos, end=pos + len(block), pages=[1],
                                sentences=[Sentence(0, len(block), block)]))
        text += block + "\n\n"
        pos = len(text)
    digest = hashlib.sha256(json.dumps(["matrix", origin, paper, mechanisms]).encode()).hexdigest()
    return Document(text=text, passages=passages, content_hash=digest, file_name=f"{paper}.matrix",
                    n_pages=1, metadata={"label": paper, "placeholder": True, "origin": origin})


def load_matrix_csv(rv, csv_path: str | Path, reviewer: str = "table2") -> dict[str, int]:
    """Import an evidence matrix into a review as decisions.

    Each paper becomes a placeholder document (label = the paper) with one sentence
    unit per ticked mechanism, coded by ``reviewer`` with that mechanism (action
    ``correct``, role/polarity left open). Idempotent: a paper already imported with
    the same ticks is skipped. Returns counts of papers, new papers and decisions.
    """
    rows = read_matrix_csv(csv_path, rv.codebook)
    stats = {"papers": len(rows), "new": 0, "decisions": 0}
    for paper, ticks in rows:
        doc = placeholder_document(paper, ticks, rv.codebook, origin=Path(csv_path).name)
        doc_id, created = rv.add_document(doc)
        if not created:
            continue
        stats["new"] += 1
        by_text = {p.text: mid for p, mid in zip(doc.passages[1:], ticks)}
        for unit in rv.units(doc_id):
            mid = by_text.get(unit["text"].strip())
            if mid is None:
                continue
            rv.add_decision(unit["id"], reviewer, "correct", mechanisms=[mid],
                            note=f"imported from {Path(csv_path).name}")
            stats["decisions"] += 1
    return stats
