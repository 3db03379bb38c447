"""Commands ``matrix``, ``cmo``, ``export`` and ``code`` (batch coding)."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import click

from mechcode.cli.options import quiet_opt, review_dir_arg, workers_opt

source_opt = click.option(
    "--source", type=click.Choice(["decisions", "suggestions"]), default="decisions", show_default=True,
    help="Codes to use: current accepted/corrected reviewer decisions, or model suggestions.")
threshold_opt = click.option(
    "--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
    help="With suggestions: a mechanism counts when its probability is at least this.")
output_opt = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                          help="Write here instead of standard output.")


def _open(review_dir: str):
    from mechcode.store.review import Review

    return Review.open(review_dir)


@contextmanager
def _out(output: Path | None):
    if output is None:
        yield sys.stdout
    else:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            yield fh
        click.echo(f"wrote {output}", err=True)


@click.command()
@review_dir_arg
@source_opt
@threshold_opt
@click.option("--counts", is_flag=True, help="Cells show the number of supporting units instead of a tick.")
@click.option("--active-only", is_flag=True, help="Leave out merged, retired and no-evidence mechanisms.")
@click.option("--reported", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON with the N per mechanism the review reports (e.g. "
                   "corpora/sims2021/evidence_matrix_discrepancies.json): adds a 'Reported N' row "
                   "and warns about every mechanism whose ticks disagree.")
@click.option("--format", "fmt", type=click.Choice(["csv", "md", "png"]), default="md", show_default=True)
@output_opt
def matrix(review_dir, source, threshold, counts, active_only, reported, fmt, output):
    """Evidence matrix: one row per paper, one column per mechanism, N papers per mechanism.

    Like a realist review's 'Table 2': a tick (or with --counts the number of supporting
    units) where a paper supports a mechanism; General contexts / General outcomes are the
    codebook's 'general' codes; the last row is N papers per mechanism. PNG: a heat map
    (default file evidence_matrix.png).
    """
    from mechcode.synthesis.matrix import load_reported, review_matrix
    from mechcode.synthesis.render import to_csv, to_markdown, to_png

    rv = _open(review_dir)
    rep = load_reported(reported, rv.codebook) if reported else None
    m = review_matrix(rv, source, threshold, active_only, rep)
    if fmt == "png":
        path = to_png(m, output or Path("evidence_matrix.png"), counts=True)
        click.echo(f"wrote {path} ({len(m.rows)} papers x {len(m.columns)} mechanisms)", err=True)
    else:
        with _out(output) as fh:
            fh.write(to_csv(m, counts) if fmt == "csv" else to_markdown(m, counts))
    for w in m.warnings():
        click.echo(f"warning: {w}", err=True)


@click.command()
@review_dir_arg
@click.option("--paper", help="Only this paper (document id or label, e.g. 'Aitken (2014)').")
@source_opt
@threshold_opt
@click.option("--window", type=click.IntRange(0), default=1, show_default=True,
              help="A configuration spans at most this many paragraphs between consecutive parts.")
@click.option("--format", "fmt", type=click.Choice(["md", "jsonl"]), default="md", show_default=True)
@output_opt
def cmo(review_dir, paper, source, threshold, window, fmt, output):
    """Context -> Mechanism -> Outcome configurations assembled from coded units.

    Printed in the realist notation '… (C) → … (M+, Resource) and … (M+, Reasoning) → … (O+)'
    with mechanism, paper, pages and the unit ids behind each. Rules: within a paper, in text
    order, contexts open a configuration, mechanism parts (resource/reasoning) of the same
    mechanism follow and outcomes close it; a configuration needs at least one mechanism part.
    Contexts and outcomes with no mechanism part are listed after them as partial
    configurations (marked 'context-only' / 'outcome-only'), and the summary line says how
    many coded units are in no configuration.
    """
    from mechcode.synthesis.cmo import chains_to_jsonl, chains_to_markdown, coverage_line, review_chains

    rv = _open(review_dir)
    report: dict = {}
    chains = review_chains(rv, paper, source, threshold, window, partial=True, report=report)
    names = {m.id: m.name for m in rv.codebook.mechanisms}
    with _out(output) as fh:
        fh.write(chains_to_jsonl(chains, names) if fmt == "jsonl" else chains_to_markdown(chains, names))
    click.echo(coverage_line(chains, report), err=True)


@click.command()
@review_dir_arg
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "qdpx", "md"]), required=True)
@click.option("--what", type=click.Choice(["units", "decisions", "suggestions", "all", "appendix"]),
              help="units: current reviewer codes; suggestions: model codes; all: both (decision "
                   "wins); decisions: every decision event (audit trail); appendix: methods "
                   "appendix (with --format md). Default: units (appendix for md).")
@threshold_opt
@output_opt
def export(review_dir, fmt, what, threshold, output):
    """Export coded units (CSV/JSONL), the audit trail, a REFI-QDA .qdpx or a methods appendix.

    CSV/JSONL rows: paper, page, section, offsets, text, mechanisms, role, polarity, source
    (reviewer or model:VERSION), confidence. --format qdpx writes a project for NVivo,
    ATLAS.ti, MAXQDA or QualCoder (default file REVIEW.qdpx).
    """
    from mechcode.errors import DataError

    what = what or ("appendix" if fmt == "md" else "units")
    if (fmt == "md") != (what == "appendix"):
        raise DataError("the methods appendix is written with --format md --what appendix")
    rv = _open(review_dir)
    if fmt == "qdpx":
        from mechcode.export.qdpx import export_qdpx

        path = output or Path(f"{Path(review_dir).resolve().name}.qdpx")
        stats = export_qdpx(rv, path, what, threshold)
        click.echo(f"wrote {path} ({stats['documents']} papers, {stats['units']} coded units)", err=True)
    elif fmt == "md":
        from mechcode.export.appendix import review_appendix

        with _out(output) as fh:
            fh.write(review_appendix(rv))
    else:
        from mechcode.export.tables import export_table

        with _out(output) as fh:
            n = export_table(rv, what, fmt, fh, threshold)
        click.echo(f"{n} rows", err=True)


@click.command()
@review_dir_arg
@click.argument("inputs", nargs=-1, required=True, metavar="PDF_OR_DIR...")
@workers_opt
@click.option("--model", help="Model directory, model version of this review, or a backend name "
                              "(sparse, zeroshot ...) to train now. Default: the review's latest "
                              "model; if it has none, a sparse model trained on its labelled units "
                              "and the codebook definitions.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: worker processes on this machine; dask: dask.distributed workers.")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Dask scheduler address (with --executor dask; default: a local dask cluster).")
@quiet_opt
@click.pass_context
def code(ctx, review_dir, inputs, workers, model, executor, scheduler, quiet):
    """Ingest every new PDF and store model suggestions for all its units, in parallel.

    Resumable: papers already stored with suggestions of the model are skipped, so an
    interrupted run continues where it stopped. A bad file gets one error line and the
    rest go on; the exit status is 1 when any file failed.
    """
    from mechcode.batch import code_files

    if scheduler and executor != "dask":
        executor = "dask"
    rv = _open(review_dir)
    try:
        summary = code_files(rv, inputs, workers, model, executor, scheduler, progress=not quiet)
    except KeyboardInterrupt:
        click.echo("interrupted: finished papers are stored; run the same command again to resume",
                   err=True)
        ctx.exit(130)
    click.echo(summary.line(), err=True)
    if summary.failures:
        ctx.exit(1)
