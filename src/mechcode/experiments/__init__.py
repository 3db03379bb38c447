"""Experiments: replay a finished coding as a simulated review, compare backends, track in MLflow.

- :mod:`mechcode.experiments.data`: labelled-unit files and backend construction.
- :mod:`mechcode.experiments.metrics`: WSS@r, recall, macro-F1, suggestion acceptance, spreads.
- :mod:`mechcode.experiments.strategies`: seed labels and the query strategies
  (``random``, ``uncertain``, ``coverage``, ``paper``).
- :mod:`mechcode.experiments.simulate`: the resumable, multi-seed simulation (``mechcode simulate``);
  :mod:`mechcode.experiments.replay` one simulated review, :mod:`mechcode.experiments.summary` the
  summaries over seeds, :mod:`mechcode.experiments.plots` their recall and F1 curves.
- :mod:`mechcode.experiments.mechanism_target`: per-mechanism evidence finding
  (``mechcode simulate --target mechanism``).
- :mod:`mechcode.experiments.kinds`: the experiment kinds (grouped cross-validation and learning
  curves use :mod:`mechcode.models.evaluation`).
- :mod:`mechcode.experiments.runner`: TOML experiment configs (``mechcode experiment run``).
- :mod:`mechcode.experiments.report`: results tables and ``experiments/RESULTS.md`` from MLflow.
"""
