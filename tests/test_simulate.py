"""Simulated reviews: WSS and acceptance metrics, strategies, repeatability, resumable runs, CLI."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mechcode.cli import cli
from mechcode.codebook import load_codebook
from mechcode.errors import DataError
from mechcode.experiments import metrics
from mechcode.experiments.data import drop_definition_units, read_units
from mechcode.experiments.simulate import run_simulation
from mechcode.experiments.strategies import paper_rank, pick, seed_indices

CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "sims2021"
FAST = {"sparse": {"cal_folds": 1}}  # no out-of-fold calibration: fits in about a second


def small_corpus(folder: Path, every: int = 3) -> tuple[Path, Path]:
    """Every ``every``-th paragraph of sims2021 (definition units left out) as a JSONL file."""
    codebook = CORPUS / "codebook.yaml"
    rows, _ = drop_definition_units(read_units(CORPUS / "units.jsonl"), load_codebook(codebook))
    groups = list(dict.fromkeys(r["group"] for r in rows))
    keep = set(groups[::every])
    path = folder / "units.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows if r["group"] in keep), encoding="utf-8")
    return path, codebook


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    return small_corpus(tmp_path_factory.mktemp("corpus"))


def _sim(corpus, out, **kw):
    args = dict(backends=["sparse"], strategies=["uncertain"], seeds=[0], seed_labels=8, batch=8,
                retrain_every=8, params=FAST, plots=False, log=lambda m: None)
    args.update(kw)
    return run_simulation(corpus[0], corpus[1], out, **args)


def _no_time(steps):
    return [{k: v for k, v in s.items() if k != "train_seconds"} for s in steps]


# -- metrics on hand-made orders -----------------------------------------------------------------

def test_wss_of_a_perfect_order():
    # 100 units, the 10 relevant ones read first.
    # WSS@100: all 10 found after k = 10 units -> (100 - 10) / 100 - (1 - 1.00) = 0.90
    # WSS@95: ceil(0.95 * 10) = 10 needed, k = 10  -> (100 - 10) / 100 - 0.05     = 0.85
    order = [True] * 10 + [False] * 90
    assert metrics.wss(order, 1.0) == pytest.approx(0.90)
    assert metrics.wss(order, 0.95) == pytest.approx(0.85)
    assert metrics.wss_max(100, 10, 0.95) == pytest.approx(0.85)
    assert metrics.units_to_recall(order, 1.0) == 10


def test_wss_of_worst_and_evenly_spread_orders():
    worst = [False] * 90 + [True] * 10
    # the last relevant unit is the 100th: WSS@100 = 0/100 - 0 = 0; WSS@95 = 0/100 - 0.05 = -0.05
    assert metrics.wss(worst, 1.0) == pytest.approx(0.0)
    assert metrics.wss(worst, 0.95) == pytest.approx(-0.05)
    even = ([False] * 9 + [True]) * 10  # relevant at positions 10, 20, ..., 100
    # 50 % recall = 5 found at k = 50: (100 - 50) / 100 - 0.5 = 0 (what random reading gives)
    assert metrics.wss(even, 0.5) == pytest.approx(0.0)
    assert metrics.units_to_recall(even, 0.3) == 30


def test_wss_of_an_order_that_covers_part_of_the_units():
    # 100 units, 10 relevant; only 30 were read, all 10 relevant within the first 20.
    read = [False, True] * 10 + [False] * 10  # relevant at positions 2, 4, ..., 20
    assert metrics.wss(read, 1.0, n_total=100, n_relevant=10) == pytest.approx(0.80)  # (100-20)/100
    # with 12 relevant in the data, 100 % recall is never reached by what was read
    assert metrics.wss(read, 1.0, n_total=100, n_relevant=12) is None
    assert metrics.wss([False] * 5, 0.95) is None  # nothing relevant


def test_recall_curve_and_first_reaching():
    assert metrics.recall_curve([True, False, True, False]) == [0.5, 0.5, 1.0, 1.0]
    assert metrics.first_reaching([(10, None), (20, 0.4), (30, 0.61), (40, 0.7)], 0.6) == 30
    assert metrics.first_reaching([(10, 0.1)], 0.6) is None


def test_acceptance_exact_and_partial():
    sugg = {"mechanisms": ["trust", "vision"], "role": "outcome"}
    assert metrics.acceptance(sugg, ["vision", "trust"], "outcome") == (True, 1.0)
    # one of two mechanisms (Jaccard 1/2) and the right role -> (0.5 + 1) / 2
    assert metrics.acceptance({"mechanisms": ["trust"], "role": "outcome"}, ["vision", "trust"], "outcome") \
        == (False, 0.75)
    # unknown gold role: only the mechanisms count
    assert metrics.acceptance({"mechanisms": [], "role": "none"}, [], None) == (True, 1.0)
    assert metrics.acceptance({"mechanisms": [], "role": "none"}, [], "context") == (False, 0.5)


def test_spread():
    s = metrics.spread([1.0, 2.0, None, 3.0])
    assert (s["mean"], s["min"], s["max"], s["n"]) == (2.0, 1.0, 3.0, 3)
    assert s["std"] == pytest.approx(1.0)
    assert metrics.spread([None])["mean"] is None


# -- strategies ----------------------------------------------------------------------------------

def test_seed_labels_are_stratified_and_repeatable():
    rows = [{"mechanisms": ["a"] if i % 4 == 0 else []} for i in range(40)]
    seeds = seed_indices(rows, 8, seed=1)
    assert seeds == seed_indices(rows, 8, seed=1)
    assert len(set(seeds)) == 8
    assert sum(bool(rows[i]["mechanisms"]) for i in seeds) == 2  # 25 % evidence, like the data


def test_paper_order_keeps_documents_and_paragraphs_together():
    rows = [{"document": "B", "group": "b1"}, {"document": "A", "group": "a1"},
            {"document": "B", "group": "b2"}, {"document": "B", "group": "b1"}]
    rank = paper_rank(rows)
    order = sorted(range(4), key=lambda i: rank[i])
    assert order == [0, 3, 2, 1]  # B (first seen) paragraph b1, then b2, then document A
    assert pick("paper", [1, 2, 3], {}, 2, seed=0, rank=rank) == [3, 2]


def test_uncertain_and_coverage_picks():
    sugg = {0: {"mechanisms": {"a": 0.99, "b": 0.01}, "role": {"none": 1.0}},
            1: {"mechanisms": {"a": 0.5, "b": 0.01}, "role": {"none": 1.0}},
            2: {"mechanisms": {"a": 0.01, "b": 0.90}, "role": {"none": 1.0}},
            3: {"mechanisms": {"a": 0.02, "b": 0.01}, "role": {"none": 1.0}}}
    assert pick("uncertain", [0, 1, 2, 3], sugg, 1, seed=0) == [1]  # p = 0.5 is the least confident
    # b has no coded example yet: coverage gives the unit most likely to show b a slot
    assert 2 in pick("coverage", [0, 1, 2, 3], sugg, 3, seed=0, counts={"a": 9}, mechanisms=["a", "b"])
    assert pick("random", [0, 1, 2, 3], sugg, 2, seed=5) == pick("random", [0, 1, 2, 3], sugg, 2, seed=5)


# -- simulation ----------------------------------------------------------------------------------

def test_same_seed_gives_the_same_curve(corpus, tmp_path):
    a = _sim(corpus, tmp_path / "a", max_steps=2)[0]
    b = _sim(corpus, tmp_path / "b", max_steps=2)[0]
    sa = json.loads((tmp_path / "a" / "seed-0.json").read_text())
    sb = json.loads((tmp_path / "b" / "seed-0.json").read_text())
    assert sa["order"] == sb["order"] and _no_time(sa["steps"]) == _no_time(sb["steps"])
    assert [r["recall_mean"] for r in a["curve"]] == [r["recall_mean"] for r in b["curve"]]
    c = _sim(corpus, tmp_path / "c", max_steps=2, seeds=[1])
    sc = json.loads((tmp_path / "c" / "seed-1.json").read_text())
    assert sc["order"] != sa["order"]
    assert [r["n_coded"] for r in c[0]["curve"]] == [8, 16, 24]  # seed labels, then 2 steps of 8


def test_a_full_run_reads_every_unit_and_reports_wss(corpus, tmp_path):
    s = _sim(corpus, tmp_path / "full", strategies=["random"], batch=12, retrain_every=24)[0]
    state = json.loads((tmp_path / "full" / "seed-0.json").read_text())
    rows = read_units(corpus[0])
    assert state["finished"] and sorted(state["order"]) == sorted(r["id"] for r in rows)
    evidence = {r["id"]: bool(r["mechanisms"]) for r in rows}
    flags = [evidence[u] for u in state["order"]]
    assert s["wss@95"]["mean"] == pytest.approx(metrics.wss(flags, 0.95))
    assert s["wss@100"]["mean"] <= s["wss_max@100"]["mean"]
    assert s["curve"][-1]["recall_mean"] == 1.0
    assert s["accept_exact"]["mean"] is not None and 0 <= s["accept_exact"]["mean"] <= s["accept_partial"]["mean"]
    # retrained after every 24 coded units (plus the seed model), not after each batch of 12
    assert sum(st["retrained"] for st in state["steps"]) == len(state["train_seconds"])
    assert len(state["train_seconds"]) == 1 + (len(rows) - 8 - 1) // 24


def test_an_interrupted_run_resumes_to_the_same_result(corpus, tmp_path):
    ref = _sim(corpus, tmp_path / "ref", max_steps=4)[0]

    class Stop(Exception):
        pass

    def stop_after_two(step, state):
        if step == 2:
            raise Stop

    with pytest.raises(Stop):
        _sim(corpus, tmp_path / "cut", max_steps=4, on_step=stop_after_two)
    state = json.loads((tmp_path / "cut" / "seed-0.json").read_text())
    assert len(state["steps"]) == 3 and not state["finished"]  # steps 0, 1, 2 are on disk
    assert not (tmp_path / "cut" / "summary.json").exists()
    messages: list[str] = []
    again = _sim(corpus, tmp_path / "cut", max_steps=4, log=messages.append)[0]
    assert any("resumed after step 2" in m for m in messages)
    a = json.loads((tmp_path / "ref" / "seed-0.json").read_text())
    b = json.loads((tmp_path / "cut" / "seed-0.json").read_text())
    assert a["order"] == b["order"] and a["accept"] == b["accept"]
    assert _no_time(a["steps"]) == _no_time(b["steps"])
    assert [r["f1_mechanism_mean"] for r in ref["curve"]] == [r["f1_mechanism_mean"] for r in again["curve"]]
    messages.clear()
    _sim(corpus, tmp_path / "cut", max_steps=4, log=messages.append)
    assert any("already finished" in m for m in messages)


def test_a_checkpoint_of_another_run_is_refused_unless_fresh(corpus, tmp_path):
    _sim(corpus, tmp_path / "x", max_steps=1)
    with pytest.raises(DataError, match="different run"):
        _sim(corpus, tmp_path / "x", max_steps=1, batch=4)
    s = _sim(corpus, tmp_path / "x", max_steps=1, batch=4, fresh=True)[0]
    assert s["curve"][1]["n_coded"] == 12


def test_holdout_units_are_never_coded(corpus, tmp_path):
    s = _sim(corpus, tmp_path / "h", holdout=0.3, max_steps=2)[0]
    state = json.loads((tmp_path / "h" / "seed-0.json").read_text())
    assert state["holdout"] and not set(state["holdout"]) & set(state["order"])
    assert s["curve"][0]["holdout_f1_mechanism_mean"] is not None
    assert s["n_units"] + s["n_holdout"] == len(read_units(corpus[0]))
    # units to F1 come from the held-out F1, never from the optimistic pool F1
    per = s["per_seed"][0]["units_to_f1"]
    first = next((st["n_coded"] for st in state["steps"] if (st["holdout_f1_mechanism"] or 0) >= 0.5), None)
    assert per["mechanism@0.5"] == first
    assert _sim(corpus, tmp_path / "no-holdout", max_steps=1)[0]["units_to_f1"] == {}


def test_cli_simulate_two_strategies(corpus, tmp_path):
    out = tmp_path / "cli"
    args = ["simulate", "--data", str(corpus[0]), "--codebook", str(corpus[1]), "--backend", "sparse",
            "--strategy", "uncertain,random", "--seed-labels", "8", "--batch", "8", "--retrain-every", "8",
            "--output", str(out), "--seeds", "2", "--max-steps", "2", "--param", "cal_folds=1", "-q"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    top = json.loads((out / "summary.json").read_text())
    assert [r["strategy"] for r in top["runs"]] == ["uncertain", "random"]
    for strategy in ("uncertain", "random"):
        s = json.loads((out / strategy / "summary.json").read_text())
        assert {"strategy", "backend", "seeds", "wss@95", "wss@100", "units_to_f1", "curve"} <= set(s)
        assert s["seeds"] == [0, 1] and s["config"]["params"] == {"cal_folds": 1}
        assert {"n_coded", "recall_mean", "recall_std", "recall_min", "recall_max"} <= set(s["curve"][1])
        assert (out / strategy / "seed-1.json").is_file() and (out / strategy / "curve.csv").is_file()
    for png in ("recall.png", "f1.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "sparse/uncertain: WSS@95" in res.output


def test_cli_simulate_bad_input_is_one_clear_error(corpus, tmp_path):
    res = CliRunner().invoke(cli, ["simulate", "--data", str(corpus[0]), "--codebook", str(corpus[1]),
                                   "--strategy", "greedy", "--output", str(tmp_path / "o")])
    assert res.exit_code == 2 and "unknown strategy 'greedy'" in res.output
    res = CliRunner().invoke(cli, ["simulate", "--data", str(tmp_path / "none.jsonl"), "--codebook",
                                   str(corpus[1]), "--output", str(tmp_path / "o")])
    assert res.exit_code == 2 and "data file not found" in res.output


@pytest.mark.slow
def test_killed_process_leaves_a_resumable_checkpoint(corpus, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-c", "from mechcode.cli import main; main()", "simulate",
           "--data", str(corpus[0]), "--codebook", str(corpus[1]), "--seed-labels", "8", "--batch", "4",
           "--retrain-every", "4", "--output", str(out), "--seeds", "1", "--param", "cal_folds=1", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    ckpt = out / "seed-0.json"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if ckpt.exists() and len(json.loads(ckpt.read_text())["steps"]) >= 3:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    state = json.loads(ckpt.read_text())  # never half-written
    assert not state["finished"] and len(state["steps"]) >= 3
    res = CliRunner().invoke(cli, cmd[3:])
    assert res.exit_code == 0, res.output
    assert f"resumed after step {len(state['steps']) - 1}" in res.output
    final = json.loads(ckpt.read_text())
    assert final["finished"] and final["order"][: len(state["order"])] == state["order"]


# -- per-mechanism evidence finding (--target mechanism) ------------------------------------------

def test_order_metrics_on_a_ten_unit_example_by_hand():
    from mechcode.experiments.mechanism_target import order_metrics

    flags = [True, False, True, True, False, False, True, False, False, False]  # N = 10, R = 4
    m = order_metrics(flags, 10, 4)
    # 95 % of 4 -> all 4 needed, found at the 7th unit read: WSS@95 = (10 - 7) / 10 - 0.05
    assert m["wss@95"] == pytest.approx(0.25) and m["wss@100"] == pytest.approx(0.30)
    assert m["units_to_recall@95"] == 7
    # after 1, 2 and 5 units screened: 1/4, 1/4, 3/4 of the relevant units found
    assert (m["recall@10%"], m["recall@20%"], m["recall@50%"]) == (0.25, 0.25, 0.75)


def test_mechanism_target_finds_every_unit_of_a_mechanism(corpus):
    from mechcode.experiments.mechanism_target import run_one, target_mechanisms

    rows = read_units(corpus[0])
    cb = load_codebook(corpus[1])
    mechs = target_mechanisms(rows, cb)
    assert mechs and all(sum(m in r["mechanisms"] for r in rows) >= 2 for m in mechs)
    mech = mechs[0]
    run = run_one(rows, cb, mech, "sparse", FAST["sparse"], "max", seed=0, batch=5, retrain_every=5)
    relevant = {r["id"] for r in rows if mech in r["mechanisms"]}
    assert run["n_relevant"] == len(relevant) - 1 and run["n_units"] == len(rows) - 2
    # the two prior units are not in the order; the order ends once every relevant unit is found
    assert len(set(run["order"])) == len(run["order"]) and len(relevant - set(run["order"])) == 1
    assert run["order"][run["hits"][-1] - 1] in relevant and len(run["order"]) - run["hits"][-1] < 5
    flags = [u in relevant for u in run["order"]]
    assert run["wss@95"] == pytest.approx(metrics.wss(flags, 0.95, run["n_units"], run["n_relevant"]))
    # a different seed starts from other prior units but finds the same set
    other = run_one(rows, cb, mech, "sparse", FAST["sparse"], "random", seed=1, batch=5)
    assert len(relevant - set(other["order"])) == 1


def test_cli_simulate_target_mechanism(corpus, tmp_path):
    out = tmp_path / "mech"
    rows = read_units(corpus[0])
    counts = {}
    for r in rows:
        for m in r["mechanisms"]:
            counts[m] = counts.get(m, 0) + 1
    two = sorted(m for m, c in counts.items() if c >= 3)[:2]
    res = CliRunner().invoke(cli, ["simulate", "--target", "mechanism", "--data", str(corpus[0]), "--codebook",
                                   str(corpus[1]), "--mechanisms", ",".join(two), "--seeds", "2", "--batch", "10",
                                   "--param", "cal_folds=1", "--output", str(out), "-q"])
    assert res.exit_code == 0, res.output
    s = json.loads((out / "mechanism-summary.json").read_text())["runs"][0]
    assert s["strategy"] == "max" and list(s["per_mechanism"]) == two
    means = [s["per_mechanism"][m]["wss@95"]["mean"] for m in two]
    assert s["mean"]["wss@95"]["mean"] == pytest.approx(sum(means) / 2)
    assert s["per_mechanism"][two[0]]["wss@95"]["n"] == 2
    for m in two:
        assert (out / f"recall-{m}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(mean over mechanisms): WSS@95" in res.output
    res = CliRunner().invoke(cli, ["simulate", "--target", "mechanism", "--data", str(corpus[0]), "--codebook",
                                   str(corpus[1]), "--mechanisms", "no-such-code", "--output", str(out)])
    assert res.exit_code == 2 and "no-such-code" in res.output and "Traceback" not in res.output
