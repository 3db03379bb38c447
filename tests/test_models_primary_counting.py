"""primary-studies counts mechanism figures over suggestable codes: a unit coded only with a code
the model does not suggest (retired, no-evidence) is left out of the mechanism figures, counted,
and kept for roles. Tiny corpus, figures worked out by hand."""
from __future__ import annotations

import pytest

import _model_data as md
from mechcode.codebook import parse_codebook
from mechcode.models.evaluation.protocols import primary_studies
from mechcode.models.evaluation.transfer import Spec


def _rows(retired: bool):
    rows = []
    for p in ("A", "B"):
        rows.append({"id": f"{p}0", "text": "Partners built trust over time.", "paper": p, "group": f"{p}0",
                     "mechanisms": ["building-trust"], "role": "mechanism-reasoning", "polarity": "+"})
        rows.append({"id": f"{p}1", "text": f"Staff were interviewed in clinic {p}.", "paper": p, "group": f"{p}1",
                     "mechanisms": [], "role": "none"})
        rows.append({"id": f"{p}2", "text": "The trust between partners was a retired idea.", "paper": p,
                     "group": f"{p}2", "mechanisms": ["retired-code"] if retired else [], "role": "context"})
    return rows


def test_units_with_only_unsuggested_codes_leave_the_mechanism_figures():
    cb = parse_codebook(md.CODEBOOK)
    kw = Spec("keyword", "keyword")
    with_retired = primary_studies(_rows(True), cb, [kw], fractions=(0.0,))["curve"][0]["results"]["keyword"]
    plain = primary_studies(_rows(False), cb, [kw], fractions=(0.0,))["curve"][0]["results"]["keyword"]
    assert with_retired["n_unsuggested_only"] == 2 and with_retired["n_mechanism_units"] == 4
    assert plain["n_unsuggested_only"] == 0 and plain["n_mechanism_units"] == 6
    # the keyword rule flags "trust" in the retired-code sentence too: counted as a false positive
    # only when that sentence is (wrongly) read as "no mechanism"
    assert with_retired["mechanism_macro_f1"] == pytest.approx(1.0)
    assert plain["mechanism_macro_f1"] < 1.0
