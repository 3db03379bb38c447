"""Sentence segmentation tuned for scientific text.

A blank spaCy English pipeline (tokenizer only, no downloaded model) plus one
rule component, ``mechcode_sentences``: a sentence ends after ``.``, ``!``,
``?`` or an ellipsis (together with any closing quotes or brackets glued to
it) unless

- the word before the full stop is a known abbreviation (``et al.``,
  ``e.g.``, ``Fig.``, ``Eq.``, ``approx.``, ``U.S.`` ...), or
- the next token starts with a lowercase letter, a digit, a bracket (a
  citation such as ``[23, 24]`` or ``(p676)``) or other continuing
  punctuation.

A blank line (two or more newlines) always ends a sentence. Decimals such as
``0.95`` are single tokens and never split.

Offsets are character offsets into the given text, without surrounding
whitespace, and together cover every non-whitespace character.
"""
from __future__ import annotations

import re
from typing import Iterable

import numpy as np

from mechcode.document import Document, Sentence

# Words (without their final full stop) after which a full stop does not end a sentence.
ABBREVIATIONS = frozenset("""
al e.g i.e eg ie Fig Figs fig figs Eq Eqs eq eqs Sec Sect Secs sec sect ref Ref refs Refs
approx Approx ca vs Vs cf Cf Dr Drs Prof Profs No Nos no Vol Vols vol pp p U.S U.K U.S.A
etc Tab tab Table Ch ch Chap Mr Mrs Ms St Jr Sr Inc Ltd Co Corp viz resp Suppl suppl Dept
Univ Ed Eds ed eds et Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Ref Nr nr min max
incl excl esp Est est
""".split())
TERMINALS = frozenset(".!?…")
CLOSERS = frozenset(")]}\"'”’»")
NO_START = frozenset("([{,;:)]}%")

# Token feature bits (computed once per distinct token string).
_SPACE, _PARA, _TERM, _ABBR_SELF, _ABBR_WORD, _CLOSE, _NO_START, _DOT = (1 << i for i in range(8))
_FEATURES: dict[int, int] = {}
_FEATURES_MAX = 500_000
_NLP = None
COMPONENT = "mechcode_sentences"
_WORD = re.compile(r"[^\W_]")  # a letter or digit
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # unencodable: the tokenizer would raise


def _features(text: str) -> int:
    """Feature bits of one token string."""
    f = 0
    if text.isspace():
        f |= _SPACE
        if text.count("\n") >= 2:
            f |= _PARA
        return f
    if text[-1] in TERMINALS:
        f |= _TERM
        if len(text) > 1 and text[-1] == "." and text[:-1] in ABBREVIATIONS:
            f |= _ABBR_SELF
    if text == ".":
        f |= _DOT
    if text in ABBREVIATIONS:
        f |= _ABBR_WORD
    if all(c in CLOSERS for c in text):
        f |= _CLOSE
    first = text[0]
    if first.islower() or first.isdigit() or first in NO_START:
        f |= _NO_START
    return f


def _token_features(doc) -> tuple[list[int], list[int]]:
    """Feature bits and 'whitespace follows' flags for every token of ``doc``."""
    from spacy.attrs import ORTH, SPACY

    if len(_FEATURES) > _FEATURES_MAX:
        _FEATURES.clear()
    arr = doc.to_array([ORTH, SPACY])
    strings = doc.vocab.strings
    feats = []
    for h in arr[:, 0].tolist():
        f = _FEATURES.get(h)
        if f is None:
            f = _FEATURES[h] = _features(strings[h])
        feats.append(f)
    return feats, arr[:, 1].tolist()


def _is_abbreviation(feats: list[int], spacy_flags: list[int], i: int) -> bool:
    """Whether the terminal token ``i`` is the full stop of an abbreviation."""
    f = feats[i]
    if f & _ABBR_SELF:
        return True
    return bool(f & _DOT) and i > 0 and not spacy_flags[i - 1] and bool(feats[i - 1] & _ABBR_WORD)


def sentence_starts(feats: list[int], spacy_flags: list[int]) -> np.ndarray:
    """SENT_START values (1 = starts a sentence, -1 = does not) for the tokens."""
    n = len(feats)
    starts = np.full(n, -1, dtype=np.int64)
    if n:
        starts[0] = 1
    i = 0
    while i < n:
        f = feats[i]
        if f & _PARA:
            k = _next_word(feats, i + 1)
            if k < n:
                starts[k] = 1
            i += 1
            continue
        if not f & _TERM or f & _SPACE:
            i += 1
            continue
        abbr = _is_abbreviation(feats, spacy_flags, i)
        j = i
        # absorb glued terminals and closing quotes/brackets: ?!  ."  .)  .”
        while j + 1 < n and not spacy_flags[j] and feats[j + 1] & (_TERM | _CLOSE) \
                and not feats[j + 1] & _SPACE:
            j += 1
        k = _next_word(feats, j + 1)
        if k < n and not abbr and not feats[k] & _NO_START:
            starts[k] = 1
        i = j + 1
    return starts


def _next_word(feats: list[int], i: int) -> int:
    """Index of the first non-space token at or after ``i`` (len if none)."""
    n = len(feats)
    while i < n and feats[i] & _SPACE:
        i += 1
    return i


def _component(doc):
    """spaCy pipeline component: set sentence starts in bulk by the rules above."""
    from spacy.attrs import SENT_START

    if len(doc) == 0:
        return doc
    feats, spacy_flags = _token_features(doc)
    starts = sentence_starts(feats, spacy_flags)
    doc.from_array([SENT_START], starts.astype("uint64").reshape(-1, 1))
    return doc


def get_nlp():
    """The cached sentence-splitting pipeline (``spacy.blank('en')`` + the rule component)."""
    global _NLP
    if _NLP is None:
        import spacy
        from spacy.language import Language

        if not Language.has_factory(COMPONENT):
            Language.component(COMPONENT, func=_component)
        nlp = spacy.blank("en")
        nlp.add_pipe(COMPONENT)
        nlp.max_length = 10**9  # tokenizer only: memory grows linearly, no parser limits apply
        _NLP = nlp
    return _NLP


def _doc_offsets(doc, text: str) -> list[tuple[int, int]]:
    """Sentence offsets of a processed doc, stripped of surrounding whitespace.

    A "sentence" without any letter or digit (a stray ``!`` or ``.`` from a
    formula or a figure) is joined to the sentence before it (or after it, at
    the start), so that every unit holds words.
    """
    out: list[tuple[int, int]] = []
    junk_first = False
    for sent in doc.sents:
        s, e = sent.start_char, sent.end_char
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e <= s:
            continue
        wordy = _WORD.search(text, s, e) is not None
        if out and (not wordy or junk_first):
            out[-1] = (out[-1][0], e)
            junk_first = junk_first and not wordy
        else:
            out.append((s, e))
            junk_first = not wordy
    return out


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence ``(start, end)`` offsets into ``text``; ``text[start:end]`` is the sentence."""
    return split_many([text])[0]


def split_many(texts: Iterable[str], batch_size: int = 256) -> list[list[tuple[int, int]]]:
    """:func:`split_sentences` for many texts at once (faster: batched through spaCy)."""
    texts = [_SURROGATE.sub("\ufffd", t) for t in texts]  # same length: offsets stay valid
    nlp = get_nlp()
    out = []
    for text, doc in zip(texts, nlp.pipe(texts, batch_size=batch_size)):
        out.append(_doc_offsets(doc, text) if text.strip() else [])
    return out


def sentences(text: str) -> list[Sentence]:
    """The sentences of ``text`` as :class:`~mechcode.document.Sentence` objects."""
    return [Sentence(start=s, end=e, text=text[s:e]) for s, e in split_sentences(text)]


SENTENCE_KINDS = ("abstract", "paragraph")


def add_sentences(doc: Document, kinds: tuple[str, ...] = SENTENCE_KINDS) -> Document:
    """Fill ``passage.sentences`` (offsets into the passage text) for abstract and body paragraphs."""
    targets = [p for p in doc.passages if p.kind in kinds]
    for p, offsets in zip(targets, split_many(p.text for p in targets)):
        p.sentences = [Sentence(start=s, end=e, text=p.text[s:e]) for s, e in offsets]
    return doc
