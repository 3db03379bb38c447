"""CMO configurations: the seven Boxes of the seed review rebuilt from their coded units."""
from __future__ import annotations

import json
import re

import pytest

from mechcode.codebook import load_codebook
from mechcode.synthesis.cmo import (NO_CONTEXT, NO_MECHANISM, NO_OUTCOME, assemble_chains, chain_structure,
                                    chains_to_jsonl, chains_to_markdown, coverage, format_chain)

BOX_RE = re.compile(r"^Box (\d+): CMO configuration for the \*?(presence|absence)\*? of the "
                    r"['‘](.+?)['’] mechanism \[(\d+)\]")
TAG_RE = re.compile(r"\((C|M\s*[+\-–]\s*,?\s*(?:Resource|Reasoning)|O\s*[+\-–])\)")


def _norm_tag(tag: str) -> str:
    tag = tag.replace("–", "-").replace(" ", "")
    m = re.match(r"M([+-]),?(Resource|Reasoning)", tag)
    return f"M{m.group(1)}, {m.group(2)}" if m else tag


def seed_boxes(seed_text: str) -> dict[int, dict]:
    """Box number -> configuration, mechanism name, reference and the chain's tag sequence,
    read from the seed's 'Box N:' headings and their '(C) → ...' chain lines."""
    boxes, current = {}, None
    for line in seed_text.splitlines():
        m = BOX_RE.match(line.strip())
        if m:
            current = int(m.group(1))
            boxes[current] = {"configuration": m.group(2), "name": m.group(3), "ref": int(m.group(4))}
        elif current is not None and "(C)" in line and "→" in line and "tags" not in boxes[current]:
            boxes[current]["tags"] = [_norm_tag(t) for t in TAG_RE.findall(line)]
    return boxes


def mechanism_for(name: str, codebook) -> str:
    """The codebook mechanism a Box title names (prefix of a name, else most shared words)."""
    def words(s: str) -> set[str]:
        return {w for w in re.findall(r"[a-z]+", s.lower()) if len(w) > 3}

    for m in codebook.mechanisms:
        if m.name.lower().startswith(name.lower()):
            return m.id
    scores = sorted(((len(words(name) & words(m.name)), m.id) for m in codebook.mechanisms), reverse=True)
    assert scores[0][0] > scores[1][0], f"box mechanism {name!r} matches no codebook name uniquely"
    return scores[0][1]


@pytest.fixture(scope="module")
def box_units(corpus_dir):
    rows = [json.loads(line) for line in (corpus_dir / "units.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    out = []
    for r in rows:
        if not r.get("box"):
            continue
        out.append({"id": r["id"], "text": r["text"], "role": r["role"], "polarity": r["polarity"],
                    "mechanisms": r["mechanisms"], "document_id": r["box_ref"], "paper": f"[{r['box_ref']}]",
                    # the boxes of one paper follow each other; within a box, the chain's text order
                    "order": r["box"] * 100_000 + r["start"], "paragraph": r["group"], "page": 1,
                    "box": r["box"], "position": r.get("position")})
    return out


def test_seed_boxes_rebuilt(seed_text, box_units, corpus_dir):
    boxes = seed_boxes(seed_text)
    assert sorted(boxes) == [1, 2, 3, 4, 5, 6, 7] and all("tags" in b for b in boxes.values())
    codebook = load_codebook(corpus_dir / "codebook.yaml")
    general = [m.id for m in codebook.mechanisms if m.kind == "general"]
    chains = assemble_chains(box_units, window=1, ignore=general)
    assert len(chains) == len(boxes)
    for n, box in boxes.items():
        ids = {u["id"] for u in box_units if u["box"] == n and u["role"] not in (None, "none")}
        chain = next(c for c in chains if set(c["unit_ids"]) & ids)
        assert set(chain["unit_ids"]) == ids, f"box {n}: chain mixes units of other boxes"
        assert chain_structure(chain) == box["tags"], f"box {n}"
        assert chain["mechanism"] == mechanism_for(box["name"], codebook), f"box {n}"
        assert chain["configuration"] == box["configuration"], f"box {n}"
        assert chain["document_id"] == box["ref"]
        # units keep their chain position order
        positions = [next(u["position"] for u in box_units if u["id"] == i) for i in chain["unit_ids"]]
        assert positions == sorted(positions)


def test_notation_matches_seed_tags(seed_text, box_units):
    boxes = seed_boxes(seed_text)
    chains = assemble_chains(box_units)
    for chain in chains:
        line = format_chain(chain)
        n = next(u["box"] for u in box_units if u["id"] == chain["unit_ids"][0])
        assert [_norm_tag(t) for t in TAG_RE.findall(line)] == boxes[n]["tags"]
        assert line.count(" → ") == 2
    md = chains_to_markdown(chains, {"inspiring-intent": "Inspiring intent to work together"})
    assert "presence of 'Inspiring intent to work together'" in md
    assert md.count("### Configuration") == len(chains)
    recs = [json.loads(x) for x in chains_to_jsonl(chains).splitlines()]
    assert [r["unit_ids"] for r in recs] == [c["unit_ids"] for c in chains]
    assert all(r["text"] == format_chain(c) for r, c in zip(recs, chains))


def _u(i, role, pol=None, mechs=("a",), par=0, doc=1):
    return {"id": i, "text": f"unit {i}.", "role": role, "polarity": pol, "mechanisms": list(mechs),
            "order": i * 10, "paragraph": par, "page": 1 + par // 3, "document_id": doc, "paper": "P"}


def test_rules_missing_parts_orphans_and_windows():
    units = [
        _u(1, "outcome", "+"),                       # outcome before any mechanism: dropped
        _u(2, "mechanism-resource", "+"),            # chain without context
        _u(3, "none", mechs=()),                     # not part of a configuration
        _u(4, "mechanism-reasoning", "-", par=1),
        _u(5, "context", par=5, mechs=("b",)),      # > window paragraphs later: new chain
        _u(6, "mechanism-resource", "+", par=5, mechs=("b",)),
        _u(7, "outcome", "-", par=5, mechs=("a",)),  # other mechanism: closes, dropped
        _u(8, "context", par=6),                     # context only: no chain
        _u(9, "mechanism-resource", "+", par=0, doc=2),  # other document
        _u(10, "outcome", "+", par=0, doc=2),
    ]
    chains = assemble_chains(units, window=1)
    assert [c["unit_ids"] for c in chains] == [[2, 4], [5, 6], [9, 10]]
    first = chains[0]
    assert first["configuration"] == "absence" and first["mechanism"] == "a"
    text = format_chain(first)
    assert text.startswith(NO_CONTEXT) and text.endswith(NO_OUTCOME)
    assert "(M+, Resource) and unit 4 (M-, Reasoning)" in text
    assert chains[1]["mechanism"] == "b" and chains[1]["outcomes"] == []
    assert chains[2]["document_id"] == 2 and chain_structure(chains[2]) == ["M+, Resource", "O+"]
    assert coverage(units, chains) == {"coded": 9, "complete": 6, "partial": 0, "none": 3, "no_role": 0}
    # what rules 4 and 5 leave out, kept as marked partial configurations after the complete ones
    full = assemble_chains(units, window=1, partial=True)
    assert [c["unit_ids"] for c in full] == [[2, 4], [5, 6], [1], [7], [8], [9, 10]]
    assert [c.get("partial") for c in full] == [None, None, "outcome-only", "outcome-only", "context-only", None]
    assert all(c["configuration"] == "partial" and not c["mechanism_parts"] for c in full[2:5])
    assert format_chain(full[4]) == f"unit 8 (C) → {NO_MECHANISM} → {NO_OUTCOME}"
    assert coverage(units, full) == {"coded": 9, "complete": 6, "partial": 3, "none": 0, "no_role": 0}
    assert "Partial configuration 3 (outcome-only" in chains_to_markdown(full)
    joined = assemble_chains([_u(1, "outcome", "+"), _u(2, "outcome", "-", par=1)], partial=True)
    assert [c["unit_ids"] for c in joined] == [[1, 2]]  # outcomes near each other: one partial
    # a wider window joins what a narrow one splits
    assert [c["unit_ids"] for c in assemble_chains(units[:2] + units[3:4], window=0)] == [[2], [4]]
    assert [c["unit_ids"] for c in assemble_chains(units[:2] + units[3:4], window=1)] == [[2, 4]]


def test_general_mechanisms_do_not_split_chains():
    units = [_u(1, "context", mechs=("general-contexts",)), _u(2, "mechanism-resource", "+"),
             _u(3, "outcome", "+", mechs=("general-outcomes",))]
    split = assemble_chains(units)
    joined = assemble_chains(units, ignore=["general-contexts", "general-outcomes"])
    assert [c["unit_ids"] for c in joined] == [[1, 2, 3]]
    assert [c["unit_ids"] for c in split] == [[2]]


def _box_documents(box_units):
    """One stored document per cited paper: one paragraph per Box chain, one sentence per coded part."""
    from mechcode.document import Document, Passage, Sentence

    docs: dict[int, list[list[dict]]] = {}
    for n in sorted({u["box"] for u in box_units}):
        parts = sorted((u for u in box_units if u["box"] == n and u["role"]), key=lambda u: u["position"])
        docs.setdefault(parts[0]["document_id"], []).append(parts)
    out = []
    for ref, paragraphs in docs.items():
        text, passages = "", []
        for i, parts in enumerate(paragraphs):
            block, sentences = "", []
            for u in parts:
                block += (" " if block else "")
                sentences.append(Sentence(len(block), len(block) + len(u["text"]), u["text"]))
                block += u["text"]
            passages.append(Passage(id=i, kind="paragraph", text=block, page=i + 1, bbox=(0, 0, 1, 1),
                                    start=len(text), end=len(text) + len(block), sentences=sentences))
            text += block + "\n\n"
        out.append((ref, Document(text=text, passages=passages, content_hash=f"ref-{ref}",
                                  file_name=f"ref{ref}.pdf", n_pages=len(paragraphs),
                                  metadata={"label": f"Ref {ref} (2010)"})))
    return out


def test_cmo_command_on_review_decisions(tmp_path, corpus_dir, seed_text, box_units):
    from click.testing import CliRunner

    from mechcode.cli import cli
    from mechcode.store.review import Review

    rv = Review.init(tmp_path / "r", corpus_dir / "codebook.yaml")
    by_text = {u["text"]: u for u in box_units if u["role"]}
    for ref, doc in _box_documents(box_units):
        doc_id, _ = rv.add_document(doc)
        for unit in rv.units(doc_id):
            src = by_text[unit["text"]]
            rv.add_decision(unit["id"], "sims", "correct", src["mechanisms"], src["role"], src["polarity"])
    res = CliRunner().invoke(cli, ["cmo", str(rv.path), "--format", "jsonl"])
    assert res.exit_code == 0, res.output
    chains = [json.loads(x) for x in res.stdout.splitlines()]
    partial = [c for c in chains if c["configuration"] == "partial"]
    chains = [c for c in chains if c["configuration"] != "partial"]
    n_units = sum(1 for u in box_units if u["role"] and u["role"] != "none")
    in_partial = sum(len(c["unit_ids"]) for c in partial)
    assert f"{len(chains)} configurations, {len(partial)} partial" in res.stderr
    assert f"{n_units - sum(len(c['unit_ids']) for c in chains) - in_partial} of {n_units} coded units" in res.stderr
    boxes = seed_boxes(seed_text)
    assert sorted(tuple(chain_structure(c)) for c in chains) == sorted(tuple(b["tags"]) for b in boxes.values())
    assert {c["paper"] for c in chains} == {f"Ref {b['ref']} (2010)" for b in boxes.values()}
    ref38 = [c for c in chains if c["paper"] == "Ref 38 (2010)"]
    assert [c["pages"] for c in ref38] == [[1], [2], [3]]
    res = CliRunner().invoke(cli, ["cmo", str(rv.path), "--paper", "Ref 35 (2010)"])
    assert res.exit_code == 0 and res.stdout.count("### Configuration") == 1
    assert "(M+, Resource) and staff are reassured by this (M+, Reasoning) →" in res.stdout
    res = CliRunner().invoke(cli, ["cmo", str(rv.path), "--paper", "nobody"])
    assert res.exit_code == 2 and "unknown paper" in res.output
