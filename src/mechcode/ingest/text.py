"""Character-level text normalisation for whatever a PDF's text layer yields.

PDF text layers carry ligature glyphs, odd spaces, mathematical alphanumerics
(U+1D400 ...), private-use glyphs from symbol fonts, control characters and,
from some readers, lone UTF-16 surrogates.  :func:`clean_text` turns any of
them into plain Unicode that every later stage (and any UTF-8 encoder) accepts:
ligatures are spelled out, surrogate pairs are combined and lone surrogates
dropped, symbol-font bullets become "\u2022", other private-use and control
characters are removed, and mathematical letters and digits become plain ones.
"""
from __future__ import annotations

import re
import unicodedata

LIGATURES = {
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st", "\u00a0": " ", "\u2002": " ", "\u2003": " ",
    "\u2009": " ", "\u200a": " ", "\u200b": "", "\ufeff": "",
}
# Private-use code points with a well-known meaning (Symbol/Wingdings bullets,
# the Adobe/Apple "fi"/"fl" ligatures); every other private-use char is dropped.
PRIVATE_USE = {"\uf0b7": "\u2022", "\uf0a7": "\u25aa", "\uf0d8": "\u2022", "\uf076": "\u2022",
               "\uf0fc": "\u2022", "\uf06e": "\u25aa", "\uf001": "fi", "\uf002": "fl",
               "\uf0b0": "\u00b0", "\uf02d": "-", "\uf0ad": "-", "\uf0bc": "\u2026"}
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_PRIVATE = re.compile(r"[\ue000-\uf8ff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MATH_ALNUM = re.compile(r"[\U0001d400-\U0001d7ff]")


def join_surrogates(text: str) -> str:
    """Combine UTF-16 surrogate pairs into their code points; drop lone surrogates."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "ignore").translate(
        {c: None for c in range(0xD800, 0xE000)})


def clean_text(text: str) -> str:
    """Plain, encodable text (see the module docstring); ASCII passes unchanged."""
    if text.isascii():
        return _CONTROL.sub("", text) if _CONTROL.search(text) else text
    text = join_surrogates(text)
    for k, v in LIGATURES.items():
        if k in text:
            text = text.replace(k, v)
    if _PRIVATE.search(text):
        text = _PRIVATE.sub(lambda m: PRIVATE_USE.get(m.group(0), ""), text)
    if _MATH_ALNUM.search(text):
        text = _MATH_ALNUM.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    return _CONTROL.sub("", text)
