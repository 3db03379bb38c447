"""``model.json``, the card of a model directory."""
from __future__ import annotations

from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict

from mechcode.contracts.common import CLOSED, CodebookRef, Headline, MlflowInfo


class Holdout(Headline):
    """Headline figures of a model trained on 80 % of the groups and tested on the rest."""

    __pydantic_config__ = CLOSED
    n_test: int
    """Test units of the holdout."""
    grouped_by: Literal["paper", "paragraph"]
    """What the holdout keeps whole on one side."""


class CardMetrics(TypedDict):
    __pydantic_config__ = CLOSED
    holdout: NotRequired[Holdout | None]
    """Holdout figures; null with too few groups, absent when trained without a holdout or units."""
    training: NotRequired[Headline]
    """Figures on the training units themselves (optimistic); absent when there were none."""


class LabelCounts(TypedDict):
    __pydantic_config__ = CLOSED
    mechanisms: dict[str, int]
    """Training units per mechanism of the label space."""
    no_mechanism: int
    """Training units with no mechanism."""
    roles: dict[str, int]
    """Training units per known role."""


class CardCodebook(CodebookRef):
    __pydantic_config__ = CLOSED
    mechanisms: list[str]
    """The model's label space: the mechanism ids it suggests, codebook order."""


class ModelCard(TypedDict):
    """``model.json`` of a model directory (``mechcode.models.train.train_model``)."""

    __pydantic_config__ = CLOSED
    backend: str
    """Registry name of the backend."""
    backend_version: str
    """The backend's format version; a model of another version must be retrained."""
    version: str
    """The model version, BACKEND-YYYYmmddTHHMMSS-DATAHASH6 (a review may append .N)."""
    hyperparameters: dict[str, Any]
    """The backend's hyperparameters (their names depend on the backend)."""
    data_hash: str
    """Hash of the training units (id, text, context, labels)."""
    n_units: int
    """Labelled training units (codebook definitions not counted)."""
    label_counts: LabelCounts
    """Label frequencies of the training units."""
    codebook: CardCodebook
    """The codebook the model was trained with."""
    metrics: CardMetrics
    """Holdout and training-set figures."""
    train_seconds: float
    """Seconds of the final fit."""
    mechcode_version: str
    """mechcode version that trained the model."""
    sources: dict[str, int]
    """Training units per source (``data`` for a file; seed files, decisions, ... for a review)."""
    files: dict[str, str]
    """SHA-256 of every other file of the directory, by relative path."""
    created: str
    """Creation time, ISO 8601 UTC."""
    mlflow: NotRequired[MlflowInfo]
    """Where the training run is tracked (absent with --no-track)."""
