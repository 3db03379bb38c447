"""Inter-reviewer and reviewer-model agreement.

For every pair of reviewers, over the units both coded independently
(double-coded units; ``double_only=False`` takes every unit both coded):

- per mechanism, presence/absence per unit: Cohen's kappa
  (``sklearn.metrics.cohen_kappa_score``), Krippendorff's alpha (nominal,
  the ``krippendorff`` package), percent agreement and the counts;
- role and polarity as nominal categories, over the units where both gave one;
- ``exact``: the share of units whose whole codes agree.

Krippendorff's alpha is also computed across all reviewers at once. The same
figures compare each reviewer with the model's suggestions (a mechanism is
suggested when its probability is at least ``threshold``; role and polarity
are the most probable). Kappa or alpha is ``None`` where it is undefined (one
category only); percent agreement is still given. Codes are compared in the
current codebook's ids; codes waiting for re-coding are left out.
"""
from __future__ import annotations

import itertools
import json
import warnings
from typing import Any, Sequence

import numpy as np

from mechcode.store.assignments import assignments
from mechcode.store.finals import current_codes_all, signature

NOMINAL = ("role", "polarity")


# ----------------------------------------------------------------------------- statistics
def kappa(a: Sequence[Any], b: Sequence[Any]) -> float | None:
    """Cohen's kappa of two raters (None when undefined or no units)."""
    from sklearn.metrics import cohen_kappa_score

    if not a:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = cohen_kappa_score(list(a), list(b), labels=sorted(set(a) | set(b), key=str))
    return None if value is None or np.isnan(value) else float(value)


def alpha(rows: Sequence[Sequence[Any]]) -> float | None:
    """Krippendorff's alpha (nominal) of coders x units; ``None`` entries are missing."""
    import krippendorff

    values = sorted({v for row in rows for v in row if v is not None}, key=str)
    if len(values) < 2:
        return None
    index = {v: float(i) for i, v in enumerate(values)}
    data = np.array([[np.nan if v is None else index[v] for v in row] for row in rows], dtype=float)
    try:
        return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    except (ValueError, ZeroDivisionError):
        return None


def compare(a: Sequence[Any], b: Sequence[Any]) -> dict[str, Any]:
    """n, percent agreement, kappa and alpha of two aligned label lists."""
    n = len(a)
    same = sum(x == y for x, y in zip(a, b))
    return {"n": n, "agree": same, "percent": 100.0 * same / n if n else None,
            "kappa": kappa(a, b), "alpha": alpha([list(a), list(b)])}


# ----------------------------------------------------------------------------- codes as labels
def _labels(code: dict[str, Any]) -> dict[str, Any]:
    """A code as {mechanisms: set, role, polarity} (a reject: no mechanism, role none)."""
    if code.get("action") == "reject":
        return {"mechanisms": set(), "role": "none", "polarity": None}
    return {"mechanisms": set(code.get("mechanisms") or ()), "role": code.get("role"),
            "polarity": code.get("polarity")}


def _aligned(la: list[dict], lb: list[dict], mechanisms: list[str]) -> dict[str, Any]:
    """Per-mechanism and role/polarity comparisons of two aligned lists of labels."""
    out: dict[str, Any] = {"n": len(la), "mechanisms": {}}
    for m in mechanisms:
        a, b = [int(m in x["mechanisms"]) for x in la], [int(m in y["mechanisms"]) for y in lb]
        out["mechanisms"][m] = {**compare(a, b), "present_a": sum(a), "present_b": sum(b),
                                "present_both": sum(x and y for x, y in zip(a, b))}
    for key in NOMINAL:
        pairs = [(x[key], y[key]) for x, y in zip(la, lb) if x[key] is not None and y[key] is not None]
        out[key] = compare([p[0] for p in pairs], [p[1] for p in pairs])
    return out


def _mechanisms(review) -> list[str]:
    """The codes agreement is reported for: every live (active or no-evidence) mechanism."""
    return [m.id for m in review.codebook.mechanisms if m.status in ("active", "no-evidence")]


# ----------------------------------------------------------------------------- reviewers
def _own_codes(review, double_only: bool) -> tuple[dict[str, dict[int, dict]], set[int]]:
    """reviewer -> {unit: own code} (no pending re-coding) and the units compared."""
    double = assignments(review)
    own = {r: {u: c for u, c in codes.items() if not c.get("pending")}
           for r, codes in current_codes_all(review)[1].items()}
    if double_only:
        scope = set(double)
        own = {r: {u: c for u, c in codes.items() if u in scope and r in double[u]} for r, codes in own.items()}
    own = {r: codes for r, codes in own.items() if codes}
    counts: dict[int, int] = {}
    for codes in own.values():
        for u in codes:
            counts[u] = counts.get(u, 0) + 1
    return own, {u for u, n in counts.items() if n >= 2}


def reviewer_agreement(review, double_only: bool = True) -> dict[str, Any]:
    """Pairwise kappa/percent (and alpha) per mechanism, role and polarity; alpha over all reviewers."""
    mechanisms = _mechanisms(review)
    own, units = _own_codes(review, double_only)
    pairs = []
    for a, b in itertools.combinations(sorted(own), 2):
        common = sorted(set(own[a]) & set(own[b]))
        if not common:
            continue
        la, lb = [_labels(own[a][u]) for u in common], [_labels(own[b][u]) for u in common]
        exact = sum(signature(own[a][u]) == signature(own[b][u]) for u in common)
        pairs.append({"reviewers": [a, b], **_aligned(la, lb, mechanisms),
                      "exact": {"n": len(common), "agree": exact, "percent": 100.0 * exact / len(common)}})
    names, order = sorted(own), sorted(units)
    labels = {r: {u: _labels(c) for u, c in own[r].items()} for r in names}

    def rows(get) -> list[list[Any]]:
        return [[get(labels[r][u]) if u in labels[r] else None for u in order] for r in names]

    overall = {"n": len(order), "reviewers": names,
               "mechanisms": {m: alpha(rows(lambda x, m=m: int(m in x["mechanisms"]))) for m in mechanisms},
               **{k: alpha(rows(lambda x, k=k: x[k])) for k in NOMINAL}}
    return {"scope": "double-coded units" if double_only else "all units coded by two or more reviewers",
            "codebook_version": review.codebook.version, "units": len(order), "pairs": pairs, "alpha": overall}


# ----------------------------------------------------------------------------- model
def _model_labels(s: dict[str, Any], threshold: float) -> dict[str, Any]:
    def top(d: Any) -> Any:
        return max(d, key=d.get) if isinstance(d, dict) and d else None

    mechs = s.get("mechanisms") or {}
    return {"mechanisms": {m for m, p in mechs.items() if float(p) >= threshold},
            "role": top(s.get("role")), "polarity": top(s.get("polarity"))}


def model_agreement(review, threshold: float = 0.5, model_version: str | None = None) -> dict[str, Any]:
    """Each reviewer vs the model's suggestions (mechanism suggested when p >= ``threshold``)."""
    suggestions = review.suggestions(model_version)
    latest = review.latest_model()
    version = model_version or (next(iter(suggestions.values()))["model_version"] if suggestions else None)
    out: dict[str, Any] = {"model_version": version, "threshold": threshold, "reviewers": []}
    if latest is not None and latest.get("version") == version:
        out["stale"] = latest.get("stale")
    if not suggestions:
        return out
    mechanisms = _mechanisms(review)
    for name, own in current_codes_all(review)[1].items():
        codes = {u: c for u, c in own.items() if not c.get("pending") and u in suggestions}
        if not codes:
            continue
        units = sorted(codes)
        lh = [_labels(codes[u]) for u in units]
        lm = [_model_labels(suggestions[u], threshold) for u in units]
        out["reviewers"].append({"reviewer": name, **_aligned(lh, lm, mechanisms)})
    return out


# ----------------------------------------------------------------------------- report
def agreement(review, threshold: float = 0.5, model_version: str | None = None,
              double_only: bool = True) -> dict[str, Any]:
    """The full agreement report (reviewers and model)."""
    return {"reviewers": reviewer_agreement(review, double_only),
            "model": model_agreement(review, threshold, model_version)}


def agreement_summary(review) -> dict[str, Any]:
    """A compact summary for the methods appendix: per pair mean kappa and percent, alpha overall."""
    rep = reviewer_agreement(review)
    out: dict[str, Any] = {"double_coded_units_compared": rep["units"]}
    for p in rep["pairs"]:
        ks = [v["kappa"] for v in p["mechanisms"].values() if v["kappa"] is not None]
        key = " vs ".join(p["reviewers"])
        out[key] = {"units": p["n"], "exact_percent": p["exact"]["percent"],
                    "mean_mechanism_kappa": float(np.mean(ks)) if ks else None,
                    "role_kappa": p["role"]["kappa"], "polarity_kappa": p["polarity"]["kappa"]}
    out["alpha"] = {"role": rep["alpha"]["role"], "polarity": rep["alpha"]["polarity"],
                    **{m: a for m, a in rep["alpha"]["mechanisms"].items() if a is not None}}
    return out


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "–"
    return f"{v:.1f}%" if pct else (f"{v:.3f}" if isinstance(v, float) else str(v))


def _table(stats: dict[str, Any]) -> list[str]:
    lines = ["| Code | n | Present (A / B / both) | Agreement | Cohen's κ | Krippendorff's α |",
             "|---|---|---|---|---|---|"]
    for m, s in stats["mechanisms"].items():
        lines.append(f"| {m} | {s['n']} | {s['present_a']} / {s['present_b']} / {s['present_both']} | "
                     f"{_fmt(s['percent'], True)} | {_fmt(s['kappa'])} | {_fmt(s['alpha'])} |")
    for k in NOMINAL:
        s = stats[k]
        lines.append(f"| *{k}* | {s['n']} | | {_fmt(s['percent'], True)} | {_fmt(s['kappa'])} | "
                     f"{_fmt(s['alpha'])} |")
    return lines + [""]


def to_markdown(report: dict[str, Any]) -> str:
    """The agreement report as Markdown."""
    rv, md = report["reviewers"], report["model"]
    lines = ["# Agreement", "", f"Codebook v{rv['codebook_version']}; {rv['scope']}: {rv['units']} units.", ""]
    if not rv["pairs"]:
        lines += ["No unit has been coded by two reviewers yet.", ""]
    for p in rv["pairs"]:
        a, b = p["reviewers"]
        lines += [f"## {a} (A) vs {b} (B)", "", f"{p['n']} units coded by both; whole code identical on "
                  f"{p['exact']['agree']} ({_fmt(p['exact']['percent'], True)}).", ""] + _table(p)
    if rv["pairs"]:
        al = rv["alpha"]
        lines += [f"## Krippendorff's α, all reviewers ({', '.join(al['reviewers'])})", "",
                  "| Code | α |", "|---|---|"]
        lines += [f"| {m} | {_fmt(v)} |" for m, v in al["mechanisms"].items()]
        lines += [f"| *{k}* | {_fmt(al[k])} |" for k in NOMINAL] + [""]
    lines += [f"## Reviewers vs model {md['model_version'] or '(none)'} (threshold {md['threshold']})", ""]
    if md.get("stale"):
        lines += [f"Note: this model is stale ({md['stale']}).", ""]
    if not md["reviewers"]:
        lines += ["No reviewer code has a model suggestion to compare with.", ""]
    for r in md["reviewers"]:
        lines += [f"### {r['reviewer']} (A) vs model (B)", ""] + _table(r)
    return "\n".join(lines)


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)
