"""CSV and JSONL exports: one row per coded unit, or every decision event (the audit trail).

``--what``:

- ``units``: units with a current accepted/corrected decision (source = reviewer);
- ``suggestions``: units with a model suggestion (source = ``model:VERSION``, with confidence;
  mechanisms are those with probability >= threshold);
- ``all``: every coded unit, the decision where there is one, else the suggestion;
- ``decisions``: every decision event in order, exactly as the store records them.
"""
from __future__ import annotations

import csv
import itertools
import json
from typing import Any, Iterable, Iterator, TextIO

from mechcode.errors import DataError
from mechcode.synthesis.coded import coded_units, paper_labels

UNIT_FIELDS = ["paper", "document_id", "unit_id", "page", "section", "start", "end", "text",
               "mechanisms", "role", "polarity", "source", "kind", "confidence"]
TABLE_WHATS = ("units", "suggestions", "all", "decisions")


def unit_row(u: dict[str, Any]) -> dict[str, Any]:
    """The export row of one coded unit (see :mod:`mechcode.synthesis.coded`)."""
    conf = u.get("confidence")
    return {"paper": u.get("paper", ""), "document_id": u["document_id"], "unit_id": u["id"],
            "page": u.get("page"), "section": u.get("section") or "", "start": u["start"],
            "end": u["end"], "text": u["text"], "mechanisms": list(u.get("mechanisms") or []),
            "role": u.get("role"), "polarity": u.get("polarity"), "source": u.get("source"),
            "kind": u.get("kind"), "confidence": None if conf is None else round(float(conf), 4)}


def unit_rows(rv, what: str = "units", threshold: float = 0.5,
              model_version: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows for ``what`` in units / suggestions / all, in document order."""
    labels = paper_labels(rv)
    if what == "units":
        units = coded_units(rv, "decisions", labels=labels)
    elif what == "suggestions":
        units = coded_units(rv, "suggestions", threshold, model_version, labels=labels)
    elif what == "all":
        dec = {u["id"]: u for u in coded_units(rv, "decisions", labels=labels)}
        sug = {u["id"]: u for u in coded_units(rv, "suggestions", threshold, model_version,
                                               labels=labels)}
        units = sorted({**sug, **dec}.values(), key=lambda u: (u["document_id"], u["order"], u["id"]))
    else:
        raise DataError(f"unknown --what {what!r} for unit rows; expected units, suggestions or all")
    for u in units:
        yield unit_row(u)


def _csv_value(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return ";".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return "" if v is None else v


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO, fields: list[str] | None = None) -> int:
    """Write dict rows as CSV (lists joined with ';'); returns the number of rows."""
    rows = iter(rows)
    first = next(rows, None)
    fields = fields or (list(first) if first else UNIT_FIELDS)
    w = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    n = 0
    for r in itertools.chain([first] if first else [], rows):
        w.writerow({k: _csv_value(r.get(k)) for k in fields})
        n += 1
    return n


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Write dict rows as JSON lines; returns the number of rows."""
    n = 0
    for r in rows:
        out.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
        n += 1
    return n


def decision_rows(rv) -> Iterator[dict[str, Any]]:
    """Every decision event in order (the audit trail), as the store returns it."""
    yield from rv.decisions()


def export_table(rv, what: str, fmt: str, out: TextIO, threshold: float = 0.5,
                 model_version: str | None = None) -> int:
    """Write ``what`` (units/suggestions/all/decisions) as ``fmt`` (csv/jsonl) to ``out``."""
    if what not in TABLE_WHATS:
        raise DataError(f"--what {what!r} cannot be written as {fmt}; use one of {', '.join(TABLE_WHATS)}")
    rows = decision_rows(rv) if what == "decisions" else unit_rows(rv, what, threshold, model_version)
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    if fmt == "csv":
        return write_csv(rows, out, None if what == "decisions" else UNIT_FIELDS)
    raise DataError(f"unknown format {fmt!r} for a table export; expected csv or jsonl")
