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
