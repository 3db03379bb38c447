"""Render an evidence :class:`~mechcode.synthesis.matrix.Matrix` as CSV, Markdown or a PNG heat map."""
from __future__ import annotations

import csv
import io
import textwrap
from pathlib import Path

from mechcode.synthesis.matrix import Matrix

TICK = "✓"


def _cell(value: int, counts: bool, tick: str = TICK) -> str:
    if counts:
        return str(value) if value else ""
    return tick if value else ""


def to_csv(m: Matrix, counts: bool = False) -> str:
    """CSV with ``paper`` + mechanism ids as header (re-importable with ``load_matrix_csv``),
    1/0 cells (or counts), an ``N`` row and, when given, a ``Reported N`` row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["paper"] + [c.id for c in m.columns])
    for r in m.rows:
        w.writerow([r.label] + [m.cell(r, c.id) if counts else int(m.cell(r, c.id) > 0)
                                for c in m.columns])
    w.writerow(["N"] + [m.n(c.id) for c in m.columns])
    if m.reported:
        w.writerow(["Reported N"] + [m.reported.get(c.id, "") for c in m.columns])
    return buf.getvalue()


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(m: Matrix, counts: bool = False, title: str | None = None) -> str:
    """A Markdown table (papers x mechanisms) with N (and Reported N) rows, then notes and
    one warning line per reported-N mismatch."""
    lines = []
    if title:
        lines += [f"## {title}", ""]
    head = ["Paper"] + [_md_escape(c.header) for c in m.columns]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" + ":---:|" * len(m.columns))
    for r in m.rows:
        cells = [_md_escape(r.label)] + [_cell(m.cell(r, c.id), counts) for c in m.columns]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| **N** | " + " | ".join(f"**{m.n(c.id)}**" for c in m.columns) + " |")
    mism = {x["mechanism"] for x in m.mismatches()}
    if m.reported:
        cells = []
        for c in m.columns:
            v = m.reported.get(c.id)
            cells.append("" if v is None else (f"**{v}** ⚠" if c.id in mism else str(v)))
        lines.append("| Reported N | " + " | ".join(cells) + " |")
    lines.append("")
    what = "supporting units" if counts else f"{TICK} = at least one supporting unit"
    lines.append(f"Source: {m.source}; {len(m.rows)} papers; cells: {what}; "
                 "N = number of papers per mechanism.")
    inactive = [c for c in m.columns if c.status != "active"]
    if inactive:
        lines.append("Status: " + "; ".join(f"{c.name} is {c.status}" for c in inactive) + ".")
    for w in m.warnings():
        lines.append(f"> ⚠ WARNING: {w}")
    return "\n".join(lines) + "\n"


def to_png(m: Matrix, path: str | Path, counts: bool = True, title: str | None = None) -> Path:
    """A heat map: papers on y, wrapped mechanism names (with N) on x, counts annotated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    path = Path(path)
    data = np.array([[m.cell(r, c.id) for c in m.columns] for r in m.rows], dtype=float)
    if data.size == 0:
        data = np.zeros((max(len(m.rows), 1), max(len(m.columns), 1)))
    n_rows, n_cols = data.shape
    fig, ax = plt.subplots(figsize=(max(6.0, 1.15 * n_cols + 3.0), max(3.0, 0.32 * n_rows + 2.6)))
    vmax = max(float(data.max()), 1.0)
    ax.imshow(data, aspect="auto", cmap="Blues", vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_yticks(range(len(m.rows)), [r.label for r in m.rows], fontsize=8)
    xlabels = [textwrap.fill(c.header, 14) + f"\nN = {m.n(c.id)}" for c in m.columns]
    ax.set_xticks(range(len(m.columns)), xlabels, fontsize=7)
    ax.xaxis.tick_top()
    for i in range(len(m.rows)):
        for j in range(len(m.columns)):
            v = int(data[i, j])
            if v:
                ax.text(j, i, str(v) if counts else TICK, ha="center", va="center", fontsize=7,
                        color="white" if v > vmax / 2 else "black")
    ax.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
    ax.grid(which="minor", color="#dddddd", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    caption = title or f"Evidence matrix ({m.source}): supporting units per paper and mechanism"
    if m.mismatches():
        caption += "\nReported N differs: " + ", ".join(
            f"{x['name']} {x['reported']} vs {x['ticks']}" for x in m.mismatches())
    ax.set_xlabel("\n".join(textwrap.fill(part, 120) for part in caption.split("\n")), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
