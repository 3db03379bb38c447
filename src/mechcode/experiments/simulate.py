"""Simulated reviews over several seeds, backends and strategies (``mechcode simulate``).

Replays a finished set of gold-coded units as if a reviewer coded them one batch at a time in
the order a query strategy picks (see :mod:`mechcode.experiments.replay` for one run and
:mod:`mechcode.experiments.strategies` for the strategies), and writes into ``OUTPUT``::

    seed-N.json       checkpoint of seed N (written atomically after every step; resumable)
    summary.json      mean and spread over seeds (see mechcode.experiments.summary)
    curve.csv         the per-step curve (mean / std / min / max over seeds)
    recall.png        recall of evidence units vs units reviewed, one line per run
    f1.png            macro-F1 on the units not yet coded vs units coded

With several backends or strategies, each combination gets a sub-folder (``OUTPUT/STRATEGY``,
or ``OUTPUT/BACKEND/STRATEGY`` with several backends), ``OUTPUT/summary.json`` lists the runs
(``{"runs": [...]}``) and the plots in ``OUTPUT`` compare them.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from mechcode.codebook import Codebook, load_codebook
from mechcode.contracts.simulation import EvidenceRuns, EvidenceSummary
from mechcode.errors import DataError
from mechcode.experiments.data import BackendSpec, backend_label, drop_definition_units, read_units
from mechcode.experiments.replay import Replay, SimConfig, write_json_atomic
from mechcode.experiments.strategies import check_strategies
from mechcode.experiments.summary import aggregate, write_curve_csv


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_inputs(data: str | Path | Sequence[Mapping[str, Any]],
                codebook: str | Path | Codebook) -> tuple[list[dict[str, Any]], Codebook]:
    """Rows (from a JSONL path or a list of dicts) and a codebook (from a path or as is)."""
    from mechcode.experiments.data import check_codes, check_row

    if isinstance(data, (str, Path)):
        rows = read_units(data)
    else:
        seen: set[str] = set()
        rows = [check_row(dict(r), f"unit {i}", seen) for i, r in enumerate(data)]
    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    check_codes(rows, cb)
    return rows, cb


def seed_list(seeds: int | Iterable[int]) -> list[int]:
    """``3`` -> ``[0, 1, 2]``; a list of seeds is kept."""
    out = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not out:
        raise DataError("at least one seed is needed")
    return out


def run_dirs(output: Path, backends: Sequence[BackendSpec], strategies: Sequence[str]) -> list[tuple]:
    """``(backend, strategy, folder)`` of every combination."""
    out = []
    for b in backends:
        for s in strategies:
            parts = ([backend_label(b)] if len(backends) > 1 else []) + ([s] if len(strategies) > 1 else [])
            out.append((b, s, output.joinpath(*parts)))
    return out


def clear_run(folder: Path) -> None:
    """Remove the checkpoints and summary of a run folder (``--fresh``)."""
    for p in list(folder.glob("seed-*.json")) + [folder / "summary.json", folder / "curve.csv"]:
        p.unlink(missing_ok=True)


def run_simulation(data, codebook, output: str | Path, *, backends: Sequence[BackendSpec] = ("sparse",),
                   strategies: Sequence[str] = ("uncertain",), seeds: int | Iterable[int] = 3,
                   seed_labels: int = 10, batch: int = 10, retrain_every: int = 10,
                   max_steps: int | None = None, holdout: float = 0.0,
                   params: Mapping[str, Mapping[str, Any]] | None = None,
                   exclude_definition_units: bool = True, fresh: bool = False,
                   progress: bool = False, plots: bool = True,
                   log: Callable[[str], None] = _stderr,
                   on_step: Callable[[int, dict], None] | None = None) -> list[EvidenceSummary]:
    """Run (or resume) every backend x strategy x seed; returns one summary per combination.

    ``data`` is a labelled-unit JSONL path or a list of unit dicts, ``codebook`` a path or a
    :class:`~mechcode.codebook.Codebook`; ``backends`` are registry names (or backend classes);
    ``params`` maps a backend name to its hyperparameters; ``holdout`` sets that share of the
    paragraphs aside per seed to score suggestions on unseen units. Finished seeds found in ``output`` are
    skipped and an interrupted seed continues where it stopped (``fresh=True`` starts over).
    Units that repeat a codebook definition are left out unless ``exclude_definition_units`` is
    false (see :func:`mechcode.experiments.data.drop_definition_units`).
    """
    rows, cb = load_inputs(data, codebook)
    if exclude_definition_units:
        rows, dropped = drop_definition_units(rows, cb)
        if dropped:
            log(f"left out {dropped} units that repeat a codebook definition ({len(rows)} units remain)")
    strategies = check_strategies(list(strategies))
    seeds = seed_list(seeds)
    if not backends:
        raise DataError("no backend given")
    output = Path(output)
    evidence = {r["id"]: bool(r.get("mechanisms")) for r in rows}
    summaries: list[EvidenceSummary] = []
    for backend, strategy, folder in run_dirs(output, list(backends), strategies):
        name = backend_label(backend)
        cfg = SimConfig(backend=name, strategy=strategy, seed_labels=seed_labels, batch=batch,
                        retrain_every=retrain_every, max_steps=max_steps, holdout=holdout,
                        params=dict((params or {}).get(name) or {}))
        replay = Replay(rows, cb, cfg, backend=backend)
        if fresh:
            clear_run(folder)
        folder.mkdir(parents=True, exist_ok=True)
        states = [replay.run_seed(seed, folder / f"seed-{seed}.json", on_step=on_step, progress=progress,
                                  log=lambda m, p=f"{name}/{strategy}": log(f"{p} {m}"))
                  for seed in seeds]
        summary = aggregate(states, evidence, strategy=strategy, backend=name,
                            config={**cfg.key(), "max_steps": max_steps,
                                    "exclude_definition_units": exclude_definition_units})
        write_json_atomic(folder / "summary.json", summary)
        write_curve_csv(summary["curve"], folder / "curve.csv")
        summaries.append(summary)
    if len(summaries) > 1:
        runs: EvidenceRuns = {"runs": summaries}
        write_json_atomic(output / "summary.json", runs)
    if plots:
        from mechcode.experiments.plots import plot_f1, plot_recall

        plot_recall(summaries, output / "recall.png")
        plot_f1(summaries, output / "f1.png")
    return summaries


def summary_lines(summaries: Sequence[EvidenceSummary]) -> list[str]:
    """A short plain-text table of the main figures (printed by the CLI)."""
    from mechcode.experiments.summary import fmt_spread

    lines = []
    for s in summaries:
        u = s["units_to_f1"]
        to_f1 = f"units to held-out mechanism F1 0.5: {fmt_spread(u['mechanism@0.5'], 0)}, " if u else ""
        lines.append(f"{s['backend']}/{s['strategy']}: WSS@95 {fmt_spread(s['wss@95'])} "
                     f"(max {fmt_spread(s['wss_max@95'])}), WSS@100 {fmt_spread(s['wss@100'])}, {to_f1}"
                     f"acceptance {fmt_spread(s['accept_exact'])}, "
                     f"retrain {fmt_spread(s['train_seconds'])} s")
    return lines
