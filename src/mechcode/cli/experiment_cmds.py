"""``mechcode simulate`` and ``mechcode experiment run|report``."""
from __future__ import annotations

import json
from pathlib import Path

import click

from mechcode.cli.options import quiet_opt
from mechcode.errors import DataError


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _params(pairs: tuple[str, ...]) -> dict:
    """``KEY=VALUE`` pairs; VALUE is read as JSON when it parses (numbers, lists, true), else text."""
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise DataError(f"--param {pair!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


@click.command("simulate")
@click.option("--data", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Gold-coded units (JSONL: id, text, context, group, mechanisms, role, polarity).")
@click.option("--codebook", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The codebook YAML the units are coded against.")
@click.option("--backend", default="sparse", show_default=True,
              help="Backend name; several comma-separated (e.g. sparse,zeroshot) are compared.")
@click.option("--target", type=click.Choice(["evidence", "mechanism"]), default="evidence", show_default=True,
              help="evidence: the relevant class is every unit with a gold mechanism. mechanism: one mechanism at "
                   "a time is the relevant class, from 1 relevant + 1 irrelevant prior unit (per-mechanism "
                   "evidence finding, like a screening simulation).")
@click.option("--strategy", default=None,
              help="Query strategy, several comma-separated. --target evidence: random, uncertain (default), "
                   "coverage or paper. --target mechanism: max (default; most likely first), uncertain or random.")
@click.option("--mechanisms", default=None,
              help="--target mechanism: comma-separated mechanism ids (default: every one with 2 or more units).")
@click.option("--seed-labels", type=int, default=10, show_default=True,
              help="Units coded at random (stratified) before the first model.")
@click.option("--batch", type=int, default=10, show_default=True, help="Units picked per step.")
@click.option("--retrain-every", type=int, default=10, show_default=True,
              help="Retrain after this many newly coded units.")
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for checkpoints, summary.json, curve.csv and plots.")
@click.option("--seeds", type=int, default=3, show_default=True, help="Number of random seeds (0..N-1).")
@click.option("--max-steps", type=int, default=None, help="Stop each seed after this many steps.")
@click.option("--holdout", type=float, default=0.0, show_default=True,
              help="Share of paragraphs set aside per seed to score suggestions on unseen units.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Backend hyperparameter (repeatable), e.g. --param cal_folds=1.")
@click.option("--keep-definition-units", is_flag=True,
              help="Keep units whose text repeats a codebook definition (left out by default).")
@click.option("--fresh", is_flag=True, help="Discard checkpoints in OUTPUT and start over.")
@quiet_opt
def simulate(data, codebook, backend, target, strategy, mechanisms, seed_labels, batch, retrain_every, output,
             seeds, max_steps, holdout, params, keep_definition_units, fresh, quiet):
    """Replay gold-coded units as a simulated review to compare backends and query strategies.

    Starting from SEED_LABELS random units, each step the strategy picks the next BATCH
    units, the "reviewer" codes them with the gold labels, and the model is retrained every
    RETRAIN_EVERY units. Reported per step: recall of evidence units (units with a gold
    mechanism), macro-F1 of the suggestions on the units not yet coded, and how often the
    reviewer would accept a suggestion as is; at the end WSS@95 / WSS@100 (work saved over
    sampling) and the units needed to reach F1 targets, as mean and spread over seeds.

    The run is resumable: each seed writes OUTPUT/seed-N.json after every step; running the
    same command again skips finished seeds and continues an interrupted one. The keys of
    summary.json and mechanism-summary.json are in schemas/simulation-summary.schema.json.

    With --target mechanism each mechanism in turn is the relevant class: the run starts
    from one relevant and one irrelevant unit (plus the backend's codebook cold start),
    picks BATCH units per step and retrains every RETRAIN_EVERY; it reports per mechanism
    and as the mean WSS@95, WSS@100, recall after 10/20/50 % screened and units to 95 %
    recall (mean ± spread over seeds), into OUTPUT/mechanism-summary.json with a recall
    curve OUTPUT/recall-MECHANISM.png per mechanism. --seed-labels, --holdout, --max-steps
    and --fresh apply to --target evidence only.

    \b
    Example:
      mechcode simulate --data corpora/sims2021/units.jsonl \\
        --codebook corpora/sims2021/codebook.yaml --backend sparse \\
        --strategy uncertain,random --seed-labels 10 --batch 10 --retrain-every 10 \\
        --output runs/sim --seeds 3
    """
    from mechcode.experiments.simulate import run_simulation, summary_lines

    backends = _csv(backend)
    if target == "mechanism":
        _simulate_mechanisms(data, codebook, output, backends, strategy, mechanisms, seeds, batch, retrain_every,
                             params, keep_definition_units, quiet)
        return
    if mechanisms:
        raise click.UsageError("--mechanisms goes with --target mechanism")
    summaries = run_simulation(
        data, codebook, output, backends=backends, strategies=_csv(strategy or "uncertain"), seeds=seeds,
        seed_labels=seed_labels, batch=batch, retrain_every=retrain_every, max_steps=max_steps,
        holdout=holdout, params={b: _params(params) for b in backends},
        exclude_definition_units=not keep_definition_units, fresh=fresh, progress=not quiet,
        log=lambda m: click.echo(m, err=True))
    for line in summary_lines(summaries):
        click.echo(line)
    click.echo(f"wrote {output}/summary.json, recall.png, f1.png", err=True)


def _simulate_mechanisms(data, codebook, output, backends, strategy, mechanisms, seeds, batch, retrain_every,
                         params, keep_definition_units, quiet) -> None:
    from mechcode.experiments.data import drop_definition_units
    from mechcode.experiments.mechanism_target import run_target, target_lines
    from mechcode.experiments.simulate import load_inputs, seed_list

    rows, cb = load_inputs(data, codebook)
    if not keep_definition_units:
        rows, _ = drop_definition_units(rows, cb)
    log = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    summaries = run_target(rows, cb, output, backends=backends, strategies=_csv(strategy or "max"),
                           seeds=seed_list(seeds), mechanisms=_csv(mechanisms) if mechanisms else None, batch=batch,
                           retrain_every=retrain_every, params={b: _params(params) for b in backends}, log=log)
    for line in target_lines(summaries):
        click.echo(line)
    click.echo(f"wrote {output}/mechanism-summary.json and recall-MECHANISM.png per mechanism", err=True)


@click.group("experiment")
def experiment():
    """Run experiment definitions (TOML files in experiments/) and report their results.

    An experiment file names the data, codebook, backends, seeds and a kind: ``cv``
    (grouped cross-validation), ``learning-curve`` (F1 vs labelled units), ``simulate``
    (strategies x backends replayed as a review) or ``mechanism-target`` (per-mechanism
    evidence finding, as simulate --target mechanism). Every run is tracked in MLflow (by default
    ``mlflow.db`` beside the file) and a results table is written to ``results/NAME.md``.
    """


@experiment.command("run")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI (default: sqlite:///<config folder>/mlflow.db).")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Regenerate RESULTS.md beside the config from the tracked runs afterwards.")
@click.option("--fresh", is_flag=True, help="Simulations: discard their checkpoints and start over.")
@quiet_opt
def run(config, tracking_uri, report, fresh, quiet):
    """Run one experiment file, track it in MLflow and write its results table.

    \b
    Example:
      mechcode experiment run experiments/loop_simulation.toml
    """
    from mechcode.experiments.runner import run_experiment

    result = run_experiment(config, tracking_uri=tracking_uri, progress=not quiet, fresh=fresh,
                            log=lambda m: click.echo(m, err=True))
    click.echo(result["markdown"])
    click.echo(f"results table: {result['table_md']} (+ .csv); {len(result['run_ids'])} MLflow run(s) "
               f"in {result['tracking_uri']}", err=True)
    if report:
        from mechcode.experiments.report import write_results_md

        path = write_results_md(result["config_dir"], tracking_uri=result["tracking_uri"])
        click.echo(f"regenerated {path}", err=True)


@experiment.command("report")
@click.option("--dir", "exp_dir", default="experiments", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="The experiments folder.")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default: sqlite:///DIR/mlflow.db).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the report (default: DIR/RESULTS.md).")
def report(exp_dir, tracking_uri, output):
    """Regenerate RESULTS.md from the experiment runs tracked in MLflow (latest run of each)."""
    from mechcode.experiments.report import write_results_md

    path = write_results_md(exp_dir, tracking_uri=tracking_uri, output=output)
    click.echo(f"wrote {path}")
