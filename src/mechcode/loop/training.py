"""What every retrain of a review trains on: its recorded training sources plus its final codes.

Seed files (warm-start data from elsewhere) are recorded once in the review
(:mod:`mechcode.store.sources`), so the background retrain, ``retrain``, ``train REVIEW`` and
``code`` all use them however the server or command was started.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mechcode.errors import DataError


def add_seed_file(review, path: str | Path) -> tuple[dict[str, Any], bool]:
    """Record a labelled JSONL file as a training source of ``review`` (validated against its
    codebook); (source row, added). Recording the same bytes twice adds nothing."""
    from mechcode.models.data import read_labelled
    from mechcode.store.sources import add_source, file_sha256

    if not Path(path).is_file():
        raise DataError(f"seed data file not found: {path}")
    units = read_labelled(path, review.codebook)
    rows = [_unit_dict(u) for u in units]
    return add_source(review, "seed", Path(path).name, str(Path(path).resolve()), file_sha256(path), rows)


def add_seed_units(review, units: list, name: str = "seed") -> tuple[dict[str, Any], bool]:
    """Record already loaded seed units (ids as loaded) as a training source."""
    import hashlib

    from mechcode.store.sources import add_source

    rows = [_unit_dict(u, strip="seed:") for u in units]
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return add_source(review, "seed", name, None, digest, rows)


def _unit_dict(u, strip: str = "") -> dict[str, Any]:
    def bare(x):
        return x[len(strip):] if strip and isinstance(x, str) and x.startswith(strip) else x
    return {"id": bare(u.id), "text": u.text, "context": u.context, "group": bare(u.group),
            "mechanisms": list(u.mechanisms), "role": u.role, "polarity": u.polarity}


def seed_units(review) -> list:
    """The units of every recorded seed source, in the current codebook's ids (:func:`carry_seed`),
    ids and groups prefixed ``seed:SOURCE:``, ``origin`` ``seed``."""
    from mechcode.models.base import LabelledUnit
    from mechcode.store.sources import sources

    out = []
    for src in sources(review, with_units=True):
        units = []
        for d in src["units"]:
            u = LabelledUnit.from_dict(d)
            u.id = f"seed:{src['id']}:{u.id}"
            u.group = f"seed:{src['id']}:{d.get('group') if d.get('group') is not None else d['id']}"
            u.origin = "seed"
            units.append(u)
        out += carry_seed(review, units, src["codebook_version"])
    return out


def training_set(review) -> tuple[list, dict[str, int]]:
    """(units, counts per source) every retrain of ``review`` trains on: recorded seed sources
    plus the review's final codes; the counts also name the codebook examples and the primer,
    which the backend reads itself."""
    from mechcode.models.base import LabelledUnit, definition_examples
    from mechcode.models.primer import load_primer
    from mechcode.store.sources import sources

    seeds = seed_units(review)
    decisions = [LabelledUnit.from_dict({**r, "origin": "decision"}) for r in review.labelled_units()]
    counts = {"codebook": len(definition_examples(review.codebook)), "primer": len(load_primer())}
    for src in sources(review):
        counts[f"seed:{src['name']}"] = sum(u.id.startswith(f"seed:{src['id']}:") for u in seeds)
    counts["decisions"] = len(decisions)
    return seeds + decisions, counts


def load_seed_data(path: str | Path, codebook=None) -> list:
    """Labelled units from a JSONL file (``id, text, context, group, mechanisms, role, polarity``).

    Ids get a ``seed:`` prefix so they never clash with the review's unit ids."""
    from mechcode.models.data import read_labelled

    if not Path(path).is_file():
        raise DataError(f"seed data file not found: {path}")
    units = read_labelled(path, codebook)
    for unit in units:
        unit.id = f"seed:{unit.id}"
        unit.group = f"seed:{unit.group if unit.group is not None else unit.id}"
    return units


def carry_seed(review, units: list, version: str | None) -> list:
    """Seed units (labelled under codebook ``version``) in the current codebook's ids.

    Codes go through the review's stored revision mappings like reviewers' codes do
    (renames and merges followed, retired codes dropped); a unit whose code became ambiguous
    (a split) is left out, as it would otherwise teach the model that none of the new codes apply."""
    if not units or version is None or version == review.codebook.version:
        return units
    from dataclasses import replace

    from mechcode.store.revisions import migrate_codes

    codes = {i: {"mechanisms": list(u.mechanisms), "codebook_version": version} for i, u in enumerate(units)}
    migrate_codes(review.connect(), codes)
    return [replace(u, mechanisms=codes[i]["mechanisms"]) for i, u in enumerate(units) if not codes[i]["pending"]]
