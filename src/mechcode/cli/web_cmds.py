"""``mechcode review``: the reviewer loop in the browser."""
from __future__ import annotations

import getpass

import click

from mechcode.cli.options import review_dir_arg


def _default_reviewer() -> str:
    try:
        return getpass.getuser() or "reviewer"
    except (KeyError, OSError):
        return "reviewer"


@click.command("review")
@review_dir_arg
@click.option("--reviewer", default=None, metavar="NAME",
              help="Your name, recorded with every decision made with the server's token (default: "
                   "your login name). Team members who sign in with their personal token (from "
                   "`mechcode reviewer add`) are recorded under their own name; once the review has "
                   "such named reviewers, the server's token codes only as this name, never as theirs.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Keep 127.0.0.1 (this computer only) unless you know you "
                   "need others to reach it.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (the next free one is used if taken; 0 = any free port).")
@click.option("--token", envvar="MECHCODE_TOKEN", default=None, metavar="VALUE",
              help="Access token (default: a new random one; also read from $MECHCODE_TOKEN).")
@click.option("--retrain-every", type=click.IntRange(min=0), default=10, show_default=True,
              help="Retrain the model in the background after this many decisions (0 = only when "
                   "asked for on the page).")
@click.option("--backend", default="sparse", show_default=True,
              help="Model backend used for retraining (see `mechcode train --help`).")
@click.option("--seed-data", type=click.Path(exists=True, dir_okay=False), default=None, metavar="FILE.jsonl",
              help="Extra labelled units (units.jsonl shape) added to every retrain.")
@click.option("--zeroshot-encoder", type=click.Choice(["minilm", "tfidf"]), default="minilm", show_default=True,
              help="Encoder of the zeroshot model a review without any model starts from.")
def review(review_dir: str, reviewer: str | None, host: str, port: int, token: str | None, retrain_every: int,
           backend: str, seed_data: str | None, zeroshot_encoder: str) -> None:
    """Code the review's passages in your browser, with model suggestions that improve as you go.

    Starts a local web server and prints its URL with an access token (as Jupyter does):
    open it in a browser (it signs you in for 7 days with a session cookie). One passage at
    a time, keyboard first (a = accept the suggestion, x = reject, Enter = save the codes you
    set, 1-9/0 = toggle a mechanism, c/r/e/o/n = role, +/- = polarity, s = skip, u = undo,
    t = note, h = your history, / = find text, ? = codebook). Units that are not prose
    (labels, list numbers, headings, reference fragments) are left out of the queues; the
    side panel shows how much evidence is found and estimated to remain, with a stopping
    hint. Every decision is saved before the page moves on. The model
    retrains in the background every --retrain-every decisions; a review with no model
    starts from the zeroshot backend (suggestions from the codebook definitions).

    Team coding: besides the printed token, each reviewer's personal token (`mechcode
    reviewer add`) opens the page as that reviewer. Double-coded units stay blind (nobody
    sees the other coder's code) until the two agree or an adjudicator decides in the
    "adjudicate" queue; the "recode" queue lists units to re-code after a codebook split.
    After a codebook revision the model is retrained in the background.

    Press Ctrl+C to stop the server.
    """
    from mechcode.web.server import ServerOptions, serve

    opts = ServerOptions(review_dir=review_dir, host=host, port=port, token=token,
                         reviewer=reviewer or _default_reviewer(), retrain_every=retrain_every,
                         backend=backend, seed_data=seed_data,
                         initial_params={"encoder": zeroshot_encoder})
    serve(opts, echo=lambda line: click.echo(line))
