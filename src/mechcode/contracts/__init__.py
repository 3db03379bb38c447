"""The JSON that leaves the program, as named types: the ``predict`` line, the model card, the
evaluation report and the simulation summary.

Each is a ``TypedDict`` (``typing_extensions``': pydantic cannot read the stdlib one on Python
3.11): a key without ``NotRequired`` is always present, and the string under a key describes it.
``scripts/write_schemas.py`` turns these types into the JSON Schema files in ``schemas/``
(descriptions included) with pydantic; ``tests/test_contracts.py`` checks that the files are
current and that real outputs of every command validate, unknown keys refused (``CLOSED``).
Where a value's shape differs between backends or protocols it is ``dict[str, Any]``,
described in words rather than given an invented structure. This package imports nothing but
the standard library and ``typing_extensions``.
"""
from mechcode.contracts.card import ModelCard
from mechcode.contracts.predict import PredictLine
from mechcode.contracts.report import ClassicReport, EvaluationReport
from mechcode.contracts.simulation import EvidenceSummary, MechanismTargetSummary, SimulationSummary

__all__ = ["ClassicReport", "EvaluationReport", "EvidenceSummary", "MechanismTargetSummary", "ModelCard",
           "PredictLine", "SimulationSummary"]
