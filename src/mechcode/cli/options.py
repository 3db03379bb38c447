"""Options shared by several commands (one definition, reused)."""
from __future__ import annotations

import json
from typing import Any

import click

review_dir_arg = click.argument(
    "review_dir", type=click.Path(file_okay=False, path_type=str), metavar="REVIEW_DIR"
)
workers_opt = click.option(
    "--workers", "-j", type=int, default=0, show_default="all cores",
    help="Worker processes (0 = all cores, 1 = no parallelism).",
)
quiet_opt = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
_tracking_uri_opt = click.option(
    "--tracking-uri", default=None, metavar="URI",
    help="MLflow tracking store. Default: sqlite:///REVIEW_DIR/mlflow.db for a review, "
         "else sqlite:///experiments/mlflow.db (relative to the current folder).")
_no_track_opt = click.option("--no-track", is_flag=True, help="Do not record the run in MLflow (faster).")


def tracking_opts(f):
    """``--tracking-uri`` and ``--no-track`` for a command that records runs in MLflow."""
    return _tracking_uri_opt(_no_track_opt(f))


def default_tracking_uri(base) -> str:
    """The MLflow store of a review folder (or of ``experiments/``), imported lazily."""
    from mechcode.models.tracking import default_uri

    return default_uri(base)


param_opt = click.option(
    "--param", "params", multiple=True, metavar="KEY=VALUE",
    help="Backend hyperparameter, repeatable; VALUE is read as JSON when it parses (4, 0.5, true, null, [1,2]) "
         "and as a string otherwise. Example: --param C=4 --param prior=minilm.")


def parse_params(items: tuple[str, ...]) -> dict[str, Any]:
    """``("C=4", "encoder=tfidf")`` -> ``{"C": 4, "encoder": "tfidf"}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out
