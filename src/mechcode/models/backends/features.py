"""TF-IDF features of the sparse backend: word n-grams, character n-grams, paragraph context.

Character n-grams (``char_wb``: inside word boundaries, words padded with a space) are the
slow part of scikit-learn's vectorizers (a Python loop over every character of every
sentence). Since a sentence's ``char_wb`` n-grams are exactly the union of its words'
n-grams, :class:`CharNgrams` caches the vocabulary columns of each distinct word and builds
the count matrix from the cache, then applies the same sublinear TF, IDF and L2 norm. The
scikit-learn vectorizer still learns the vocabulary and IDF; the cached path is used for
training and prediction alike, so both always see the same features.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp

WORD_CACHE_MAX = 500_000  # distinct words remembered before the cache starts afresh

# Things a label must not ride on: citation markers ("[24]", "[18-21]", "(Smith et al., 2010)"),
# numbers and URLs. ``clean`` removes them before any vectorizer sees the text.
_CITE = re.compile(r"\[\s*\d+(?:\s*[-\u2013,;]\s*\d+)*\s*\]|\([A-Z][A-Za-z'-]+(?: et al\.?| and [A-Z][A-Za-z'-]+)?,?"
                   r"\s*\d{4}[a-z]?(?:;[^)]*)?\)|https?://\S+|\d+(?:[.,]\d+)*")


def clean(text: str) -> str:
    """``text`` without citation markers, URLs and numbers (whitespace collapsed)."""
    return " ".join(_CITE.sub(" ", text or "").split())


@lru_cache(maxsize=200_000)
def content_term(term: str) -> bool:
    """An n-gram made of content words only (no stopword, no number) -- for rationales."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    toks = term.split()
    return bool(toks) and all(t.lower() not in ENGLISH_STOP_WORDS and len(t) > 2 and not t[0].isdigit()
                              for t in toks)


class CharNgrams:
    """Fast ``transform`` for a fitted ``TfidfVectorizer(analyzer="char_wb", sublinear_tf=True)``."""

    def __init__(self, vec: Any):
        self.vec = vec
        self._analyze = vec.build_analyzer()
        self._cache: dict[str, np.ndarray] = {}

    def _word(self, word: str) -> np.ndarray:
        cols = self._cache.get(word)
        if cols is None:
            vocab = self.vec.vocabulary_
            cols = np.array([vocab[g] for g in self._analyze(word) if g in vocab], dtype=np.int32)
            if len(self._cache) >= WORD_CACHE_MAX:
                self._cache = {}
            self._cache[word] = cols
        return cols

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        parts, indptr = [], [0]
        for text in texts:
            n = indptr[-1]
            for w in text.split():
                cols = self._word(w)
                parts.append(cols)
                n += len(cols)
            indptr.append(n)
        cols = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        X = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), cols, np.array(indptr)),
                          shape=(len(texts), len(self.vec.vocabulary_)))
        X.sum_duplicates()  # counts per (sentence, n-gram)
        np.log(X.data, out=X.data)
        X.data += 1.0  # sublinear tf
        X.data *= self.vec.idf_[X.indices].astype(np.float32)
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms.astype(np.float32)) @ X, dtype=np.float32)


class Features:
    """Word, character and context TF-IDF blocks, stacked side by side (word block first)."""

    def __init__(self, params: dict[str, Any]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        common = dict(sublinear_tf=True, dtype=np.float32, max_features=params["max_features"])
        self.context_weight = float(params["context_weight"])
        self.clean = bool(params.get("clean", False))
        self.word = TfidfVectorizer(ngram_range=tuple(params["word_ngrams"]), min_df=params["min_df"],
                                    token_pattern=r"(?u)\b\w[\w'-]*\b", **common)
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(params["char_ngrams"]),
                                    min_df=params["min_df"], **common) if params["char_ngrams"] else None
        self.ctx = TfidfVectorizer(ngram_range=(1, 2), min_df=1, stop_words="english", **common) \
            if self.context_weight > 0 else None
        self._names: np.ndarray | None = None
        self._char: CharNgrams | None = None
        self.fitted_on: int | None = None  # distinct (text, context) pairs the vocabularies saw

    def fit_transform(self, texts: list[str], contexts: list[str]) -> sp.csr_matrix:
        """Fit the vocabularies and return the training matrix."""
        if self.clean:
            texts, contexts = [clean(t) for t in texts], [clean(c) for c in contexts]
        self.word.fit(texts)
        if self.char is not None:
            self.char.fit(texts)
        if self.ctx is not None:
            self.ctx.fit(list(dict.fromkeys(c or t for c, t in zip(contexts, texts))))
        return self._transform(texts, contexts)

    def transform(self, texts: list[str], contexts: list[str]) -> sp.csr_matrix:
        if self.clean:
            texts, contexts = [clean(t) for t in texts], [clean(c) for c in contexts]
        return self._transform(texts, contexts)

    def _transform(self, texts: list[str], contexts: list[str]) -> sp.csr_matrix:
        blocks = [self.word.transform(texts)]
        if self.char is not None:
            if self._char is None:
                self._char = CharNgrams(self.char)
            blocks.append(self._char.transform(texts))
        if self.ctx is not None:  # sentences of one paragraph share it: vectorize each once
            ctx = [c or t for c, t in zip(contexts, texts)]
            uniq = {c: i for i, c in enumerate(dict.fromkeys(ctx))}
            C = self.ctx.transform(list(uniq)) * self.context_weight
            blocks.append(C[[uniq[c] for c in ctx]])
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    @property
    def n_sentence(self) -> int:
        """Columns of the sentence blocks (word + character), before the context block."""
        return self.n_word + (len(self.char.vocabulary_) if self.char is not None else 0)

    @property
    def n_word(self) -> int:
        return len(self.word.vocabulary_)

    def word_names(self) -> np.ndarray:
        if self._names is None:
            self._names = self.word.get_feature_names_out()
        return self._names

    def parts(self) -> dict[str, Any]:
        return {k: v for k, v in (("word", self.word), ("char", self.char), ("ctx", self.ctx)) if v is not None}


FEATURE_KEYS = ("max_features", "context_weight", "clean", "word_ngrams", "min_df", "char_ngrams")
FITTED_KEPT = 3  # fitted vocabularies kept (the served model's, its holdout model's, one more)
REUSE_MIN = 2000  # training pairs below which vocabularies are always refitted (it costs under a second)
_FITTED: list[tuple[tuple, Features, frozenset]] = []  # (settings, features, training pairs), newest last


def clear_fitted() -> None:
    """Forget this process's fitted vocabularies (the next fit starts afresh)."""
    _FITTED.clear()


def fit_features(params: dict[str, Any], texts: list[str], contexts: list[str]) -> tuple[Features, sp.csr_matrix]:
    """Fitted :class:`Features` and the training matrix, reusing vocabularies of this process.

    A retrain in the reviewer loop mostly adds a few decisions to the previous training set.
    When an earlier fit (same settings; the last ``FITTED_KEPT`` are kept) of at least
    ``REUSE_MIN`` (text, context) pairs -- smaller ones refit in well under a second, and their
    vocabularies change most with each new unit -- saw a subset of these
    (text, context) pairs and the new pairs are at most ``params["refit_share"]`` of it, its
    vocabularies and idf weights are kept (heads-only refit: the new units' unseen n-grams are
    left out until the next full fit); otherwise they are fitted afresh. Only a subset is ever
    reused, so no text outside the training set (e.g. a test fold) can reach the vocabulary.
    """
    key = tuple(str(params.get(k)) for k in FEATURE_KEYS)
    pairs = frozenset(zip(texts, contexts))
    share = float(params.get("refit_share", 0.0))
    fits = [(len(pairs - seen), old) for k, old, seen in _FITTED
            if share > 0 and k == key and len(seen) >= REUSE_MIN and seen <= pairs
            and len(pairs - seen) <= share * len(seen)]
    if fits:  # the one that saw the most of this training set
        old = min(fits, key=lambda f: f[0])[1]
        return old, old.transform(texts, contexts)
    features = Features(params)
    X = features.fit_transform(texts, contexts)
    features.fitted_on = len(pairs)
    _FITTED.append((key, features, pairs))
    del _FITTED[:-FITTED_KEPT]
    return features, X
