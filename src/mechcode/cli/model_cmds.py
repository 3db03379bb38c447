"""``mechcode train | predict | suggest | mlflow-ui``: the suggestion models (``evaluate``: evaluate_cmd)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from mechcode.cli.options import default_tracking_uri, param_opt, parse_params, quiet_opt, tracking_opts
from mechcode.contracts import ModelCard
from mechcode.errors import DataError, ModelError

BACKEND_HELP = ("Backend: sparse (default; the codebook prior + TF-IDF calibrated linear models), "
                "zeroshot (codebook only, no labels), embed, "
                "finetune (experimental: scores below the majority baseline on the bundled corpus).")
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "review"


# ---------------------------------------------------------------------------------------- train
@click.command()
@click.argument("review_dir", required=False, type=click.Path(file_okay=False, path_type=str))
@click.option("--data", type=click.Path(dir_okay=False, path_type=str),
              help="Labelled units JSONL (id, text, context, group, mechanisms, role, polarity). "
                   "Without REVIEW_DIR.")
@click.option("--codebook", "codebook_path", type=click.Path(dir_okay=False, path_type=str),
              help="Codebook YAML the labels refer to. Without REVIEW_DIR.")
@click.option("--out", type=click.Path(file_okay=False, path_type=str),
              help="Model directory to create (must not exist or be empty). Without REVIEW_DIR.")
@click.option("--seed-data", type=click.Path(dir_okay=False, path_type=str),
              help="With REVIEW_DIR: a labelled units JSONL recorded as a training source of the review "
                   "(once; every later retrain, train, code and the page keep using it).")
@click.option("--backend", default="sparse", show_default=True, help=BACKEND_HELP)
@param_opt
@click.option("--no-holdout", is_flag=True,
              help="Skip the holdout figures in the card (trains once). The holdout is 20% of the papers (of the "
                   "paragraphs where units have no paper id); units repeating a codebook definition never test.")
@click.option("--registry-name", default=None,
              help="MLflow registered-model name (default mechcode-BACKEND, or REVIEWNAME-BACKEND).")
@tracking_opts
@quiet_opt
def train(review_dir, data, codebook_path, out, seed_data, backend, params, no_holdout, registry_name,
          tracking_uri, no_track, quiet) -> None:
    """Train a suggestion model and write it as a model directory.

    Two forms:

    \b
      mechcode train --data units.jsonl --codebook codebook.yaml --backend sparse --out DIR
      mechcode train REVIEW_DIR [--seed-data units.jsonl] [--backend sparse]

    The second trains on all the review's training sources: its codebook (definitions,
    examples, the CMO role primer), every seed file ever recorded (--seed-data records one)
    and its accepted/corrected decisions;
    writes REVIEW_DIR/models/VERSION and registers it in the review. The directory holds the
    backend's files (safe formats only) and model.json, the card: backend, hyperparameters,
    data hash, codebook version, training and holdout metrics, creation time and the SHA-256
    of every file. The run is recorded in MLflow and the model registered there (--no-track
    to skip).
    """
    from mechcode.models.tracking import track_model
    from mechcode.models.train import free_version, train_model

    hp = parse_params(params)
    if review_dir:
        if data or codebook_path or out:
            raise click.UsageError("with REVIEW_DIR, use --seed-data for extra data; --data/--codebook/--out "
                                   "are for training from files")
        from mechcode.loop.training import add_seed_file, training_set
        from mechcode.store.review import Review

        rv = Review.open(review_dir)
        codebook = rv.codebook
        if seed_data:
            src, added = add_seed_file(rv, seed_data)
            click.echo(f"{'recorded' if added else 'already recorded'}: training source {src['name']} "
                       f"({src['n_units']} units, sha256 {src['sha256'][:12]})", err=True)
        units, counts = training_set(rv)
        version, out_dir = free_version(rv, backend, units)
        uri_base = rv.path
        registry_name = registry_name or f"{_slug(Path(rv.path).name)}-{backend}"
    else:
        if not (data and codebook_path and out):
            raise click.UsageError("give REVIEW_DIR, or all of --data, --codebook and --out")
        if seed_data:
            raise click.UsageError("--seed-data goes with REVIEW_DIR; without it, put all units in --data")
        from mechcode.codebook import load_codebook
        from mechcode.models.data import read_labelled

        codebook = load_codebook(codebook_path)
        units = read_labelled(data, codebook)
        version, out_dir = None, Path(out)
        counts = {"data": len(units)}
        uri_base = "experiments"
        registry_name = registry_name or f"mechcode-{backend}"
    if not units:
        click.echo("no labelled units yet: training on the codebook definitions only", err=True)
    card = train_model(units, codebook, backend, out_dir, holdout=not no_holdout, version=version,
                       progress=not quiet, sources=counts, **hp)
    if not no_track:
        card = track_model(tracking_uri or default_tracking_uri(uri_base), card, out_dir, registry_name)
    if review_dir:
        mlf = card.get("mlflow", {})
        rv.register_model(card["version"], backend, str(out_dir), card, mlf.get("registry_name"),
                          mlf.get("registry_version"))
    _print_card(card, out_dir)


def _print_card(card: ModelCard, out_dir: Path) -> None:
    m = card.get("metrics", {})
    ho = m.get("holdout") or {}
    line = f"model {card['version']} ({card['backend']}, {card['n_units']} units) -> {out_dir}"
    if card.get("sources"):
        line += "; sources " + ", ".join(f"{k} {v}" for k, v in card["sources"].items())
    if ho:
        line += (f"; holdout mechanism macro-F1 {ho.get('mechanism_macro_f1')}, "
                 f"role macro-F1 {ho.get('role_macro_f1')}")
    if "mlflow" in card:
        mlf = card["mlflow"]
        line += f"; MLflow run {mlf['run_id']}"
        if mlf.get("registry_version"):
            line += f", registered {mlf['registry_name']} v{mlf['registry_version']}"
    click.echo(line)


# -------------------------------------------------------------------------------------- predict
@click.command()
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Model directory written by mechcode train (its file hashes are verified first).")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False, path_type=str),
              help='JSONL, one unit a line: {"id": ..., "text": ..., "context": optional, "paper": optional}.')
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="JSONL to write (replaced atomically; nothing is written on error).")
@click.option("--batch-size", default=512, show_default=True, type=click.IntRange(1), help="Units per batch.")
@quiet_opt
def predict(model_dir, input_path, output_path, batch_size, quiet) -> None:
    """Suggest mechanisms, CMO role and polarity for each unit of a JSONL file.

    Output lines: {"id", "mechanisms": {id: p}, "role": {context, mechanism-resource,
    mechanism-reasoning, outcome, none: p}, "polarity": {"+": p, "-": p}, "rationale": [...],
    "no_mechanism": p} (JSON Schema: schemas/predict-line.schema.json). The whole input is validated first: a bad line (invalid JSON, missing
    id or text, wrong types, duplicate id) is an error naming its line number, and no output
    file is written.

    Example: mechcode predict --model models/sparse --input units.jsonl --output suggestions.jsonl
    """
    from mechcode.models.train import predict_file

    n = predict_file(model_dir, input_path, output_path, batch_size, progress=not quiet)
    click.echo(f"wrote {n} predictions to {output_path}")


# -------------------------------------------------------------------------------------- suggest
@click.command()
@click.argument("review_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--model", "model_ref", default=None, metavar="DIR|VERSION",
              help="A model directory, or the version of a model registered in the review. "
                   "Default: the review's latest model, or a new sparse model (the codebook prior plus "
                   "whatever the review's training sources hold) if it has none.")
@click.option("--backend", default=None,
              help="Build a new model of this backend from the review's labelled units (none needed for "
                   "zeroshot), register it and use it.")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1),
              help="Units predicted and stored per transaction.")
@tracking_opts
@quiet_opt
def suggest(review_dir, model_ref, backend, batch_size, tracking_uri, no_track, quiet) -> None:
    """Store a suggestion for every unit of the review REVIEW_DIR.

    Each suggestion records the model version that made it; the model's MLflow registry
    name and version are kept with the review's model entry (mechcode info shows them).

    Example: mechcode suggest my-review --backend zeroshot
    """
    from mechcode.store.review import Review

    if model_ref and backend:
        raise click.UsageError("give --model or --backend, not both")
    rv = Review.open(review_dir)
    uri = None if no_track else (tracking_uri or default_tracking_uri(rv.path))
    entry = _suggest_model(rv, model_ref, backend, uri, quiet)
    from mechcode.models.train import load_model

    model, _ = load_model(entry["path"])
    n = _store_suggestions(rv, model, entry["version"], batch_size, quiet)
    reg = f" (MLflow {entry['registry_name']} v{entry['registry_version']})" if entry.get("registry_version") else ""
    click.echo(f"stored {n} suggestions from model {entry['version']}{reg}")


def _suggest_model(rv, model_ref, backend, uri: str | None, quiet: bool) -> dict[str, Any]:
    """The review's model entry to suggest with (registering or building one if needed)."""
    models = {m["version"]: m for m in rv.models()}
    if model_ref and model_ref in models:
        return models[model_ref]
    if model_ref:
        from mechcode.models.io import verify_dir

        if not Path(model_ref).is_dir():
            raise ModelError(f"{model_ref}: neither a model version of this review nor a model directory")
        card = verify_dir(Path(model_ref))
        if card.get("version") in models:
            return models[card["version"]]
        mlf = card.get("mlflow", {})
        return rv.register_model(card.get("version") or Path(model_ref).name, card["backend"],
                                 str(Path(model_ref).resolve()), card, mlf.get("registry_name"),
                                 mlf.get("registry_version"))
    if backend is None and rv.latest_model() is not None:
        return rv.latest_model()
    return _build_for_review(rv, backend or "sparse", uri, quiet)


def _build_for_review(rv, backend: str, uri: str | None, quiet: bool) -> dict[str, Any]:
    """Train (zeroshot: build) a model into the review, track it unless ``uri`` is None, register it."""
    from mechcode.loop.training import training_set
    from mechcode.models.tracking import track_model
    from mechcode.models.train import free_version, train_model

    units, counts = ([], None) if backend == "zeroshot" else training_set(rv)
    version, out_dir = free_version(rv, backend, units)
    click.echo(f"building a {backend} model {version}", err=True)
    card = train_model(units, rv.codebook, backend, out_dir, version=version, progress=not quiet,
                       sources=counts)
    if uri is not None:
        card = track_model(uri, card, out_dir, f"{_slug(Path(rv.path).name)}-{backend}")
    mlf = card.get("mlflow", {})
    return rv.register_model(version, backend, str(out_dir), card, mlf.get("registry_name"),
                             mlf.get("registry_version"))


def _store_suggestions(rv, model, version: str, batch_size: int, quiet: bool) -> int:
    from tqdm import tqdm

    from mechcode.loop.serving import to_model_units
    from mechcode.models.train import batched

    units = rv.units()
    n = 0
    with tqdm(total=len(units), desc="suggesting", unit="unit", disable=quiet) as bar:
        for chunk in batched(units, batch_size):
            preds = model.predict(to_model_units(chunk))
            n += rv.add_suggestions(version, [{**p, "unit_id": int(p["id"])} for p in preds])
            bar.update(len(chunk))
    return n


# ------------------------------------------------------------------------------------ mlflow-ui
def mlflow_ui_command(uri: str, port: int) -> list[str]:
    """The ``mlflow ui`` command line (one worker, local interface only)."""
    return [sys.executable, "-m", "mlflow", "ui", "--workers", "1", "--host", "127.0.0.1",
            "--backend-store-uri", uri, "--port", str(port)]


@click.command("mlflow-ui")
@click.option("--review", "review_dir", type=click.Path(file_okay=False, path_type=str),
              help="Show the runs of this review (sqlite:///REVIEW_DIR/mlflow.db).")
@click.option("--tracking-uri", default=None, metavar="URI",
              help="Any MLflow tracking store URI (default sqlite:///experiments/mlflow.db).")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
def mlflow_ui(review_dir, tracking_uri, port) -> None:
    """Browse tracked train/evaluate runs and registered models in the MLflow UI.

    Runs `mlflow ui --workers 1 --host 127.0.0.1 --backend-store-uri URI` until stopped (Ctrl-C).

    Example: mechcode mlflow-ui --review my-review --port 5001
    """
    if review_dir and tracking_uri:
        raise click.UsageError("give --review or --tracking-uri, not both")
    if review_dir:
        db = Path(review_dir) / "mlflow.db"
        if not db.is_file():
            raise DataError(f"{review_dir}: no MLflow runs yet ({db} does not exist)")
        uri = f"sqlite:///{db.resolve()}"
    else:
        uri = tracking_uri or f"sqlite:///{(Path('experiments') / 'mlflow.db').resolve()}"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    click.echo(f"MLflow UI for {uri} on http://127.0.0.1:{port} (Ctrl-C to stop)", err=True)
    try:
        sys.exit(subprocess.call(mlflow_ui_command(uri, port), env=env))
    except KeyboardInterrupt:
        sys.exit(0)
