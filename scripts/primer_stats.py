#!/usr/bin/env python
"""Validate the CMO role primer and print its counts per domain x role x polarity.

Usage::

    python scripts/primer_stats.py [PRIMER] [--readme README] [--check | --write]

PRIMER defaults to ``corpora/cmo-primer/primer.jsonl``. Without ``--check``/``--write`` the script
validates the file and prints the count table (Markdown). ``--write`` puts the table into the README
between the ``<!-- counts:start -->`` and ``<!-- counts:end -->`` markers; ``--check`` exits 1 if the
README's table differs from the file. Problems are reported as one ``error: ...`` line each.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "corpora" / "cmo-primer" / "primer.jsonl"
ROLES = ("context", "mechanism-resource", "mechanism-reasoning", "outcome")
POLARITIES = ("+", "-")
REQUIRED = {"id": str, "text": str, "domain": str, "role": str, "hard": bool}
OPTIONAL = {"polarity", "note"}
ID_RE = re.compile(r"^primer-(?P<domain>[a-z][a-z-]*[a-z])-(?P<n>\d{3})$")
START, END = "<!-- counts:start -->", "<!-- counts:end -->"
COLUMNS = [("context", None, "C"), ("mechanism-resource", "+", "M-res +"),
           ("mechanism-resource", "-", "M-res −"), ("mechanism-reasoning", "+", "M-rea +"),
           ("mechanism-reasoning", "-", "M-rea −"), ("outcome", "+", "O +"), ("outcome", "-", "O −")]


def normalize(text: str) -> str:
    """Lower-case, accents and punctuation removed, whitespace collapsed: the near-duplicate key."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def load(path: Path) -> tuple[list[dict], list[str]]:
    """Read the JSONL file; return the records that parsed and the errors for lines that did not."""
    rows, errors = [], []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            errors.append(f"line {i}: empty line")
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {i}: not JSON ({exc.msg})")
            continue
        if not isinstance(rec, dict):
            errors.append(f"line {i}: not a JSON object")
            continue
        rows.append(rec)
    return rows, errors


def record_errors(rec: dict) -> list[str]:
    """Schema problems of one record."""
    rid = rec.get("id", "?")
    errs = [f"{rid}: missing or non-{t.__name__} field {k!r}"
            for k, t in REQUIRED.items() if not isinstance(rec.get(k), t)]
    extra = set(rec) - set(REQUIRED) - OPTIONAL
    if extra:
        errs.append(f"{rid}: unknown field(s) {', '.join(sorted(extra))}")
    if errs:
        return errs
    m = ID_RE.match(rec["id"])
    if not m or m["domain"] != rec["domain"]:
        errs.append(f"{rid}: id must be primer-<domain>-NNN with the record's domain")
    if not rec["text"].strip() or rec["text"] != rec["text"].strip():
        errs.append(f"{rid}: text is empty or has surrounding whitespace")
    if rec["role"] not in ROLES:
        errs.append(f"{rid}: role {rec['role']!r} not one of {', '.join(ROLES)}")
    pol = rec.get("polarity")
    if rec["role"] == "context" and pol is not None:
        errs.append(f"{rid}: context statements have polarity null")
    if rec["role"] != "context" and pol not in POLARITIES:
        errs.append(f"{rid}: polarity must be '+' or '-' for {rec['role']}")
    if "note" in rec and not (isinstance(rec["note"], str) and rec["note"].strip()):
        errs.append(f"{rid}: note must be a non-empty string")
    return errs


def validate(rows: list[dict]) -> list[str]:
    """All problems: per-record schema, duplicate ids, duplicate or near-duplicate texts."""
    errors = [e for rec in rows for e in record_errors(rec)]
    ids = Counter(r.get("id") for r in rows)
    errors += [f"{i}: duplicate id" for i, n in ids.items() if n > 1]
    seen: dict[str, str] = {}
    for rec in rows:
        key = normalize(str(rec.get("text", "")))
        if key in seen:
            errors.append(f"{rec.get('id')}: same text as {seen[key]} (after normalisation)")
        seen.setdefault(key, rec.get("id"))
    return errors


def count_table(rows: list[dict]) -> str:
    """Markdown table: one row per domain (file order), one column per role x polarity, totals."""
    domains = list(dict.fromkeys(r["domain"] for r in rows))
    cells = Counter((r["domain"], r["role"], r.get("polarity")) for r in rows)
    hard = Counter(r["domain"] for r in rows if r["hard"])
    head = ["domain"] + [c[2] for c in COLUMNS] + ["total", "hard"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for d in domains + ["**all**"]:
        ds = domains if d == "**all**" else [d]
        nums = [sum(cells[(x, role, pol)] for x in ds) for role, pol, _ in COLUMNS]
        extra = [sum(nums), sum(hard[x] for x in ds)]
        lines.append("| " + " | ".join([d] + [str(n) for n in nums + extra]) + " |")
    return "\n".join(lines) + "\n"


def readme_table(readme: Path) -> str | None:
    """The table between the count markers of ``readme`` (None when the markers are missing)."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return None
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def write_readme(readme: Path, table: str) -> None:
    text = readme.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    readme.write_text(f"{before}{START}\n{table}{END}{after}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("primer", nargs="?", type=Path, default=DEFAULT, help="primer JSONL file")
    ap.add_argument("--readme", type=Path, help="README with the count markers "
                    "(default: README.md beside the primer)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if the README table is stale")
    mode.add_argument("--write", action="store_true", help="write the table into the README")
    args = ap.parse_args(argv)
    if not args.primer.is_file():
        print(f"error: no such file: {args.primer}", file=sys.stderr)
        return 1
    rows, errors = load(args.primer)
    errors += validate(rows)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        return 1
    table = count_table(rows)
    readme = args.readme or args.primer.with_name("README.md")
    if args.check or args.write:
        if not readme.is_file() or readme_table(readme) is None:
            print(f"error: {readme} has no {START} ... {END} block", file=sys.stderr)
            return 1
        if args.write:
            write_readme(readme, table)
        elif readme_table(readme) != table:
            print(f"error: the table in {readme} is stale; run with --write", file=sys.stderr)
            return 1
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
