"""The ``mechcode`` command line.

Each command lives in its own module and is imported only when it is run, so
that ``mechcode --help`` and light commands never pay for torch or mlflow.
To add a command, add one line to ``COMMANDS`` and one to ``SUMMARIES``.
"""
from __future__ import annotations

import os

import click

from mechcode import __version__
from mechcode.registry import Registry

# name -> "module:function" (relative to mechcode.cli), imported when the command is used
COMMANDS = Registry("command", {
    "extract": "extract:extract",
    "init": "review_cmds:init",
    "ingest": "review_cmds:ingest",
    "info": "review_cmds:info",
    "train": "model_cmds:train",
    "predict": "model_cmds:predict",
    "suggest": "model_cmds:suggest",
    "evaluate": "evaluate_cmd:evaluate",
    "mlflow-ui": "model_cmds:mlflow_ui",
    "demo": "demo:demo",
    "matrix": "synthesis_cmds:matrix",
    "cmo": "synthesis_cmds:cmo",
    "export": "synthesis_cmds:export",
    "code": "synthesis_cmds:code",
    "review": "web_cmds:review",
    "simulate": "experiment_cmds:simulate",
    "experiment": "experiment_cmds:experiment",
    "reviewer": "team_cmds:reviewer",
    "assign": "team_cmds:assign",
    "agreement": "team_cmds:agreement",
    "codebook": "team_cmds:codebook",
}, package="mechcode.cli")

# one-line summaries shown by ``mechcode --help`` (the full help is in each command)
SUMMARIES: dict[str, str] = {
    "extract": "Extract clean text and structure (passages, provenance) from a PDF.",
    "init": "Create a review folder with a codebook.",
    "ingest": "Add PDFs to a review (idempotent; bad files reported, the rest goes on).",
    "info": "Summarise a review: documents, units, decisions, models.",
    "train": "Train a suggestion model from a labelled JSONL file or a review.",
    "predict": "Predict mechanisms, CMO role and polarity for units in a JSONL file.",
    "suggest": "Store model suggestions for every unit of a review.",
    "evaluate": "Evaluate a backend with baselines side by side (grouped CV, cold start, transfer protocols).",
    "mlflow-ui": "Open the MLflow tracking UI on 127.0.0.1.",
    "demo": "Run the whole pipeline on the bundled sample paper.",
    "matrix": "Evidence matrix (papers x mechanisms) as CSV, Markdown or PNG.",
    "cmo": "Assemble coded units into Context -> Mechanism -> Outcome configurations.",
    "export": "Export units, decisions, suggestions (CSV, JSONL, REFI-QDA .qdpx) or a methods appendix.",
    "code": "Batch-code new PDFs: ingest and store suggestions, in parallel or on Dask.",
    "review": "Start the reviewer web page (accept/correct suggestions, active learning).",
    "simulate": "Replay gold-coded units as a simulated review (WSS, recall and F1 curves per strategy).",
    "experiment": "Run experiment files (CV, learning curves, simulations) tracked in MLflow; report results.",
    "reviewer": "Add or list a review's named reviewers (personal tokens, stored hashed).",
    "assign": "Mark a share of papers or units for blind double coding by reviewer pairs.",
    "agreement": "Inter-reviewer and reviewer-vs-model agreement (Cohen's kappa, Krippendorff's alpha).",
    "codebook": "Show or revise the codebook (rename, merge, split, retire, add) keeping all coded work.",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing commands must not import them (torch, mlflow ...): use SUMMARIES.
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return COMMANDS.load(name) if name in COMMANDS else None

    def invoke(self, ctx: click.Context):
        from mechcode.errors import MechcodeError

        try:
            return super().invoke(ctx)
        except MechcodeError as exc:
            raise UserError(str(exc)) from exc


class UserError(click.ClickException):
    """A clear one-line error; exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mechcode")
def cli() -> None:
    """mechcode: code realist-review evidence (Context, Mechanism, Outcome) in research papers.

    Typical flow: init a review with a codebook, ingest PDFs, suggest codes,
    review them in the browser, then export the evidence matrix and CMO chains.
    Run ``mechcode COMMAND --help`` for each command.
    """


def main() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    cli(prog_name="mechcode")
