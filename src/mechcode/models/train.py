"""Train, persist, load and run suggestion models.

A model directory holds the backend's files and ``model.json``, the card::

    {"backend", "backend_version", "version", "hyperparameters", "data_hash", "n_units",
     "label_counts", "codebook": {"name", "version", "fingerprint", "mechanisms"},
     "metrics": {"holdout": {...}, "training": {...}}, "train_seconds", "created",
     "mechcode_version", "files": {relative path: sha256}}

Directories are written to a temporary sibling and renamed into place, so a crash never
leaves half a model; :func:`load_model` verifies every file hash before the backend reads.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from mechcode import __version__
from mechcode.codebook import Codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit, Unit, label_space, map_labels, unit_group
from mechcode.models.io import data_hash, verify_dir, write_card
from mechcode.models.registry import get_backend

HOLDOUT_MIN_GROUPS = 10  # fewer labelled paragraphs than this: no holdout figures
HOLDOUT_MIN_PAPERS = 4   # when units carry paper ids: fewer papers than this, no holdout figures


def new_version(backend: str, units: Sequence[LabelledUnit]) -> str:
    """A unique, sortable model version: ``BACKEND-YYYYmmddTHHMMSS-DATAHASH6``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{backend}-{stamp}-{data_hash(units)[:6]}"


def free_version(review, backend: str, units: Sequence[LabelledUnit]) -> tuple[str, Path]:
    """A model version not yet used in ``review``, and its directory under REVIEW_DIR/models."""
    base = new_version(backend, units)
    taken = {m["version"] for m in review.models()}
    version, n = base, 1
    while version in taken or (Path(review.models_dir) / version).exists():
        n += 1
        version = f"{base}.{n}"
    return version, Path(review.models_dir) / version


def label_counts(units: Sequence[LabelledUnit], codebook: Codebook) -> dict[str, Any]:
    mech = {m: 0 for m in label_space(codebook)}
    for u in units:
        for m in map_labels(u.mechanisms, codebook):
            mech[m] += 1
    roles: dict[str, int] = {}
    for u in units:
        if u.role is not None:
            roles[u.role] = roles.get(u.role, 0) + 1
    return {"mechanisms": mech, "no_mechanism": sum(not u.mechanisms for u in units), "roles": roles}


def holdout_groups(units: Sequence[LabelledUnit]) -> list[str]:
    """The holdout's grouping key of each unit: its paper where one is known, else its paragraph."""
    return [f"paper:{u.paper}" if getattr(u, "paper", None) else unit_group(u) for u in units]


def holdout_split(units: Sequence[LabelledUnit], codebook: Codebook,
                  seed: int = 0) -> tuple[list[int], list[int]] | None:
    """``(train, test)`` indices of a 20 % holdout, or None when there are too few groups.

    Whole papers (or paragraphs, where no paper id exists) go to one side. *Definition units*
    (text repeated from a codebook definition, which every backend trains on) are left out of
    the test side and kept for training, as ``mechcode evaluate`` does.
    """
    from sklearn.model_selection import GroupShuffleSplit

    from mechcode.models.evaluation.evaluate import definition_units

    groups = holdout_groups(units)
    by_paper = any(g.startswith("paper:") for g in groups)
    if len(set(groups)) < (HOLDOUT_MIN_PAPERS if by_paper else HOLDOUT_MIN_GROUPS):
        return None
    tr, te = next(GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=seed).split(units, groups=groups))
    defs = definition_units(units, codebook)
    test = [int(i) for i in te if i not in defs]
    train = sorted([int(i) for i in tr] + [int(i) for i in te if i in defs])
    return (train, test) if test else None


def holdout_metrics(units: list[LabelledUnit], codebook: Codebook, backend: str, params: dict[str, Any],
                    seed: int = 0) -> dict[str, Any] | None:
    """Headline scores on a 20 % paper (or paragraph) holdout; None when there are too few groups."""
    split = holdout_split(units, codebook, seed)
    if split is None:
        return None
    tr, te = split
    model = get_backend(backend)(**params).fit([units[i] for i in tr], codebook)
    test = [units[i] for i in te]
    grouped_by = "paper" if any(getattr(u, "paper", None) for u in units) else "paragraph"
    return {"n_test": len(test), "grouped_by": grouped_by, **headline_scores(test, model, codebook)}


def train_model(units: list[LabelledUnit], codebook: Codebook, backend: str, out_dir: str | Path,
                holdout: bool = True, version: str | None = None, progress: bool = False,
                sources: dict[str, int] | None = None, training_scores: bool = True,
                **params: Any) -> dict[str, Any]:
    """Fit ``backend`` on ``units`` + ``codebook``, write the model directory ``out_dir``; the card.

    With ``holdout`` (and enough paragraphs) the card also gets scores of a model trained on
    80 % of the groups and tested on the rest, with ``training_scores`` the scores of the model
    on its own training units (a background retrain adds both after the swap, so the page gets
    the new model sooner); ``progress`` shows the stages on stderr;
    ``sources`` (units per training source) is recorded in the card as ``sources``.
    """
    from tqdm import tqdm

    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ModelError(f"{out_dir} already exists and is not empty; choose a new --out directory")
    cls = get_backend(backend)
    model = cls(**params)
    metrics: dict[str, Any] = {}
    bar = tqdm(total=4, desc=f"training {backend}", unit="step", disable=not progress)
    if holdout and units:
        bar.set_postfix_str("holdout")
        metrics["holdout"] = holdout_metrics(units, codebook, backend, params)
    bar.update()
    bar.set_postfix_str("fit")
    t0 = time.perf_counter()
    model.fit(units, codebook)
    train_s = time.perf_counter() - t0
    bar.update()
    bar.set_postfix_str("training-set scores")
    if units and training_scores:
        metrics["training"] = headline_scores(units, model, codebook)
    bar.update()
    bar.set_postfix_str("save")
    card = {
        "backend": backend, "backend_version": cls.version, "version": version or new_version(backend, units),
        "hyperparameters": model.hyperparameters(), "data_hash": data_hash(units), "n_units": len(units),
        "label_counts": label_counts(units, codebook),
        "codebook": {"name": codebook.name, "version": codebook.version, "fingerprint": codebook.fingerprint(),
                     "mechanisms": label_space(codebook)},
        "metrics": metrics, "train_seconds": round(train_s, 3), "mechcode_version": __version__,
        "sources": sources or {"data": len(units)},
    }
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        model.save(tmp)
        card = write_card(tmp, card)
        if out_dir.exists():
            out_dir.rmdir()
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        bar.update()
        bar.close()
    return card


def headline_scores(units: Sequence[LabelledUnit], model, codebook: Codebook) -> dict[str, Any]:
    """Headline scores of ``model`` on labelled ``units`` (the card's ``training`` and ``holdout``)."""
    from mechcode.models.evaluation.metrics import score, summary

    return summary(score(list(units), model.predict(list(units)), codebook))


def load_model(directory: str | Path):
    """(backend instance, card) of a verified model directory."""
    directory = Path(directory)
    card = verify_dir(directory)
    cls = get_backend(card["backend"])
    if str(card.get("backend_version")) != str(cls.version):
        raise ModelError(f"{directory}: made by {card['backend']} backend version {card.get('backend_version')}, "
                         f"this mechcode has version {cls.version}; retrain the model")
    return cls.load(directory, card), card


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def predict_units(model, units: Sequence[Unit], batch_size: int = 512, progress: bool = False) -> list[dict]:
    """Predictions for ``units`` in batches, with a progress bar on stderr."""
    from tqdm import tqdm

    out: list[dict] = []
    with tqdm(total=len(units), desc="predicting", unit="unit", disable=not progress) as bar:
        for batch in batched(units, batch_size):
            out.extend(model.predict(list(batch)))
            bar.update(len(batch))
    return out


def predict_file(model_dir: str | Path, input_path: str | Path, output_path: str | Path,
                 batch_size: int = 512, progress: bool = False) -> int:
    """Read and validate all of ``input_path``, predict, write ``output_path`` atomically; rows written."""
    from mechcode.files import write_jsonl_atomic
    from mechcode.models.data import read_units

    units = read_units(input_path)
    model, _ = load_model(model_dir)
    return write_jsonl_atomic(output_path, predict_units(model, units, batch_size, progress))
