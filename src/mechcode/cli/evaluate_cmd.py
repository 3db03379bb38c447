"""``mechcode evaluate``: a backend and its baselines side by side under one protocol."""
from __future__ import annotations

from pathlib import Path

import click

from mechcode.cli.model_cmds import BACKEND_HELP
from mechcode.cli.options import default_tracking_uri, param_opt, parse_params, tracking_opts
from mechcode.files import write_json_atomic
from mechcode.cli.options import quiet_opt
from mechcode.contracts import ClassicReport, EvaluationReport
from mechcode.errors import DataError

PROTOCOL_HELP = (
    "grouped-cv: k folds that never split a source paragraph (group). definitions-to-evidence: train on the "
    "codebook definitions only, test on the evidence units (cold start). transfer-roles: C/M/O role macro-F1 "
    "on CMO statements not trained on: leave-one-box-out on the box chains of --data, and "
    "leave-one-domain-out on --primer. primary-studies: --data is a coded primary-study corpus with paper ids; "
    "leave-one-paper-out, trained on --seed-data and --train-data plus 0-100 % of the other papers; sentence "
    "and paper x mechanism figures. off-topic: share of the sentences of the --papers PDFs that get a "
    "mechanism at the page's threshold, trained on --data (as a seed file with --data-as-seed), --seed-data "
    "and --train-data.")
TRANSFER = ("transfer-roles", "primary-studies", "off-topic")


def _fractions(text: str) -> tuple[float, ...]:
    try:
        out = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected comma-separated shares such as 0,0.1,0.25,0.5,1",
                                 param_hint="--fractions") from None
    if not out or any(not 0 <= f <= 1 for f in out):
        raise click.BadParameter("shares must lie in [0, 1]", param_hint="--fractions")
    return out


@click.command()
@click.option("--data", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Labelled units JSONL (id, text, context, group, paper, mechanisms, role, polarity). What it is "
                   "for depends on --protocol (see below).")
@click.option("--codebook", "codebook_path", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Codebook YAML the labels refer to.")
@click.option("--backend", default="sparse", show_default=True, help=BACKEND_HELP)
@click.option("--protocol", type=click.Choice(["grouped-cv", "definitions-to-evidence", *TRANSFER]),
              default="grouped-cv", show_default=True, help=PROTOCOL_HELP)
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="REPORT.json to write; for grouped-cv and definitions-to-evidence also confusion-matrix PNGs "
                   "next to it (REPORT_role_confusion.png, REPORT_mechanism_confusion.png).")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2), help="Folds for grouped-cv.")
@param_opt
@click.option("--baselines", default="majority,zeroshot,keyword", show_default=True,
              help="Comma-separated baselines scored side by side: majority, zeroshot, keyword (a fixed keyword "
                   "rule); with a transfer protocol also other backends (sparse, embed, zeroshot-tfidf). '' for none.")
@click.option("--zeroshot-encoder", type=click.Choice(["minilm", "tfidf"]), default="minilm", show_default=True,
              help="Encoder of the zeroshot baseline (tfidf needs no torch).")
@click.option("--threshold", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Probability at which a mechanism counts as suggested (the reviewer page uses 0.5).")
@click.option("--include-definition-units", is_flag=True,
              help="Also test on units whose text repeats a codebook definition (leaks when the backend "
                   "trains on definitions; off by default).")
@click.option("--seed", default=0, show_default=True, help="Random seed of the fold assignment / group order.")
@click.option("--primer", type=click.Path(dir_okay=False, path_type=str),
              help="A CMO role primer JSONL (fields id, text, domain, role, polarity). transfer-roles scores it "
                   "leave-one-domain-out and trains the box folds on it; primary-studies and off-topic train on "
                   "it. Its units teach role and polarity (marked origin: primer).")
@click.option("--primer-as-training/--no-primer-as-training", default=True, show_default=True,
              help="Add the --primer statements to the training data. Turn off for backends that load the primer "
                   "themselves (the held-out domain is then passed in MECHCODE_PRIMER_EXCLUDE).")
@click.option("--train-data", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="primary-studies, off-topic: extra labelled JSONL the model trains on as the review's own "
                   "codes (repeatable). Never the tested corpus.")
@click.option("--seed-data", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="primary-studies, off-topic: labelled JSONL the model trains on as a review's seed file "
                   "(repeatable): marked origin seed and weighted as the review page weighs a seed file "
                   "(mechcode.models.backends.prior.SEED_WEIGHT), e.g. corpora/sims2021/units.jsonl.")
@click.option("--data-as-seed", is_flag=True,
              help="off-topic: train on --data as a review's seed file (origin seed), as the review page "
                   "serves a review started with --seed-data, instead of as the review's own codes.")
@click.option("--papers", multiple=True, type=click.Path(path_type=str),
              help="off-topic: PDF files or folders of PDFs that are not about the codebook's subject (repeatable).")
@click.option("--extract-cache", type=click.Path(file_okay=False, path_type=str), default=None,
              help="off-topic: folder for the PDF extraction cache (reused across runs).")
@click.option("--fractions", default="0,0.1,0.25,0.5,1", show_default=True,
              help="transfer-roles, primary-studies: training sizes of the learning curve, as shares of the "
                   "training groups (0 = codebook and --train-data only).")
@tracking_opts
@quiet_opt
def evaluate(data, codebook_path, backend, protocol, output, folds, params, baselines, zeroshot_encoder, threshold,
             include_definition_units, seed, primer, primer_as_training, train_data, seed_data, data_as_seed,
             papers, extract_cache, fractions, tracking_uri, no_track, quiet) -> None:
    """Measure a backend on labelled data, side by side with baselines, and write a JSON report.

    grouped-cv and definitions-to-evidence report macro- and per-class precision/recall/F1
    for mechanisms, role and polarity, calibration error (ECE, also over the suggested pairs
    only), confusion matrices (also as PNGs), timing, and the same figures for the baselines.
    The transfer protocols (transfer-roles, primary-studies, off-topic) train on some texts
    and test on texts of another kind, at every training size of --fractions. How units count
    is written into the report under "counting". The report's keys, per protocol, are in
    schemas/evaluation-report.schema.json.

    \b
    Examples:
      mechcode evaluate --data corpora/sims2021/units.jsonl --codebook corpora/sims2021/codebook.yaml \\
        --backend sparse --protocol grouped-cv --output report.json
      mechcode evaluate --protocol transfer-roles --data corpora/sims2021/units.jsonl \\
        --codebook corpora/sims2021/codebook.yaml --primer corpora/cmo-primer/primer.jsonl --output roles.json
      mechcode evaluate --protocol off-topic --data corpora/sims2021/units.jsonl --data-as-seed \\
        --codebook corpora/sims2021/codebook.yaml --papers ../shared/pdfs/atoms2016_positron_scattering.pdf \\
        --output offtopic.json
    """
    from mechcode.codebook import load_codebook

    codebook = load_codebook(codebook_path)
    names = [b.strip() for b in baselines.split(",") if b.strip()]
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if protocol in TRANSFER:
        report = _transfer(protocol, data, codebook, backend, parse_params(params), names, zeroshot_encoder,
                           threshold, seed, (primer, primer_as_training), (train_data, seed_data, data_as_seed),
                           papers, extract_cache, _fractions(fractions), quiet)
    else:
        report = _classic(data, codebook, backend, protocol, folds, params, names, zeroshot_encoder, threshold,
                          seed, include_definition_units, out, quiet)
    write_json_atomic(out, report, indent=2)
    if not no_track:
        _track(report, out, tracking_uri, backend, protocol, folds, data, threshold)
        write_json_atomic(out, report, indent=2)
    for line in summary_lines(report):
        click.echo(line)
    click.echo(f"-> {out}", err=True)


def _classic(data, codebook, backend, protocol, folds, params, names, encoder, threshold, seed, include_defs,
             out: Path, quiet: bool) -> ClassicReport:
    from mechcode.models.data import read_labelled
    from mechcode.models.evaluation.evaluate import evaluate as run_evaluation

    units = read_labelled(data, codebook)
    return run_evaluation(units, codebook, backend, protocol, folds, parse_params(params), names,
                          {"encoder": encoder}, threshold, figures_dir=out.parent, figure_prefix=f"{out.stem}_",
                          seed=seed, progress=not quiet, exclude_definition_units=not include_defs)


def _rows(path: str, codebook) -> list[dict]:
    from mechcode.experiments.data import check_codes, read_units

    rows = read_units(path)
    check_codes(rows, codebook)
    return rows


def _transfer(protocol, data, codebook, backend, params, names, encoder, threshold, seed, primer, train_data,
              papers, cache, fractions, quiet) -> EvaluationReport:
    from mechcode.models.evaluation import protocols as pr
    from mechcode.models.evaluation.transfer import parse_specs, specs_for

    extra = [s for n in names for s in parse_specs(n)]
    specs = specs_for(backend, params, [], None) + [s for s in extra if s.label != backend]
    for s in specs:
        if s.backend == "zeroshot" and "encoder" not in s.params:
            s.params["encoder"] = encoder
    log = None if quiet else (lambda m: click.echo(m, err=True))
    rows = _rows(data, codebook)
    primer, primer_trains = primer
    primer_units = _rows(primer, codebook) if primer else []
    train_data, seed_data, data_as_seed = train_data
    sources = [r for path in train_data for r in _rows(path, codebook)]
    sources += [{**r, "origin": "seed"} for path in seed_data for r in _rows(path, codebook)]
    if primer_trains:
        sources += pr.primer_rows(primer_units)
    if protocol == "transfer-roles":
        result = pr.transfer_roles(rows, codebook, specs, primer_units or None, fractions, seed, log, primer_trains)
    elif protocol == "primary-studies":
        result = pr.primary_studies(rows, codebook, specs, sources, fractions, seed, threshold, log)
    else:
        if not papers:
            raise DataError("off-topic needs --papers (PDF files or folders)")
        from mechcode.store.ingest import expand_paths

        units = pr.pdf_units(expand_paths(papers), cache)
        own = [{**r, "origin": "seed"} for r in rows] if data_as_seed else rows
        result = pr.off_topic(units, codebook, specs, pr.as_units(own + sources), threshold)
    return pr.finish_report(protocol, specs, codebook, threshold, result)


def _track(report: EvaluationReport, out: Path, uri, backend, protocol, folds, data, threshold) -> None:
    from mechcode.models import tracking

    keys = ("mechanism", "role", "polarity", "ece", "baselines", "timing", "summary")
    info = tracking.log_run(uri or default_tracking_uri("experiments"), f"evaluate-{backend}-{protocol}",
                            {"backend": backend, "protocol": protocol, "folds": folds, "data": data,
                             "threshold": threshold, "params": report["params"]},
                            {k: v for k, v in report.items() if k in keys},
                            [out, *(out.parent / f for f in report.get("figures", []))],
                            tags={"mechcode.command": "evaluate"})
    report["mlflow"] = info


def summary_lines(report: EvaluationReport) -> list[str]:
    """Headline figures, one line per backend."""
    s = report["summary"]
    labels = [report["backend"], *report["baselines"]]
    keys = {"transfer-roles": ("cmo_macro_f1", "role5_macro_f1"),
            "primary-studies": ("mechanism_macro_f1", "mechanism_auc", "role_macro_f1", "cmo_macro_f1"),
            "off-topic": ("share",)}.get(report["protocol"])
    lines = []
    for label, key in zip(labels, ["backend", *report["baselines"]]):
        fig = s.get(key) or {}
        if keys is None:
            lines.append(f"{label} ({report['protocol']}): mechanism macro-F1 {fig.get('mechanism_macro_f1')}, "
                         f"role macro-F1 {fig.get('role_macro_f1')}, polarity macro-F1 "
                         f"{fig.get('polarity_macro_f1')}, ECE mechanism {fig.get('ece_mechanism')} "
                         f"(suggested pairs {fig.get('ece_mechanism_suggested')})")
        elif report["protocol"] == "off-topic":
            lines.append(f"{label} (off-topic): {fig.get('share')} of sentences get a mechanism")
        else:
            parts = "; ".join(f"{part}: " + ", ".join(f"{k} {v.get(k)}" for k in keys)
                              + (f", paper AUC {v['paper']['max']['auc']}" if "paper" in v else "")
                              for part, v in fig.items())
            when = "no in-domain papers / all other papers" if report["protocol"] == "primary-studies" \
                else "largest training size"
            lines.append(f"{label} ({report['protocol']}, {when}): {parts}")
    return lines
