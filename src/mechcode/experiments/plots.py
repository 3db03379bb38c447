"""PNG plots of simulated reviews (matplotlib, Agg backend): recall and F1 curves.

One line per run (backend / strategy), the mean over seeds, with a band from the minimum to
the maximum seed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _label(summary: Mapping[str, Any], many_backends: bool) -> str:
    return f"{summary['backend']}/{summary['strategy']}" if many_backends else summary["strategy"]


STYLES = ("-", "--", "-.", ":")
COLORS = {"random": "C0", "uncertain": "C1", "coverage": "C2", "paper": "C3"}  # one colour per strategy


def _style(summaries: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> str:
    """One line style per backend (colours then tell the strategies apart)."""
    backends = list(dict.fromkeys(s["backend"] for s in summaries))
    return STYLES[backends.index(summary["backend"]) % len(STYLES)]


def _line(ax, summary: Mapping[str, Any], metric: str, label: str, style: str = "-") -> None:
    pts = [(r["n_coded"], r[f"{metric}_mean"], r[f"{metric}_min"], r[f"{metric}_max"])
           for r in summary["curve"] if r.get(f"{metric}_mean") is not None]
    if not pts:
        return
    x, y, lo, hi = zip(*pts)
    (ln,) = ax.plot(x, y, style, label=label, linewidth=1.6, color=COLORS.get(summary["strategy"]))
    ax.fill_between(x, lo, hi, color=ln.get_color(), alpha=0.15, linewidth=0)


def plot_recall(summaries: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Recall of evidence units vs units reviewed, with the expected recall of random reading."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    many = len({s["backend"] for s in summaries}) > 1
    for s in summaries:
        _line(ax, s, "recall", _label(s, many), _style(summaries, s))
    if summaries:
        n = summaries[0]["n_units"]
        ax.plot([0, n], [0, 1], ":", color="grey", label="random reading (expected)")
        ax.set_xlim(0, n)
    ax.set_xlabel("units reviewed")
    ax.set_ylabel("recall of evidence units")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Evidence found vs units reviewed (mean, min-max over seeds)", fontsize=10)
    return save_figure(fig, plt, path)


def plot_f1(summaries: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Macro-F1 of the suggestions vs units coded: on the units not yet coded (mechanism, role)
    and, when the runs set a holdout aside, on the holdout units."""
    plt = pyplot()
    panels = [("f1_mechanism", "mechanism macro-F1, units not yet coded"),
              ("f1_role", "role macro-F1, units not yet coded")]
    if any(r.get("holdout_f1_mechanism_mean") is not None for s in summaries for r in s["curve"]):
        panels += [("holdout_f1_mechanism", "mechanism macro-F1, holdout units"),
                   ("holdout_f1_role", "role macro-F1, holdout units")]
    rows = len(panels) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(10, 4.0 * rows), sharex=True, squeeze=False)
    many = len({s["backend"] for s in summaries}) > 1
    for ax, (metric, title) in zip(axes.ravel(), panels):
        for s in summaries:
            _line(ax, s, metric, _label(s, many), _style(summaries, s))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("units coded")
        ax.set_ylim(0, 1.0)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower right")
    return save_figure(fig, plt, path)


def plot_mechanism_recall(summaries: Sequence[Mapping[str, Any]], mechanism: str, path: Path) -> Path:
    """Recall of one mechanism's units vs units read (``--target mechanism``), one line per
    backend/strategy: mean over seeds with a min-max band, and random reading for reference."""
    import numpy as np

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    n = 0
    for s in summaries:
        runs = [r for r in s["runs"] if r["mechanism"] == mechanism]
        if not runs:
            continue
        n, rel = runs[0]["n_units"], runs[0]["n_relevant"]
        x = np.arange(1, n + 1)
        curves = np.array([[np.searchsorted(r["hits"], k, side="right") / rel for k in x] for r in runs])
        (ln,) = ax.plot(x, curves.mean(axis=0), label=f"{s['backend']}/{s['strategy']}", linewidth=1.6)
        ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), color=ln.get_color(), alpha=0.15, linewidth=0)
    if n:
        ax.plot([0, n], [0, 1], ":", color="grey", label="random reading (expected)")
        ax.set_xlim(0, n)
    ax.set_xlabel("units read (after the two prior units)")
    ax.set_ylabel(f"recall of {mechanism} units")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"Finding {mechanism} (mean, min-max over seeds)", fontsize=10)
    return save_figure(fig, plt, path)


def save_figure(fig, plt, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
