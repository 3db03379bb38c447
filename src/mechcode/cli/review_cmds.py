"""``mechcode init``, ``mechcode ingest`` and ``mechcode info``: create, fill and describe a review."""
from __future__ import annotations

import json
import sys

import click

from mechcode.cli.options import quiet_opt, review_dir_arg, workers_opt


@click.command()
@review_dir_arg
@click.option("--codebook", "codebook_path", required=True,
              type=click.Path(dir_okay=False, path_type=str),
              help="Codebook YAML/JSON file (mechanisms with ids, names, descriptions). It is validated "
                   "and copied into the review. Example: corpora/sims2021/codebook.yaml.")
def init(review_dir: str, codebook_path: str) -> None:
    """Create a review folder REVIEW_DIR with a codebook.

    The folder gets review.db (SQLite: documents, units, decisions, models),
    a copy of the codebook as codebook.yaml, and models/ and cache/ folders.
    Fails if a review already exists there.

    Example: mechcode init my-review --codebook corpora/sims2021/codebook.yaml
    """
    from mechcode.store.review import Review

    rv = Review.init(review_dir, codebook_path)
    cb = rv.codebook
    click.echo(f"created review {rv.path} with codebook {cb.name!r} v{cb.version} "
               f"({len(cb.mechanisms)} mechanisms)")


@click.command()
@review_dir_arg
@click.argument("pdfs", nargs=-1, required=True, type=click.Path(exists=True, path_type=str),
                metavar="PDF_OR_DIR...")
@workers_opt
@quiet_opt
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def ingest(review_dir: str, pdfs: tuple[str, ...], workers: int, quiet: bool, as_json: bool) -> None:
    """Add PDFs to the review REVIEW_DIR.

    Each PDF_OR_DIR is a PDF file or a folder (searched recursively for *.pdf).
    Text and structure are extracted in parallel worker processes; each paper
    is stored with its passages and sentence units in one transaction.
    Idempotent: a file whose content is already in the review is skipped.
    A file that cannot be read (empty, truncated, encrypted, scanned without a
    text layer, not a PDF) is reported on one line as PATH: REASON and the
    rest goes on; the exit status is then 1.

    Example: mechcode ingest my-review papers/ extra.pdf --workers 2
    """
    from mechcode.store.ingest import ingest_paths
    from mechcode.store.review import Review

    rv = Review.open(review_dir)
    report = ingest_paths(rv, pdfs, workers=workers, progress=not quiet)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    click.echo(report.summary(), err=as_json)
    if report.failures:
        sys.exit(1)


@click.command()
@review_dir_arg
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Plain text for people, JSON for scripts.")
def info(review_dir: str, fmt: str) -> None:
    """Summarise the review REVIEW_DIR.

    Shows the codebook (name, version, fingerprint), documents and pages,
    coding units (and how many are not codable prose), reviewer decisions and
    coded units, registered models and stored suggestions, and the stop
    signal: evidence found, evidence estimated to remain (from the latest
    model's scores of the uncoded units) and the stopping hint (the rule is in
    the README, "Stop signal").

    Example: mechcode info my-review --format json
    """
    from mechcode.loop.stopping import probabilities, review_figures
    from mechcode.loop.units import hidden_units
    from mechcode.store.review import Review

    rv = Review.open(review_dir)
    data = rv.info()
    hidden = hidden_units(rv, rv.units())
    latest = rv.latest_model()
    data["not_codable"] = sum(why.startswith("not codable") for why in hidden.values())
    data["stop"] = review_figures(rv, rv.current_codes(),
                                  probabilities(rv.suggestions(latest["version"])) if latest else {}, hidden)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    cb = data["codebook"]
    lines = [
        f"review      {data['path']}",
        f"codebook    {cb['name']} v{cb['version']} ({cb['mechanisms']} mechanisms, "
        f"fingerprint {cb['fingerprint']}, {cb['versions']} version(s))",
        f"documents   {data['documents']} ({data['pages']} pages)",
        f"units       {data['units']} ({data['spans']} reviewer spans)",
        f"decisions   {data['decisions']} by {data['reviewers']} reviewer(s); {data['coded_units']} units coded",
        f"models      {data['models']} (latest: {data['latest_model'] or '-'}); "
        f"{data['suggestions']} suggestions",
        f"not codable {data['not_codable']} units (labels, headings, list numbers, reference fragments)",
        _stop_line(data["stop"]),
    ]
    click.echo("\n".join(lines))


def _stop_line(stop: dict) -> str:
    recall = f", estimated recall {100 * stop['recall']:.0f}%" if stop["recall"] is not None else ""
    unscored = f" ({stop['unscored']} not scored yet)" if stop["unscored"] else ""
    left = f"~{stop['remaining']:.0f}" if stop["remaining"] is not None else "? (no model scores)"
    return (f"evidence    {stop['found']} found in {stop['coded']} coded units; {left} "
            f"estimated among {stop['uncoded']} uncoded{unscored}{recall}\nstop hint   {stop['hint']}")
