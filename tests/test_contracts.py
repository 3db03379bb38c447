"""The public JSON contracts (mechcode.contracts): the schema files in schemas/ are what
scripts/write_schemas.py writes now, and real outputs of predict, train, evaluate and simulate
validate against the types with unknown keys refused."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pydantic
import pytest
from click.testing import CliRunner
from pydantic import TypeAdapter

import _model_data as md
from mechcode.cli import cli
from mechcode.codebook import parse_codebook
from mechcode.contracts import EvaluationReport, ModelCard, PredictLine, SimulationSummary
from mechcode.contracts.report import OffTopicReport
from test_protocols import _box_rows, _primary_rows
from test_simulate import small_corpus

ROOT = Path(__file__).resolve().parents[1]


def check(tp, value):
    """``value`` validated against contract type ``tp``: strict (no "0.5" read as a number, as in
    the JSON Schema), unknown keys refused."""
    return TypeAdapter(tp).validate_python(value, strict=True)


FAST = ["--param", "cal_folds=1"]  # sparse without out-of-fold calibration: about a second a fit


def run(*args) -> str:
    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _script():
    spec = importlib.util.spec_from_file_location("write_schemas", ROOT / "scripts" / "write_schemas.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_checked_in_schema_files_are_what_the_script_writes():
    ws = _script()
    assert set(ws.CONTRACTS) == {"predict-line", "model-card", "evaluation-report", "simulation-summary"}
    for name in ws.CONTRACTS:
        path = ROOT / "schemas" / f"{name}.schema.json"
        assert path.read_text(encoding="utf-8") == ws.render(name), \
            f"{path.name} is out of date: run python scripts/write_schemas.py and commit it"
    assert ws.main(["--check"]) == 0
    line = read(ROOT / "schemas" / "predict-line.schema.json")
    assert line["additionalProperties"] is False and set(line["required"]) == {
        "id", "mechanisms", "role", "polarity", "rationale"}
    assert "no mechanism at all" in line["properties"]["no_mechanism"]["description"]
    for name in ws.CONTRACTS:  # every key is described, or (hyphen/@ keys) its type is
        body = read(ROOT / "schemas" / f"{name}.schema.json")
        for title, node in [(name, body), *body.get("$defs", {}).items()]:
            bare = [k for k, p in node.get("properties", {}).items() if "description" not in p]
            assert not bare or node.get("description"), f"{title}: describe {', '.join(bare)}"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("contracts")
    data, cb = md.write(d)
    inp = d / "in.jsonl"
    inp.write_text("".join(json.dumps(u) + "\n" for u in [
        {"id": "s1", "text": "The leader built mutual trust with partners."},
        {"id": 7, "text": "We searched four databases.", "context": "We searched four databases."}]), encoding="utf-8")
    return {"dir": d, "data": data, "codebook": cb, "input": inp}


@pytest.mark.parametrize("backend,params", [("sparse", FAST), ("zeroshot", ["--param", "encoder=tfidf"])])
def test_train_card_and_predict_lines_validate(tiny, backend, params):
    model, out = tiny["dir"] / f"m-{backend}", tiny["dir"] / f"p-{backend}.jsonl"
    run("train", "--data", tiny["data"], "--codebook", tiny["codebook"], "--backend", backend, *params,
        "--out", model, "--no-track", "-q")
    card = check(ModelCard, read(model / "model.json"))
    assert card["backend"] == backend and card["metrics"]["holdout"]["grouped_by"] == "paragraph"
    run("predict", "--model", model, "--input", tiny["input"], "--output", out, "-q")
    lines = [json.loads(s) for s in out.read_text(encoding="utf-8").splitlines()]
    assert [p["id"] for p in lines] == ["s1", "7"]
    for line in lines:
        check(PredictLine, line)
    # the contract is closed: an undocumented key, a missing one or a number as text is refused
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        check(PredictLine, {**lines[0], "score": 1.0})
    with pytest.raises(pydantic.ValidationError, match="rationale"):
        check(PredictLine, {k: v for k, v in lines[0].items() if k != "rationale"})
    with pytest.raises(pydantic.ValidationError, match="Extra inputs"):
        check(PredictLine, {**lines[0], "role": {**lines[0]["role"], "resource": 0.1}})
    with pytest.raises(pydantic.ValidationError, match="polarity"):
        check(PredictLine, {**lines[0], "polarity": {"+": "0.5", "-": 0.5}})


def _evaluate(tmp: Path, *args) -> dict:
    out = tmp / "REPORT.json"
    run("evaluate", *args, "--output", out, "--no-track", "-q")
    return check(EvaluationReport, read(out))


def test_evaluate_reports_of_every_protocol_validate(tiny, tmp_path):
    base = ["--data", tiny["data"], "--codebook", tiny["codebook"], "--zeroshot-encoder", "tfidf"]
    rep = _evaluate(tmp_path, *base, "--protocol", "grouped-cv", "--folds", "3", *FAST)
    assert set(rep["baselines"]) == {"majority", "zeroshot", "keyword"} and len(rep["folds_macro_f1"]["role"]) == 3
    rep = _evaluate(tmp_path, *base, "--protocol", "definitions-to-evidence", "--backend", "zeroshot",
                    "--param", "encoder=tfidf", "--baselines", "keyword")
    assert rep["folds"] == 0 and "folds_macro_f1" not in rep
    boxes, primary = tmp_path / "boxes.jsonl", tmp_path / "primary.jsonl"
    for path, rows in ((boxes, _box_rows()), (primary, _primary_rows())):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cb = ["--codebook", tiny["codebook"], "--fractions", "0,1"]
    rep = _evaluate(tmp_path, "--protocol", "transfer-roles", "--data", boxes, *cb, "--backend", "sparse", *FAST,
                    "--baselines", "majority,keyword")
    assert rep["protocol"] == "transfer-roles" and rep["summary"]["backend"]["boxes"]["n"] == 9
    rep = _evaluate(tmp_path, "--protocol", "primary-studies", "--data", primary, *cb, "--backend", "keyword",
                    "--baselines", "majority", "--train-data", tiny["data"])
    assert rep["n_papers"] == 3 and set(rep["summary"]["backend"]) == {"cold", "full"}
    from mechcode.cli.evaluate_cmd import summary_lines

    line = summary_lines(rep)[0]  # the command's summary names per-mechanism evidence finding
    assert f"mechanism_auc {rep['summary']['backend']['cold']['mechanism_auc']}" in line


def test_off_topic_report_validates(tiny):
    """off-topic reads PDFs through the CLI (tests/test_protocols.py); here its report is built
    from units the same way the command builds it."""
    from mechcode.models.base import LabelledUnit
    from mechcode.models.evaluation.protocols import finish_report, off_topic
    from mechcode.models.evaluation.transfer import Spec

    cb = parse_codebook(md.CODEBOOK)
    units = [LabelledUnit("1", "The power of the laser was varied.", paper="physics"),
             LabelledUnit("2", "Frogs were measured at night.", paper="frogs")]
    specs = [Spec("keyword", "keyword"), Spec("majority", "majority")]
    rep = finish_report("off-topic", specs, cb, 0.5, off_topic(units, cb, specs, []))
    check(OffTopicReport, rep)
    check(EvaluationReport, rep)


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    d = tmp_path_factory.mktemp("sims")
    data, cb = small_corpus(d)
    return data, cb, d


def test_simulate_summaries_validate(sims):
    data, cb, d = sims
    common = ["simulate", "--data", data, "--codebook", cb, "--backend", "sparse", *FAST, "-q"]
    out = d / "evidence"
    run(*common, "--strategy", "uncertain,random", "--seed-labels", "8", "--batch", "8", "--retrain-every", "8",
        "--seeds", "2", "--max-steps", "2", "--holdout", "0.2", "--output", out)
    top = check(SimulationSummary, read(out / "summary.json"))
    assert [r["strategy"] for r in top["runs"]] == ["uncertain", "random"]
    one = check(SimulationSummary, read(out / "random" / "summary.json"))
    assert one["seeds"] == [0, 1] and one["units_to_f1"]["mechanism@0.5"]["of"] == 2
    counts: dict[str, int] = {}
    for r in map(json.loads, data.read_text(encoding="utf-8").splitlines()):
        for m in r["mechanisms"]:
            counts[m] = counts.get(m, 0) + 1
    mech = max(counts, key=counts.get)
    out = d / "mechanism"
    run(*common, "--target", "mechanism", "--mechanisms", mech, "--seeds", "1", "--batch", "10", "--output", out)
    s = check(SimulationSummary, read(out / "mechanism-summary.json"))
    assert list(s["runs"][0]["per_mechanism"]) == [mech]
    with pytest.raises(pydantic.ValidationError):
        check(SimulationSummary, {"runs": [{**s["runs"][0], "note": "undocumented"}]})
