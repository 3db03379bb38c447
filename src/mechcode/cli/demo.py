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
@click.option("--paper", "paper", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="A PDF the model did not train on, coded instead of the bundled sample, e.g. "
                   "../shared/pdfs/bmchsr2014_malawi_qi_situational.pdf. Without it the demo codes the "
                   "sample, which is the seed review itself: a smoke run, not a quality check.")
@click.option("--force", is_flag=True, help="Replace the --out folder if it already holds a review.")
def demo(out_dir: Path, corpus_dir: Path | None, backend: str, paper: Path | None, force: bool) -> None:
    """Run the whole pipeline on a paper: the one you pass with --paper, or the bundled sample.

    Creates a review with the sims2021 codebook, records the corpus' labelled units as a
    training source, ingests the paper, trains a model (the codebook prior plus the seed
    units), stores suggestions for every sentence, and prints the most confident
    suggestions and the evidence matrix built from them, then exports a REFI-QDA project.

    With --paper the model has never seen the paper (it trained on another article, the
    sims2021 review). The bundled sample.pdf is that review re-typeset, so the model trained
    on its sentences: use it to check the pipeline runs, not how good the suggestions are.
    """
    corpus = corpus_dir or default_corpus()
    if paper is not None and not paper.is_file():
        raise click.ClickException(f"--paper {paper}: file not found")
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
    pdf = paper or corpus / "sample.pdf"
    _step(f"2. Ingest {'your paper' if paper else 'the bundled sample'} (PDF -> passages -> sentences)")
    _run(["ingest", review, str(pdf), "--workers", "1"])
    _step(f"3. Train a '{backend}' model: the codebook prior + the corpus' labelled units (a training source)")
    _run(["train", review, "--seed-data", str(corpus / "units.jsonl"), "--backend", backend, "--no-track"])
    if paper:
        click.secho(f"The model did not train on {paper.name}: these are suggestions on a new paper.",
                    fg="green")
    else:
        click.secho("Note: sample.pdf is the seed review itself, so the model trained on these sentences. "
                    "This is a smoke run; pass --paper PDF to code a paper the model has not seen.",
                    fg="yellow")
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
