"""The fitted codebook priors of this process (:func:`fit_prior`), kept by what they depend on.

A learning backend's prior is a :class:`~mechcode.models.backends.zeroshot.ZeroShotBackend`; fitting one
costs a few tenths of a second (tfidf) to seconds (MiniLM), so a retrain whose codebook, primer and
(tfidf) texts are unchanged reuses the last fit instead.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any

from mechcode.codebook import Codebook
from mechcode.models.backends.prior import LEGACY_PRIOR, check_prior
from mechcode.models.backends.zeroshot import ZeroShotBackend

_PRIORS: dict[tuple, "ZeroShotBackend"] = {}  # fitted priors of this process, by :func:`prior_key`
PRIOR_CACHE_SIZE = 4
CONTEXT_BEFORE = LEGACY_PRIOR["prior_context"]  # the prior's paragraph weight before the setting existed


def prior_key(params: dict[str, Any], units: list, codebook: Codebook) -> tuple:
    """What a fitted prior depends on: the codebook's fingerprint, the prior's encoder, the
    primer's bytes (and the domains left out of it) and, for the ``tfidf`` encoder, whose
    vocabulary is also fitted on the training texts, those texts (as a set); never the labels."""
    from mechcode.models.primer import ENV, none_primer_files, primer_files

    h = hashlib.sha256()
    for f in primer_files():
        h.update(f.read_bytes())
    h.update((os.environ.get(ENV + "_EXCLUDE", "") + "|" + os.environ.get("MECHCODE_EMBED_QUANTIZE", "")).encode())
    texts = ""
    if params["prior"] == "tfidf":
        texts = hashlib.sha256("\x00".join(sorted(u.text for u in units)).encode()).hexdigest()
    for f in none_primer_files():
        h.update(f.read_bytes())
    return (codebook.fingerprint(), params["prior"], params.get("prior_roles", "prototypes"),
            params.get("prior_none", "prototypes"), float(params.get("prior_context", CONTEXT_BEFORE)), h.hexdigest(),
            texts)


def clear_prior_cache() -> None:
    """Forget the fitted priors of this process."""
    _PRIORS.clear()


def fit_prior(params: dict[str, Any], units: list, codebook: Codebook) -> "ZeroShotBackend | None":
    """The codebook prior of a learning backend: a zeroshot model (None when ``prior`` is ``none``).

    Fitted priors are kept in memory (this process only, the last ``PRIOR_CACHE_SIZE``) under
    :func:`prior_key`, so a retrain whose codebook, primer and (tfidf) texts are unchanged does
    not fit it again; a fitted prior is only read afterwards, so models may share one.
    See :mod:`mechcode.models.backends.prior` for how learned scores are pooled with it.
    """
    check_prior(params)
    if params.get("prior", "none") == "none":
        return None
    key = prior_key(params, units, codebook)
    if key not in _PRIORS:
        while len(_PRIORS) >= PRIOR_CACHE_SIZE:
            _PRIORS.pop(next(iter(_PRIORS)))
        _PRIORS[key] = ZeroShotBackend(encoder=params["prior"], role_model=params.get("prior_roles", "prototypes"),
                                       none_model=params.get("prior_none", "prototypes"),
                                       context_weight=float(params.get("prior_context", CONTEXT_BEFORE))
                                       ).fit(list(units), codebook)
    return _PRIORS[key]
