"""Pieces shared by several contracts, and the pydantic configuration of all of them."""
from __future__ import annotations

from typing_extensions import NotRequired, TypedDict

# pydantic's configuration of every contract type: undocumented keys are refused, and the
# string after each key becomes its description in the JSON Schema.
CLOSED = {"extra": "forbid", "use_attribute_docstrings": True}


class PRF(TypedDict):
    __pydantic_config__ = CLOSED
    precision: float
    """Precision (0 where undefined)."""
    recall: float
    """Recall (0 where undefined)."""
    f1: float
    """F1 (0 where undefined)."""
    support: int
    """True positives plus false negatives."""


class Headline(TypedDict):
    """The headline figures of a scored prediction set (``mechcode.models.evaluation.metrics.summary``)."""

    __pydantic_config__ = CLOSED
    mechanism_macro_f1: float | None
    """Macro-F1 over the mechanisms with a positive in the test data (null: none has one)."""
    role_macro_f1: float | None
    """Macro-F1 over the roles present in the test truth (null: no unit with a known role)."""
    polarity_macro_f1: float | None
    """Macro-F1 of polarity over units with a known polarity."""
    ece_mechanism: float
    """Binary expected calibration error over every (unit, mechanism) probability."""
    ece_mechanism_suggested: float | None
    """The same over the suggested pairs only (null when nothing is suggested)."""
    ece_role: float | None
    """Top-label calibration error of the role."""


class MlflowInfo(TypedDict):
    __pydantic_config__ = CLOSED
    tracking_uri: str
    """The MLflow tracking store the run was recorded in."""
    experiment_id: str
    """MLflow experiment id."""
    run_id: str
    """MLflow run id."""
    model_uri: NotRequired[str]
    """The logged model (train only)."""
    registry_name: NotRequired[str]
    """Registered model name (train only)."""
    registry_version: NotRequired[str]
    """Registered model version (train only)."""


class CodebookRef(TypedDict):
    __pydantic_config__ = CLOSED
    name: str
    """The codebook's name."""
    version: str
    """The codebook's version."""
    fingerprint: str
    """Hash of the codebook's content."""
