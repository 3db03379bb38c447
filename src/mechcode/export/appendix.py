"""A methods appendix (Markdown) for RAMESES-style reporting of the coding process.

:func:`gather_facts` reads the review (papers, units, decisions, models, codebook
versions, reviewer agreement); :func:`render_appendix`
is a pure function from those facts to Markdown.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from mechcode import __version__
from mechcode.synthesis.matrix import review_matrix
from mechcode.team.agreement import agreement_summary


def _flat_metrics(d: Any, prefix: str = "", depth: int = 0) -> dict[str, float]:
    """Numeric leaves of a (nested) metrics dict, keys joined with '.' (two levels deep)."""
    out: dict[str, float] = {}
    if not isinstance(d, dict) or depth > 2:
        return out
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            out[key] = v
        elif isinstance(v, dict):
            out.update(_flat_metrics(v, key + ".", depth + 1))
    return out


def _codebook_versions(rv) -> list[dict[str, Any]]:
    return [{k: v for k, v in c.items() if k != "body"} for c in rv.codebooks()]


def gather_facts(rv) -> dict[str, Any]:
    """Everything the appendix reports, read from the review."""
    docs = rv.documents()
    decisions = rv.decisions()
    undone = {d.get("undoes") for d in decisions if d["action"] == "undo"}
    live = [d for d in decisions if d["action"] != "undo" and d["id"] not in undone]
    codes = rv.current_codes()
    matrix = review_matrix(rv)
    return {
        "review": str(rv.path), "codebook": rv.codebook.to_dict(),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "papers": len(docs), "pages": sum(d.get("n_pages") or 0 for d in docs),
        "placeholders": sum(1 for d in docs if (d.get("metadata") or {}).get("placeholder")),
        "units": rv.count_units(),
        "suggested_units": len(rv.suggestions()) if rv.latest_model() else 0,
        "actions": dict(Counter(d["action"] for d in decisions)),
        "live_actions": dict(Counter(d["action"] for d in live)),
        "reviewers": dict(Counter(d["reviewer"] for d in decisions if d["action"] != "undo")),
        "coded_units": sum(1 for c in codes.values() if c.get("action") in ("accept", "correct", "adjudicate")),
        "models": rv.models(), "codebook_versions": _codebook_versions(rv),
        "n_per_mechanism": {c.id: matrix.n(c.id) for c in matrix.columns},
        "agreement": agreement_summary(rv),
    }


def _models_md(models: list[dict[str, Any]]) -> list[str]:
    if not models:
        return ["No model was used: every code was assigned by reviewers.", ""]
    lines = ["| Model version | Backend | Created | Training units | Evaluation |", "|---|---|---|---|---|"]
    for m in models:
        card = m["card"]  # the model card (models/README.md), decoded by the store
        metrics = _flat_metrics(card.get("metrics") or {})
        shown = ", ".join(f"{k} = {v:.3f}" if isinstance(v, float) else f"{k} = {v}"
                          for k, v in list(metrics.items())[:8]) or "not recorded"
        n_train = card.get("n_units", "")
        lines.append(f"| {m['version']} | {m.get('backend', '')} | {str(m.get('created_at', ''))[:19]} "
                     f"| {n_train} | {shown} |")
    return lines + [""]


def _codebook_md(f: dict[str, Any]) -> list[str]:
    cb = f["codebook"]
    lines = [f"Current codebook: **{cb['name']}**, version {cb['version']}, "
             f"{len(cb['mechanisms'])} codes.", ""]
    lines += ["| Mechanism | Status | Kind | Papers (N) |", "|---|---|---|---:|"]
    for m in cb["mechanisms"]:
        status = m["status"] + (f" → {', '.join(m['merged_into'])}" if m.get("merged_into") else "")
        lines.append(f"| {m['name']} | {status} | {m['kind']} | {f['n_per_mechanism'].get(m['id'], 0)} |")
    lines.append("")
    hist = cb.get("history") or []
    if hist:
        lines.append("Earlier versions: " + "; ".join(
            f"v{h['version']} ({len(h['mechanisms'])} codes)" for h in hist) + ".")
    for v in f["codebook_versions"]:
        change = f": {v['change']}" if v.get("change") else ""
        lines.append(f"- v{v['version']} stored {str(v['created_at'])[:10]} "
                     f"(fingerprint {v['fingerprint']}){change}")
    return lines + [""]


def _agreement_md(agr: dict[str, Any]) -> list[str]:
    """``team.agreement.agreement_summary`` as lines."""
    if agr.get("double_coded_units_compared") == 0:
        return ["Inter-reviewer agreement: no unit has been coded independently by two reviewers.", ""]
    flat = _flat_metrics(agr)
    if flat:
        return [f"- {k}: {v:.3f}" if isinstance(v, float) else f"- {k}: {v}" for k, v in flat.items()] + [""]
    return ["```", json.dumps(agr, indent=2, default=str, ensure_ascii=False), "```", ""]


def render_appendix(f: dict[str, Any]) -> str:
    """The methods appendix as Markdown (pure)."""
    acts, live = f["actions"], f["live_actions"]
    by_reviewer = live.get("correct", 0) + live.get("adjudicate", 0)
    lines = [
        "# Methods appendix: evidence coding", "",
        f"Generated {f['generated']} by mechcode {__version__} from the review `{f['review']}`.", "",
        "## Papers and units", "",
        f"- Papers coded: {f['papers']} ({f['pages']} pages"
        + (f"; {f['placeholders']} imported from an earlier evidence matrix" if f["placeholders"] else "")
        + ").",
        f"- Units (sentences and reviewer-selected spans): {f['units']}.",
        f"- Units with a model suggestion (latest model): {f['suggested_units']}.",
        f"- Units with a current reviewer code: {f['coded_units']}.", "",
        "## Reviewer decisions", "",
        f"- Decision events recorded: {sum(acts.values())} (append-only audit trail; "
        f"undone: {acts.get('undo', 0)}).",
        f"- Suggestions accepted as proposed: {live.get('accept', 0)}.",
        f"- Codes assigned or corrected by reviewers: {by_reviewer} "
        f"(corrections {live.get('correct', 0)}, adjudications {live.get('adjudicate', 0)}).",
        f"- Suggestions rejected: {live.get('reject', 0)}; skipped: {live.get('skip', 0)}.",
    ]
    if f["reviewers"]:
        lines.append("- Decisions per reviewer: " + ", ".join(
            f"{r} {n}" for r, n in sorted(f["reviewers"].items())) + ".")
    lines += ["", "## Models", ""] + _models_md(f["models"])
    lines += ["## Codebook", ""] + _codebook_md(f)
    lines += ["## Agreement", ""] + _agreement_md(f["agreement"])
    return "\n".join(lines)


def review_appendix(rv) -> str:
    return render_appendix(gather_facts(rv))
