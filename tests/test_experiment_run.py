"""Experiment files: validation, ``experiment run`` tracked in MLflow, results tables, RESULTS.md."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mechcode.cli import cli
from mechcode.errors import DataError
from mechcode.experiments.report import spread_of, write_results_md
from mechcode.experiments.runner import load_experiment, run_experiment
from mechcode.experiments.summary import fmt_spread
from test_simulate import small_corpus

ROOT = Path(__file__).resolve().parents[1]

CONFIGS = {
    "sim": """
kind = "simulate"
description = "Strategies on a small slice of sims2021."
data = "data/units.jsonl"
codebook = "{codebook}"
backends = ["sparse"]
seeds = 2
[params.sparse]
cal_folds = 1
[simulate]
strategies = ["uncertain", "random"]
seed_labels = 8
batch = 8
retrain_every = 8
max_steps = 2
""",
    "cv": """
kind = "cv"
data = "data/units.jsonl"
codebook = "{codebook}"
backends = ["sparse", "majority"]
seeds = [0]
[params.sparse]
cal_folds = 1
[cv]
folds = 3
""",
    "lc": """
kind = "learning-curve"
data = "data/units.jsonl"
codebook = "{codebook}"
backends = ["sparse"]
seeds = 1
[params.sparse]
cal_folds = 1
[learning-curve]
sizes = [10, 20]
test_size = 0.3
""",
}


@pytest.fixture(scope="module")
def expdir(tmp_path_factory) -> Path:
    """An experiments folder with three small configs, all run once (the sim one via the CLI)."""
    d = tmp_path_factory.mktemp("experiments")
    (d / "data").mkdir()
    _, codebook = small_corpus(d / "data")
    for name, text in CONFIGS.items():
        (d / f"{name}.toml").write_text(text.format(codebook=codebook.as_posix()), encoding="utf-8")
    res = CliRunner().invoke(cli, ["experiment", "run", str(d / "sim.toml"), "--no-report", "-q"])
    assert res.exit_code == 0, res.output
    for name in ("cv", "lc"):
        run_experiment(d / f"{name}.toml", log=lambda m: None)
    return d


def _client(d: Path):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=f"sqlite:///{d / 'mlflow.db'}")


def _runs(d: Path, name: str):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{d / 'mlflow.db'}")
    exp = mlflow.get_experiment_by_name(f"experiment:{name}")
    return mlflow.search_runs(experiment_ids=[exp.experiment_id], output_format="list")


def test_bad_experiment_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    for text, msg in [('kind = "cv"\ndata = "x"\ncodebook = "y"\nbackend = ["sparse"]\n', "unknown key"),
                      ('kind = "grid"\ndata = "x"\ncodebook = "y"\n', "kind must be one of"),
                      ('kind = "cv"\ncodebook = "y"\n', "'data'"),
                      ('kind = "cv"\ndata = "x"\ncodebook = "y"\n[cv]\nfold = 3\n', "unknown [cv] option"),
                      ('kind = cv\n', "not valid TOML")]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(DataError, match=msg.replace("[", r"\[")):
            load_experiment(bad)
    bad.write_text('kind = "cv"\ndata = "missing.jsonl"\ncodebook = "y"\n', encoding="utf-8")
    res = CliRunner().invoke(cli, ["experiment", "run", str(bad)])
    assert res.exit_code == 2 and "file not found" in res.output


def test_simulation_run_is_tracked_with_params_step_metrics_and_artifacts(expdir):
    runs = _runs(expdir, "sim")
    assert sorted(r.data.tags["mechcode.strategy"] for r in runs) == ["random", "uncertain"]
    client = _client(expdir)
    for r in runs:
        assert r.data.params["backend"] == "sparse" and r.data.params["batch"] == "8"
        assert r.data.tags["mechcode.kind"] == "simulate"
        assert 0 <= r.data.metrics["accept_exact.mean"] <= 1
        hist = client.get_metric_history(r.info.run_id, "curve.recall.mean")
        assert [m.step for m in hist] == [8, 16, 24]  # step = units coded
        assert [m.value for m in hist] == sorted(m.value for m in hist)  # recall never falls
        names = {a.path for a in client.list_artifacts(r.info.run_id)}
        assert {"summary.json", "curve.csv", "recall.png", "f1.png"} <= names
        folder = expdir / "results" / "sim" / r.data.tags["mechcode.strategy"]
        summary = json.loads((folder / "summary.json").read_text())
        assert r.data.metrics["accept_exact.mean"] == pytest.approx(summary["accept_exact"]["mean"])


def test_results_table_is_written_next_to_the_config(expdir):
    md = (expdir / "results" / "sim.md").read_text()
    assert "| sparse | uncertain |" in md and "| sparse | random |" in md
    rows = list(csv.DictReader(open(expdir / "results" / "sim.csv", encoding="utf-8")))
    assert [r["strategy"] for r in rows] == ["uncertain", "random"]
    summary = json.loads((expdir / "results" / "sim" / "random" / "summary.json").read_text())
    assert float(rows[1]["accept_partial.mean"]) == pytest.approx(summary["accept_partial"]["mean"])
    cv = list(csv.DictReader(open(expdir / "results" / "cv.csv", encoding="utf-8")))
    assert [r["backend"] for r in cv] == ["sparse", "majority"]
    lc = list(csv.DictReader(open(expdir / "results" / "lc.csv", encoding="utf-8")))
    assert [int(r["train_units"]) for r in lc][:2] == [10, 20]


def test_cv_and_learning_curve_runs_are_tracked(expdir):
    cv = {r.data.tags["mechcode.backend"]: r for r in _runs(expdir, "cv")}
    assert set(cv) == {"sparse", "majority"}
    assert cv["sparse"].data.params["folds"] == "3"
    hist = _client(expdir).get_metric_history(cv["sparse"].info.run_id, "fold_mechanism_macro_f1")
    assert sorted(m.step for m in hist) == [0, 1, 2]
    (lc,) = _runs(expdir, "lc")
    hist = _client(expdir).get_metric_history(lc.info.run_id, "mechanism_macro_f1.mean")
    assert [m.step for m in sorted(hist, key=lambda m: m.step)][:2] == [10, 20]
    assert (expdir / "results" / "lc" / "learning_curves.png").is_file()


def test_results_md_is_regenerated_from_the_tracked_runs(expdir):
    import shutil

    import mlflow

    shutil.rmtree(expdir / "results" / "sim")  # the report must not need the files of the run
    mlflow.set_tracking_uri((expdir / "elsewhere").as_uri())  # nor a tracking URI set by someone else
    res = CliRunner().invoke(cli, ["experiment", "report", "--dir", str(expdir)])
    assert res.exit_code == 0, res.output
    text = (expdir / "RESULTS.md").read_text()
    for section in ("## cv (cv)", "## lc (learning-curve)", "## sim (simulate)"):
        assert section in text
    assert "Strategies on a small slice of sims2021." in text  # the config's description
    run = next(r for r in _runs(expdir, "sim") if r.data.tags["mechcode.strategy"] == "random")
    cell = fmt_spread(spread_of(run.data.metrics, "accept_exact"), 2)
    assert f"| sparse | random |" in text and cell in text
    assert "WSS@95 ≥ 0.60" in text and "uncertain" in text
    # a second invocation of one experiment replaces its section (latest batch only)
    before = text.count("| sparse | random |")
    run_experiment(expdir / "sim.toml", log=lambda m: None)
    write_results_md(expdir)
    assert (expdir / "RESULTS.md").read_text().count("| sparse | random |") == before


def test_report_without_a_store_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(cli, ["experiment", "report", "--dir", str(tmp_path)])
    assert res.exit_code == 2 and "no MLflow store" in res.output


def test_mechanism_target_experiment_is_tracked_and_tabled(tmp_path):
    d = tmp_path
    (d / "data").mkdir()
    _, codebook = small_corpus(d / "data")
    (d / "mt.toml").write_text(f"""
kind = "mechanism-target"
data = "data/units.jsonl"
codebook = "{codebook.as_posix()}"
backends = ["sparse"]
seeds = 2
[params.sparse]
cal_folds = 1
[mechanism-target]
strategies = ["max"]
batch = 10
""", encoding="utf-8")
    out = run_experiment(d / "mt.toml", log=lambda m: None)
    summary = json.loads((d / "results" / "mt" / "mechanism-summary.json").read_text())["runs"][0]
    rec = out["records"][0]
    assert rec["strategy"] == "max" and rec["metrics"]["wss@95"]["mean"] == summary["mean"]["wss@95"]["mean"]
    assert set(rec["metrics"]["per_mechanism"]) == set(summary["per_mechanism"])
    assert "| sparse | max |" in out["markdown"] and "Mean WSS@95" in out["markdown"]
    runs = _runs(d, "mt")
    assert runs[0].data.metrics["wss_95.mean"] == pytest.approx(summary["mean"]["wss@95"]["mean"])


@pytest.mark.parametrize("name", ["backend_comparison", "learning_curves", "loop_simulation", "mechanism_evidence"])
def test_shipped_experiment_files_are_valid(name):
    exp = load_experiment(ROOT / "experiments" / f"{name}.toml")
    assert exp.data.is_file() and exp.codebook.is_file()
    assert exp.description
