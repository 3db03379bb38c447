"""The summaries ``mechcode simulate`` writes: ``summary.json`` (--target evidence) and
``mechanism-summary.json`` (--target mechanism); see :mod:`mechcode.experiments.summary` and
:mod:`mechcode.experiments.mechanism_target` for how each figure is computed."""
from __future__ import annotations

from typing import Any, Union

from typing_extensions import NotRequired, TypedDict

from mechcode.contracts.common import CLOSED


class Spread(TypedDict):
    """Mean and spread of a figure over seeds (or mechanisms); all null when ``n`` is 0."""

    __pydantic_config__ = CLOSED
    mean: float | None
    """Mean of the non-missing values."""
    std: float | None
    """Sample standard deviation (0 for one value)."""
    min: float | None
    """Smallest value."""
    max: float | None
    """Largest value."""
    n: int
    """Values counted (seeds that reached the figure)."""


class SpreadReached(Spread):
    __pydantic_config__ = CLOSED
    reached: int
    """Seeds that reached the target."""
    of: int
    """Seeds run."""


# keys with "@" need TypedDict's functional form; WSS@r is work saved over sampling at recall r,
# wss_max the best any reading order could do, units_to_recall the units read to reach r
SeedRecallFigures = TypedDict("SeedRecallFigures", {
    "wss@95": float | None, "wss_max@95": float | None, "units_to_recall@95": int | None,
    "wss@100": float | None, "wss_max@100": float | None, "units_to_recall@100": int | None})
RecallFigures = TypedDict("RecallFigures", {
    "wss@95": Spread, "wss_max@95": Spread, "units_to_recall@95": Spread,
    "wss@100": Spread, "wss_max@100": Spread, "units_to_recall@100": Spread})
_m = ("recall", "f1_mechanism", "f1_mechanism_micro", "f1_role", "holdout_f1_mechanism", "holdout_f1_role",
      "accept_exact", "accept_partial")
CurveRow = TypedDict("CurveRow", {"step": int, "n_coded": int, "n_seeds": int,
                                  **{f"{m}_{k}": float | None for m in _m for k in ("mean", "std", "min", "max")}})
MechanismFigures = TypedDict("MechanismFigures", {
    "wss@95": Spread, "wss@100": Spread, "units_to_recall@95": Spread,
    "recall@10%": Spread, "recall@20%": Spread, "recall@50%": Spread})
MechanismRunFigures = TypedDict("MechanismRunFigures", {
    "wss@95": float | None, "wss@100": float | None, "units_to_recall@95": int | None,
    "recall@10%": float, "recall@20%": float, "recall@50%": float})
SeedRecallFigures.__doc__ = ("wss@R: work saved over sampling at recall R % (null: not reached); wss_max@R: "
                             "the best any reading order could do; units_to_recall@R: units read to reach it.")
RecallFigures.__doc__ = "The figures of SeedRecallFigures, each as a spread over seeds."
CurveRow.__doc__ = ("One step of the curve over seeds (also curve.csv): for each metric (recall, f1_mechanism, ..., "
                    "accept_partial) its mean, std, min and max.")
MechanismFigures.__doc__ = ("WSS@95, WSS@100, units read to 95 % recall and recall after 10/20/50 % of the units "
                            "screened, each as a spread.")
MechanismRunFigures.__doc__ = "The figures of MechanismFigures for one run (WSS and units: null when not reached)."
for _t in (SeedRecallFigures, RecallFigures, CurveRow, MechanismFigures, MechanismRunFigures):
    _t.__pydantic_config__ = {"extra": "forbid"}


class SimRunConfig(TypedDict):
    __pydantic_config__ = CLOSED
    backend: str
    """Backend label."""
    strategy: str
    """Query strategy."""
    seed_labels: int
    """Units coded at random before the first model."""
    batch: int
    """Units picked per step."""
    retrain_every: int
    """Newly coded units between retrains."""
    holdout: float
    """Share of paragraphs set aside per seed."""
    params: dict[str, Any]
    """Backend hyperparameters."""
    max_steps: int | None
    """Step limit per seed (null: none)."""
    exclude_definition_units: bool
    """Whether units repeating a codebook definition were left out."""


class SeedSummary(SeedRecallFigures):
    """The figures of one seed's run."""

    __pydantic_config__ = CLOSED
    seed: int
    """The seed."""
    n_coded: int
    """Units coded in the run."""
    finished: bool
    """Whether every unit was coded (or the step limit reached)."""
    curve_mean: dict[str, float | None]
    """Mean of each curve metric over the steps (area / width)."""
    units_to_f1: dict[str, int | None]
    """Units coded when held-out macro-F1 first reached TASK@TARGET ({} without a holdout)."""
    accept_exact: float | None
    """Share of suggestions accepted as they are, at the end."""
    accept_partial: float | None
    """Mean partial agreement of suggestions, at the end."""
    train_seconds_mean: float | None
    """Mean seconds per retrain."""
    n_retrains: int
    """Retrains."""


class EvidenceSummary(RecallFigures):
    """``summary.json`` of one backend x strategy (--target evidence); the WSS and recall
    figures are spreads over seeds."""

    __pydantic_config__ = CLOSED
    strategy: str
    """Query strategy."""
    backend: str
    """Backend label."""
    seeds: list[int]
    """Seeds run."""
    n_units: int
    """Units replayed."""
    n_evidence: int
    """Units with a gold mechanism (the relevant class)."""
    n_holdout: int
    """Units held out (of the first seed)."""
    config: SimRunConfig
    """The run's settings."""
    curve_mean: dict[str, Spread]
    """Per curve metric: its mean over the steps, spread over seeds."""
    units_to_f1: dict[str, SpreadReached]
    """Per TASK@TARGET: units coded when held-out macro-F1 first reached it ({} without a holdout)."""
    accept_exact: Spread
    """Share of suggestions accepted as they are."""
    accept_partial: Spread
    """Mean partial agreement of suggestions."""
    train_seconds: Spread
    """Seconds per retrain, all seeds."""
    curve: list[CurveRow]
    """The per-step curve."""
    per_seed: list[SeedSummary]
    """Each seed's figures."""


class EvidenceRuns(TypedDict):
    """``OUTPUT/summary.json`` with several backends or strategies."""

    __pydantic_config__ = CLOSED
    runs: list[EvidenceSummary]
    """One summary per combination (each also in its sub-folder)."""


class MechanismRun(MechanismRunFigures):
    """One mechanism, one seed: the reading order and its figures (see MechanismRunFigures)."""

    __pydantic_config__ = CLOSED
    mechanism: str
    """The relevant mechanism."""
    seed: int
    """The seed."""
    n_units: int
    """Units in the reading order's universe (all minus the two prior units)."""
    n_relevant: int
    """Relevant units to find (minus the prior one)."""
    order: list[str]
    """Unit ids in reading order."""
    hits: list[int]
    """1-based positions of the relevant units in ``order``."""


class MechanismSpread(MechanismFigures):
    """One mechanism's figures as spreads over seeds (see MechanismFigures)."""

    __pydantic_config__ = CLOSED
    n_relevant: int
    """Relevant units to find."""
    n_units: int
    """Units in the reading order's universe."""


class MechanismTargetRun(TypedDict):
    __pydantic_config__ = CLOSED
    backend: str
    """Backend."""
    strategy: str
    """Strategy (max, uncertain, random)."""
    seeds: list[int]
    """Seeds run."""
    batch: int
    """Units picked per step."""
    retrain_every: int
    """Newly coded units between retrains."""
    per_mechanism: dict[str, MechanismSpread]
    """Figures per mechanism, spread over seeds."""
    mean: MechanismFigures
    """Spread over mechanisms of the per-mechanism means."""
    runs: list[MechanismRun]
    """Every mechanism x seed run."""


class MechanismTargetSummary(TypedDict):
    """``mechanism-summary.json`` (--target mechanism)."""

    __pydantic_config__ = CLOSED
    runs: list[MechanismTargetRun]
    """One entry per backend x strategy."""


SimulationSummary = Union[EvidenceSummary, EvidenceRuns, MechanismTargetSummary]
"""What ``mechcode simulate`` writes as its summary file."""
