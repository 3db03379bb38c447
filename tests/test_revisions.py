"""Codebook revisions: ops, the stored mapping, derived codes, re-coding queue; the seed's own history."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mechcode.cli import cli
from mechcode.codebook import load_codebook, parse_codebook, version_codebook
from mechcode.document import Document, Passage, Sentence
from mechcode.errors import CodebookError, StoreError
from mechcode.store.revisions import load_history, next_version, plan_revision
from mechcode.store.review import Review

CODEBOOK = """\
name: Tiny review
version: "1"
mechanisms:
  - id: vision
    name: Shared vision
  - id: trust
    name: Trust
  - id: power
    name: Working with power
  - id: talk
    name: Communication
"""


def make_doc(paragraphs: list[list[str]], salt: str = "") -> Document:
    """A document with one paragraph passage per list of sentences."""
    text, passages = "", []
    for i, sentences in enumerate(paragraphs):
        body = " ".join(sentences)
        start = len(text) + (2 if text else 0)
        text += ("\n\n" if text else "") + body
        offsets, pos = [], 0
        for s in sentences:
            k = body.index(s, pos)
            offsets.append(Sentence(k, k + len(s), s))
            pos = k + len(s)
        passages.append(Passage(id=i, kind="paragraph", text=body, page=1, bbox=(0, 0, 1, 1), start=start,
                                end=start + len(body), section="Results", sentences=offsets))
    digest = hashlib.sha256((salt + text).encode()).hexdigest()
    return Document(text=text, passages=passages, content_hash=digest, file_name=f"{salt or 'p'}.pdf", n_pages=1)


@pytest.fixture
def rv(tmp_path) -> Review:
    (tmp_path / "cb.yaml").write_text(CODEBOOK, encoding="utf-8")
    rv = Review.init(tmp_path / "review", tmp_path / "cb.yaml")
    rv.add_document(make_doc([[f"Sentence {i} about leaders." for i in range(8)]]))
    return rv


def all_rows(rv: Review) -> list[tuple]:
    return [tuple(r) for r in rv.connect().execute("SELECT * FROM decisions ORDER BY id")]


# ----------------------------------------------------------------------------- single ops
def test_rename_merge_retire_derive_codes_without_touching_decisions(rv):
    u = [x["id"] for x in rv.units()]
    rv.add_decision(u[0], "ann", "correct", ["vision"], "context")
    rv.add_decision(u[1], "ann", "correct", ["trust", "talk"], "outcome", "+")
    rv.add_decision(u[2], "ann", "correct", ["power"], "mechanism-resource", "-")
    rv.add_decision(u[3], "ann", "reject")
    rv.register_model("m1", "sparse", rv.models_dir / "m1")
    before = all_rows(rv)

    res = rv.revise_codebook([{"op": "rename", "from": "vision", "to": "shared-vision", "name": "Vision"}])
    assert (res["version_from"], res["version_to"]) == ("1", "2")
    rv.revise_codebook([{"op": "merge", "from": ["trust", "power"], "to": ["relations"]}], version="3")
    rv.revise_codebook([{"op": "retire", "from": ["talk"], "note": "too general"}])

    assert all_rows(rv) == before  # append-only: nothing rewritten
    codes = rv.current_codes()
    assert codes[u[0]]["mechanisms"] == ["shared-vision"] and codes[u[0]]["recorded_mechanisms"] == ["vision"]
    assert codes[u[1]]["mechanisms"] == ["relations"] and codes[u[1]]["retired"] == ["talk"]
    assert codes[u[2]]["mechanisms"] == ["relations"] and codes[u[2]]["polarity"] == "-"
    assert codes[u[3]]["action"] == "reject" and codes[u[3]]["mechanisms"] == []
    # every old version still reads as it was
    assert rv.current_codes(version="1")[u[1]]["mechanisms"] == ["trust", "talk"]
    assert rv.current_codes(version="3")[u[1]]["mechanisms"] == ["relations", "talk"]
    cb = rv.codebook
    assert cb.version == "4" and cb.get("shared-vision").name == "Vision"
    assert cb.get("trust").status == "merged" and cb.get("trust").merged_into == ["relations"]
    assert cb.get("talk").status == "retired" and "talk" not in cb.mechanism_ids(suggestable_only=True)
    assert "vision" not in cb.mechanism_ids() and [h["version"] for h in cb.history] == ["1", "2", "3"]
    assert load_codebook(rv.codebook_path).fingerprint() == cb.fingerprint()  # the folder copy follows
    with pytest.raises(CodebookError, match="retired"):
        rv.add_decision(u[4], "ann", "correct", ["talk"])
    assert [c["op"] for c in rv.codebook_changes()] == ["rename", "merge", "retire"]
    assert rv.codebook_changes()[1]["mapping"] == {"trust": ["relations"], "power": ["relations"]}
    assert rv.latest_model()["stale"] and "1 -> 2" in rv.latest_model()["stale"]
    labelled = {x["id"]: x for x in rv.labelled_units()}
    assert labelled[u[1]]["mechanisms"] == ["relations"]  # the model trains on migrated labels


def test_split_sends_units_to_the_recode_queue_until_recoded(rv):
    u = [x["id"] for x in rv.units()]
    rv.add_decision(u[0], "ann", "correct", ["trust", "vision"], "outcome", "+")
    rv.add_decision(u[1], "bob", "correct", ["trust"], "context")
    rv.add_decision(u[2], "bob", "correct", ["power"], "context")
    res = rv.revise_codebook([{"op": "split", "from": "trust", "to": ["trust-in-leader", "trust-in-team"]}])
    assert res["recode"] == 2 and rv.codebook_changes()[0]["review"] is True
    queue = {q["unit_id"]: q for q in rv.recode_queue()}
    assert set(queue) == {u[0], u[1]}
    assert queue[u[0]]["pending"][0]["candidates"] == ["trust-in-leader", "trust-in-team"]
    assert queue[u[0]]["code"]["mechanisms"] == ["vision"]  # the certain part stays
    assert [q["unit_id"] for q in rv.recode_queue("bob")] == [u[1]]
    assert u[0] not in {x["id"] for x in rv.labelled_units()}  # not trained on until re-coded
    rv.add_decision(u[0], "ann", "correct", ["trust-in-team", "vision"], "outcome", "+")
    assert [q["unit_id"] for q in rv.recode_queue()] == [u[1]]
    assert rv.current_codes()[u[0]]["mechanisms"] == ["trust-in-team", "vision"]
    assert "trust" not in rv.codebook.mechanism_ids()
    assert rv.current_codes(version="1")[u[0]]["mechanisms"] == ["trust", "vision"]  # recorded at v2: not in v1


def test_merge_into_several_codes_needs_review_and_single_merge_does_not():
    cb = load_codebook_text(CODEBOOK)
    new, ops = plan_revision(cb, [{"op": "merge", "from": ["talk"], "to": ["trust", "power"]}], "2")
    assert ops[0]["review"] is True and new.get("talk").merged_into == ["trust", "power"]
    new, ops = plan_revision(cb, [{"op": "merge", "from": ["talk", "trust"], "to": ["trust"]}], "2")
    assert ops[0]["review"] is False and new.get("trust").status == "active"  # trust absorbs talk
    assert ops[0]["mapping"] == {"talk": ["trust"], "trust": ["trust"]}


def load_codebook_text(text: str):
    return parse_codebook(yaml.safe_load(text))


@pytest.mark.parametrize("op, match", [
    ({"op": "rename", "from": "nope", "to": "x"}, "unknown code 'nope'"),
    ({"op": "rename", "from": "trust", "to": "power"}, "already exists in v1; use merge"),
    ({"op": "split", "from": "trust", "to": ["a"]}, "split takes one code into two"),
    ({"op": "retire", "from": "trust", "to": ["a"]}, "no target"),
    ({"op": "add", "to": ["x"]}, "needs a name"),
    ({"op": "explode", "from": "trust"}, "unknown codebook operation"),
])
def test_bad_operations_change_nothing(rv, op, match):
    with pytest.raises(CodebookError, match=match):
        rv.revise_codebook([op])
    assert rv.codebook.version == "1" and rv.codebook_changes() == [] and len(rv.codebooks()) == 1


def test_a_code_changed_twice_in_one_step_and_retired_targets_are_refused(rv):
    with pytest.raises(CodebookError, match="changed twice"):
        rv.revise_codebook([{"op": "retire", "from": "talk"}, {"op": "rename", "from": "talk", "to": "x"}])
    rv.revise_codebook([{"op": "retire", "from": "talk"}])
    with pytest.raises(CodebookError, match="already retired"):
        rv.revise_codebook([{"op": "retire", "from": "talk"}])
    with pytest.raises(CodebookError, match="target 'talk' is retired"):
        rv.revise_codebook([{"op": "merge", "from": "trust", "to": "talk"}])
    with pytest.raises(StoreError, match="version '1' exists already"):
        rv.revise_codebook([{"op": "retire", "from": "trust"}], version="1")


def test_next_version():
    assert next_version("3") == "4" and next_version("v1.9") == "v1.10"
    assert next_version("1b") == "1b.1" and next_version("2", taken=["3"]) == "4"


def test_cli_codebook_commands(rv):
    run = CliRunner()
    u = rv.units()[0]["id"]
    rv.add_decision(u, "ann", "correct", ["trust"], "context")
    out = run.invoke(cli, ["codebook", "rename", str(rv.path), "vision", "shared-vision", "--note", "clearer"])
    assert out.exit_code == 0, out.output
    assert "v1 -> v2: rename vision -> shared-vision" in out.output
    out = run.invoke(cli, ["codebook", "split", str(rv.path), "trust", "--into", "trust-a,trust-b"])
    assert out.exit_code == 0 and "1 units wait in the re-coding queue" in out.output
    out = run.invoke(cli, ["codebook", "add", str(rv.path), "learning", "--name", "Learning"])
    assert out.exit_code == 0, out.output
    out = run.invoke(cli, ["codebook", "merge", str(rv.path), "nope", "--into", "power"])
    assert out.exit_code == 2 and out.output.startswith("error: merge: unknown code 'nope'")
    out = run.invoke(cli, ["codebook", "history", str(rv.path), "--format", "json"])
    hist = json.loads(out.output)
    assert [v["version"] for v in hist["versions"]] == ["1", "2", "3", "4"]
    assert [c["op"] for c in hist["changes"]] == ["rename", "split", "add"]
    out = run.invoke(cli, ["codebook", "show", str(rv.path), "--version", "1"])
    assert out.exit_code == 0 and "vision" in out.output and "v1" in out.output
    out = run.invoke(cli, ["codebook", "show", str(rv.path), "--format", "yaml"])
    assert yaml.safe_load(out.output)["version"] == "4"
    out = run.invoke(cli, ["codebook", "retire", str(rv.path), "nope"])
    assert out.exit_code == 2 and "unknown code 'nope'" in out.output


# ----------------------------------------------------------------------------- the seed's history
ALTERNATIVES_1A = {  # 1b id -> the 1a codes it came from (inverse of codebook_history.yaml step 1a -> 1b)
    "inspiring-intent": ["team-working", "advocacy"], "creating-conditions": ["shared-mission",
                                                                              "shared-responsibility"],
    "balancing-perspectives": ["balancing-needs", "advocacy"], "taking-wider-view": ["external-liaison"],
    "planning-coordinating": ["external-liaison"], "clarifying-complexity": ["providing-clarity"],
    "learning-development": ["learning-development-innovation"]}


def sims_review(tmp_path: Path, corpus: Path) -> tuple[Review, dict[str, int], list[dict]]:
    """A review with the Stage-1a codebook and the corpus units as documents (one per ~10 groups)."""
    cb1a = version_codebook(load_codebook(corpus / "codebook.yaml"), "1a")
    cb1a.dump(tmp_path / "cb1a.yaml")
    rv = Review.init(tmp_path / "sims", tmp_path / "cb1a.yaml")
    rows = [json.loads(line) for line in (corpus / "units.jsonl").read_text(encoding="utf-8").splitlines()]
    groups = list(dict.fromkeys(r["group"] for r in rows))
    ids: dict[str, int] = {}
    for d in range(0, len(groups), 10):
        chunk = [r for r in rows if r["group"] in groups[d:d + 10]]
        contexts = list(dict.fromkeys(r["context"] for r in chunk))
        paras = [[r["text"] for r in sorted((r for r in chunk if r["context"] == c), key=lambda r: r["start"])]
                 for c in contexts]
        doc_id, _ = rv.add_document(make_doc(paras, salt=f"sims-{d}"))
        stored = rv.units(doc_id)
        assert [u["text"] for u in stored] == [t for para in paras for t in para]
        texts = [r for c in contexts for r in sorted((r for r in chunk if r["context"] == c),
                                                    key=lambda r: r["start"])]
        ids.update({r["id"]: u["id"] for r, u in zip(texts, stored)})
    return rv, ids, rows


def codes_1a(row: dict, i: int) -> list[str]:
    """1a codes for a corpus unit: its 1b labels mapped backwards (alternating between several
    sources), plus the two retired 1a codes on units that mention trust or communication."""
    out = [ALTERNATIVES_1A[m][i % len(ALTERNATIVES_1A[m])] for m in row["mechanisms"] if m in ALTERNATIVES_1A]
    text = row["text"].lower()
    if row["mechanisms"] and "trust" in text:
        out.append("supportive-relationships")
    if row["mechanisms"] and "communicat" in text:
        out.append("communication")
    return list(dict.fromkeys(out))


def units_by_code(codes: dict[int, dict]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = defaultdict(set)
    for uid, c in codes.items():
        for m in c["mechanisms"]:
            out[m].add(uid)
    return out


def check_step(rv: Review, before: dict[int, dict], after: dict[int, dict], step: dict) -> None:
    """No decision lost: every coded unit still coded, and for every code, the units before it
    equal the units after summed over the mapping (relabelled, queued for re-coding, or retired)."""
    assert set(after) == set(before)
    old, new = units_by_code(before), units_by_code(after)
    mapping = {s: o for o in step["ops"] for s in o["from"]}
    expected: dict[str, set[int]] = defaultdict(set)
    for code, units in old.items():
        o = mapping.get(code)
        if o is None:
            expected[code] |= units
        elif o["op"] == "retire":
            assert all(code in after[u]["retired"] for u in units), code
        elif o["op"] == "split" or len(o["to"]) > 1:
            for u in units:
                pend = [p for p in after[u]["pending"] if p["from"] == code]
                assert pend and pend[0]["candidates"], (code, u)
        else:
            expected[o["to"][0]] |= units
    assert {k: v for k, v in new.items()} == {k: v for k, v in expected.items() if v}
    queued = {q["unit_id"] for q in rv.recode_queue()}
    assert queued == {u for u, c in after.items() if c["pending"]}


def test_seed_codebook_history_replays_without_losing_a_decision(tmp_path, corpus_dir):
    rv, ids, rows = sims_review(tmp_path, corpus_dir)
    definitions = load_codebook(corpus_dir / "codebook.yaml")
    steps = load_history(corpus_dir / "codebook_history.yaml")
    assert [(s["from"], s["to"]) for s in steps] == [("1a", "1b"), ("1b", "final")]
    coded = 0
    for i, r in enumerate(rows):
        mechs = codes_1a(r, i)
        if mechs:
            rv.add_decision(ids[r["id"]], ("ann", "bob")[i % 2], "correct", mechs, r["role"], r["polarity"])
            coded += 1
        elif r["role"] == "none" and i % 3 == 0:
            rv.add_decision(ids[r["id"]], "ann", "reject")
    rv.register_model("m-1a", "sparse", rv.models_dir / "m-1a")
    assert coded > 100
    at_1a = rv.current_codes()
    rows_before = all_rows(rv)

    rv.revise_codebook(steps[0]["ops"], version="1b", definitions=definitions)
    at_1b = rv.current_codes()
    check_step(rv, at_1a, at_1b, steps[0])
    cb1b = rv.codebook
    assert sorted(cb1b.mechanism_ids()) == sorted(
        {m.id for m in cb1b.mechanisms if m.status == "active"} | {"supportive-relationships", "communication",
                                                                  "shared-mission", "shared-responsibility"})
    assert len([m for m in cb1b.mechanisms if m.status == "active"]) == 10  # Table 1: ten mechanisms
    assert cb1b.get("working-with-power").description == definitions.get("working-with-power").description
    split_units = {u for u, c in at_1a.items() if {"advocacy", "external-liaison"} & set(c["mechanisms"])}
    assert split_units and {q["unit_id"] for q in rv.recode_queue()} == split_units

    # Stage 1b coding: re-code a few split units, code new 1b mechanisms on uncoded units
    recode = sorted(split_units)[:3]
    for uid in recode:
        rv.add_decision(uid, "ann", "correct", ["taking-wider-view"], "context")
    fresh = [ids[r["id"]] for r in rows if ids[r["id"]] not in at_1b][:6]
    for uid, m in zip(fresh, ["working-with-power", "fostering-resilience", "planning-coordinating",
                              "adaptability-style", "working-with-power", "fostering-resilience"]):
        rv.add_decision(uid, "bob", "correct", [m], "mechanism-resource", "+")
    assert not set(recode) & {q["unit_id"] for q in rv.recode_queue()}
    at_1b = rv.current_codes()

    rv.revise_codebook(steps[1]["ops"], version="final", definitions=definitions)
    final = rv.current_codes()
    check_step(rv, at_1b, final, steps[1])
    cb = rv.codebook
    active = [m.id for m in cb.mechanisms if m.status == "active"]
    assert sorted(active) == sorted(["inspiring-intent", "taking-wider-view", "creating-conditions",
                                     "clarifying-complexity", "balancing-perspectives", "working-with-power",
                                     "learning-development"])
    for gone in ("fostering-resilience", "supportive-relationships", "communication"):
        assert cb.get(gone).status == "retired" and gone not in cb.mechanism_ids(suggestable_only=True)
    assert sorted(cb.get("planning-coordinating").merged_into) == sorted(active)

    # no decision lost or changed; every version stays readable as it was
    assert all_rows(rv)[:len(rows_before)] == rows_before
    assert len(all_rows(rv)) == len(rows_before) + len(recode) + len(fresh)
    assert rv.current_codes(version="1a") == at_1a
    assert {u: c["mechanisms"] for u, c in rv.current_codes(version="1b").items()} == \
        {u: c["mechanisms"] for u, c in at_1b.items()}
    # training uses final-version labels only, and leaves the re-coding queue out
    train = rv.labelled_units()
    queued = {q["unit_id"] for q in rv.recode_queue()}
    assert {t["id"] for t in train} == set(final) - queued
    assert {m for t in train for m in t["mechanisms"]} <= set(active)
    assert rv.latest_model()["stale"]
    assert [(c["version_from"], c["version_to"]) for c in rv.codebook_changes()][-3:] == [("1b", "final")] * 3


def test_cli_apply_replays_the_history_file(tmp_path, corpus_dir):
    cb1a = version_codebook(load_codebook(corpus_dir / "codebook.yaml"), "1a")
    cb1a.dump(tmp_path / "cb1a.yaml")
    Review.init(tmp_path / "r", tmp_path / "cb1a.yaml")
    out = CliRunner().invoke(cli, ["codebook", "apply", str(tmp_path / "r"),
                                   str(corpus_dir / "codebook_history.yaml"),
                                   "--definitions", str(corpus_dir / "codebook.yaml")])
    assert out.exit_code == 0, out.output
    steps = load_history(corpus_dir / "codebook_history.yaml")
    assert f"v1a -> v1b: {len(steps[0]['ops'])} changes" in out.output
    assert f"v1b -> vfinal: {len(steps[1]['ops'])} changes" in out.output
    assert len(Review.open(tmp_path / "r").codebook_changes()) == sum(len(s["ops"]) for s in steps)
    again = CliRunner().invoke(cli, ["codebook", "apply", str(tmp_path / "r"),
                                     str(corpus_dir / "codebook_history.yaml")])
    assert again.exit_code == 2 and "does not start from the review's current codebook vfinal" in again.output
