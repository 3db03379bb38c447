"""``mechcode demo``: the whole pipeline on the bundled sample paper, through the real commands."""
from __future__ import annotations

import shutil
from pathlib import Path

import click

import mechcode


def default_corpus() -> Path:
    """``corpora/sims2021`` of the source checkout this mechcode runs from."""
    return Path(mechcode.__file__).resolve().parents[2] / "corpora" / "sims2021"


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def _run(args: list[str]) -> None:
    """Run one mechcode command in-process; stop the demo on failure."""
    from mechcode.cli import cli

    click.secho("$ mechcode " + " ".join(args), fg="cyan")
    try:
        cli.main(args, prog_name="mechcode", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from exc


def _top_suggestions(review_dir: Path, n: int) -> None:
    """Print the most confident suggestions with their sentence, as a reviewer would see them."""
    from mechcode.store.review import Review

    rv = Review.open(review_dir)
    names = {m.id: m.name for m in rv.codebook.mechanisms}
    units = {u["id"]: u for u in rv.units()}
    scored = []
    for uid, s in rv.suggestions().items():
        mech, p = max(s["mechanisms"].items(), key=lambda kv: kv[1], default=(None, 0.0))
        role = max(s["role"].items(), key=lambda kv: kv[1])[0]
        scored.append((p, uid, mech, role))
    for p, uid, mech, role in sorted(scored, reverse=True)[:n]:
        u = units[uid]
        text = u["text"] if len(u["text"]) < 160 else u["text"][:157] + "..."
        click.echo(f"- p={p:.2f} {names.get(mech, mech)} [{role}] (page {u['page']}): {text}")


@click.command()
@click.option("--out", "out_dir", default="mechcode-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Review folder the demo creates.")
@click.option("--corpus", "corpus_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Corpus folder with codebook.yaml, units.jsonl and sample.pdf [default: corpora/sims2021].")
@click.option("--backend", default="sparse", show_default=True, help="Backend to train (sparse, embed, ...).")
@click.option("--force", is_flag=True, help="Replace the --out folder if it already holds a review.")
def demo(out_dir: Path, corpus_dir: Path | None, backend: str, force: bool) -> None:
    """Run the whole pipeline on the bundled sample paper.

    Creates a review with the sims2021 codebook, ingests the sample PDF (the
    seed review re-typeset in a two-column layout), trains a model on the
    corpus' labelled units, stores suggestions for every sentence, and prints
    the most confident suggestions, the evidence matrix and the CMO
    configurations built from them, then exports a REFI-QDA project.
    """
    corpus = corpus_dir or default_corpus()
    needed = [corpus / f for f in ("codebook.yaml", "units.jsonl", "sample.pdf")]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise click.ClickException(f"corpus files missing: {', '.join(missing)} (use --corpus DIR)")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not force:
            raise click.ClickException(f"{out_dir} already exists; use --force to replace it or --out DIR")
        if not (out_dir / "review.db").exists():
            raise click.ClickException(f"{out_dir} is not a review folder; not removing it")
        shutil.rmtree(out_dir)
    review = str(out_dir)
    _step("1. A review folder with the codebook")
    _run(["init", review, "--codebook", str(corpus / "codebook.yaml")])
    _step("2. Ingest the sample paper (PDF -> passages -> sentences)")
    _run(["ingest", review, str(corpus / "sample.pdf"), "--workers", "1"])
    _step(f"3. Train a '{backend}' model on the corpus' labelled units")
    _run(["train", review, "--seed-data", str(corpus / "units.jsonl"), "--backend", backend, "--no-track"])
    _step("4. Suggest codes for every sentence")
    _run(["suggest", review, "--no-track"])
    _step("5. The most confident suggestions")
    _top_suggestions(out_dir, 8)
    _step("6. Evidence matrix from suggestions (p >= 0.5)")
    _run(["matrix", review, "--source", "suggestions", "--format", "md"])
    _step("7. Exports")
    _run(["export", review, "--format", "qdpx", "--output", str(out_dir / "review.qdpx")])
    _run(["export", review, "--what", "suggestions", "--format", "csv",
          "--output", str(out_dir / "suggestions.csv")])
    click.secho(f"\nDone. Open the reviewer page with:  .venv/bin/mechcode review {review}", bold=True)
