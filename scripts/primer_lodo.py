#!/usr/bin/env python
"""Leave-one-domain-out role scores on the CMO role primer, for mechcode's backends.

Usage::

    python scripts/primer_lodo.py [PRIMER] [--codebook CODEBOOK] [--backends majority,zeroshot,sparse]
                                  [--params BACKEND:JSON ...] [--json OUT] [--transfer DATA]

Each domain in turn is the test side; a learning backend is trained on the other domains' statements
(roles and polarities only; the primer has no mechanisms), ``zeroshot`` sees no statement at all.
Prints role macro-F1 (context / mechanism-resource / mechanism-reasoning / outcome) and polarity
macro-F1 per held-out domain, and their means. ``--transfer DATA`` adds one more test side: each
backend trained on the whole primer scores the C/M/O units of DATA (a labelled units JSONL such as
``corpora/sims2021/units.jsonl``; its ``none`` and unlabelled units are left out, as the primer has
none). The codebook only supplies the role definitions
(default: the bundled sims2021 codebook). Problems are reported as one ``error: ...`` line.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "corpora" / "cmo-primer" / "primer.jsonl"
CODEBOOK = ROOT / "corpora" / "sims2021" / "codebook.yaml"


def hard_ids(path: Path) -> set[str]:
    """Ids of the statements flagged ``hard``."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["id"] for r in rows if r.get("hard")}


def primer_units(path: Path):
    """The primer as labelled units, grouped by domain (``group`` = domain)."""
    from mechcode.models.base import LabelledUnit

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [LabelledUnit(r["id"], r["text"], "", [], r["role"], r["polarity"], r["domain"]) for r in rows]


def lodo(units, codebook, backend: str, params: dict, hard: set[str] = frozenset()) -> dict:
    """Per held-out domain: role and polarity macro-F1 of ``backend``; role accuracy on the
    statements in ``hard`` and on the others."""
    from mechcode.models.evaluation.evaluate import cross_val_predict, make_backend
    from mechcode.models.evaluation.metrics import score

    domains = list(dict.fromkeys(u.group for u in units))
    idx = {d: np.array([i for i, u in enumerate(units) if u.group == d]) for d in domains}
    if backend == "zeroshot":  # never trained: one fit on the codebook, every unit predicted
        preds = make_backend(backend, params).fit([], codebook).predict(units)
    else:
        folds = [(np.array([i for i, u in enumerate(units) if u.group != d]), idx[d]) for d in domains]
        preds, _ = cross_val_predict(units, codebook, backend, params, folds)
    out = {}
    for d in domains:
        s = score([units[i] for i in idx[d]], [preds[i] for i in idx[d]], codebook)
        out[d] = {"role": s["role"]["macro_f1"], "polarity": s["polarity"]["macro_f1"]}
    pooled = score(units, preds, codebook)
    right = {u.id: max(p["role"], key=p["role"].get) == u.role for u, p in zip(units, preds)}
    out["role_accuracy"] = {name: round(float(np.mean([right[i] for i in ids])), 3) if ids else None
                            for name, ids in (("hard", hard & set(right)), ("not_hard", set(right) - hard))}
    out["mean"] = {k: round(float(np.mean([out[d][k] for d in domains])), 3) for k in ("role", "polarity")}
    out["pooled"] = {"role": pooled["role"]["macro_f1"], "polarity": pooled["polarity"]["macro_f1"],
                     "role_confusion": pooled["role"]["confusion"], "role_labels": pooled["role"]["labels"]}
    return out


def transfer(units, data: Path, codebook, backend: str, params: dict) -> dict:
    """Train on the whole primer, score the C/M/O units of ``data``."""
    from mechcode.models.data import read_labelled
    from mechcode.models.evaluation.evaluate import make_backend
    from mechcode.models.evaluation.metrics import score

    test = [u for u in read_labelled(data) if u.role not in (None, "none")]
    model = make_backend(backend, params).fit([] if backend == "zeroshot" else units, codebook)
    s = score(test, model.predict(test), codebook)
    return {"role": s["role"]["macro_f1"], "polarity": s["polarity"]["macro_f1"], "n": len(test)}


def table(results: dict) -> str:
    names = list(results)
    domains = [d for d in next(iter(results.values())) if d not in ("pooled", "role_accuracy")]
    rename = {"transfer": "whole primer → DATA"}
    head = "| held-out domain | " + " | ".join(f"{n} role | {n} pol." for n in names) + " |"
    lines = [head, "|---|" + "---|---|" * len(names)]
    for d in domains:
        cells = [f"{results[n][d]['role']:.2f} | {results[n][d]['polarity']:.2f}" for n in names]
        lines.append(f"| {rename.get(d, d)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("primer", nargs="?", type=Path, default=DEFAULT, help="primer JSONL file")
    ap.add_argument("--codebook", type=Path, default=CODEBOOK, help="codebook for the role definitions")
    ap.add_argument("--backends", default="majority,zeroshot,sparse",
                    help="comma-separated backend names (majority, zeroshot, sparse, embed, ...)")
    ap.add_argument("--params", action="append", default=[], metavar="BACKEND:JSON",
                    help='backend parameters, e.g. zeroshot:{"encoder":"tfidf"} (repeatable)')
    ap.add_argument("--json", type=Path, help="also write the full results as JSON here")
    ap.add_argument("--transfer", type=Path, metavar="DATA",
                    help="also train on the whole primer and score the C/M/O units of DATA")
    args = ap.parse_args(argv)
    from mechcode.codebook import load_codebook
    from mechcode.errors import MechcodeError

    try:
        params = {p.split(":", 1)[0]: json.loads(p.split(":", 1)[1]) for p in args.params}
        units, codebook = primer_units(args.primer), load_codebook(args.codebook)
        hard = hard_ids(args.primer)
        results = {b: lodo(units, codebook, b, params.get(b, {}), hard) for b in args.backends.split(",")}
        for b in results if args.transfer else []:
            results[b]["transfer"] = transfer(units, args.transfer, codebook, b, params.get(b, {}))
    except (OSError, ValueError, KeyError, IndexError, MechcodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(table(results), end="")
    for b, r in results.items():
        print(f"{b}: role accuracy on hard statements {r['role_accuracy']['hard']}, "
              f"on the others {r['role_accuracy']['not_hard']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
