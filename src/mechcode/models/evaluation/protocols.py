"""Transfer protocols of ``mechcode evaluate`` (see :mod:`mechcode.models.evaluation.transfer` for the curve).

- ``transfer-roles``: role figures on author-written CMO statements the model did not train on.
  *boxes*: leave-one-box-out on the seed corpus's CMO chains (units with ``rule`` box-chain);
  boxes taken from the same study (``box_ref``) are held out together, and the held-out boxes'
  narrative units leave the training side too. *primer*: leave-one-domain-out on a role primer
  (units with ``domain``); the other domains and the seed corpus train. Both parts report C/M/O
  macro-F1 (resource + reasoning = M) and the 5-way role macro-F1
  (:func:`mechcode.models.evaluation.metrics.cmo_scores`).
- ``primary-studies``: a corpus of coded primary-study sentences with paper ids. Leave-one-paper-
  out: the model trains on the other training sources (never this corpus) plus a fraction of
  the corpus's *other* papers (0 = none); mechanism, role and paper-level figures
  (:func:`mechcode.models.evaluation.metrics.paper_scores`) on the pooled held-out papers. Mechanism
  figures are over the suggestable codes and leave out units whose codes are all unsuggested
  (``n_unsuggested_only``); role and paper-level figures keep every unit.
- ``off-topic``: sentences of papers that are not about the codebook's subject; the share of
  them with any mechanism at or above the page's threshold, per paper and overall.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mechcode.codebook import Codebook
from mechcode.errors import DataError
from mechcode.models.backends.prior import THRESHOLD as MECHANISM_THRESHOLD  # the page threshold
from mechcode.models.base import LabelledUnit, Unit, label_space, map_labels, unit_mechanisms
from mechcode.models.evaluation.metrics import COUNTING, cmo_scores, paper_scores, score, summary
from mechcode.models.evaluation.transfer import FRACTIONS, Fold, Spec, fit_predict, headline, run_curve

TRANSFER_PROTOCOLS = ("transfer-roles", "primary-studies", "off-topic")


PRIMER_EXCLUDE = "MECHCODE_PRIMER_EXCLUDE"  # domains a backend that loads the primer itself leaves out


def as_units(rows: Sequence[dict[str, Any]]) -> list[LabelledUnit]:
    return [LabelledUnit.from_dict(r) for r in rows]


def primer_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Primer statements marked as such (``origin: primer``: role and polarity only, for backends
    that read the origin) and grouped by domain."""
    return [{**r, "origin": "primer", "group": r.get("group") or f"primer:{r.get('domain')}"} for r in rows]


def paper_of(row: dict[str, Any]) -> str:
    """A row's paper id: ``paper``, else ``group``, else its id."""
    for key in ("paper", "group"):
        if row.get(key) not in (None, ""):
            return str(row[key])
    return str(row["id"])


def _role_score(test: list[LabelledUnit], preds: list[dict]) -> dict[str, Any]:
    s = cmo_scores([u.role for u in test], preds)
    return {"cmo_macro_f1": s["cmo"]["macro_f1"], "cmo_accuracy": s["cmo"]["accuracy"],
            "role5_macro_f1": s["role5"]["macro_f1"], "n": s["cmo"]["n"], "cmo": s["cmo"]}


# -- transfer-roles -----------------------------------------------------------------------------

def box_folds(rows: Sequence[dict[str, Any]]) -> list[Fold]:
    """Leave-one-box-out folds over the box-chain units (boxes sharing ``box_ref`` together)."""
    chain = [r for r in rows if r.get("rule") == "box-chain" and r.get("box") is not None
             and r.get("role") not in (None, "none")]
    if not chain:
        raise DataError("no box-chain units with a role (rule 'box-chain', field 'box') in the data")
    key = {r["box"]: str(r.get("box_ref") or f"box{r['box']}") for r in chain}
    folds = []
    for ref in sorted(set(key.values()), key=lambda k: min(b for b, v in key.items() if v == k)):
        boxes = {b for b, v in key.items() if v == ref}
        test = [r for r in chain if r["box"] in boxes]
        train = [r for r in rows if r.get("box") not in boxes]
        folds.append(Fold(f"boxes {','.join(str(b) for b in sorted(boxes))}", as_units(test), as_units(train)))
    return folds


def domain_folds(primer: Sequence[dict[str, Any]], others: Sequence[dict[str, Any]],
                 train_on_primer: bool = True) -> list[Fold]:
    """Leave-one-domain-out folds over the primer; ``others`` (e.g. the seed corpus) also train,
    and so do the other domains unless ``train_on_primer`` is false (for backends that load the
    primer themselves; the held-out domain is then named in ``MECHCODE_PRIMER_EXCLUDE``)."""
    for i, r in enumerate(primer):
        if not r.get("domain"):
            raise DataError(f"primer unit {r.get('id', i)}: no 'domain'")
    folds = []
    for d in sorted({r["domain"] for r in primer}):
        test = [r for r in primer if r["domain"] == d and r.get("role") not in (None, "none")]
        rest = primer_rows([r for r in primer if r["domain"] != d]) if train_on_primer else []
        folds.append(Fold(f"domain {d}", as_units(test), as_units(rest) + as_units(others), env={PRIMER_EXCLUDE: d}))
    return folds


def transfer_roles(rows: Sequence[dict[str, Any]], codebook: Codebook, specs: Sequence[Spec],
                   primer: Sequence[dict[str, Any]] | None = None, fractions: Sequence[float] = FRACTIONS,
                   seed: int = 0, log: Callable[[str], None] | None = None,
                   train_on_primer: bool = True, parts: Sequence[str] = ("boxes", "primer")) -> dict[str, Any]:
    """Leave-one-box-out on ``rows`` (and leave-one-domain-out on ``primer``), per training size;
    ``parts`` chooses which of the two to run."""
    which, out = set(parts), {}
    if "boxes" in which:
        folds = box_folds(rows)
        if primer and train_on_primer:  # the whole primer trains the box folds: it is not the box authors' text
            for f in folds:
                f.pool += as_units(primer_rows(primer))
        out["boxes"] = _part(folds, codebook, specs, fractions, seed, log)
    if primer and "primer" in which:
        out["primer"] = _part(domain_folds(primer, rows, train_on_primer), codebook, specs, fractions, seed, log)
    return {"parts": out, "summary": {name: headline(p["curve"]) for name, p in out.items()}}


def _part(folds: list[Fold], codebook, specs, fractions, seed, log) -> dict[str, Any]:
    curve = run_curve(folds, codebook, specs, _role_score, fractions, seed, log)
    return {"folds": [{"name": f.name, "n_test": len(f.test)} for f in folds],
            "n_test": sum(len(f.test) for f in folds), "curve": curve}


# -- primary-studies ----------------------------------------------------------------------------

def primary_score(codebook: Codebook, threshold: float) -> Callable:
    ids = label_space(codebook)

    def fn(test: list[LabelledUnit], preds: list[dict]) -> dict[str, Any]:
        # a unit whose codes are all unsuggested (e.g. a no-evidence code) is evidence of a code
        # the model may not suggest, not of "no mechanism": mechanism figures leave it out
        keep = [i for i, u in enumerate(test) if unit_mechanisms(u.mechanisms, codebook) is not None]
        s = score(test, preds, codebook, threshold)
        sm = score([test[i] for i in keep], [preds[i] for i in keep], codebook, threshold)
        s = {**s, "mechanism": sm["mechanism"],
             "ece": {**s["ece"], **{k: sm["ece"][k] for k in ("mechanism", "mechanism_suggested", "n_suggested")}}}
        probs = np.array([[p["mechanisms"].get(m, 0.0) for m in ids] for p in preds]).reshape(len(preds), len(ids))
        papers = paper_scores([u.paper or "" for u in test], [set(map_labels(u.mechanisms, codebook)) for u in test],
                              probs, ids, threshold)
        roles = _role_score(test, preds)
        ranked = evidence_ranking([test[i].paper or "" for i in keep],
                                  [set(map_labels(test[i].mechanisms, codebook)) for i in keep], probs[keep], ids)
        return {**summary(s), "mechanism_micro_f1": s["mechanism"]["micro_f1"], **ranked,
                "no_mechanism": s["mechanism"]["no_mechanism"], "cmo_macro_f1": roles["cmo_macro_f1"],
                "role5_macro_f1": roles["role5_macro_f1"], "paper": papers,
                "n_mechanism_units": len(keep), "n_unsuggested_only": len(test) - len(keep)}
    return fn


def evidence_ranking(papers: Sequence[str], truth: Sequence[set[str]], probs: np.ndarray,
                     ids: list[str]) -> dict[str, Any]:
    """Per-mechanism evidence finding: within each paper, the ROC AUC of ranking its units by a
    mechanism's probability against "the unit is coded with it"; a mechanism's figure is the mean
    over the papers where it has both classes, ``mechanism_auc`` the mean over those mechanisms
    (``n_mechanisms_ranked``; null when none). Within a paper, because leave-one-paper-out scores
    each paper with a different model: pooled, a model's per-fold offsets would be ranked too (a
    constant predictor scores well below 0.5 that way, its training share of a mechanism being
    lowest where the held-out paper has most of it)."""
    from sklearn.metrics import roc_auc_score

    per = {}
    for j, m in enumerate(ids):
        aucs = []
        for paper in sorted(set(papers)):
            rows = [i for i, q in enumerate(papers) if q == paper]
            y = np.array([m in truth[i] for i in rows], dtype=bool)
            if 0 < y.sum() < len(y):
                aucs.append(roc_auc_score(y, probs[rows, j]))
        if aucs:
            per[m] = float(np.mean(aucs))
    return {"mechanism_auc": round(float(np.mean(list(per.values()))), 4) if per else None,
            "n_mechanisms_ranked": len(per)}


def primary_studies(rows: Sequence[dict[str, Any]], codebook: Codebook, specs: Sequence[Spec],
                    sources: Sequence[dict[str, Any]] = (), fractions: Sequence[float] = FRACTIONS,
                    seed: int = 0, threshold: float = MECHANISM_THRESHOLD,
                    log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Leave-one-paper-out on ``rows``; ``sources`` always train, the other papers by fraction."""
    rows = [{**r, "paper": paper_of(r)} for r in rows]
    papers = sorted({r["paper"] for r in rows})
    if len(papers) < 2:
        raise DataError(f"primary-studies needs units from at least 2 papers; the data has {len(papers)}")
    base = as_units(sources)
    folds = [Fold(p, as_units([r for r in rows if r["paper"] == p]), as_units([r for r in rows if r["paper"] != p]),
                  base) for p in papers]
    curve = run_curve(folds, codebook, specs, primary_score(codebook, threshold), fractions, seed, log)
    return {"n_papers": len(papers), "papers": papers, "n_source_units": len(base), "threshold": threshold,
            "curve": curve, "summary": {"cold": curve[0]["results"], "full": headline(curve)}}


# -- off-topic ----------------------------------------------------------------------------------

def pdf_units(paths: Sequence[str | Path], cache_dir: str | Path | None = None) -> list[Unit]:
    """The sentence units the review store would make of each PDF (paper id = file stem)."""
    from mechcode.ingest import extract_pdf
    from mechcode.store.documents import unit_offsets

    out: list[Unit] = []
    for path in paths:
        path = Path(path)
        doc = extract_pdf(path, cache_dir=cache_dir)
        for i, offs in unit_offsets(doc).items():
            p = doc.passages[i]
            for k, (s, e) in enumerate(offs):
                out.append(LabelledUnit(f"{path.stem}:{i}:{k}", p.text[s:e], p.text, paper=path.stem))
    return out


def off_topic(units: Sequence[Unit], codebook: Codebook, specs: Sequence[Spec], train: Sequence[LabelledUnit],
              threshold: float = MECHANISM_THRESHOLD) -> dict[str, Any]:
    """Per backend: the share of ``units`` with any mechanism >= ``threshold``, overall and per paper."""
    if not units:
        raise DataError("off-topic: no sentence units (no papers, or nothing extracted)")
    papers = sorted({getattr(u, "paper", None) or "" for u in units})
    results = {}
    for spec in specs:
        preds, secs = fit_predict(spec, list(train), list(units), codebook)
        flagged = [max(p["mechanisms"].values(), default=0.0) >= threshold for p in preds]
        per = {}
        for paper in papers:
            f = [flag for u, flag in zip(units, flagged) if (getattr(u, "paper", None) or "") == paper]
            per[paper] = {"n": len(f), "flagged": int(sum(f)), "share": round(sum(f) / len(f), 4)}
        results[spec.label] = {"share": round(sum(flagged) / len(flagged), 4), "flagged": int(sum(flagged)),
                               "n": len(flagged), "per_paper": per, "seconds": round(secs, 2)}
    return {"threshold": threshold, "n_units": len(units), "papers": papers, "n_train_units": len(train),
            "results": results, "summary": {k: {"share": v["share"]} for k, v in results.items()}}


def finish_report(protocol: str, specs: Sequence[Spec], codebook: Codebook, threshold: float,
                  result: dict[str, Any]) -> dict[str, Any]:
    """A protocol's result in the report shape of ``mechcode evaluate``: ``backend``, ``params``,
    ``baselines`` and ``summary`` (keyed ``backend`` and by baseline label), plus the protocol's keys."""
    per_label: dict[str, dict] = {}
    for part, by_label in result["summary"].items():
        if part in {s.label for s in specs}:  # off-topic: summary is already per label
            per_label[part] = by_label
            continue
        for label, figures in by_label.items():
            per_label.setdefault(label, {})[part] = figures
    first = specs[0].label
    return {"protocol": protocol, "backend": first, "params": specs[0].params,
            "backends": [{"label": s.label, "backend": s.backend, "params": s.params} for s in specs],
            "threshold": threshold, "counting": COUNTING,
            "codebook": {"name": codebook.name, "version": codebook.version, "fingerprint": codebook.fingerprint()},
            **{k: v for k, v in result.items() if k != "summary"},
            "baselines": {s.label: per_label.get(s.label) for s in specs[1:]},
            "summary": {"backend": per_label.get(first), **{s.label: per_label.get(s.label) for s in specs[1:]}}}
