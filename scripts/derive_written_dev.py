#!/usr/bin/env python
"""Derive and build ``corpora/written-dev``: invented primary-study texts, coded against sims2021.

    python scripts/derive_written_dev.py extract        # papers.jsonl -> candidates.jsonl
    python scripts/derive_written_dev.py handoff DIR    # blind file for the coders
    python scripts/derive_written_dev.py agreement      # the two codings -> agreement.md
    python scripts/derive_written_dev.py build          # codes + adjudication -> units.jsonl, README counts

``papers.jsonl`` holds the paragraphs of six invented papers written by the team (one JSON object per
paragraph: ``paper``, ``section``, ``text``). ``extract`` splits each paragraph into sentences with
:func:`mechcode.segment.split_sentences` and keeps every sentence of at least ``MIN_WORDS`` words
(no sampling: the papers were written at the length of a sample). ``start``/``end`` are offsets in the
paper's text, its paragraphs joined by blank lines. ``handoff`` and ``build`` are those of
``scripts/derive_sims2021_primary.py`` (both coders code every unit).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))
_spec = importlib.util.spec_from_file_location("derive_primary", ROOT / "scripts" / "derive_sims2021_primary.py")
derive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(derive)

CORPUS = ROOT / "corpora" / "written-dev"
PREFIX = "wdev"


def paragraphs(corpus: Path = CORPUS) -> list[dict]:
    rows = derive.load_jsonl(corpus / "papers.jsonl")
    if not rows:
        raise SystemExit(f"error: no paragraphs in {corpus / 'papers.jsonl'}")
    return rows


def use_written(corpus: Path = CORPUS) -> None:
    """Point the shared derive module at this corpus (its papers, folder, prefix; every unit double-coded)."""
    names = list(dict.fromkeys(r["paper"] for r in paragraphs(corpus)))
    derive.CORPUS, derive.PREFIX, derive.DOUBLE_ALL = corpus, PREFIX, True
    derive.PAPERS = {n: ("", ()) for n in names}


def extract(corpus: Path = CORPUS) -> list[dict]:
    from mechcode.segment import split_sentences

    units, offset, count = [], {}, {}
    for para in paragraphs(corpus):
        paper, text = para["paper"], para["text"].strip()
        start = offset.get(paper, 0)
        for a, b in split_sentences(text):
            sent = text[a:b].strip()
            if len(sent.split()) < derive.MIN_WORDS:
                continue
            lead = len(text[a:b]) - len(text[a:b].lstrip())
            count[paper] = count.get(paper, 0) + 1
            units.append({"id": f"{PREFIX}-{paper}-{count[paper]:03d}", "paper": paper, "group": paper,
                          "pdf": None, "page": None, "section": para.get("section") or "",
                          "start": start + a + lead, "end": start + a + lead + len(sent), "sample": "all",
                          "text": sent, "context": text})
        offset[paper] = start + len(text) + 2
    return units


def agreement_md(corpus: Path = CORPUS) -> str:
    """Agreement of the two codings (mechcode.team.agreement.compare): whole code, evidence or none,
    role, polarity where both gave one, and each mechanism's presence."""
    from mechcode.team.agreement import compare

    a = {c["id"]: derive.label(c) for c in derive.load_jsonl(corpus / "codes_coderA.jsonl")}
    b = {c["id"]: derive.label(c) for c in derive.load_jsonl(corpus / "codes_coderB.jsonl")}
    ids = [i for i in a if i in b]
    fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    rows = [("whole code", [a[i] == b[i] for i in ids], [True] * len(ids)),
            ("evidence or none", [a[i]["role"] != "none" for i in ids], [b[i]["role"] != "none" for i in ids]),
            ("role", [a[i]["role"] for i in ids], [b[i]["role"] for i in ids])]
    both = [i for i in ids if a[i]["polarity"] and b[i]["polarity"]]
    rows.append(("polarity (both gave one)", [a[i]["polarity"] for i in both], [b[i]["polarity"] for i in both]))
    mechs = sorted({m for c in (*a.values(), *b.values()) for m in c["mechanisms"]})
    rows += [(m, [m in a[i]["mechanisms"] for i in ids], [m in b[i]["mechanisms"] for i in ids]) for m in mechs]
    out = ["# Agreement (scripts/derive_written_dev.py agreement)", "",
           f"{len(ids)} units coded by both coders.", "",
           "| what | n | agreement | Cohen's κ | Krippendorff's α |", "|---|---|---|---|---|"]
    for name, x, y in rows:
        if name == "whole code":
            out.append(f"| {name} | {len(x)} | {100.0 * sum(x) / len(x):.1f}% | – | – |")
            continue
        c = compare(x, y)
        out.append(f"| {name} | {c['n']} | {c['percent']:.1f}% | {fmt(c['kappa'])} | {fmt(c['alpha'])} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("extract", help="papers.jsonl -> candidates.jsonl")
    sub.add_parser("build", help="candidates + codes + adjudication -> units.jsonl")
    sub.add_parser("agreement", help="the two codings -> agreement.md")
    ho = sub.add_parser("handoff", help="write units_all.jsonl (no codes)")
    ho.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    use_written()
    if args.cmd == "extract":
        rows = extract()
        (CORPUS / "candidates.jsonl").write_text(derive.dump_jsonl(rows), encoding="utf-8")
    elif args.cmd == "agreement":
        (CORPUS / "agreement.md").write_text(agreement_md(), encoding="utf-8")
        print(f"wrote {CORPUS / 'agreement.md'}")
        return 0
    elif args.cmd == "handoff":
        n_all, _ = derive.handoff(CORPUS, args.out)
        (args.out / "units_double.jsonl").unlink()
        print(f"{n_all} units")
        return 0
    else:
        rows = derive.build(CORPUS)
        (CORPUS / "units.jsonl").write_text(derive.dump_jsonl(rows), encoding="utf-8")
        readme = CORPUS / "README.md"
        if readme.exists():
            readme.write_text(derive.readme_with_counts(readme.read_text(encoding="utf-8"), rows), encoding="utf-8")
    print(f"{len(rows)} units")
    return 0


if __name__ == "__main__":
    sys.exit(main())
