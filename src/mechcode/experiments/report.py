"""Results tables (CSV + Markdown) and ``experiments/RESULTS.md``, generated from tracked runs.

Tables are built from *runs* of one shape, whether they come straight from an experiment just
run or from MLflow (:func:`mlflow.search_runs`)::

    {"backend", "strategy", "metrics": {"wss_95.mean": ..., ...}, "history": {key: [(step, v)]}}

so the table written next to an experiment and the one in RESULTS.md are the same code.
"""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from mechcode.experiments.summary import fmt_spread

STATS = ("mean", "std", "min", "max", "n", "reached", "of")
STRATEGY_KINDS = ("simulate", "mechanism-target")
# (header, metric base, digits) per kind; tables with the same kind share a layout
COLUMNS: dict[str, list[list[tuple[str, str, int]]]] = {
    "cv": [[("Mechanism macro-F1", "mechanism_macro_f1", 3), ("Role macro-F1", "role_macro_f1", 3),
            ("Polarity macro-F1", "polarity_macro_f1", 3), ("ECE (mechanism)", "ece_mechanism", 3),
            ("ECE (suggested pairs)", "ece_mechanism_suggested", 3),
            ("Fit s / fold", "fit_s_per_fold", 1)]],
    "simulate": [
        [("WSS@95", "wss_95", 3), ("WSS@100", "wss_100", 3), ("Best possible WSS@95", "wss_max_95", 3),
         ("Units to 95 % recall", "units_to_recall_95", 0), ("Units to 100 % recall", "units_to_recall_100", 0)],
        [("Mean mechanism F1 (not yet coded)", "curve_mean.f1_mechanism", 3),
         ("Mean mechanism F1 (holdout)", "curve_mean.holdout_f1_mechanism", 3),
         ("Mean role F1 (holdout)", "curve_mean.holdout_f1_role", 3),
         ("Units to held-out mechanism F1 0.5", "units_to_f1.mechanism_0.5", 0),
         ("Units to held-out mechanism F1 0.6", "units_to_f1.mechanism_0.6", 0),
         ("Units to held-out mechanism F1 0.7", "units_to_f1.mechanism_0.7", 0),
         ("Units to held-out role F1 0.6", "units_to_f1.role_0.6", 0),
         ("Units to held-out role F1 0.75", "units_to_f1.role_0.75", 0),
         ("Accepted as is", "accept_exact", 2), ("Partial credit", "accept_partial", 2),
         ("s / retrain", "train_seconds", 2)]],
    "mechanism-target": [
        [("Mean WSS@95", "wss_95", 3), ("Mean WSS@100", "wss_100", 3), ("Recall @10 %", "recall_10_", 3),
         ("Recall @20 %", "recall_20_", 3), ("Recall @50 %", "recall_50_", 3),
         ("Units to 95 % recall", "units_to_recall_95", 0)]],
}
LC_COLUMNS = [("Mechanism macro-F1", "mechanism_macro_f1", 3), ("Role macro-F1", "role_macro_f1", 3),
              ("Fit s", "fit_s", 2)]


def runs_from_records(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Runs (see the module docstring) from the records of :mod:`mechcode.experiments.kinds`."""
    from mechcode.models.tracking import flatten

    return [{"backend": r["backend"], "strategy": r.get("strategy") or "", "metrics": flatten(r["metrics"]),
             "history": r["steps"]} for r in records]


def spread_of(metrics: Mapping[str, float], base: str) -> dict[str, Any] | None:
    """The spread dict stored under ``base.mean``, ``base.std``, ... (None if absent)."""
    d = {k: metrics.get(f"{base}.{k}") for k in STATS}
    if d["n"] is None and d["mean"] is None:
        return None
    d["n"] = int(d["n"] or 0)
    for k in ("reached", "of"):
        if d[k] is None:
            d.pop(k)
        else:
            d[k] = int(d[k])
    return d


def _keys(run: Mapping[str, Any], kind: str) -> list[str]:
    return [run["backend"]] + ([run["strategy"]] if kind in STRATEGY_KINDS else [])


def _key_headers(kind: str) -> list[str]:
    return ["Backend"] + (["Strategy"] if kind in STRATEGY_KINDS else [])


def tables(kind: str, runs: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """``(markdown tables, CSV rows)`` for the runs of one experiment."""
    if kind == "learning-curve":
        return _lc_tables(runs)
    mds, csv_rows = [], [{"backend": r["backend"], "strategy": r["strategy"]} for r in runs]
    for group in COLUMNS[kind]:
        rows = []
        for run, crow in zip(runs, csv_rows):
            cells = _keys(run, kind)
            for _, base, digits in group:
                sp = spread_of(run["metrics"], base)
                cells.append(fmt_spread(sp, digits))
                for k in ("mean", "std", "min", "max"):
                    crow[f"{base}.{k}"] = None if sp is None else sp.get(k)
            rows.append(cells)
        mds.append(md_table(_key_headers(kind) + [h for h, _, _ in group], rows))
    return mds, csv_rows


def _lc_tables(runs: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    rows, csv_rows = [], []
    for run in runs:
        hist = {k: dict(v) for k, v in run["history"].items()}
        for n in sorted(hist.get("mechanism_macro_f1.mean", {})):
            cells, crow = [run["backend"], str(n)], {"backend": run["backend"], "train_units": n}
            for _, base, digits in LC_COLUMNS:
                mean, std = hist.get(f"{base}.mean", {}).get(n), hist.get(f"{base}.std", {}).get(n)
                cells.append("-" if mean is None else f"{mean:.{digits}f} ± {(std or 0.0):.{digits}f}")
                crow[f"{base}.mean"], crow[f"{base}.std"] = mean, std
            rows.append(cells)
            csv_rows.append(crow)
    return [md_table(["Backend", "Training units"] + [h for h, _, _ in LC_COLUMNS], rows)], csv_rows


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table (``|`` in cells escaped)."""
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *(line(r) for r in rows)])


def write_table(kind: str, records: Sequence[Mapping[str, Any]], stem: Path) -> tuple[Path, Path, str]:
    """``STEM.md`` and ``STEM.csv`` of an experiment just run; returns the paths and the Markdown."""
    mds, csv_rows = tables(kind, runs_from_records(records))
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    markdown = "\n\n".join(mds) + "\n"
    md_path, csv_path = stem.with_suffix(".md"), stem.with_suffix(".csv")
    md_path.write_text(f"# {stem.name}\n\n{markdown}", encoding="utf-8")
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        fields = list(dict.fromkeys(k for r in csv_rows for k in r))
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(csv_rows)
    return md_path, csv_path, markdown


# -- RESULTS.md from MLflow -----------------------------------------------------------------------

def tracked_experiments(uri: str) -> list[dict[str, Any]]:
    """The latest invocation (``mechcode.batch``) of every tracked experiment, runs included."""
    from mechcode.experiments.runner import EXPERIMENT_PREFIX
    from mechcode.models.tracking import _mlflow

    mlflow = _mlflow()
    mlflow.set_tracking_uri(uri)  # search_runs below reads the global URI
    client = mlflow.MlflowClient(tracking_uri=uri)
    out = []
    for e in client.search_experiments():
        if not e.name.startswith(EXPERIMENT_PREFIX):
            continue
        runs = mlflow.search_runs(experiment_ids=[e.experiment_id], output_format="list",
                                  filter_string="tags.`mechcode.batch` != ''", order_by=["start_time ASC"])
        if not runs:
            continue
        batch = max(r.data.tags.get("mechcode.batch", "") for r in runs)
        latest = [r for r in runs if r.data.tags.get("mechcode.batch") == batch]
        out.append({"name": e.name[len(EXPERIMENT_PREFIX):], "batch": batch, "tags": latest[0].data.tags,
                    "runs": [_run(client, r) for r in latest]})
    return sorted(out, key=lambda x: x["name"])


def _run(client, r) -> dict[str, Any]:
    tags = r.data.tags
    history = {}
    if tags.get("mechcode.kind") == "learning-curve":
        for key in r.data.metrics:
            if key.endswith((".mean", ".std")) and key.split(".")[0] in {b for _, b, _ in LC_COLUMNS}:
                history[key] = [(m.step, m.value) for m in client.get_metric_history(r.info.run_id, key)]
    return {"backend": tags.get("mechcode.backend", ""), "strategy": tags.get("mechcode.strategy", ""),
            "metrics": dict(r.data.metrics), "history": history}


def goals(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Plain statements on the loop targets: WSS@95 >= 0.60, uncertain/coverage beating random."""
    out = []
    wss = [(spread_of(r["metrics"], "wss_95"), r) for r in runs]
    wss = [(s, r) for s, r in wss if s and s["mean"] is not None]
    if not wss:
        out.append("WSS@95 ≥ 0.60: not computed — the runs stopped before 95 % recall (max_steps).")
    else:
        best, r = max(wss, key=lambda x: x[0]["mean"])
        ceiling = spread_of(r["metrics"], "wss_max_95") or {}
        met = "met" if best["mean"] >= 0.60 else "not met"
        out.append(f"WSS@95 ≥ 0.60 with the best strategy: **{met}** — best is {r['backend']}/{r['strategy']} "
                   f"with {fmt_spread(best, 3)}; a perfect ordering of this data would give "
                   f"{fmt_spread(ceiling, 3)}, so {best['mean'] / ceiling['mean']:.0%} of the achievable saving."
                   if ceiling.get("mean") else f"WSS@95 ≥ 0.60: **{met}** ({fmt_spread(best, 3)}).")
    for backend in dict.fromkeys(r["backend"] for r in runs):
        mine = [r for r in runs if r["backend"] == backend]
        out += _f1_goals(backend, mine)
    return out


F1_CURVES = (("holdout_f1_mechanism", "mechanism F1 on the holdout"), ("holdout_f1_role", "role F1 on the holdout"),
             ("f1_mechanism", "mechanism F1 on the units not yet coded"),
             ("f1_role", "role F1 on the units not yet coded"))


def _f1_goals(backend: str, runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Uncertain / coverage vs random on each F1-vs-units curve (mean over the curve) of one backend."""
    out = []
    for which, label in F1_CURVES:
        by = {r["strategy"]: spread_of(r["metrics"], f"curve_mean.{which}") for r in runs}
        by = {k: v["mean"] for k, v in by.items() if v and v.get("mean") is not None}
        if "random" not in by:
            continue
        if len(set(round(v, 6) for v in by.values())) == 1 and which.startswith("holdout"):
            out.append(f"{backend}: every strategy gives the same {label} ({by['random']:.3f}): "
                       "this backend does not learn from the coded units.")
            continue
        for s in ("uncertain", "coverage"):
            if s in by:
                d = by[s] - by["random"]
                out.append(f"{backend}: {s} {'beats' if d > 0 else 'does not beat'} random on {label} "
                           f"(mean over the curve): {by[s]:.3f} vs {by['random']:.3f} (Δ {d:+.3f}).")
    return out


SIM_NOTE = ("Reviewable units per seed: {n_units} ({n_evidence} evidence units, {prevalence}), plus {n_holdout} "
            "holdout units. *Mean … F1* is the mean of a curve over its steps (same steps for every strategy). "
            "*Units to … F1*: units coded (seed labels included) when the macro-F1 on the units not yet coded "
            "first reaches the target. *Accepted as is*: share of picked units whose suggestion (mechanisms "
            "≥ 0.5, top role) equals the gold codes.")


def _data_facts(runs: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    m = runs[0]["metrics"] if runs else {}
    n, e = m.get("n_units"), m.get("n_evidence")
    return {"n_units": f"{n:.0f}" if n else "?", "n_evidence": f"{e:.0f}" if e else "?",
            "prevalence": f"{e / n:.0%} of them" if n and e else "?",
            "n_holdout": f"{m.get('n_holdout', 0):.0f}"}


def results_markdown(experiments: Sequence[Mapping[str, Any]], uri: str) -> str:
    """The text of RESULTS.md."""
    from mechcode import __version__

    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = ["# mechcode experiment results", "",
             f"_Generated by `mechcode experiment report` from the runs tracked in MLflow (`{_short(uri)}`) "
             f"on {now}, mechcode {__version__}. Do not edit by hand: re-run an experiment "
             "(`mechcode experiment run experiments/NAME.toml`) and the report instead._", "",
             "Each section is the latest run of one experiment file. Figures are mean ± standard "
             "deviation (min–max) over seeds.", ""]
    if not experiments:
        parts.append("No tracked experiment runs yet.")
    for e in experiments:
        tags, kind = e["tags"], e["tags"].get("mechcode.kind", "")
        reuse = "; finished seeds are reused from their checkpoints" if kind == "simulate" else ""
        parts += [f"## {e['name']} ({kind})", "",
                  f"`experiments/{tags.get('mechcode.config', e['name'] + '.toml')}`, run {e['batch'][:15]} "
                  f"({tags.get('mechcode.seconds', '?')} s for that invocation{reuse}).", ""]
        if tags.get("mechcode.description"):
            parts += [tags["mechcode.description"], ""]
        mds, _ = tables(kind, e["runs"])
        for md in mds:
            parts += [md, ""]
        results = tags.get("mechcode.results", "")
        if kind == "simulate":
            parts += [SIM_NOTE.format(**_data_facts(e["runs"])), ""]
            parts += [f"![recall]({results}/recall.png)", "", f"![F1]({results}/f1.png)", ""]
            parts += ["**Targets.**", ""] + [f"- {g}" for g in goals(e["runs"])] + [""]
        elif kind == "learning-curve":
            parts += [f"![learning curves]({results}/learning_curves.png)", ""]
    return "\n".join(parts).rstrip() + "\n"


def _short(uri: str) -> str:
    return uri if not uri.startswith("sqlite:///") else "sqlite:///" + Path(uri[10:]).name


def write_results_md(exp_dir: str | Path, tracking_uri: str | None = None, output: str | Path | None = None) -> Path:
    """Regenerate ``EXP_DIR/RESULTS.md`` (or ``output``) from the tracked runs."""
    from mechcode.errors import DataError

    exp_dir = Path(exp_dir)
    if tracking_uri is None:
        db = exp_dir / "mlflow.db"
        if not db.is_file():
            raise DataError(f"no MLflow store at {db}; run an experiment first or give --tracking-uri")
        tracking_uri = f"sqlite:///{db.resolve()}"
    path = Path(output) if output else exp_dir / "RESULTS.md"
    path.write_text(results_markdown(tracked_experiments(tracking_uri), tracking_uri), encoding="utf-8")
    return path
