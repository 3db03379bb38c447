"""Options shared by several commands (one definition, reused)."""
from __future__ import annotations

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
