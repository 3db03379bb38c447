"""The model commands end to end: train, predict (JSONL contract), evaluate, suggest, tracking."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import _model_data as md
from mechcode.cli import cli
from mechcode.document import Document, Passage, Sentence


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    data, cb = md.write(d)
    model = d / "model"
    r = run("train", "--data", data, "--codebook", cb, "--backend", "sparse", "--out", model, "--no-track", "-q")
    assert r.exit_code == 0, r.output
    return {"dir": d, "data": data, "codebook": cb, "model": model}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_train_writes_card(files):
    card = json.loads((files["model"] / "model.json").read_text())
    assert card["backend"] == "sparse" and card["n_units"] == 60
    assert card["codebook"] == {**card["codebook"], "name": "Tiny leadership review", "version": "1"}
    assert set(card["metrics"]) == {"holdout", "training"}
    assert card["metrics"]["holdout"]["n_test"] > 0
    assert card["hyperparameters"]["C"] > 0 and card["created"] and card["data_hash"]
    assert not (files["dir"] / "experiments").exists()  # --no-track touches no tracking store


def test_predict_end_to_end(files, tmp_path):
    inp = _write(tmp_path / "in.jsonl", [
        json.dumps({"id": "s1", "text": "The leader built mutual trust with partners."}),
        "",
        json.dumps({"id": 7, "text": "We searched four databases.", "context": "We searched four databases."})])
    out = tmp_path / "out.jsonl"
    r = run("predict", "--model", files["model"], "--input", inp, "--output", out, "-q")
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["s1", "7"]
    for row in rows:
        assert set(row) >= {"id", "mechanisms", "role", "polarity", "rationale"}
        assert set(row["role"]) == {"context", "mechanism-resource", "mechanism-reasoning", "outcome", "none"}
        assert set(row["polarity"]) == {"+", "-"}
    assert max(rows[0]["mechanisms"], key=rows[0]["mechanisms"].get) == "building-trust"


@pytest.mark.parametrize("bad, message", [
    ('{"id": "x", "text": "ok"', "line 3: invalid JSON"),
    ('{"id": "x"}', "line 3: missing 'text'"),
    ('{"id": "x", "text": 5}', "line 3: 'text' must be a non-empty string"),
    ('{"id": "x", "text": "ok", "context": ["a"]}', "line 3: 'context' must be a string"),
    ('["id", "text"]', "line 3: expected a JSON object"),
    ('{"text": "ok"}', "line 3: missing 'id'"),
    ('{"id": "a", "text": "again"}', "line 3: duplicate id 'a' (first on line 1)"),
])
def test_predict_bad_line(files, tmp_path, bad, message):
    inp = _write(tmp_path / "in.jsonl", [json.dumps({"id": "a", "text": "fine"}),
                                         json.dumps({"id": "b", "text": "fine too"}), bad])
    out = tmp_path / "out.jsonl"
    r = run("predict", "--model", files["model"], "--input", inp, "--output", out, "-q")
    assert r.exit_code == 2
    assert message in r.output and r.output.startswith("error: ")
    assert not out.exists() and list(tmp_path.iterdir()) == [inp]  # no output, no temp file left


def test_predict_keeps_old_output_on_error(files, tmp_path):
    out = _write(tmp_path / "out.jsonl", ["previous"])
    inp = _write(tmp_path / "in.jsonl", ["{broken"])
    r = run("predict", "--model", files["model"], "--input", inp, "--output", out)
    assert r.exit_code == 2 and "line 1" in r.output
    assert out.read_text() == "previous\n"


def test_train_bad_data_line(files, tmp_path):
    bad = _write(tmp_path / "u.jsonl", [json.dumps({"id": 1, "text": "x", "mechanisms": ["nope"]})])
    r = run("train", "--data", bad, "--codebook", files["codebook"], "--out", tmp_path / "m", "--no-track")
    assert r.exit_code == 2 and "line 1: mechanism id(s) not in the codebook: nope" in r.output
    r = run("train", "--data", files["data"], "--codebook", files["codebook"], "--out", tmp_path / "m2",
            "--param", "C=x", "--no-track", "-q")
    assert r.exit_code == 2 and "parameter C='x' should be like 8.0" in r.output
    r = run("train", "--data", files["data"], "--codebook", files["codebook"], "--out", tmp_path / "m3",
            "--param", "gamma=1", "--no-track", "-q")
    assert r.exit_code == 2 and "unknown parameter(s) gamma" in r.output


def test_evaluate_report(files, tmp_path):
    out = tmp_path / "report.json"
    r = run("evaluate", "--data", files["data"], "--codebook", files["codebook"], "--backend", "sparse",
            "--protocol", "grouped-cv", "--folds", "3", "--output", out, "--zeroshot-encoder", "tfidf",
            "--no-track", "-q")
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text())
    for task in ("mechanism", "role"):
        assert isinstance(rep[task]["macro_f1"], float) and rep[task]["per_class"]
    assert isinstance(rep["polarity"]["macro_f1"], float)
    assert set(rep["ece"]) >= {"mechanism", "role"}
    assert set(rep["baselines"]) == {"majority", "zeroshot", "keyword"}
    assert "no mechanism" in rep["counting"]
    assert (tmp_path / "report_role_confusion.png").stat().st_size > 1000
    assert (tmp_path / "report_mechanism_confusion.png").exists()


def test_mlflow_ui_command():
    from mechcode.cli.model_cmds import mlflow_ui_command

    cmd = mlflow_ui_command("sqlite:////tmp/x/mlflow.db", 5055)
    assert cmd[1:] == ["-m", "mlflow", "ui", "--workers", "1", "--host", "127.0.0.1",
                       "--backend-store-uri", "sqlite:////tmp/x/mlflow.db", "--port", "5055"]
    r = run("mlflow-ui", "--review", "/nonexistent/review")
    assert r.exit_code == 2 and "no MLflow runs yet" in r.output


# ------------------------------------------------------------------------ review: suggest/train
def _document(paragraphs: list[list[str]]) -> Document:
    text, passages = "", []
    for i, sents in enumerate(paragraphs):
        body = " ".join(sents)
        if text:
            text += "\n\n"
        offs, pos = [], 0
        for s in sents:
            offs.append(Sentence(pos, pos + len(s), s))
            pos += len(s) + 1
        passages.append(Passage(id=i, kind="paragraph", text=body, page=1, bbox=(0, 0, 1, 1), start=len(text),
                                end=len(text) + len(body), section="Results", sentences=offs))
        text += body
    return Document(text=text, passages=passages, content_hash="tiny-doc-1", file_name="tiny.pdf", n_pages=1)


@pytest.fixture()
def review(files, tmp_path):
    from mechcode.store.review import Review

    rv = Review.init(tmp_path / "rv", files["codebook"])
    units = md.units()
    paras = [[u["text"] for u in units[i:i + 4]] for i in range(0, 24, 4)]
    rv.add_document(_document(paras))
    return rv


def test_suggest_default_then_trained_model(review, files):
    rv = review
    r = run("suggest", rv.path, "--no-track", "-q")  # no model yet: the default (codebook prior) is built
    assert r.exit_code == 0, r.output
    [zs] = rv.models()
    assert zs["backend"] == "sparse" and zs["card"]["n_units"] == 0
    assert zs["card"]["sources"]["decisions"] == 0 and zs["card"]["sources"]["codebook"] > 0
    sugg = rv.suggestions(zs["version"])
    assert len(sugg) == rv.count_units() == 24
    # accept a few decisions, train on them plus seed data, suggest with the new model
    truth = {u["text"]: u for u in md.units()}
    for unit in rv.units()[:8]:
        t = truth[unit["text"]]
        rv.add_decision(unit["id"], "ann", "accept", t["mechanisms"], t["role"], t["polarity"])
    r = run("train", rv.path, "--seed-data", files["data"], "--no-track", "--no-holdout", "-q")
    assert r.exit_code == 0, r.output
    trained = rv.latest_model()
    assert trained["backend"] == "sparse" and trained["card"]["n_units"] == 8 + 60
    assert trained["card"]["sources"]["decisions"] == 8
    assert trained["card"]["sources"][f"seed:{Path(files['data']).name}"] == 60
    assert Path(trained["path"]).parent == Path(rv.models_dir)
    # the seed file is a recorded training source: a later train without --seed-data keeps it
    r = run("train", rv.path, "--no-track", "--no-holdout", "-q")
    assert r.exit_code == 0, r.output
    again = rv.latest_model()
    assert again["version"] != trained["version"] and again["card"]["n_units"] == 68
    trained = again
    r = run("suggest", rv.path, "--no-track", "-q")
    assert r.exit_code == 0 and trained["version"] in r.output
    assert len(rv.suggestions(trained["version"])) == 24
    # an explicit model directory from outside the review is registered, then used
    r = run("suggest", rv.path, "--model", files["model"], "--no-track", "-q")
    assert r.exit_code == 0, r.output
    assert len(rv.models()) == 4
    r = run("suggest", rv.path, "--model", "no-such-version", "--no-track", "-q")
    assert r.exit_code == 2 and "neither a model version" in r.output


@pytest.mark.slow
def test_tracking_records_run_and_registered_version(review, tmp_path):
    """train REVIEW_DIR logs params/metrics and registers the model; suggest reports that version."""
    import mlflow

    rv = review
    for unit in rv.units()[:12]:
        t = {u["text"]: u for u in md.units()}[unit["text"]]
        rv.add_decision(unit["id"], "ann", "accept", t["mechanisms"], t["role"], t["polarity"])
    r = run("train", rv.path, "-q")
    assert r.exit_code == 0, r.output
    entry = rv.latest_model()
    assert entry["registry_name"] == "rv-sparse" and entry["registry_version"] == "1"
    uri = f"sqlite:///{Path(rv.path).resolve() / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    mv = client.get_model_version("rv-sparse", "1")
    run_ = client.get_run(mv.run_id)
    assert run_.data.params["backend"] == "sparse"
    assert "training.role_macro_f1" in run_.data.metrics
    assert entry["card"]["mlflow"]["run_id"] == mv.run_id
    assert {a.path for a in client.list_artifacts(mv.run_id)} >= {"model.json"}
    # the registered pyfunc model (mlflow_model.py as its code, the directory as its artifact)
    # loads and predicts what the model directory predicts
    from mechcode.models.base import Unit
    from mechcode.models.train import load_model

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    served = mlflow.pyfunc.load_model("models:/rv-sparse/1")
    rows = [{"id": str(u["id"]), "text": u["text"]} for u in rv.units()[:3]]
    direct, _ = load_model(entry["path"])
    assert served.predict(rows) == direct.predict([Unit(r["id"], r["text"]) for r in rows])
    r = run("suggest", rv.path, "-q")
    assert r.exit_code == 0 and "(MLflow rv-sparse v1)" in r.output
