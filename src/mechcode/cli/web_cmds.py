"""``mechcode review``: the reviewer loop in the browser."""
from __future__ import annotations

import getpass

import click

from mechcode.cli.options import param_opt, parse_params, review_dir_arg


def _default_reviewer() -> str:
    try:
        return getpass.getuser() or "reviewer"
    except (KeyError, OSError):
        return "reviewer"


PRIOR_BACKENDS = ("sparse", "embed")  # the backends with a codebook prior (prior, prior_k_*, other_paper_weight...)


def loop_settings(backend: str, params: dict, encoder: str | None) -> tuple[dict, dict]:
    """(retrain settings, first-model settings) from ``review --param`` and ``--zeroshot-encoder``.

    The first model (the loop's initial backend, sparse) gets every setting when the retrains use
    sparse too, else only the prior's settings; the encoder is the prior's (a zeroshot retrain:
    its ``encoder``; finetune has no prior, so it reaches the first model only)."""
    from mechcode.loop.serving import INITIAL_BACKEND
    from mechcode.models.backends.prior import PRIOR_DEFAULTS

    retrain = dict(params)
    if encoder and backend == "zeroshot":
        retrain.setdefault("encoder", encoder)
    elif encoder and backend in PRIOR_BACKENDS:
        retrain.setdefault("prior", encoder)
    first = dict(retrain) if backend == INITIAL_BACKEND else {k: v for k, v in params.items() if k in PRIOR_DEFAULTS}
    if encoder:
        first.setdefault("prior", encoder)
    return retrain, first


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
@param_opt
@click.option("--zeroshot-encoder", type=click.Choice(["minilm", "tfidf"]), default=None,
              help="Encoder of the codebook prior of the review's first model and of sparse / embed "
                   "retrains (--param prior=ENCODER), or of zeroshot retrains (encoder=ENCODER). "
                   "Default: each backend's own (tfidf for the prior; minilm is slower).")
def review(review_dir: str, reviewer: str | None, host: str, port: int, token: str | None, retrain_every: int,
           backend: str, seed_data: str | None, params: tuple[str, ...], zeroshot_encoder: str | None) -> None:
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
    starts from the default model (sparse) trained on what the review has (with no codes: the
    codebook prior). --param settings apply to every retrain, and to that first model when
    --backend is sparse (with another backend, only the prior's settings reach it), e.g.
    --param other_paper_weight=0.3.

    Team coding: besides the printed token, each reviewer's personal token (`mechcode
    reviewer add`) opens the page as that reviewer. Double-coded units stay blind (nobody
    sees the other coder's code) until the two agree or an adjudicator decides in the
    "adjudicate" queue; the "recode" queue lists units to re-code after a codebook split.
    After a codebook revision the model is retrained in the background.

    Press Ctrl+C to stop the server.
    """
    from mechcode.web.server import ServerOptions, serve

    retrain, first = loop_settings(backend, parse_params(params), zeroshot_encoder)
    opts = ServerOptions(review_dir=review_dir, host=host, port=port, token=token,
                         reviewer=reviewer or _default_reviewer(), retrain_every=retrain_every,
                         backend=backend, seed_data=seed_data, params=retrain, initial_params=first)
    serve(opts, echo=lambda line: click.echo(line))
