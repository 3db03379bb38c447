"""REPORT.json of ``mechcode evaluate``, one shape per protocol."""
from __future__ import annotations

from typing import Any, Literal, Union

from typing_extensions import NotRequired, TypedDict

from mechcode.contracts.common import CLOSED, PRF, CodebookRef, Headline, MlflowInfo


class MechanismScores(TypedDict):
    __pydantic_config__ = CLOSED
    macro_f1: float | None
    """Mean F1 over the mechanisms in ``evaluated``."""
    micro_f1: float
    """F1 of the pooled counts of the evaluated mechanisms."""
    threshold: float
    """Probability at which a mechanism counts as suggested."""
    evaluated: list[str]
    """Mechanisms with at least one positive test unit."""
    per_class: dict[str, PRF]
    """Presence scores per mechanism of the label space."""
    no_mechanism: PRF
    """The "no mechanism" class (nothing suggested vs nothing true); not in the macro average."""
    n: int
    """Test units."""
    confusion: dict[str, list[list[int]]]
    """Per mechanism [[TN, FP], [FN, TP]]."""


class ClassScores(TypedDict):
    """Scores of a one-of-k task (role, polarity, C/M/O)."""

    __pydantic_config__ = CLOSED
    macro_f1: float | None
    """Mean F1 over the classes present in the truth (null without test units)."""
    accuracy: float | None
    """Share predicted right (null without test units)."""
    per_class: dict[str, PRF]
    """Scores per class."""
    n: int
    """Test units with a known label."""
    labels: list[str]
    """Class order of ``confusion``."""
    confusion: list[list[int]]
    """Rows: truth, columns: prediction ([] without test units)."""


class Ece(TypedDict):
    __pydantic_config__ = CLOSED
    mechanism: float
    """Binary ECE over every (unit, mechanism) probability."""
    mechanism_suggested: float | None
    """The same over the suggested pairs only."""
    n_suggested: int
    """Suggested (unit, mechanism) pairs."""
    role: float | None
    """Top-label ECE of the role."""
    polarity: float | None
    """Top-label ECE of the polarity."""


class Timing(TypedDict):
    __pydantic_config__ = CLOSED
    fit_s: float
    """Seconds fitting (all folds)."""
    predict_s: float
    """Seconds predicting (all folds)."""
    units_per_s: float | None
    """Prediction speed."""


class FoldsMacroF1(TypedDict):
    __pydantic_config__ = CLOSED
    mechanism: list[float | None]
    """Mechanism macro-F1 of each fold."""
    role: list[float | None]
    """Role macro-F1 of each fold."""


class Scores(TypedDict):
    """One backend's scores under grouped-cv or definitions-to-evidence."""

    __pydantic_config__ = CLOSED
    mechanism: MechanismScores
    """Mechanism presence scores."""
    role: ClassScores
    """Role scores (units with a known role)."""
    polarity: ClassScores
    """Polarity scores (units with a known polarity)."""
    ece: Ece
    """Calibration errors."""
    timing: Timing
    """Time taken."""
    folds_macro_f1: NotRequired[FoldsMacroF1]
    """grouped-cv only: macro-F1 per fold."""


class ClassicReport(Scores):
    """REPORT.json of grouped-cv and definitions-to-evidence (``mechcode.models.evaluation.evaluate``); the
    evaluated backend's scores are at the top level."""

    __pydantic_config__ = CLOSED
    protocol: Literal["grouped-cv", "definitions-to-evidence"]
    """The protocol."""
    backend: str
    """The evaluated backend."""
    params: dict[str, Any]
    """Its hyperparameters as given (--param)."""
    threshold: float
    """Probability at which a mechanism counts as suggested."""
    n_units: int
    """Labelled units read."""
    n_test_units: int
    """Units tested (definition units left out)."""
    excluded_definition_units: int
    """Units left out because their text repeats a codebook definition."""
    n_groups: int
    """Source paragraphs."""
    folds: int
    """Folds (0 for definitions-to-evidence)."""
    codebook: CodebookRef
    """The codebook."""
    counting: str
    """How units count, in words."""
    baselines: dict[str, Scores]
    """The same scores for each baseline (majority, zeroshot, keyword)."""
    summary: dict[str, Headline]
    """Headline figures: key ``backend`` for the evaluated backend, then one per baseline."""
    figures: NotRequired[list[str]]
    """Confusion-matrix PNGs written next to the report."""
    mlflow: NotRequired[MlflowInfo]
    """Where the run is tracked (absent with --no-track)."""


class BackendSpec(TypedDict):
    __pydantic_config__ = CLOSED
    label: str
    """The name it is reported under."""
    backend: str
    """Registry name (or majority / keyword)."""
    params: dict[str, Any]
    """Hyperparameters."""


class TransferReport(TypedDict):
    """What every transfer protocol's report has (``mechcode.models.evaluation.protocols.finish_report``)."""

    __pydantic_config__ = CLOSED
    backend: str
    """Label of the evaluated backend."""
    params: dict[str, Any]
    """Its hyperparameters."""
    backends: list[BackendSpec]
    """Every backend compared, the evaluated one first."""
    threshold: float
    """Probability at which a mechanism counts as suggested."""
    counting: str
    """How units count, in words."""
    codebook: CodebookRef
    """The codebook."""
    mlflow: NotRequired[MlflowInfo]
    """Where the run is tracked (absent with --no-track)."""


class RoleScore(TypedDict):
    __pydantic_config__ = CLOSED
    cmo_macro_f1: float | None
    """C/M/O macro-F1 (resource + reasoning = M)."""
    cmo_accuracy: float | None
    """C/M/O accuracy."""
    role5_macro_f1: float | None
    """Macro-F1 over the five role ids."""
    n: int
    """CMO statements tested."""
    cmo: ClassScores
    """The full C/M/O scores."""


class FoldInfo(TypedDict):
    __pydantic_config__ = CLOSED
    name: str
    """What the fold holds out."""
    n_test: int
    """Its test units."""


class CurvePoint(TypedDict):
    """One training size of a transfer curve (its ``results`` are in the subclasses)."""

    __pydantic_config__ = CLOSED
    fraction: float
    """Share of the training pool's groups used (primary studies: of the other papers)."""
    train_units: float
    """Mean training units per fold."""
    seconds: dict[str, float]
    """Seconds per backend label."""


class RoleCurvePoint(CurvePoint):
    __pydantic_config__ = CLOSED
    results: dict[str, RoleScore]
    """Scores per backend label."""


class RolePart(TypedDict):
    __pydantic_config__ = CLOSED
    folds: list[FoldInfo]
    """The folds."""
    n_test: int
    """Test units over all folds."""
    curve: list[RoleCurvePoint]
    """One point per training size."""


class TransferRolesReport(TransferReport):
    __pydantic_config__ = CLOSED
    protocol: Literal["transfer-roles"]
    """The protocol."""
    parts: dict[str, RolePart]
    """``boxes`` (leave-one-box-out) and/or ``primer`` (leave-one-domain-out)."""
    baselines: dict[str, dict[str, RoleScore] | None]
    """Per other backend label: its figures at the largest training size, per part."""
    summary: dict[str, dict[str, RoleScore] | None]
    """The same with the evaluated backend under ``backend``."""


class PaperFigures(TypedDict):
    __pydantic_config__ = CLOSED
    auc: float | None
    """ROC AUC over the (paper, mechanism) pairs (null when only one class occurs)."""
    auc_ci: list[float] | None
    """95 % interval of that AUC with the papers resampled (null with fewer than 2 papers)."""
    precision: float
    """Precision of the pairs at or above the threshold."""
    recall: float
    """Recall of those pairs."""
    f1: float
    """F1 of those pairs."""


class PaperScores(TypedDict):
    __pydantic_config__ = CLOSED
    n_papers: int
    """Papers tested."""
    n_pairs: int
    """Paper x mechanism pairs."""
    n_true_pairs: int
    """Pairs where the paper has the mechanism."""
    threshold: float
    """Probability threshold."""
    max: PaperFigures
    """Pair score = the highest probability over the paper's units."""
    top3: PaperFigures
    """Pair score = the mean of its three highest."""


class PrimaryScore(Headline):
    __pydantic_config__ = CLOSED
    mechanism_micro_f1: float
    """Mechanism micro-F1."""
    mechanism_auc: float | None
    """Per-mechanism evidence finding: mean over mechanisms of the ROC AUC, within each paper, of
    ranking its units by that mechanism's probability (null when no paper has both coded and
    uncoded units of any mechanism)."""
    n_mechanisms_ranked: int
    """Mechanisms in that mean."""
    no_mechanism: PRF
    """The "no mechanism" class."""
    cmo_macro_f1: float | None
    """C/M/O macro-F1."""
    role5_macro_f1: float | None
    """Five-role macro-F1."""
    paper: PaperScores
    """Paper x mechanism figures."""
    n_mechanism_units: int
    """Units the mechanism figures are over (those with a suggestable code or none at all)."""
    n_unsuggested_only: int
    """Units left out of the mechanism figures: every code they carry is one the codebook does not
    suggest (merged, retired, no-evidence); role and paper figures keep them."""


class PrimaryCurvePoint(CurvePoint):
    __pydantic_config__ = CLOSED
    results: dict[str, PrimaryScore]
    """Scores per backend label."""


class PrimaryStudiesReport(TransferReport):
    __pydantic_config__ = CLOSED
    protocol: Literal["primary-studies"]
    """The protocol."""
    n_papers: int
    """Papers of the corpus (each held out once)."""
    papers: list[str]
    """Their ids."""
    n_source_units: int
    """Units of the other training sources (always trained on)."""
    curve: list[PrimaryCurvePoint]
    """One point per training size."""
    baselines: dict[str, dict[str, PrimaryScore] | None]
    """Per other backend label: ``cold`` (first training size) and ``full`` (largest)."""
    summary: dict[str, dict[str, PrimaryScore] | None]
    """The same with the evaluated backend under ``backend``."""


class PaperShare(TypedDict):
    __pydantic_config__ = CLOSED
    n: int
    """Sentences."""
    flagged: int
    """Sentences with a mechanism at or above the threshold."""
    share: float
    """flagged / n."""


class OffTopicResult(PaperShare):
    __pydantic_config__ = CLOSED
    per_paper: dict[str, PaperShare]
    """The same per paper."""
    seconds: float
    """Seconds to train and predict."""


class ShareOnly(TypedDict):
    __pydantic_config__ = CLOSED
    share: float
    """Share of sentences flagged."""


class OffTopicReport(TransferReport):
    __pydantic_config__ = CLOSED
    protocol: Literal["off-topic"]
    """The protocol."""
    n_units: int
    """Sentence units of the papers."""
    papers: list[str]
    """Paper ids (file stems)."""
    n_train_units: int
    """Units trained on."""
    results: dict[str, OffTopicResult]
    """Per backend label."""
    baselines: dict[str, ShareOnly | None]
    """Share per other backend label."""
    summary: dict[str, ShareOnly | None]
    """The same with the evaluated backend under ``backend``."""


EvaluationReport = Union[ClassicReport, TransferRolesReport, PrimaryStudiesReport, OffTopicReport]
"""REPORT.json of ``mechcode evaluate``; ``protocol`` says which shape."""
