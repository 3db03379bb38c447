#!/usr/bin/env python
"""Derive and build ``corpora/sims2021-primary``: primary-study sentences coded against sims2021.

Two steps, both deterministic::

    python scripts/derive_sims2021_primary.py [--set NAME] extract [--pdfs DIR] [--out FILE]
    python scripts/derive_sims2021_primary.py [--set NAME] handoff OUT_DIR [--corpus DIR]
    python scripts/derive_sims2021_primary.py [--set NAME] build [--corpus DIR]

``--set`` picks the corpus: ``primary`` (default, ``corpora/sims2021-primary``, the test side) or
``dev`` (``corpora/sims2021-dev``, five other shared papers, the development side for relevance
settings; every unit is coded by both coders).

``extract`` reads the shared PDFs (``../shared/pdfs`` by default) with
:func:`mechcode.ingest.extract_pdf`, keeps the body sentences (title, abstract and
paragraph passages; not references, tables, captions, headers or headings) and selects the
candidate units by the sampling rule below.  It writes ``candidates.jsonl``: id, paper, group,
pdf, page, section, start/end (offsets of the sentence in the paper's ``Document.text``), text
and context (the paragraph).  Only these sentences are kept in the repository, never whole papers.

``handoff`` writes the blind files for the two coders (``units_all.jsonl``: id, paper, section,
text, context, no codes; ``units_double.jsonl``: the seeded subset both coders code, see
:func:`double_subset`).

``build`` joins ``candidates.jsonl`` with ``codes_coderA.jsonl``, ``codes_coderB.jsonl`` and
``adjudication.jsonl`` into the final ``units.jsonl``: the adjudicated label where the two coders
disagreed (adjudication kind ``disagreement``), the agreed label where they agreed, and coder A's
label for the single-coded units, unless an adjudication ruling was applied to a single-coded unit
for consistency (kind ``consistency``; ``coding: coder-A-revised``).

Sampling rule (per paper, PER_PAPER units):
1. eligible sentences: body sentences with at least MIN_WORDS words;
2. focus part: every eligible sentence of the paper's FOCUS sections (whole sections, chosen
   because they report on staff, teams, organisation or leadership, where mechanism evidence is
   most likely);
3. spread part: the remaining PER_PAPER - |focus| units taken evenly from the other eligible
   sentences in reading order (index ``floor((i + 0.5) * n_rest / n_needed)``), so methods,
   statistics, clinical content and back matter are represented as often as a reader meets them.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

PDF_DIR = ROOT.parent / "shared" / "pdfs"
CORPUS = ROOT / "corpora" / "sims2021-primary"
PREFIX = "s21p"
PER_PAPER = 80
MIN_WORDS = 4
SENTENCE_KINDS = ("title", "abstract", "paragraph")

# short name -> (pdf file name, focus sections: exact heading texts as extracted)
PAPERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "malawi-qi": ("bmchsr2014_malawi_qi_situational.pdf",
                  ("Staffing", "Staffing-related issues", "Leadership", "Stakeholder view")),
    "staff-emotions": ("trials2015_staff_emotions_qualitative.pdf",
                       ("Recruitment: pressures to meet trial targets", "Staffs’ need for support")),
    "trialists": ("trials2015_trialist_interviews_qualitative.pdf",
                  ("Problems with conduct of the research",)),
    "heart-failure": ("hindawi2010_heartfailure_focusgroups.pdf",
                      ("4. Experience of Programmes", "7. GP Services")),
    "prescreening": ("trials2015_prescreening_cancer_rcts.pdf",
                     ("Workflow of multidisciplinary cancer meetings",
                      "Description of the multidisciplinary cancer meetings",
                      "Factors influencing the MDC team’s pre-screening decisions")),
    "hand-hygiene": ("bmcph2015_hand_hygiene_crossover.pdf",
                     ("Intervention content: motivational and self-regulatory modules",
                      "Changes in intention, self-efficacy and planning")),
}

# the development side: other shared health-services papers, sampled by the same rule; both coders
# code every unit (DOUBLE_ALL), so no label rests on one coder
PAPERS_DEV: dict[str, tuple[str, tuple[str, ...]]] = {
    "pmtct-workers": ("scientifica2016_pmtct_health_workers.pdf", ("3. Results", "4. Discussions")),
    "ears-recruitment": ("trials2015_ears_recruitment.pdf",
                         ("Primary care", "Community", "Qualitative observations")),
    "lbp-protocol": ("trials2014_lbp_core_outcome_protocol.pdf",
                     ("Stakeholder involvement", "Selection of panel members")),
    "target-difference": ("trials2015_target_difference_guidance.pdf", ("Development of the guidance",)),
    "limit-trial": ("bmcmed2014_limit_trial.pdf",
                    ("Lifestyle Advice group", "Walking group (nested randomised controlled trial)")),
}
SETS = {"primary": (CORPUS, PREFIX, PAPERS, False),
        "dev": (ROOT / "corpora" / "sims2021-dev", "s21d", PAPERS_DEV, True)}
DOUBLE_ALL = False  # both coders code every unit (the dev sets) instead of the seeded subset


def use_set(name: str) -> None:
    """Point the module at corpus set ``name`` (``primary`` or ``dev``)."""
    global CORPUS, PREFIX, PAPERS, DOUBLE_ALL
    CORPUS, PREFIX, PAPERS, DOUBLE_ALL = SETS[name]


def _is_focus(section: str | None, focus: tuple[str, ...]) -> bool:
    """Exact heading match, or a prefix match for headings the extractor may cut or extend."""
    return bool(section) and any(section == f or section.startswith(f) for f in focus)


def body_sentences(doc) -> list[dict]:
    """Eligible body sentences of a Document with page, section, paper offsets and paragraph."""
    out = []
    for p in doc.passages:
        if p.kind not in SENTENCE_KINDS or p.start is None:
            continue
        for s in p.sentences:
            text = s.text.strip()
            if len(text.split()) < MIN_WORDS:
                continue
            lead = len(s.text) - len(s.text.lstrip())
            start = p.start + s.start + lead
            out.append({"page": p.page, "section": p.section or "", "start": start,
                        "end": start + len(text), "text": text, "context": p.text})
    return out


def sample(sentences: list[dict], focus: tuple[str, ...], n: int = PER_PAPER) -> list[dict]:
    """The sampling rule: whole focus sections plus evenly spread other sentences (reading order)."""
    chosen = [s for s in sentences if _is_focus(s["section"], focus)][:n]
    rest = [s for s in sentences if not _is_focus(s["section"], focus)]
    need = min(n - len(chosen), len(rest))
    picks = {int((i + 0.5) * len(rest) / need) for i in range(need)} if need > 0 else set()
    chosen += [rest[i] for i in sorted(picks)]
    return sorted(chosen, key=lambda s: s["start"])


def paper_units(short: str, pdf: str, doc, focus: tuple[str, ...]) -> list[dict]:
    units = []
    for k, s in enumerate(sample(body_sentences(doc), focus), 1):
        focus_flag = _is_focus(s["section"], focus)
        units.append({"id": f"{PREFIX}-{short}-{k:03d}", "paper": short, "group": short, "pdf": pdf,
                      "page": s["page"], "section": s["section"], "start": s["start"],
                      "end": s["end"], "sample": "focus" if focus_flag else "spread",
                      "text": s["text"], "context": s["context"]})
    return units


def extract(pdf_dir: Path) -> list[dict]:
    from mechcode.ingest import extract_pdf

    units: list[dict] = []
    for short, (pdf, focus) in PAPERS.items():
        path = pdf_dir / pdf
        if not path.exists():
            raise SystemExit(f"error: missing PDF {path}")
        units += paper_units(short, pdf, extract_pdf(path), focus)
    return units


def dump_jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in rows)


def load_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


DOUBLE_SEED = 2021
DOUBLE_PER_PAPER = (15, 7)  # (focus, spread) units per paper given to the second coder
BLIND_KEYS = ("id", "paper", "section", "text", "context")


def double_subset(units: list[dict], seed: int = DOUBLE_SEED) -> list[dict]:
    """The units both coders code: per paper a seeded random draw of focus and spread units.

    Focus units are over-drawn because they hold most of the mechanism evidence; a draw of the
    whole corpus would give the agreement figures only a handful of non-"none" units.
    """
    if DOUBLE_ALL:
        return list(units)
    rng = random.Random(seed)
    picked: set[str] = set()
    for paper in PAPERS:
        for kind, k in zip(("focus", "spread"), DOUBLE_PER_PAPER):
            pool = sorted(u["id"] for u in units if u["paper"] == paper and u["sample"] == kind)
            picked.update(rng.sample(pool, min(k, len(pool))))
    return [u for u in units if u["id"] in picked]


def load_candidates(corpus: Path) -> list[dict]:
    units = load_jsonl(corpus / "candidates.jsonl")
    if not units:
        raise SystemExit(f"error: no candidates in {corpus / 'candidates.jsonl'}; run 'extract' first")
    return units


def handoff(corpus: Path, out: Path) -> tuple[int, int]:
    """Blind files for the coders: all candidates and the double-coded subset, without labels."""
    units = load_candidates(corpus)
    out.mkdir(parents=True, exist_ok=True)
    blind = [{k: u[k] for k in BLIND_KEYS} for u in units]
    double = {u["id"] for u in double_subset(units)}
    (out / "units_all.jsonl").write_text(dump_jsonl(blind), encoding="utf-8")
    (out / "units_double.jsonl").write_text(dump_jsonl([u for u in blind if u["id"] in double]),
                                            encoding="utf-8")
    return len(blind), len(double)


def label(code: dict) -> dict:
    return {"mechanisms": sorted(code.get("mechanisms") or []), "role": code.get("role") or "none",
            "polarity": code.get("polarity")}


def build(corpus: Path) -> list[dict]:
    """units.jsonl rows from candidates + coder A/B codes + adjudication."""
    cands = load_candidates(corpus)
    a = {c["id"]: c for c in load_jsonl(corpus / "codes_coderA.jsonl")}
    b = {c["id"]: c for c in load_jsonl(corpus / "codes_coderB.jsonl")}
    adj = {c["id"]: c for c in load_jsonl(corpus / "adjudication.jsonl")}
    missing = [u["id"] for u in cands if u["id"] not in a]
    if missing:
        raise SystemExit(f"error: coder A has no code for {len(missing)} units (first {missing[0]})")
    rows = []
    for u in cands:
        rows.append(_row(u, _final(u["id"], a, b, adj)))
    return rows


def _final(uid: str, a: dict, b: dict, adj: dict) -> tuple[dict, str]:
    """(label, how): adjudicated disagreement, agreed double code, coder A revised by a ruling, or coder A."""
    la, ruling = label(a[uid]), adj.get(uid)
    if uid in b and label(b[uid]) != la:
        if ruling is None or ruling.get("kind") != "disagreement":
            raise SystemExit(f"error: disagreement on {uid} is not adjudicated")
        return label(ruling), "adjudicated"
    if ruling is not None:
        if ruling.get("kind") != "consistency" or uid in b:
            raise SystemExit(f"error: {uid}: an adjudication entry for a unit the coders agree on "
                             "must be kind 'consistency' and single-coded")
        return label(ruling), "coder-A-revised"
    return la, "agreed" if uid in b else "coder-A"


def _row(u: dict, final: tuple[dict, str]) -> dict:
    lab, how = final
    return {"id": u["id"], "text": u["text"], "context": u["context"], "group": u["group"],
            **lab, "source": f"{u['paper']}: {u['section'] or '(no section)'}",
            "paper": u["paper"], "pdf": u["pdf"], "page": u["page"], "start": u["start"],
            "end": u["end"], "sample": u["sample"], "coding": how}


COUNTS_START, COUNTS_END = "<!-- counts:start -->", "<!-- counts:end -->"


def _table(title: str, counter: Counter, order: list | None = None) -> list[str]:
    keys = order or sorted(counter, key=lambda k: (-counter[k], str(k)))
    return [f"| {title} | units |", "|---|---|"] + [f"| {k} | {counter[k]} |" for k in keys] + [""]


def counts_md(rows: list[dict]) -> str:
    """The README's count tables (per paper and sample, coding, mechanism, role, polarity)."""
    papers = list(PAPERS)
    lines = ["| paper | units | focus | spread | double-coded | with a code |", "|---|---|---|---|---|---|"]
    for p in papers:
        mine = [r for r in rows if r["paper"] == p]
        lines.append(f"| {p} | {len(mine)} | {sum(r['sample'] == 'focus' for r in mine)} | "
                     f"{sum(r['sample'] == 'spread' for r in mine)} | "
                     f"{sum(r['coding'] in ('agreed', 'adjudicated') for r in mine)} | "
                     f"{sum(r['role'] != 'none' for r in mine)} |")
    lines.append(f"| **all** | {len(rows)} | {sum(r['sample'] == 'focus' for r in rows)} | "
                 f"{sum(r['sample'] == 'spread' for r in rows)} | "
                 f"{sum(r['coding'] in ('agreed', 'adjudicated') for r in rows)} | "
                 f"{sum(r['role'] != 'none' for r in rows)} |")
    lines.append("")
    mech = Counter(m for r in rows for m in r["mechanisms"])
    mech["(none)"] = sum(not r["mechanisms"] for r in rows)
    lines += _table("mechanism", mech)
    lines += _table("role", Counter(r["role"] for r in rows))
    lines += _table("polarity", Counter(r["polarity"] or "null" for r in rows))
    lines += _table("coding", Counter(r["coding"] for r in rows))
    return "\n".join(lines)


def readme_with_counts(text: str, rows: list[dict]) -> str:
    head, _, rest = text.partition(COUNTS_START)
    _, _, tail = rest.partition(COUNTS_END)
    if not rest:
        raise SystemExit(f"error: README.md has no {COUNTS_START} marker")
    return f"{head}{COUNTS_START}\n{counts_md(rows)}\n{COUNTS_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=sorted(SETS), default="primary", help="which corpus (default primary)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("extract", help="PDFs -> candidates.jsonl")
    ex.add_argument("--pdfs", type=Path, default=PDF_DIR)
    ex.add_argument("--out", type=Path, default=None, help="default: the set's candidates.jsonl")
    bd = sub.add_parser("build", help="candidates + codes + adjudication -> units.jsonl")
    bd.add_argument("--corpus", type=Path, default=None, help="default: the set's folder")
    ho = sub.add_parser("handoff", help="write units_all.jsonl and units_double.jsonl (no codes)")
    ho.add_argument("out", type=Path)
    ho.add_argument("--corpus", type=Path, default=None, help="default: the set's folder")
    args = ap.parse_args(argv)
    use_set(args.set)
    if getattr(args, "corpus", "") is None:
        args.corpus = CORPUS
    if getattr(args, "out", "") is None:
        args.out = CORPUS / "candidates.jsonl"
    if args.cmd == "handoff":
        n_all, n_double = handoff(args.corpus, args.out)
        print(f"{n_all} units, {n_double} double-coded")
        return 0
    if args.cmd == "extract":
        rows = extract(args.pdfs)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(dump_jsonl(rows), encoding="utf-8")
    else:
        rows = build(args.corpus)
        (args.corpus / "units.jsonl").write_text(dump_jsonl(rows), encoding="utf-8")
        readme = args.corpus / "README.md"
        if readme.exists():
            readme.write_text(readme_with_counts(readme.read_text(encoding="utf-8"), rows), encoding="utf-8")
    print(f"{len(rows)} units")
    return 0


if __name__ == "__main__":
    sys.exit(main())
