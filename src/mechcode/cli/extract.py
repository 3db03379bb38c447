"""``mechcode extract``: one PDF to clean text or structured JSON."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command()
@click.argument("pdf", type=click.Path(dir_okay=False, path_type=str), metavar="FILE.pdf")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="text: title, abstract and body in reading order, one paragraph per block, "
                   "headings on their own line starting with '#'. json: metadata, sections and "
                   "all passages (body and non-body kinds) with page, bbox, character offsets "
                   "and sentences.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=str),
              default=None, help="Write to this file instead of standard output.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=str),
              default=None, help="Cache folder: a PDF already extracted (same bytes) is not "
                                 "extracted again.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def extract(pdf: str, fmt: str, output: str | None, cache_dir: str | None, quiet: bool) -> None:
    """Extract the text and structure of a research paper or report PDF.

    Columns are put in reading order; running headers, footers and page
    numbers are dropped; ligatures and end-of-line hyphenation are repaired;
    tables, figure text, captions, formulas, footnotes, author blocks,
    boilerplate (licences, DOIs, keywords, cover pages), contents pages and
    the reference list are kept out of the body text (in JSON they are
    passages of their own kind; boxes and list items are marked by a role).
    A file that cannot be read (empty, truncated, encrypted, scanned without
    a text layer, not a PDF, too large, over the MECHCODE_FILE_TIMEOUT time
    limit) is reported as one error line, exit status 2.

    Examples:

      mechcode extract paper.pdf

      mechcode extract paper.pdf --format json -o paper.json
    """
    from mechcode.errors import BadPDF, MechcodeError
    from mechcode.ingest import extract_pdf

    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(desc="extract", unit="page", file=sys.stderr, leave=False)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        doc = extract_pdf(pdf, cache_dir=cache_dir, progress=progress)
    except MechcodeError:
        raise
    except Exception as exc:  # a defect of the extractor on this file: one line, no traceback
        raise BadPDF(f"{Path(pdf).name}: extraction failed ({type(exc).__name__}: "
                     f"{str(exc).splitlines()[0] if str(exc) else 'no message'})") from exc
    finally:
        if bar is not None:
            bar.close()
    if fmt == "json":
        out = json.dumps(doc.to_dict(), ensure_ascii=False, indent=1) + "\n"
    else:
        out = doc.to_text()
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(out)
        if not quiet:
            click.echo(f"wrote {output} ({doc.n_pages} pages, {len(doc.body())} body passages)",
                       err=True)
    else:
        click.echo(out, nl=False)
