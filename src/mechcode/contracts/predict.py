"""One line of ``mechcode predict`` output."""
from __future__ import annotations

from typing import Any

from typing_extensions import NotRequired, TypedDict

from mechcode.contracts.common import CLOSED

# keys with a hyphen or sign need TypedDict's functional form (no per-key descriptions there)
RoleProbabilities = TypedDict("RoleProbabilities", {
    "context": float, "mechanism-resource": float, "mechanism-reasoning": float, "outcome": float, "none": float})
RoleProbabilities.__doc__ = "Probability of each CMO role (sums to 1)."
RoleProbabilities.__pydantic_config__ = {"extra": "forbid"}
PolarityProbabilities = TypedDict("PolarityProbabilities", {"+": float, "-": float})
PolarityProbabilities.__doc__ = "Probability of a positive (+) and a negative (-) direction (sums to 1)."
PolarityProbabilities.__pydantic_config__ = {"extra": "forbid"}


class PredictLine(TypedDict):
    """One line of ``mechcode predict`` output (``mechcode.models.base.prediction``)."""

    __pydantic_config__ = CLOSED
    id: str
    """The unit's id from the input line (numbers become strings)."""
    mechanisms: dict[str, float]
    """Probability of each mechanism id of the model's label space (independent, 6 decimals)."""
    role: RoleProbabilities
    """Probability of each CMO role: context, mechanism-resource, mechanism-reasoning, outcome, none."""
    polarity: PolarityProbabilities
    """Probability of "+" and "-"."""
    rationale: list[dict[str, Any]]
    """Why, per backend: sparse and zeroshot give {task, label, terms[, evidence, similarity,
    probability]} items, embed adds nearest_units, finetune lists the nearest training examples
    {id, text, mechanisms, role, polarity, similarity}; the baselines give []."""
    no_mechanism: NotRequired[float]
    """Probability that the unit supports no mechanism at all (absent for backends without that head)."""
