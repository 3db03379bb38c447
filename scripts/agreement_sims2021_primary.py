#!/usr/bin/env python
"""Inter-coder agreement of ``corpora/sims2021-primary`` through a mechcode review.

Usage::

    python scripts/agreement_sims2021_primary.py [--set primary|dev] [--review DIR] [--out FILE] [--pdfs DIR]

Builds a review as a team would (``mechcode init`` with the sims2021 codebook, ingest the shared
PDFs, ``mechcode reviewer add`` coderA and coderB), records each coder's codes as that reviewer's
decisions on the matching units (a code with no mechanism and role ``none`` is a *reject*, any
other a *correct*), then writes the report of ``mechcode agreement --all-units --format md``: the
scope is every unit both reviewers coded, i.e. the double-coded subset (coder B coded only that).
A candidate whose sentence the store split differently is added as a reviewer span
(``Review.add_span``) so every unit is compared on its exact text. ``--review`` keeps the review
directory (default: a temporary one) for ``mechcode agreement DIR --all-units`` by hand.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

_spec = importlib.util.spec_from_file_location("derive_primary", ROOT / "scripts" / "derive_sims2021_primary.py")
derive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(derive)

CODEBOOK = ROOT / "corpora" / "sims2021" / "codebook.yaml"
CODERS = {"coderA": "codes_coderA.jsonl", "coderB": "codes_coderB.jsonl"}


def build_review(review_dir: Path, corpus: Path, pdf_dir: Path) -> tuple[object, dict[str, int]]:
    """A review with the papers ingested; returns it and candidate id -> store unit id."""
    from mechcode.ingest import extract_pdf
    from mechcode.store.review import Review

    missing = [pdf for pdf, _ in derive.PAPERS.values() if not (pdf_dir / pdf).exists()]
    if missing:
        raise SystemExit(f"error: missing PDF(s) in {pdf_dir}: {', '.join(missing)}")
    cands = derive.load_candidates(corpus)
    review = Review.init(review_dir, CODEBOOK)
    unit_of: dict[str, int] = {}
    for short, (pdf, _) in derive.PAPERS.items():
        doc = extract_pdf(pdf_dir / pdf)
        doc_id, _ = review.add_document(doc, str(pdf_dir / pdf))
        by_offsets = {(u["start"], u["end"]): u["id"] for u in review.units(doc_id)}
        for c in (c for c in cands if c["paper"] == short):
            start = doc.text.find(c["text"], max(0, c["start"] - 200))
            if start < 0:
                start = doc.text.find(c["text"])
            if start < 0:
                raise SystemExit(f"error: {c['id']} not found in the current extraction of {pdf}")
            key = (start, start + len(c["text"]))
            unit_of[c["id"]] = by_offsets.get(key) or review.add_span(doc_id, *key, created_by="coderA")
    return review, unit_of


def record(review, unit_of: dict[str, int], corpus: Path) -> dict[str, int]:
    """Each coder's codes as that reviewer's decisions; returns decisions per coder."""
    from mechcode.team.reviewers import add_reviewer

    counts = {}
    for name, fname in CODERS.items():
        add_reviewer(review, name)
        codes = derive.load_jsonl(corpus / fname)
        if not codes:
            raise SystemExit(f"error: no codes in {corpus / fname}")
        for c in codes:
            lab = derive.label(c)
            if not lab["mechanisms"] and lab["role"] == "none":
                review.add_decision(unit_of[c["id"]], name, "reject", role="none", note=c.get("note"))
            else:
                review.add_decision(unit_of[c["id"]], name, "correct", lab["mechanisms"], lab["role"],
                                    lab["polarity"], note=c.get("note"))
        counts[name] = len(codes)
    return counts


def evidence_summary(corpus: Path) -> str:
    """Agreement on the coarse decision "evidence (any code) or none", the screening question."""
    from mechcode.team.agreement import compare

    a = {c["id"]: derive.label(c) for c in derive.load_jsonl(corpus / CODERS["coderA"])}
    b = {c["id"]: derive.label(c) for c in derive.load_jsonl(corpus / CODERS["coderB"])}
    ids = sorted(set(a) & set(b))
    s = compare([a[i]["role"] != "none" for i in ids], [b[i]["role"] != "none" for i in ids])
    fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    return ("## Evidence or none (added by scripts/agreement_sims2021_primary.py)\n\n"
            "| Decision | n | evidence A / B / both | Agreement | Cohen's κ | Krippendorff's α |\n"
            "|---|---|---|---|---|---|\n"
            f"| any code vs none | {s['n']} | {sum(a[i]['role'] != 'none' for i in ids)} / "
            f"{sum(b[i]['role'] != 'none' for i in ids)} / "
            f"{sum(a[i]['role'] != 'none' and b[i]['role'] != 'none' for i in ids)} | "
            f"{s['percent']:.1f}% | {fmt(s['kappa'])} | {fmt(s['alpha'])} |\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=sorted(derive.SETS), default="primary", help="which corpus (default primary)")
    ap.add_argument("--corpus", type=Path, default=None, help="default: the set's folder")
    ap.add_argument("--pdfs", type=Path, default=derive.PDF_DIR)
    ap.add_argument("--review", type=Path, default=None, help="keep the review here (must not exist)")
    ap.add_argument("--out", type=Path, default=None, help="default: CORPUS/agreement.md")
    args = ap.parse_args(argv)
    derive.use_set(args.set)
    args.corpus = args.corpus or derive.CORPUS
    from mechcode.team.agreement import agreement, to_markdown

    with tempfile.TemporaryDirectory() as tmp:
        review, unit_of = build_review(args.review or Path(tmp) / "review", args.corpus, args.pdfs)
        counts = record(review, unit_of, args.corpus)
        text = to_markdown(agreement(review, double_only=False)) + "\n" + evidence_summary(args.corpus)
        review.close()
    out = args.out or args.corpus / "agreement.md"
    out.write_text(text + "\n", encoding="utf-8")
    print(f"decisions: {counts}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
