"""Experiment tracking with MLflow: every ``train`` and ``evaluate`` run is recorded.

The default store is a local SQLite file (no server): ``sqlite:///REVIEW_DIR/mlflow.db`` for a
review, ``sqlite:///experiments/mlflow.db`` otherwise; artifacts go to ``mlartifacts/`` next to
it. A run records parameters, flattened numeric metrics and artifacts (report, confusion
matrices, model card). A trained model is logged as an MLflow pyfunc model (the mechcode model
directory as its artifact, :mod:`mechcode.models.mlflow_model` as its code -- no pickle) and
registered in the model registry, which gives it a version number.

mlflow is imported lazily (it costs seconds); telemetry is disabled.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from mechcode.errors import ModelError

EXPERIMENT = "mechcode"
_NAME_RE = re.compile(r"[^A-Za-z0-9_\-. /]")


def default_uri(base_dir: str | Path) -> str:
    """``sqlite:///<base_dir>/mlflow.db`` (absolute), creating ``base_dir``."""
    base = Path(base_dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{base / 'mlflow.db'}"


def mlflow_module():
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return mlflow


def _key(part: str) -> str:
    return {"+": "plus", "-": "minus"}.get(part, _NAME_RE.sub("_", part))


def flatten(d: dict[str, Any], prefix: str = "", numeric: bool = True) -> dict[str, Any]:
    """Nested dict -> ``{"a.b.c": value}``; with ``numeric`` only int/float leaves are kept."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        name = f"{prefix}{_key(str(k))}"
        if isinstance(v, dict):
            out.update(flatten(v, name + ".", numeric))
        elif numeric:
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v:
                out[name] = float(v)
        elif v is not None:
            out[name] = str(v)[:500]
    return out


def _experiment(mlflow, uri: str, name: str) -> str:
    """The experiment id, created with its artifacts next to a SQLite store."""
    mlflow.set_tracking_uri(uri)
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


def log_run(uri: str, run_name: str, params: dict[str, Any], metrics: dict[str, Any],
            artifacts: list[Path] = (), model_dir: Path | None = None, registry_name: str | None = None,
            tags: dict[str, str] | None = None, experiment: str = EXPERIMENT) -> dict[str, Any]:
    """Record one run; with ``model_dir`` also log and register the model. Run/registry ids."""
    mlflow = mlflow_module()
    try:
        exp_id = _experiment(mlflow, uri, experiment)
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
            mlflow.log_params(flatten(params, numeric=False))
            mlflow.log_metrics(flatten(metrics))
            if tags:
                mlflow.set_tags(tags)
            for a in artifacts:
                mlflow.log_artifact(str(a))
            info = {"tracking_uri": uri, "experiment_id": exp_id, "run_id": run.info.run_id}
            if model_dir is not None:
                info.update(_log_model(mlflow, Path(model_dir), registry_name))
        return info
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - tracking problems are reported, not swallowed
        raise ModelError(f"MLflow tracking at {uri} failed: {exc.__class__.__name__}: {exc}") from exc


def _log_model(mlflow, model_dir: Path, registry_name: str | None) -> dict[str, Any]:
    from mechcode import __version__

    code = Path(__file__).with_name("mlflow_model.py")
    mi = mlflow.pyfunc.log_model(name="model", python_model=str(code), artifacts={"model": str(model_dir)},
                                 pip_requirements=[f"mechcode=={__version__}"],
                                 registered_model_name=registry_name)
    out = {"model_uri": mi.model_uri}
    if registry_name:
        out.update(registry_name=registry_name, registry_version=str(mi.registered_model_version))
    return out


def track_model(uri: str, card: dict[str, Any], model_dir: Path, registry_name: str) -> dict[str, Any]:
    """Log a trained model's run and register it; the card on disk gains an ``mlflow`` entry
    (run id, registry name and version). Returns the new card."""
    from mechcode.models.io import write_card

    model_dir = Path(model_dir)
    info = log_run(uri, f"train-{card['backend']}",
                   {"backend": card["backend"], "version": card["version"], "n_units": card["n_units"],
                    "data_hash": card["data_hash"], "codebook": card["codebook"]["version"],
                    "hyperparameters": card["hyperparameters"]},
                   card["metrics"], [model_dir / "model.json"], model_dir, registry_name,
                   tags={"mechcode.command": "train", "mechcode.model_version": card["version"]})
    card = {k: v for k, v in card.items() if k != "files"}
    return write_card(model_dir, {**card, "mlflow": info})


def find_registered(uri: str, registry_name: str, version: str) -> dict[str, Any] | None:
    """The registry entry ``registry_name`` / ``version`` (None if missing)."""
    mlflow = mlflow_module()
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        mv = client.get_model_version(registry_name, str(version))
    except MlflowException:
        return None
    return {"name": mv.name, "version": mv.version, "run_id": mv.run_id, "source": mv.source}
