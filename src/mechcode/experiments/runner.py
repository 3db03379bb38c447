"""Experiments as files: small TOML definitions run by ``mechcode experiment run FILE``.

Format (paths are relative to the file)::

    name = "loop_simulation"        # optional; default: the file name without .toml
    kind = "simulate"               # cv | learning-curve | simulate | mechanism-target
    description = "..."             # what the experiment asks; shown in RESULTS.md
    data = "../corpora/sims2021/units.jsonl"
    codebook = "../corpora/sims2021/codebook.yaml"
    backends = ["sparse", "zeroshot"]
    seeds = 3                       # or a list, e.g. [0, 1, 2]
    tracking_uri = "sqlite:///..."  # optional; default sqlite:///<folder of the file>/mlflow.db
    results_dir = "results"         # optional; tables and plots go to RESULTS_DIR/NAME[.md|.csv|/]

    [params.sparse]                 # hyperparameters per backend (optional)
    cal_folds = 1

    [cv]                            # kind = "cv"
    folds = 5
    [learning-curve]                # kind = "learning-curve"
    sizes = [10, 20, 40, 80]        # labelled training units; "all" of the training side is added
    test_size = 0.3                 # share of paragraphs held out
    [simulate]                      # kind = "simulate" (see mechcode simulate --help)
    strategies = ["random", "uncertain", "coverage", "paper"]
    seed_labels = 10
    batch = 10
    retrain_every = 10
    max_steps = 0                   # 0 = until every unit is coded
    holdout = 0.0
    exclude_definition_units = true
    [mechanism-target]              # kind = "mechanism-target" (mechcode simulate --target mechanism)
    strategies = ["max", "random"]
    batch = 10
    retrain_every = 10
    mechanisms = []                 # default: every mechanism with 2 or more units
    exclude_definition_units = true

Every backend (x strategy) becomes one MLflow run in the experiment ``experiment:NAME``:
parameters, final metrics (mean/std/min/max over seeds), per-step metrics (``step=`` units
coded, training units or fold), plots and summaries as artifacts, and tags
(``mechcode.experiment``, ``mechcode.kind``, ``mechcode.backend``, ``mechcode.strategy``,
``mechcode.batch`` = this invocation) that :mod:`mechcode.experiments.report` reads back.
"""
from __future__ import annotations

import sys
import time
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from mechcode.errors import DataError
from mechcode.files import read_parsed
from mechcode.experiments.report import EXPERIMENT_PREFIX, write_table

KIND_OPTIONS = {
    "cv": {"folds"},
    "learning-curve": {"sizes", "test_size"},
    "simulate": {"strategies", "seed_labels", "batch", "retrain_every", "max_steps", "holdout",
                 "exclude_definition_units"},
    "mechanism-target": {"strategies", "batch", "retrain_every", "mechanisms", "exclude_definition_units"},
}
TOP_KEYS = {"name", "kind", "description", "data", "codebook", "backends", "seeds", "tracking_uri",
            "results_dir", "params", *KIND_OPTIONS}


@dataclass
class Experiment:
    """A parsed experiment file."""

    path: Path
    name: str
    kind: str
    data: Path
    codebook: Path
    backends: list[str]
    seeds: list[int]
    description: str = ""
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    tracking_uri: str | None = None
    results_dir: Path = Path("results")


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file (:class:`DataError` with the file name)."""
    path = Path(path)
    raw = read_parsed(path, tomllib.loads, (tomllib.TOMLDecodeError,), DataError, "experiment file", "TOML")
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise DataError(f"{path}: unknown key(s) {', '.join(unknown)}")
    kind = raw.get("kind")
    if kind not in KIND_OPTIONS:
        raise DataError(f"{path}: kind must be one of {', '.join(KIND_OPTIONS)}, got {kind!r}")
    for key in ("data", "codebook"):
        if not isinstance(raw.get(key), str):
            raise DataError(f"{path}: '{key}' (a path relative to the file) is required")
    options = raw.get(kind) or {}
    bad = sorted(set(options) - KIND_OPTIONS[kind])
    if bad:
        raise DataError(f"{path}: unknown [{kind}] option(s) {', '.join(bad)}")
    backends = raw.get("backends") or ["sparse"]
    if not isinstance(backends, list) or not all(isinstance(b, str) for b in backends):
        raise DataError(f"{path}: 'backends' must be a list of backend names")
    seeds = raw.get("seeds", 1)
    seeds = list(range(seeds)) if isinstance(seeds, int) else seeds
    if not seeds or not all(isinstance(s, int) for s in seeds):
        raise DataError(f"{path}: 'seeds' must be a positive count or a list of integers")
    base = path.resolve().parent
    return Experiment(path=path.resolve(), name=str(raw.get("name") or path.stem), kind=kind,
                      data=base / raw["data"], codebook=base / raw["codebook"], backends=backends,
                      seeds=seeds, description=str(raw.get("description", "")).strip(),
                      params={str(k): dict(v) for k, v in (raw.get("params") or {}).items()},
                      options=dict(options), tracking_uri=raw.get("tracking_uri") or None,
                      results_dir=base / str(raw.get("results_dir", "results")))


def default_tracking_uri(exp: Experiment) -> str:
    """``sqlite:///<folder of the experiment file>/mlflow.db``."""
    from mechcode.models.tracking import default_uri

    return default_uri(exp.path.parent)


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_experiment(path: str | Path, *, tracking_uri: str | None = None, progress: bool = False,
                   fresh: bool = False, log: Callable[[str], None] = _stderr) -> dict[str, Any]:
    """Run one experiment file, track every run in MLflow, write the results table.

    Returns ``{"name", "kind", "records", "run_ids", "tracking_uri", "table_md", "table_csv",
    "markdown", "config_dir"}``.
    """
    from mechcode.experiments.kinds import KINDS

    exp = load_experiment(path)
    for p in (exp.data, exp.codebook):
        if not p.is_file():
            raise DataError(f"{exp.path}: file not found: {p}")
    uri = tracking_uri or exp.tracking_uri or default_tracking_uri(exp)
    t0 = time.perf_counter()
    kwargs = {"fresh": fresh} if exp.kind == "simulate" else {}
    records = KINDS.load(exp.kind)(exp, progress, log, **kwargs)
    batch = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%f")
    run_ids = track(exp, records, uri, batch, time.perf_counter() - t0)
    md_path, csv_path, markdown = write_table(exp.kind, records, exp.results_dir / exp.name)
    return {"name": exp.name, "kind": exp.kind, "records": records, "run_ids": run_ids,
            "tracking_uri": uri, "table_md": md_path, "table_csv": csv_path, "markdown": markdown,
            "config_dir": exp.path.parent}


def track(exp: Experiment, records: list[dict[str, Any]], uri: str, batch: str,
          seconds: float) -> list[str]:
    """One MLflow run per record (params, metrics, artifacts, tags), then its per-step metrics."""
    from mechcode.models.tracking import log_run

    ids = []
    try:
        results = exp.results_dir.relative_to(exp.path.parent).as_posix()
    except ValueError:
        results = exp.results_dir.as_posix()
    for rec in records:
        label = rec["backend"] + (f"/{rec['strategy']}" if rec.get("strategy") else "")
        tags = {"mechcode.experiment": exp.name, "mechcode.kind": exp.kind, "mechcode.backend": rec["backend"],
                "mechcode.strategy": rec.get("strategy") or "", "mechcode.batch": batch,
                "mechcode.config": exp.path.name, "mechcode.results": f"{results}/{exp.name}",
                "mechcode.description": exp.description[:4000], "mechcode.seconds": f"{seconds:.1f}"}
        params = {"kind": exp.kind, "data": exp.data.name, "codebook": exp.codebook.name,
                  "backend": rec["backend"], "strategy": rec.get("strategy"), **rec["params"]}
        info = log_run(uri, f"{exp.name}:{label}", params, rec["metrics"],
                       [a for a in rec["artifacts"] if Path(a).is_file()], tags=tags,
                       experiment=EXPERIMENT_PREFIX + exp.name)
        log_steps(uri, info["run_id"], rec["steps"])
        ids.append(info["run_id"])
    return ids


def log_steps(uri: str, run_id: str, steps: dict[str, list[tuple[int, float]]]) -> None:
    """Per-step metrics (``step=``) of a run, in batches."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    from mechcode.models.tracking import flatten

    now = int(time.time() * 1000)
    rows = [Metric(key=next(iter(flatten({k: 0.0}))), value=float(v), timestamp=now, step=int(s))
            for k, pts in steps.items() for s, v in pts if v is not None]
    client = MlflowClient(tracking_uri=uri)
    for i in range(0, len(rows), 900):
        client.log_batch(run_id, metrics=rows[i:i + 900])
