#!/usr/bin/env python
"""Derive the ``corpora/sims2021`` corpus from the seed text of Sims et al. (2021).

Sims S, Fletcher S, Brearley S, Ross F, Manthorpe J, Harris R. What does success look like for
leaders of integrated health and social care systems? A realist review. Int J Integr Care
2021;21(4):26. DOI 10.5334/ijic.5936. CC BY 4.0.

Usage::

    python scripts/derive_sims2021.py [SEED] [--out DIR] [--decisions FILE] [--template FILE]

SEED defaults to ``../shared/seed/000_383aeab258abff5b.txt`` (relative to the repository root),
DIR to ``corpora/sims2021``. The script parses Table 1 (codebook), the Stage-1a/1b lists, Table 2
(evidence matrix), the Results sections, Boxes 1-7 (narratives and CMO chains), the Methods and the
reference list; the few explicit decisions (ids, aliases, the Stage-1a -> 1b reading, text
corrections) live in ``corpora/sims2021/decisions.yaml``. Output is deterministic:
codebook.yaml, codebook_history.yaml, units.jsonl, evidence_matrix.csv,
evidence_matrix_discrepancies.json and README.md (filled in from README.template.md).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from mechcode.codebook import ROLE_IDS, parse_codebook  # noqa: E402
from mechcode.segment import split_many  # noqa: E402

DEFAULT_SEED = ROOT.parent / "shared" / "seed" / "000_383aeab258abff5b.txt"
CORPUS = ROOT / "corpora" / "sims2021"
PREFIX = "sims2021"
TERMINAL = tuple('.!?:”"')
SUBHEADINGS = {"Empirical evidence": "empirical evidence", "Stakeholder feedback": "stakeholder feedback"}
GLUED_RE = re.compile(r"^(.*?)\*\*(Empirical evidence|Stakeholder feedback)\*\*$")
MECH_HEAD_RE = re.compile(r"^MECHANISMS? (\d+)(?: AND (\d+))?\s*[:–-]\s*(.+)$")
N_RE = re.compile(r"(?:AND )?([A-Z][A-Z ,'’-]*?)\s*\(N = (\d+)\)")
BOX_RE = re.compile(r"^Box (\d+): CMO configuration for the \*?(presence|absence)\*? of the "
                    r"['‘](.+?)['’] mechanism \[(\d+)\]$")
TAG_RE = re.compile(r"\s*\((C|[MO]\s*[+\-–])(?:,?\s*(Resource|Reasoning))?\)")
LINK_RE = re.compile(r"^\s*(→|\.|and|but)\s+")
CITE_RE = re.compile(r"\[(\d[\d,\s–-]*)\]")


# --------------------------------------------------------------------------- text blocks
@dataclass
class Block:
    kind: str  # para, heading, subheading, table, caption, list, box-title, chain
    text: str
    lines: list[str] = field(default_factory=list)


def plain(s: str) -> str:
    """Strip the seed's markdown/HTML markup (bold, italics, <i>, links, $math$) and squeeze spaces."""
    s = re.sub(r"</?i>", "", s)
    s = re.sub(r"\[([^\]]+)\]\(#\)", r"\1", s)
    s = s.replace("**", "")
    s = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)(?<=\S)\*(?![\w*])", r"\1", s)
    s = re.sub(r"(?<!\w)\*(?=\w)", "", s)  # orphan italic opener left by a page break
    s = re.sub(r"\$([^$]+)\$", r"\1", s)
    s = s.replace("[. . .]", "[...]")  # spaced ellipsis would be split as sentences
    s = re.sub(r"<(https?://[^>]+)>", r"\1", s)
    return re.sub(r"\s+", " ", s).strip()


def raw_blocks(text: str) -> list[list[str]]:
    """Groups of consecutive non-blank lines (a line of spaces counts as blank)."""
    groups, cur = [], []
    for line in text.splitlines():
        if line.strip():
            cur.append(line.rstrip(" \r"))  # keep trailing tabs: they position empty cells
        elif cur:
            groups.append(cur)
            cur = []
    if cur:
        groups.append(cur)
    return groups


def move_blocks(groups: list[list[str]], moves: list[dict]) -> list[list[str]]:
    """Apply the documented ``corrections.move_blocks`` (page-break fragments printed out of place)."""
    for mv in moves:
        first = next(i for i, g in enumerate(groups) if g[0].startswith(mv["first_starts_with"]))
        chunk = groups[first:first + mv["n_blocks"]]
        rest = groups[:first] + groups[first + mv["n_blocks"]:]
        target = next(i for i, g in enumerate(rest) if g[-1].endswith(mv["after_block_ending"]))
        groups = rest[:target + 1] + chunk + rest[target + 1:]
    return groups


def classify(lines: list[str]) -> list[Block]:
    """One raw group -> one block (two when a subheading is glued to a heading)."""
    text = " ".join(lines)
    if any("\t" in ln for ln in lines):
        return [Block("table", text, lines)]
    if re.match(r"^(Table|Figure) \d+ ", text) or text == "(Contd.)":
        return [Block("caption", text, lines)]
    if all(re.match(r"^\d+\. ", ln) for ln in lines):
        return [Block("list", text, [re.sub(r"^\d+\. ", "", ln) for ln in lines])]
    m = GLUED_RE.match(text)
    if m:
        return classify([m.group(1)]) + [Block("subheading", m.group(2))]
    if text in SUBHEADINGS:
        return [Block("subheading", text)]
    if BOX_RE.match(text):
        return [Block("box-title", text)]
    if "→" in text and "(C)" in text:
        return [Block("chain", text)]
    if len(lines) == 1 and text == text.upper() and re.search("[A-Z]", text):
        return [Block("heading", text)]
    return [Block("para", text, lines)]


def join_broken(blocks: list[Block]) -> list[Block]:
    """Re-join paragraphs cut by a page break: a paragraph without final punctuation continues in the
    next paragraph that starts with a lowercase letter or '[' (tables and captions in between stay put)."""
    out: list[Block] = []
    last_flow: Block | None = None
    for b in blocks:
        if b.kind in ("table", "caption"):
            out.append(b)
            continue
        if (b.kind == "para" and last_flow is not None and last_flow.kind == "para"
                and not last_flow.text.endswith(TERMINAL) and re.match(r"^[a-z\[]", b.text)):
            last_flow.text += " " + b.text
            continue
        out.append(b)
        last_flow = b
    return out


def read_blocks(text: str, decisions: dict) -> list[Block]:
    """The seed as classified, corrected, re-joined blocks (also used by render_sample_pdf.py)."""
    groups = move_blocks(raw_blocks(text), decisions["corrections"]["move_blocks"])
    return join_broken([b for g in groups for b in classify(g)])


# --------------------------------------------------------------------------- parsed seed
@dataclass
class Seed:
    decisions: dict
    table1: list[tuple[str, str]] = field(default_factory=list)  # (name, description)
    stage1a: list[str] = field(default_factory=list)
    stage1b: list[str] = field(default_factory=list)
    table2: list[list[str]] = field(default_factory=list)  # header + rows (cells by tabs)
    printed_n: dict[str, int] = field(default_factory=dict)  # mechanism id -> N in Results heading
    evidence: dict[str, list[str]] = field(default_factory=dict)  # active / merged / no-evidence names
    paragraphs: list[dict] = field(default_factory=list)  # text units before sentence splitting
    references: list[str] = field(default_factory=list)
    discussion: list[str] = field(default_factory=list)  # paragraphs of the DISCUSSION (never units)
    cites: dict[str, set[int]] = field(default_factory=dict)  # mechanism id -> refs cited in Results
    units: list[dict] = field(default_factory=list)
    matrix: list[dict] = field(default_factory=list)

    def mech_id(self, name: str) -> str:
        """Codebook id for a mechanism name as printed (any case, prefix or alias)."""
        norm = lambda s: re.sub(r"\s+", " ", s.replace("’", "'")).strip().lower()  # noqa: E731
        ids = {norm(k): v for k, v in self.decisions["mechanism_ids"].items()}
        ids.update({norm(k): v for k, v in self.decisions.get("name_aliases", {}).items()})
        key = norm(name)
        if key in ids:
            return ids[key]
        hits = [v for k, v in ids.items() if k.startswith(key)]
        if len(hits) != 1:
            raise ValueError(f"cannot resolve mechanism name {name!r}")
        return hits[0]


class Walker:
    """Walks the blocks in reading order, tracking section, mechanism section and box."""

    def __init__(self, seed: Seed):
        self.seed, self.section, self.mech, self.sub, self.box = seed, "", None, None, None
        self.counts: Counter = Counter()
        self.dec = seed.decisions

    def para(self, kind: str, text: str, source: str, **extra) -> None:
        self.seed.paragraphs.append({"kind": kind, "text": plain(text), "source": source, **extra})

    def heading(self, text: str) -> None:
        m = MECH_HEAD_RE.match(text)
        if m and self.section == "RESULTS":
            pairs = N_RE.findall(m.group(3))
            ids = [self.seed.mech_id(name.strip()) for name, _ in pairs]
            self.seed.printed_n.update({i: int(n) for i, (_, n) in zip(ids, pairs)})
            label = "-".join(g for g in m.groups()[:2] if g)
            self.mech, self.sub = {"num": int(m.group(1)), "label": label, "ids": ids}, "text"
            return
        self.section, self.mech, self.sub = text, None, None

    def results_para(self, text: str) -> None:
        if self.mech is None:
            key = ("overview",)
            self.counts[key] += 1
            self.parse_overview(text)
            return self.para("results-meta", text, f"Results overview para {self.counts[key]}")
        num, ids = self.mech["num"], self.mech["ids"]
        key = (num, self.sub)
        self.counts[key] += 1
        for i in ids:
            self.seed.cites.setdefault(i, set()).update(cited(text))
        meta = num in self.dec["results_meta_sections"]
        self.para("results-meta" if meta else "results-section", text,
                  f"Results M{self.mech['label']} {self.sub} para {self.counts[key]}", mechanisms=[] if meta else ids)

    def parse_overview(self, text: str) -> None:
        """Which mechanisms had evidence, were merged, had none (quoted names in the overview)."""
        for sent, key in (("There was empirical evidence for", "active"),
                          ("There was insufficient evidence", "merged"),
                          ("There was no empirical evidence", "no-evidence")):
            m = re.search(re.escape(sent) + r"[^.]*", text)
            if m:
                self.seed.evidence[key] = re.findall(r"‘([^’]+)’", m.group(0))

    def block(self, b: Block) -> None:
        seed = self.seed
        if b.kind == "heading":
            return self.heading(b.text)
        if b.kind == "subheading":
            self.sub = SUBHEADINGS[b.text]
            return
        if b.kind == "table":
            rows = [ln.split("\t") for ln in b.lines]
            if rows[0][0] == "MECHANISM":
                seed.table1 += [(r[0].strip(), r[1].strip()) for r in rows[1:]]
                for r in rows[1:]:
                    self.para("table1-description", r[1], f"Table 1: {r[0].strip()}",
                              mechanisms=[seed.mech_id(r[0])])
            elif rows[0][0] == "PAPER":
                seed.table2 += rows if not seed.table2 else rows[1:]
            return
        if b.kind == "list":
            return self.list_block(b)
        if b.kind == "box-title":
            m = BOX_RE.match(b.text)
            self.box = {"box": int(m.group(1)), "box_polarity": "+" if m.group(2) == "presence" else "-",
                        "box_ref": int(m.group(4)), "mechanisms": [seed.mech_id(m.group(3))]}
            seed.cites.setdefault(self.box["mechanisms"][0], set()).add(self.box["box_ref"])
            return
        if b.kind == "chain":
            self.para("box-chain", b.text, f"Box {self.box['box']} chain", **self.box)
            self.box = None
            return
        if b.kind != "para":
            return
        if self.box is not None:
            return self.para("box-narrative", b.text, f"Box {self.box['box']} narrative", **self.box)
        if self.section == "RESULTS":
            return self.results_para(b.text)
        if self.section == "REFERENCES":
            seed.references += [re.sub(r"^(- |\d+\. )", "", ln) for ln in b.lines]
        elif self.section == seed.decisions.get("codebook_examples", {}).get("section"):
            seed.discussion.append(plain(b.text))
        elif self.section in self.dec["methods_sections"] + self.dec["backmatter_sections"]:
            rule = "methods" if self.section in self.dec["methods_sections"] else "backmatter"
            self.counts[self.section] += 1
            self.para(rule, b.text, f"{section_label(self.section)} para {self.counts[self.section]}")

    def list_block(self, b: Block) -> None:
        if self.section == "STAGE 1":
            self.seed.stage1a = [plain(x) for x in b.lines]
        elif self.section == "STAGE 1B":
            self.seed.stage1b = [plain(x) for x in b.lines]
        elif self.section == "METHODS":
            for i, item in enumerate(b.lines, 1):
                self.para("methods", item, f"Methods: objectives item {i}")
        elif self.section == "REFERENCES":
            self.seed.references += [re.sub(r"^(- |\d+\. )", "", ln) for ln in b.lines]


def section_label(section: str) -> str:
    return "Methods" if section == "METHODS" else (
        f"Methods: {section.title().replace('1B', '1b')}" if section.startswith("STAGE") else section.title())


def cited(text: str) -> set[int]:
    """Reference numbers cited as [23], [26, 37] or [46–48]."""
    out: set[int] = set()
    for group in CITE_RE.findall(text):
        for part in group.split(","):
            a, _, b = part.strip().replace("–", "-").partition("-")
            out.update(range(int(a), int(b or a) + 1))
    return out


def parse_seed(text: str, decisions_path: Path) -> Seed:
    """Parse the seed text into a :class:`Seed` with units and the evidence matrix."""
    seed = Seed(decisions=yaml.safe_load(decisions_path.read_text(encoding="utf-8")))
    walker = Walker(seed)
    for b in read_blocks(text, seed.decisions):
        walker.block(b)
    check_parse(seed)
    seed.units = build_units(seed)
    seed.matrix = build_matrix(seed)
    return seed


def check_parse(seed: Seed) -> None:
    """Fail loudly when the seed does not have the expected structure."""
    names = [n for n, _ in seed.table1]
    problems = []
    if len(names) != 10 or [plain(n) for n in seed.stage1b] != names:
        problems.append(f"Table 1 names {names} do not match the Stage-1b list {seed.stage1b}")
    if seed.stage1a != [e["name"] for e in seed.decisions["stage1a"]]:
        problems.append(f"Stage-1a list {seed.stage1a} does not match decisions.yaml stage1a names")
    if set(seed.evidence) != {"active", "merged", "no-evidence"}:
        problems.append(f"Results overview not parsed: {seed.evidence}")
    boxes = sorted(p["box"] for p in seed.paragraphs if p["kind"] == "box-chain")
    if boxes != list(range(1, 8)):
        problems.append(f"box chains found: {boxes}")
    if problems:
        raise SystemExit("seed structure not as expected:\n  " + "\n  ".join(problems))


# --------------------------------------------------------------------------- units
def chain_segments(chain: str) -> tuple[str, list[dict]]:
    """Split a CMO chain at the arrows and connectors into tagged segments (tags removed)."""
    clean = plain(TAG_RE.sub("", chain))
    segs, pos, cursor = [], 0, 0
    for m in TAG_RE.finditer(chain):
        raw = chain[pos:m.start()]
        lm = LINK_RE.match(raw)
        link = lm.group(1) if lm and segs else None
        body = plain(raw[lm.end():] if lm and segs else raw)
        letter, sign, kind = m.group(1)[0], m.group(1)[1:].strip(), m.group(2)
        role = {"C": "context", "O": "outcome"}.get(letter) or f"mechanism-{(kind or '').lower()}"
        if role not in ROLE_IDS:
            raise SystemExit(f"untyped mechanism tag {m.group(0)!r} in chain {chain[:60]!r}")
        start = clean.index(body, cursor)
        cursor = start + len(body)
        segs.append({"text": body, "start": start, "end": cursor, "role": role,
                     "polarity": {"+": "+", "-": "-", "–": "-"}.get(sign), "tag": m.group(0).strip(),
                     "link": link, "position": len(segs)})
        pos = m.end()
    if not re.fullmatch(r"\s*\.?\s*", chain[pos:]):
        raise SystemExit(f"text after the last tag of a chain: {chain[pos:]!r}")
    return clean, segs


def build_units(seed: Seed) -> list[dict]:
    """Sentence and chain-segment units with labels, in reading order."""
    dec, units, groups = seed.decisions, [], {}
    meta_res = [re.compile(p) for p in dec["results_meta_patterns"]]
    prose = [p for p in seed.paragraphs if p["kind"] != "box-chain"]
    offsets = dict(zip(map(id, prose), split_many(p["text"] for p in prose)))

    def group_of(p: dict) -> str:
        """One group per source paragraph; a box's narrative and chain share one (same case)."""
        if "box" in p:
            return f"{PREFIX}-box{p['box']}"
        return groups.setdefault(p["source"], f"{PREFIX}-p{len(groups) + 1:03d}")

    def add(p: dict, text: str, context: str, start: int, end: int, **lab) -> None:
        u = {"id": f"{PREFIX}-{len(units) + 1:04d}", "text": text, "context": context, "start": start,
             "end": end, "group": group_of(p), "mechanisms": lab.get("mechanisms", []),
             "role": lab.get("role"), "polarity": lab.get("polarity"), "source": p["source"],
             "rule": lab["rule"]}
        u.update({k: p[k] for k in ("box", "box_polarity", "box_ref") if k in p})
        u.update({k: lab[k] for k in ("position", "tag", "link") if k in lab})
        units.append(u)

    for p in seed.paragraphs:
        if p["kind"] == "box-chain":
            clean, segs = chain_segments(p["text"])
            for s in segs:
                add(p, s["text"], clean, s["start"], s["end"], mechanisms=p["mechanisms"], rule="box-chain",
                    **{k: s[k] for k in ("role", "polarity", "position", "tag", "link")})
            continue
        for a, b in offsets[id(p)]:
            sent = p["text"][a:b]
            lab = {"rule": p["kind"], "mechanisms": p.get("mechanisms", [])}
            if p["kind"] in ("methods", "backmatter", "results-meta"):
                lab.update(mechanisms=[], role="none")
            elif p["kind"] == "results-section" and any(r.search(sent) for r in meta_res):
                lab.update(mechanisms=[], role="none", rule="results-meta")
            add(p, sent, p["text"], a, b, **lab)
    return units


# --------------------------------------------------------------------------- matrix, codebook
def build_matrix(seed: Seed) -> list[dict]:
    """Table 2 rows as {paper, <id>: 0/1}; cells are positioned by the tabs as printed."""
    header, cols = seed.table2[0], matrix_columns(seed)
    rows = []
    for cells in seed.table2[1:]:
        row = {"paper": cells[0].strip(), "_cells": len(cells)}
        for i, col in enumerate(cols, 1):
            row[col] = int(i < len(cells) and cells[i].strip() == "✓")
        rows.append(row)
    if len(header) != len(cols) + 1:
        raise SystemExit(f"Table 2 header has {len(header)} cells")
    return rows


def matrix_columns(seed: Seed) -> list[str]:
    general = {g["column"]: g["id"] for g in seed.decisions["general"]}
    return [general.get(h.strip()) or seed.mech_id(h.strip()) for h in seed.table2[0][1:]]


def paper_of_reference(seed: Seed) -> dict[int, str]:
    """Reference number -> Table 2 paper ('Surname (year)') where the reference is one of them."""
    papers = [r["paper"] for r in seed.matrix]
    out = {}
    for num, ref in enumerate(seed.references, 1):
        surname = re.sub(r"\*", "", ref).split()[0].rstrip(",.")
        year = re.search(r"\b((?:19|20)\d\d[ab]?)\b", ref)
        exact = [p for p in papers if year and p == f"{surname} ({year.group(1)})"]
        loose = [p for p in papers if p.split(" (")[0] == surname]
        hit = exact or (loose if len(loose) == 1 else [])
        if hit:
            out[num] = hit[0]
    return out


def discrepancies(seed: Seed) -> dict:
    """Per Table 2 column: N printed in the Results heading vs the number of ticks."""
    cols, by_ref = matrix_columns(seed), paper_of_reference(seed)
    names = {seed.mech_id(n): n for n, _ in seed.table1} | {g["id"]: g["name"] for g in seed.decisions["general"]}
    out = []
    for cid in cols + [m for m in seed.printed_n if m not in cols]:
        ticks = sum(r[cid] for r in seed.matrix) if cid in cols else None
        printed = seed.printed_n.get(cid)
        entry = {"id": cid, "name": names.get(cid, cid), "in_table2": cid in cols, "printed_n": printed,
                 "tick_count": ticks, "agrees": None if printed is None or ticks is None else printed == ticks}
        if cid in cols and cid in seed.cites:
            ticked = {r["paper"] for r in seed.matrix if r[cid]}
            cited_papers = {by_ref[n] for n in seed.cites[cid] if n in by_ref}
            entry["cited_in_results_without_tick"] = sorted(cited_papers - ticked)
        if entry["agrees"] is False:
            entry["difference"] = ticks - printed
            entry["ticked_rows"] = sorted(r["paper"] for r in seed.matrix if r[cid])
        out.append(entry)
    bad_rows = [r["paper"] for r in seed.matrix if r["_cells"] != len(cols) + 1]
    return {"source": "Table 2 ticks (cells positioned by tabs) vs '(N = x)' in the Results headings",
            "csv_follows": "the ticks as printed in Table 2 (cells positioned by the tabs)",
            "rows": len(seed.matrix), "columns": len(cols), "rows_with_wrong_cell_count": bad_rows,
            "one_cell_shifts_that_reduce_deviation": shift_candidates(seed, cols),
            "disagreements": [e["id"] for e in out if e["agrees"] is False], "mechanisms": out}


def shift_candidates(seed: Seed, cols: list[str]) -> list[dict]:
    """Rows where moving the cells after one empty cell by one column (left or right) - the signature
    of a lost or an extra tab - would bring the column sums closer to the printed N in total."""
    printed = {c: seed.printed_n[c] for c in cols if c in seed.printed_n}
    sums = {c: sum(r[c] for r in seed.matrix) for c in printed}
    off = sum(abs(sums[c] - printed[c]) for c in printed)
    found = []
    for r in seed.matrix:
        cells = [r[c] for c in cols]
        for k in range(len(cells)):
            for way, new in (("left", cells[:k] + cells[k + 1:] + [0] if cells[k] == 0 else None),
                             ("right", cells[:k] + [0] + cells[k:-1] if cells[-1] == 0 else None)):
                if new is None:
                    continue
                after = {c: sums[c] - r[c] + new[cols.index(c)] for c in printed}
                still = sum(abs(after[c] - printed[c]) for c in printed)
                if still < off:
                    found.append({"paper": r["paper"], "shift": way, "from_column": cols[k],
                                  "total_deviation_after": still})
    return found


def build_codebook(seed: Seed) -> dict:
    """The codebook mapping (validated by mechcode.codebook.parse_codebook)."""
    dec = seed.decisions
    status = {seed.mech_id(n): s for s, ns in seed.evidence.items() for n in ns}
    active = [seed.mech_id(n) for n, _ in seed.table1 if status.get(seed.mech_id(n)) == "active"]
    mechs = []
    for name, desc in seed.table1:
        mid = seed.mech_id(name)
        mechs.append({"id": mid, "name": name, "description": plain(desc), "status": status.get(mid, "active"),
                      "kind": "mechanism", "merged_into": active if status.get(mid) == "merged" else []})
    mechs += [{"id": g["id"], "name": g["name"], "description": g["description"], "status": "active",
               "kind": "general", "merged_into": []} for g in dec["general"]]
    picks = dec.get("codebook_examples") or {}
    for m in mechs:
        for key in ("examples", "not_examples"):
            found = [pick_sentence(seed, prefix) for prefix in (picks.get(key) or {}).get(m["id"], [])]
            if found:
                m[key] = found
    hist = [{"id": e["id"], "name": name, "description": f"{name}." + (f" {e['note']}" if e.get("note") else ""),
             "status": "active", "kind": "mechanism", "merged_into": []}
            for name, e in zip(seed.stage1a, dec["stage1a"])]
    data = {"name": dec["codebook_name"], "version": "1b", "mechanisms": mechs, "roles": dec["roles"],
            "polarity": dec["polarity"],
            "history": [{"version": "1a", "note": "Preliminary mechanisms agreed after Stage 1a (37 papers).",
                         "mechanisms": hist}]}
    return parse_codebook(data, "sims2021 codebook").to_dict()


def pick_sentence(seed: Seed, prefix: str) -> str:
    """The one sentence of the examples section (DISCUSSION) that starts with ``prefix``."""
    sents = [p[a:b] for p, spans in zip(seed.discussion, split_many(seed.discussion)) for a, b in spans]
    hits = [s for s in sents if s.startswith(prefix)]
    if len(hits) != 1:
        raise ValueError(f"codebook example prefix {prefix!r} matches {len(hits)} sentences, not one")
    return hits[0]


def history_steps(seed: Seed) -> list[dict]:
    """The decisions' migration steps with SEVEN_ACTIVE expanded to the active ids."""
    cb = build_codebook(seed)
    active = [m["id"] for m in cb["mechanisms"] if m["status"] == "active" and m["kind"] == "mechanism"]
    return [{"from": s["from"], "to": s["to"],
             "ops": [{**op, "to": active if op["to"] == "SEVEN_ACTIVE" else op["to"]} for op in s["ops"]]}
            for s in seed.decisions["steps"]]


# --------------------------------------------------------------------------- writers
HISTORY_HEADER = """\
# Codebook migrations of the Sims et al. 2021 review (our reading; the seed gives no mapping).
# steps: oldest first; each step turns codebook version `from` into version `to`.
# ops: op is one of
#   rename  one code -> one code; units relabel automatically
#   merge   codes in `from` stop being separate codes; with one `to` units relabel automatically,
#           with several `to` (findings spread over them) each unit needs review
#   split   one code -> several; each unit needs review to pick the successor(s)
#   retire  the code is dropped; units lose it (`to` is empty)
#   add     a new code with no predecessor (`from` is empty)
# Version "final" is codebook.yaml's version "1b" with the statuses of its codes (merged/no-evidence).
"""


def dump_yaml(data, header: str = "") -> str:
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def matrix_csv(seed: Seed) -> str:
    cols = matrix_columns(seed)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["paper"] + cols)
    for r in seed.matrix:
        w.writerow([r["paper"]] + [r[c] for c in cols])
    return buf.getvalue()


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def readme(seed: Seed, template: str, disc: dict, steps: list[dict]) -> str:
    """Fill the README template's {{placeholders}} with counts, mapping and discrepancies."""
    u = seed.units
    by = lambda f: Counter(f(x) for x in u).most_common()  # noqa: E731
    mech = Counter(m for x in u for m in x["mechanisms"]) + Counter("(none)" for x in u if not x["mechanisms"])
    fills = {
        "N_UNITS": str(len(u)), "N_GROUPS": str(len({x["group"] for x in u})),
        "BY_RULE": md_table(["rule", "units"], by(lambda x: x["rule"])),
        "BY_MECHANISM": md_table(["mechanism", "units"], sorted(mech.items(), key=lambda kv: (-kv[1], kv[0]))),
        "BY_ROLE": md_table(["role", "units"], by(lambda x: x["role"] or "null")),
        "BY_POLARITY": md_table(["polarity", "units"], by(lambda x: x["polarity"] or "null")),
        "MAPPING": md_table(["step", "op", "from", "to", "note"],
                            [[f"{s['from']}→{s['to']}", o["op"], ", ".join(o["from"]), ", ".join(o["to"]),
                              o.get("note", "")] for s in steps for o in s["ops"]]),
        "DISCREPANCIES": md_table(
            ["Table 2 column", "printed N", "ticks", "agrees", "cited in Results but no tick"],
            [[e["id"], e["printed_n"], e["tick_count"], e["agrees"],
              ", ".join(e.get("cited_in_results_without_tick", []))] for e in disc["mechanisms"]]),
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda m: fills[m.group(1)], template)


def write_all(seed: Seed, out: Path, template: Path) -> None:
    """Write every corpus file (UTF-8, '\\n' line ends) into ``out``."""
    disc, steps = discrepancies(seed), history_steps(seed)
    files = {
        "codebook.yaml": dump_yaml(build_codebook(seed), "# Derived by scripts/derive_sims2021.py from Sims et al. "
                                   "2021 (doi:10.5334/ijic.5936, CC BY 4.0). Do not edit by hand.\n"),
        "codebook_history.yaml": dump_yaml({"codebook": "sims2021", "steps": steps}, HISTORY_HEADER),
        "units.jsonl": "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in seed.units),
        "evidence_matrix.csv": matrix_csv(seed),
        "evidence_matrix_discrepancies.json": json.dumps(disc, ensure_ascii=False, indent=2) + "\n",
        "README.md": readme(seed, template.read_text(encoding="utf-8"), disc, steps),
    }
    for name, content in files.items():
        (out / name).write_text(content, encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Derive corpora/sims2021 from the Sims et al. 2021 seed text.")
    ap.add_argument("seed", nargs="?", type=Path, default=DEFAULT_SEED, help="seed text file")
    ap.add_argument("--out", type=Path, default=CORPUS, help="output folder (default corpora/sims2021)")
    ap.add_argument("--decisions", type=Path, default=CORPUS / "decisions.yaml")
    ap.add_argument("--template", type=Path, default=CORPUS / "README.template.md")
    args = ap.parse_args(argv)
    if not args.seed.is_file():
        ap.error(f"seed text not found: {args.seed}")
    seed = parse_seed(args.seed.read_text(encoding="utf-8"), args.decisions)
    args.out.mkdir(parents=True, exist_ok=True)
    write_all(seed, args.out, args.template)
    print(f"wrote {len(seed.units)} units, {len(seed.matrix)} matrix rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
