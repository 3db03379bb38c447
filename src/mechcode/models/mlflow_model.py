"""MLflow "models from code" wrapper of a mechcode model directory (no pickle involved).

MLflow logs this file as the model's code and the mechcode model directory as the artifact
``model``; loading it through ``mlflow.pyfunc.load_model`` verifies the directory's hashes and
loads it with :func:`mechcode.models.train.load_model`. Input: a DataFrame (or list of dicts)
with ``id``, ``text`` and optional ``context`` and ``paper``; output: predict-contract dicts.
"""
from __future__ import annotations

import mlflow
from mlflow.pyfunc import PythonModel


class MechcodeModel(PythonModel):
    """A mechcode suggestion model served through MLflow's pyfunc interface."""

    def load_context(self, context) -> None:
        from mechcode.models.train import load_model

        self.model, self.card = load_model(context.artifacts["model"])

    def predict(self, context, model_input, params=None):
        from mechcode.models.base import Unit, paper_id

        rows = model_input.to_dict("records") if hasattr(model_input, "to_dict") else list(model_input)
        units = [Unit(str(r["id"]), str(r["text"]), str(r.get("context") or ""), paper=paper_id(r.get("paper")))
                 for r in rows]
        return self.model.predict(units)


mlflow.models.set_model(MechcodeModel())
