"""Cleaning: running headers/footers and page numbers, hyphenation, joining.

Running headers and footers are found by repetition: a line in the top or
bottom band of a page whose text (digits masked) recurs in that band on other
pages, or that is a bare page number ("3", "Page 3 of 15", "- 3 -").
End-of-line hyphens are removed when the word continues in lower case on the
next line, unless the document itself spells that word with a hyphen (or never
without one while the pieces look like compound parts).
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict

from mechcode.ingest.lines import Line

BAND = 0.11  # fraction of the page height at top and bottom searched for running lines
PAGE_NO = re.compile(r"^[\s\-\u2013\u2014|(\[]*(page\s*)?\d{1,4}(\s*(of|/)\s*\d{1,4})?"
                     r"[\s\-\u2013\u2014|)\].]*$", re.I)
HYPHENS = ("-", "\u2010", "\u2011", "\u00ad")
WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:[-\u2010][A-Za-z\u00c0-\u024f]+)*")


def _key(text: str) -> str:
    """Text with digit runs masked and spaces removed, for repetition tests."""
    return re.sub(r"\s+", "", re.sub(r"\d+", "#", text.lower()))


def mark_running(pages: list[list[Line]], heights: list[float]) -> None:
    """Tag header/footer lines in place (``line.kind`` = "header"/"footer")."""
    where: dict[str, set[int]] = defaultdict(set)
    for i, (lines, h) in enumerate(zip(pages, heights)):
        for ln in lines:
            if ln.bottom < h * BAND or ln.top > h * (1 - BAND):
                where[_key(ln.text)].add(i)
    n = len(pages)
    need = 2 if n <= 6 else max(2, round(0.2 * n))
    sizes = sorted(ln.size for lines in pages for ln in lines)
    big = 1.3 * sizes[len(sizes) // 2] if sizes else 1e9  # a title, not a running line
    for i, (lines, h) in enumerate(zip(pages, heights)):
        for ln in lines:
            if "figure" in ln.tags or ln.size > big:
                continue  # tick labels repeat on every plot; a title repeats on a cover
            top = ln.bottom < h * BAND
            bottom = ln.top > h * (1 - BAND)
            if not (top or bottom):
                continue
            if len(where[_key(ln.text)]) >= need or PAGE_NO.match(ln.text):
                ln.kind = "header" if top else "footer"


def vocabulary(lines: list[Line]) -> Counter:
    """Lower-case word counts of the whole document (for hyphen decisions)."""
    vocab: Counter = Counter()
    for ln in lines:
        words = WORD.findall(ln.text)
        if ln.text.rstrip().endswith(HYPHENS):
            words = words[:-1]  # the first half of a broken word
        for w in words[1:]:  # the first word may be the second half of one
            w = w.lower()
            vocab[w] += 1
            parts = re.split(r"[-\u2010]", w)
            if len(parts) > 1:  # "harder-to-reach" also counts "harder", "harder-to", ...
                for k, part in enumerate(parts):
                    vocab[part] += 1
                    if k:
                        vocab[parts[k - 1] + "-" + part] += 1
    return vocab


def join_lines(texts: list[str], vocab: Counter) -> str:
    """Join the lines of one paragraph, repairing end-of-line hyphenation."""
    out = ""
    for t in texts:
        t = t.strip()
        if not t:
            continue
        if not out:
            out = t
            continue
        if out[-1] in HYPHENS and len(out) > 1 and out[-2].isalpha():
            head = WORD.findall(out[-40:])
            tail = WORD.findall(t[:40])
            if head and tail and t[0].islower():
                if _drop_hyphen(head[-1], tail[0], vocab):
                    out = out[:-1] + t
                else:
                    out = out[:-1] + "-" + t
                continue
            if t[0].isalnum():  # "EQ-" + "5D", "Smith-" + "Jones": keep the hyphen
                out = out[:-1] + "-" + t
                continue
        out = out + " " + t
    return out


# Second parts of hyphenated compounds: "government-" + "funded" keeps its hyphen.
COMPOUND_TAILS = frozenset("""
funded based related specific term led level wide making being free centred centered friendly
informed reported rated aged sized scale up out time oriented driven focused focussed dependent
specific sensitive income quality risk year month week day old long like type owned run
""".split())

# Prefixes that usually keep their hyphen before a word ("meta-analysis", "non-medical").
HYPHEN_PREFIXES = frozenset("meta non self cross semi quasi multi pre post anti sub co well".split())
# Word endings that are also words: "occur-" + "ring" is one word broken, not a compound.
SUFFIX_WORDS = frozenset("ring ting ling ping ning ming ding sing ted ment ness less ward wards ship "
                         "able ible ably ally tion sion ity ous ive ions ers".split())


def _drop_hyphen(head: str, tail: str, vocab: Counter) -> bool:
    """True if ``head-`` + ``tail`` is a word broken at a line end."""
    if "-" in tail or "\u2010" in tail:
        return False  # "harder-" + "to-reach": a compound continues
    last = head.split("-")[-1].lower()
    first = tail.split("-")[0].lower()
    joined = last + first
    hyphened = f"{last}-{first}"
    if vocab.get(hyphened, 0) > vocab.get(joined, 0):
        return False
    if vocab.get(joined, 0):
        return True
    if first in COMPOUND_TAILS and len(last) > 2:
        return False  # "government-funded", "community-based", "follow-up"
    if last in HYPHEN_PREFIXES and vocab.get(first, 0) >= 1:
        return False  # "meta-" + "analysis" (but "pre-" + "vious" joins)
    # Both halves are words of the document on their own: likely a compound.
    return not (vocab.get(last, 0) >= 1 and vocab.get(first, 0) >= 1 and len(last) > 2
                and len(first) > 2 and first not in SUFFIX_WORDS)
