"""Sentence segmentation tuned for scientific text (pure Python, no model).

The text is cut into whitespace-separated chunks; a sentence ends after a
chunk whose trailing punctuation holds ``.``, ``!``, ``?`` or an ellipsis
(together with any closing quotes or brackets glued to it, as in ``.)`` or
``.”``) unless

- the word before the full stop is a known abbreviation (``et al.``,
  ``e.g.``, ``Fig.``, ``Eq.``, ``approx.``, ``U.S.`` ...), or
- the next chunk starts with a lowercase letter, a digit, a bracket (a
  citation such as ``[23, 24]`` or ``(p676)``) or other continuing
  punctuation.

A full stop between a lowercase and an uppercase letter with no space
("end.Next") also ends a sentence, and a blank line (two or more newlines)
always does.  Decimals such as ``0.95`` never split.  A "sentence" without
any letter or digit (a stray ``!`` from a formula) joins its neighbour.

Offsets are character offsets into the given text, without surrounding
whitespace, and together cover every non-whitespace character.  The module
imports nothing heavy (no spaCy, no torch), so extraction starts fast.
"""
from __future__ import annotations

import re
from typing import Iterable

from mechcode.document import Document, Sentence

# Words (without their final full stop) after which a full stop does not end a sentence.
ABBREVIATIONS = frozenset("""
al e.g i.e eg ie Fig Figs fig figs Eq Eqs eq eqs Sec Sect Secs sec sect ref Ref refs Refs
approx Approx ca vs Vs cf Cf Dr Drs Prof Profs No Nos no Vol Vols vol pp p U.S U.K U.S.A
etc Tab tab Table Ch ch Chap Mr Mrs Ms St Jr Sr Inc Ltd Co Corp viz resp Suppl suppl Dept
Univ Ed Eds ed eds et Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Ref Nr nr min max
incl excl esp Est est
""".split())
TERMINALS = ".!?…"
CLOSERS = ")]}\"'”’»*"  # "*": markdown emphasis closing a quote
NO_START = "([{,;:)]}%"
_CHUNK = re.compile(r"\S+")
_INNER_STOP = re.compile(r"(?<=[a-z])[.!?…](?=[A-Z])")  # "end.Next": a sentence end without a space
_TRAIL = re.compile(r"[%s%s]+$" % (re.escape(TERMINALS), re.escape(CLOSERS)))
_OPENERS = "([{\"'“‘«*_"
_WORD = re.compile(r"[^\W_]")  # a letter or digit


def _pieces(text: str) -> list[tuple[int, int]]:
    """Whitespace-separated chunks, also cut at "end.Next" full stops (after the stop)."""
    out = []
    for m in _CHUNK.finditer(text):
        s, e = m.span()
        for inner in _INNER_STOP.finditer(text, s, e):
            out.append((s, inner.end()))
            s = inner.end()
        out.append((s, e))
    return out


def _ends_sentence(chunk: str) -> bool:
    """The chunk closes a sentence by its own punctuation (next chunk not considered)."""
    m = _TRAIL.search(chunk)
    if m is None or not any(c in TERMINALS for c in m.group(0)):
        return False
    if m.group(0)[0] != ".":  # "?", "!", "…", or a closer before the stop: "(p676)."
        return True
    word = chunk[:m.start()].lstrip(_OPENERS)
    return word not in ABBREVIATIONS


def _continues(chunk: str) -> bool:
    """The chunk cannot start a sentence (lowercase, digit or continuing punctuation)."""
    first = chunk[0]
    return first.islower() or first.isdigit() or first in NO_START


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence ``(start, end)`` offsets into ``text``; ``text[start:end]`` is the sentence."""
    pieces = _pieces(text)
    raw: list[tuple[int, int]] = []
    start = None
    for k, (s, e) in enumerate(pieces):
        if start is None:
            start = s
        if k + 1 == len(pieces):
            break
        ns, ne = pieces[k + 1]
        gap = text[e:ns]
        if gap.count("\n") >= 2 or (_ends_sentence(text[s:e]) and not _continues(text[ns:ne])):
            raw.append((start, e))
            start = None
    if start is not None:
        raw.append((start, pieces[-1][1]))
    return _join_wordless(text, raw)


def _join_wordless(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join a span without any letter or digit to the one before it (or after it, at the start)."""
    out: list[tuple[int, int]] = []
    junk_first = False
    for s, e in spans:
        wordy = _WORD.search(text, s, e) is not None
        if out and (not wordy or junk_first):
            out[-1] = (out[-1][0], e)
            junk_first = junk_first and not wordy
        else:
            out.append((s, e))
            junk_first = not wordy
    return out


def split_many(texts: Iterable[str], batch_size: int = 256) -> list[list[tuple[int, int]]]:
    """:func:`split_sentences` for many texts (``batch_size`` is accepted for compatibility)."""
    return [split_sentences(t) for t in texts]


def get_nlp():
    """Kept for callers that warm the splitter up before forking: nothing to load any more."""
    return None


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
