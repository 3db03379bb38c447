"""The codebook prior, and how learned scores are added to it.

Every backend that learns (``sparse``, ``embed``) carries a zeroshot model of the codebook --
definitions, ``examples`` / ``not_examples``, role definitions and the CMO role primer
(:mod:`mechcode.models.backends.zeroshot`) -- and pools its own probabilities with it in log-odds:

    logit p = (1 - w) * logit p_prior + w * logit p_learned,   w = n / (n + k)

``n`` is the amount of labelled data the learned part saw for that task (review decisions
and given files count 1 per unit, seed files ``SEED_WEIGHT[task]`` -- they come from another
review -- and the primer and the codebook count 0: they are the prior), ``k`` the number of
units at which learning and prior weigh the same (``prior_k_mechanism`` / ``prior_k_role``).
With a handful of codes the prior dominates; as a review's own codes grow, learning takes
over. Roles pool as a log-linear mixture (geometric, renormalised). Codes on *other* papers may
count less for a unit of a paper the review has not coded (``other_paper_weight``, :func:`unit_weights`):
a unit whose paper is unknown (no ``paper``) gets the review-wide share.

:func:`finalize` then makes the output one consistent answer, for every backend:

- **boilerplate** (declarations, competing interests, funding, ethics, author contributions,
  affiliations, figure/table call-outs, headings, list numbers; :mod:`mechcode.models.backends.boilerplate`)
  gets role ``none`` and near-zero mechanism probabilities; paragraphs that are one short
  unpunctuated label line get the same in the prior only (learning can override it);
- **a mechanism only with a role**: mechanism probabilities are scaled by ``1 - P(role none)``
  (a mechanism is suggested for a C/M/O statement), and where the top role is still ``none``
  they are capped below the page threshold, so a suggested mechanism always comes with a
  C/M/O role. With ``prior_gate=mechanism`` (the default) the ``P(role none)`` of that scaling
  is the prior's pooled with the learned "no mechanism" at the *mechanism* weight (``gate_none``
  from :func:`blend`): a review's own mechanism codes take over whether a sentence is evidence as
  fast as they take over which mechanism it is; ``role`` uses the pooled role distribution.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from mechcode.codebook import ROLE_IDS

# How much a seed-file unit (another review's text) counts towards the learned weight, per task.
# A review's own decisions count 1. For mechanisms a seed unit counts 1/160 of a decision, so a
# seed file alone moves the model as little as it did before k was lowered from 400 to 10
# (sims2021's 258 seed units: w = 0.14), while ten own decisions already give w = 0.5.
SEED_WEIGHT = {"mechanism": 0.25 * 10 / 400, "role": 0.25}
BOILERPLATE_FACTOR = 0.02
THRESHOLD = 0.5         # the page's suggestion threshold (one definition: the loop and evaluation use it)
NONE_ROLE = ROLE_IDS.index("none")
EPS = 1e-6

PRIOR_DEFAULTS: dict[str, Any] = {
    "prior": "tfidf",           # encoder of the codebook prior: tfidf | avg (tfidf + minilm) | minilm | none
    "prior_k_mechanism": 10.0,   # labelled units at which prior and learned weigh the same (chosen on
                                 # the sims2021 per-mechanism simulation; models/README "Choosing k")
    "prior_k_role": 150.0,
    "prior_roles": "classifier", # role part of the prior: classifier (mechcode.models.backends.role_prior) | prototypes
    "prior_none": "classifier",  # P(role none) of the prior: classifier (role_prior's none gate) | prototypes | both
                                 # (chosen on the development sides: experiments/none_gate_dev.py)
    "prior_gate": "mechanism",   # the P(role none) that scales mechanisms: pooled at the mechanism weight with the
                                 # learned "no mechanism" | role: the pooled roles (experiments/gate_weight_dev.py)
    "primer_weight": 0.0,        # how much a primer statement counts towards the learned role weight
    "prior_context": 0.5,        # weight of the paragraph vector added to the sentence's in the prior
                                 # (chosen on the development sides: experiments/context_dev.py)
    "other_paper_weight": 1.0,   # how much a code on another paper counts towards the mechanism weight of a
                                 # unit whose paper the review has not coded (experiments/other_paper_dev.py)
}
# what a model saved before a prior setting existed did: it loads with these unless it says otherwise
LEGACY_PRIOR: dict[str, Any] = {"prior_roles": "prototypes", "prior_none": "prototypes", "prior_gate": "role",
                                 "prior_context": 0.25}


PRIOR_ENCODERS = ("tfidf", "avg", "minilm", "none")
GATES = ("mechanism", "role")


def check_prior(params: dict[str, Any]) -> None:
    """ModelError (one line) for a prior setting a backend cannot use; called when a backend is built,
    so a bad ``--param`` fails before a long fit."""
    from mechcode.errors import ModelError
    from mechcode.models.backends.role_prior import NONE_MODELS, ROLE_MODELS

    choices = {"prior": PRIOR_ENCODERS, "prior_roles": ROLE_MODELS, "prior_none": NONE_MODELS,
               "prior_gate": GATES}
    for key, allowed in choices.items():
        if key in params and params[key] not in allowed:
            raise ModelError(f"{key} must be one of {', '.join(allowed)}, not {params[key]!r}")
    inf = float("inf")  # k = inf: the prior alone, whatever was learned
    bounds = {"prior_context": (0.0, 10.0), "prior_k_mechanism": (0.0, inf), "prior_k_role": (0.0, inf),
              "primer_weight": (0.0, inf), "other_paper_weight": (0.0, 1.0)}
    for key, (lo, hi) in bounds.items():
        v = params.get(key, lo)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:  # NaN fails too
            what = f"between {lo:g} and {hi:g}" if hi < inf else f"at least {lo:g}"
            raise ModelError(f"{key} must be a number {what}, not {v!r}")


def evidence_weight(units: Sequence[Any], task: str, primer_weight: float = 0.0) -> float:
    """How much labelled data the learned part has for ``task`` (see the module docstring)."""
    n = 0.0
    if task == "role" and primer_weight > 0:
        from mechcode.models.primer import load_primer

        n += primer_weight * len(load_primer())
    for u in units:
        origin = getattr(u, "origin", None)
        if origin == "primer":
            continue
        if task == "role" and getattr(u, "role", None) is None:
            continue
        n += SEED_WEIGHT[task] if origin == "seed" else 1.0
    return n


def weights(units: Sequence[Any], params: dict[str, Any]) -> dict[str, Any]:
    """The learned share ``w`` per task (1.0 everywhere when the prior is switched off).

    With ``other_paper_weight`` d < 1 it also holds the mechanism (and gate) share for a unit of a
    paper the review has not coded (``mechanism_new``: seed units as always, own codes at d each)
    and the papers it has coded (``coded_papers``); :func:`unit_weights` picks per unit."""
    if params.get("prior", "none") == "none":
        return {"mechanism": 1.0, "role": 1.0}
    out: dict[str, Any] = {}
    for task in ("mechanism", "role"):
        n = evidence_weight(units, task, float(params.get("primer_weight", 0.0)) if params.get("primer") else 0.0)
        k = float(params[f"prior_k_{task}"])
        out[task] = n / (n + k) if n + k > 0 else 0.0
    d = float(params.get("other_paper_weight", 1.0))
    if d < 1.0:
        seed = evidence_weight([u for u in units if getattr(u, "origin", None) == "seed"], "mechanism")
        n = seed + d * (evidence_weight(units, "mechanism") - seed)
        k = float(params["prior_k_mechanism"])
        out["mechanism_new"] = n / (n + k) if n + k > 0 else 0.0
        out["coded_papers"] = coded_papers(units)
    if params.get("prior_gate", "role") == "mechanism":
        out["gate"] = out["mechanism"]
        if "mechanism_new" in out:
            out["gate_new"] = out["mechanism_new"]
    return out


def coded_papers(units: Sequence[Any]) -> list[str]:
    """The papers a review's own codes (not seed files, not the primer) come from."""
    return sorted({u.paper for u in units if getattr(u, "paper", None) is not None
                   and getattr(u, "origin", None) not in ("seed", "primer")})


def unit_weights(w: dict[str, Any], units: Sequence[Any]) -> dict[str, Any]:
    """``w`` with the mechanism (and gate) share per unit: ``mechanism_new`` for a unit whose paper
    is known and not among ``coded_papers``; a unit with no paper keeps the review-wide share."""
    if "mechanism_new" not in w:
        return w
    done = set(w.get("coded_papers") or ())
    new = np.array([getattr(u, "paper", None) is not None and u.paper not in done for u in units], dtype=bool)
    out = dict(w)
    for task in ("mechanism", "gate"):
        if task in w:
            out[task] = np.where(new, float(w[f"{task}_new"]), float(w[task]))
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def blend(prior: dict[str, np.ndarray], learned: dict[str, np.ndarray], w: dict[str, Any]) -> dict:
    """Pool prior and learned probabilities (arrays as :meth:`ZeroShotBackend.predict_arrays`)."""
    wm, wr = np.asarray(w["mechanism"], dtype=np.float64), w["role"]
    wc = wm[:, None] if wm.ndim else wm  # per unit (unit_weights) or one share
    out = dict(learned)
    out["mechanisms"] = _sigmoid((1 - wc) * _logit(prior["mechanisms"]) + wc * _logit(learned["mechanisms"]))
    out["no_mechanism"] = _sigmoid((1 - wm) * _logit(prior["no_mechanism"]) + wm * _logit(learned["no_mechanism"]))
    logr = (1 - wr) * np.log(np.clip(prior["role"], EPS, 1)) + wr * np.log(np.clip(learned["role"], EPS, 1))
    logr -= logr.max(axis=1, keepdims=True)
    r = np.exp(logr)
    out["role"] = r / r.sum(axis=1, keepdims=True)
    out["polarity"] = _sigmoid((1 - wr) * _logit(prior["polarity"]) + wr * _logit(learned["polarity"]))
    if "gate" in w:  # prior_gate=mechanism: the mechanism gate's P(none), see finalize
        wg = np.asarray(w["gate"], dtype=np.float64)
        out["gate_none"] = _sigmoid((1 - wg) * _logit(prior["role"][:, NONE_ROLE])
                                    + wg * _logit(learned["no_mechanism"]))
    for key in ("sims", "mech_sims"):
        if key in prior:
            out[key] = prior[key]
    return out


def pooled(prior, learned: dict[str, np.ndarray], w: dict[str, Any], units: Sequence[Any],
           **extra: Any) -> dict[str, np.ndarray]:
    """A learning backend's output: ``learned`` pooled with ``prior`` (a zeroshot model, or None:
    no prior), then :func:`finalize`, with ``extra`` arrays (features, embeddings) added. Label
    lines (:func:`~mechcode.models.backends.boilerplate.is_label`) are gated in the prior only, so
    a review's own codes can still teach the model that its bullet points are evidence."""
    if prior is None:
        a = learned
    else:
        p = prior.predict_arrays(units)
        a = blend(suppress(p, label_mask(units)), learned, unit_weights(w, units))
    return {**finalize(a, units, labels=False), **extra}


def label_mask(units: Sequence[Any]) -> np.ndarray:
    from mechcode.models.backends.boilerplate import is_label

    return np.array([is_label(u.text, getattr(u, "context", None)) for u in units], dtype=bool)


def suppress(a: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """``a`` with the ``rows`` pushed to "no mechanism" and role ``none`` (x ``BOILERPLATE_FACTOR``)."""
    a = dict(a)
    mech = np.array(a["mechanisms"], dtype=np.float64, copy=True)
    role = np.array(a["role"], dtype=np.float64, copy=True)
    none = np.array(a["no_mechanism"], dtype=np.float64, copy=True)
    if rows.any():
        mech[rows] *= BOILERPLATE_FACTOR
        none[rows] = 1 - (1 - none[rows]) * BOILERPLATE_FACTOR
        if "gate_none" in a:
            gate = np.array(a["gate_none"], dtype=np.float64, copy=True)
            gate[rows] = 1 - (1 - gate[rows]) * BOILERPLATE_FACTOR
            a["gate_none"] = gate
        role[rows] = role[rows] * 0.05
        role[rows, NONE_ROLE] = 0.0
        role[rows, NONE_ROLE] = 1.0 - role[rows].sum(axis=1)
    a.update(mechanisms=mech, role=role, no_mechanism=none)
    return a


def finalize(a: dict[str, np.ndarray], units: Sequence[Any], labels: bool = True) -> dict[str, np.ndarray]:
    """Boilerplate gate and the joint mechanism-with-role rule (module docstring); ``labels``:
    label lines are gated too (a model that is all prior, e.g. zeroshot; :func:`pooled` gates
    them in the prior instead)."""
    from mechcode.models.backends.boilerplate import is_boilerplate

    bp = np.array([is_boilerplate(u.text) for u in units], dtype=bool)
    if labels:
        bp |= label_mask(units)
    a = suppress(a, bp)
    mech, role, none = a["mechanisms"], a["role"], a["no_mechanism"]
    keep = 1.0 - (a["gate_none"] if "gate_none" in a else role[:, NONE_ROLE])
    mech *= keep[:, None]
    none = 1.0 - (1.0 - none) * keep
    if mech.shape[1]:
        top_none = role.argmax(axis=1) == NONE_ROLE
        mech[top_none] = np.minimum(mech[top_none], THRESHOLD - 0.01)
    a.update(mechanisms=mech, role=role, no_mechanism=none, boilerplate=bp)
    return a


_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def content_words(text: str) -> list[str]:
    """The content words of ``text`` in order (no stopwords, numbers or one-letter tokens)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return [w for w in _WORD.findall(text) if w.lower() not in ENGLISH_STOP_WORDS and len(w) > 2]


def stem(word: str) -> str:
    """A crude suffix stripper (leader/leaders/leadership -> lead...), enough to match forms."""
    w = word.lower()
    for suf in ("ational", "ership", "ations", "ation", "ments", "ment", "ness", "ities", "ity", "ings",
                "ing", "ers", "ies", "ive", "ed", "er", "es", "ly", "s"):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            return w[: -len(suf)]
    return w


def shared_terms(text: str, reference: str, k: int = 6) -> list[str]:
    """Content words of ``text`` whose stem also occurs in ``reference`` (at most ``k``, unique)."""
    ref = {stem(w) for w in content_words(reference)}
    out = [w for w in content_words(text) if stem(w) in ref]
    return list(dict.fromkeys(w.lower() for w in out))[:k]
