"""The CMO role primer (corpora/cmo-primer): schema, size, balance, no duplicates, README in sync."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections import Counter
from itertools import combinations

import pytest

from conftest import PDF_DIR, ROOT, SEED
from mechcode.codebook import ROLE_IDS

PRIMER_DIR = ROOT / "corpora" / "cmo-primer"
PRIMER = PRIMER_DIR / "primer.jsonl"
SCRIPT = ROOT / "scripts" / "primer_stats.py"
ROLES = ("context", "mechanism-resource", "mechanism-reasoning", "outcome")
ROLE_WORDS = re.compile(r"\b(context|contexts|mechanisms?|outcomes?|resources?|reasoning)\b", re.I)


def _stats():
    spec = importlib.util.spec_from_file_location("primer_stats", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


stats = _stats()


@pytest.fixture(scope="module")
def rows():
    recs, errors = stats.load(PRIMER)
    assert errors == []
    return recs


def test_schema_and_uniqueness(rows):
    assert stats.validate(rows) == []
    assert set(stats.ROLES) == set(ROLE_IDS) - {"none"}  # the primer covers the codebook's C/M/O roles
    for r in rows:
        assert (r["polarity"] is None) == (r["role"] == "context"), r["id"]


def test_size_domains_and_role_balance(rows):
    assert len(rows) >= 300
    by_domain = Counter(r["domain"] for r in rows)
    assert len(by_domain) >= 10
    assert min(by_domain.values()) >= 24, by_domain
    roles = Counter(r["role"] for r in rows)
    for role in ROLES:
        assert roles[role] / len(rows) >= 0.15, (role, roles)
    for domain in by_domain:
        in_domain = Counter(r["role"] for r in rows if r["domain"] == domain)
        assert set(in_domain) == set(ROLES), domain
        assert min(in_domain.values()) >= 0.15 * by_domain[domain], (domain, in_domain)


def test_both_polarities_well_represented(rows):
    for role in ROLES[1:]:
        pols = Counter(r["polarity"] for r in rows if r["role"] == role)
        assert min(pols["+"], pols["-"]) >= 0.3 * sum(pols.values()), (role, pols)


def test_hard_cases_flagged_in_every_domain(rows):
    hard = Counter(r["domain"] for r in rows if r["hard"])
    assert set(hard) == {r["domain"] for r in rows}
    assert {r["role"] for r in rows if r["hard"]} == set(ROLES)


def test_no_near_duplicates(rows):
    keys = [stats.normalize(r["text"]) for r in rows]
    assert len(set(keys)) == len(keys)
    words = [(r["id"], set(k.split())) for r, k in zip(rows, keys)]
    close = [(a, b) for (a, wa), (b, wb) in combinations(words, 2)
             if len(wa & wb) / len(wa | wb) >= 0.6]
    assert close == []


def test_role_is_not_given_away_by_keywords_or_openings(rows):
    """The role must come from what a statement says, not from a tell-tale word or first word."""
    with_words = [r for r in rows if ROLE_WORDS.search(r["text"])]
    assert len(with_words) <= 0.05 * len(rows), [r["id"] for r in with_words]
    by_role = Counter(r["role"] for r in with_words)  # where they occur, spread over the roles
    assert len(by_role) == len(ROLES) and max(by_role.values()) <= 0.5 * len(with_words), by_role
    for role in ROLES:
        texts = [r["text"] for r in rows if r["role"] == role]
        first = Counter(t.split()[0].lower() for t in texts)
        word, n = first.most_common(1)[0]
        assert n <= 0.25 * len(texts), (role, word, n)
        two = Counter(" ".join(t.split()[:2]).lower() for t in texts)
        assert two.most_common(1)[0][1] <= 0.08 * len(texts), (role, two.most_common(3))


def test_each_statement_is_one_sentence(rows):
    from mechcode.segment import split_sentences
    multi = [r["id"] for r in rows if len(split_sentences(r["text"])) != 1]
    assert multi == []


def test_readme_table_matches_file(rows):
    table = stats.readme_table(PRIMER_DIR / "README.md")
    assert table == stats.count_table(rows)
    total = re.search(r"^\| \*\*all\*\* \|.*\| (\d+) \| \d+ \|$", table, re.M)
    assert total and int(total.group(1)) == len(rows)


def test_cli_prints_table_and_rejects_bad_files(tmp_path, rows):
    ok = subprocess.run([sys.executable, str(SCRIPT), str(PRIMER), "--check"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == stats.count_table(rows)
    bad = tmp_path / "primer.jsonl"
    first = dict(rows[0])
    dup = dict(first, id=first["id"][:-3] + "999", text=first["text"].upper())
    ctx = dict(rows[0], id=first["id"][:-3] + "998", text="A unique sentence.", polarity="+")
    bad.write_text("\n".join(json.dumps(r) for r in (first, dup, ctx)) + "\n{oops\n")
    res = subprocess.run([sys.executable, str(SCRIPT), str(bad)], capture_output=True, text=True)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    errs = res.stderr.splitlines()
    assert all(e.startswith("error: ") for e in errs)
    assert any("not JSON" in e for e in errs)
    assert any("after normalisation" in e for e in errs)
    assert any("polarity null" in e for e in errs)
    missing = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "nope.jsonl")],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and missing.stderr.startswith("error: no such file")


def test_lodo_holds_out_each_domain(tmp_path, rows, monkeypatch):
    """primer_lodo: one fold per domain, the held-out domain never in training; bad input -> error line."""
    spec = importlib.util.spec_from_file_location("primer_lodo", ROOT / "scripts" / "primer_lodo.py")
    lodo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lodo)
    from mechcode.codebook import load_codebook
    from mechcode.models.evaluation import evaluate

    units = lodo.primer_units(PRIMER)
    assert [u.group for u in units] == [r["domain"] for r in rows]
    seen = []
    real = evaluate.cross_val_predict

    def spy(units_, codebook, backend, params, folds, progress=False):
        for tr, te in folds:
            test_domains = {units_[i].group for i in te}
            assert len(test_domains) == 1 and not test_domains & {units_[i].group for i in tr}
            seen.append(test_domains.pop())
        return real(units_, codebook, backend, params, folds, progress)

    monkeypatch.setattr(evaluate, "cross_val_predict", spy)
    codebook = load_codebook(ROOT / "corpora" / "sims2021" / "codebook.yaml")
    res = lodo.lodo(units, codebook, "majority", {}, lodo.hard_ids(PRIMER))
    domains = list(dict.fromkeys(r["domain"] for r in rows))
    assert seen == domains and [k for k in res if k in domains] == domains
    assert set(res) == set(domains) | {"mean", "pooled", "role_accuracy"}
    assert res["role_accuracy"]["hard"] is not None and res["role_accuracy"]["not_hard"] is not None
    assert res["mean"]["role"] <= 0.15  # a one-class guess on balanced roles: about 0.10
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "primer_lodo.py"), str(tmp_path / "x.jsonl"),
                          "--backends", "majority"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.returncode == 1 and out.stderr.startswith("error: ") and "Traceback" not in out.stderr


def _shingles(text: str, n: int = 7) -> set[str]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_no_seven_word_run_from_the_papers_we_hold(rows):
    """Written, not copied: no 7-word run of a statement appears in the seed review (in the bundled
    units and, where present, the shared seed text and the shared papers' reference texts)."""
    sources = [(ROOT / "corpora" / "sims2021" / "units.jsonl").read_text(encoding="utf-8")]
    shared = [SEED, *sorted(PDF_DIR.glob("*.truth.txt"))]
    sources += [p.read_text(encoding="utf-8") for p in shared if p.exists()]
    seen = set().union(*(_shingles(t) for t in sources))
    copied = [(r["id"], s) for r in rows for s in _shingles(r["text"]) if s in seen]
    assert copied == []
