"""The notebook API: load data, train, evaluate and simulate with a few calls.

Everything returns plain Python objects or pandas DataFrames::

    from mechcode import api

    units = api.load_units("corpora/sims2021/units.jsonl")          # DataFrame
    model = api.train(units, "corpora/sims2021/codebook.yaml")     # fitted sparse backend
    scores = api.evaluate(units, "corpora/sims2021/codebook.yaml")  # DataFrame, one row per seed
    curve, summary = api.simulate(units, "corpora/sims2021/codebook.yaml",
                                  strategy=["uncertain", "random"], seeds=2)

``data`` arguments accept a labelled-unit JSONL path, a DataFrame from :func:`load_units` or a
list of dicts; ``codebook`` a YAML path or a :class:`~mechcode.codebook.Codebook`.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Sequence

from mechcode.codebook import Codebook, load_codebook

__all__ = ["load_units", "load_review", "train", "evaluate", "simulate"]


def _rows(data: Any) -> list[dict[str, Any]]:
    from mechcode.experiments.data import check_row, read_units

    if isinstance(data, (str, Path)):
        return read_units(data)
    if hasattr(data, "to_dict"):
        data = data.to_dict("records")
    seen: set[str] = set()
    return [check_row({k: _none(v) for k, v in dict(r).items()}, f"unit {i}", seen) for i, r in enumerate(data)]


def _none(v: Any) -> Any:
    """pandas NaN (a missing role or polarity) -> None."""
    return None if isinstance(v, float) and v != v else v


def _codebook(codebook: str | Path | Codebook) -> Codebook:
    return codebook if isinstance(codebook, Codebook) else load_codebook(codebook)


def load_units(path: str | Path):
    """Labelled units of a JSONL file as a DataFrame (one row per unit, every field a column).

    Example::

        df = load_units("corpora/sims2021/units.jsonl")
        df[df.mechanisms.str.len() > 0].groupby("source").size()
    """
    import pandas as pd

    from mechcode.experiments.data import read_units

    return pd.DataFrame(read_units(path))


def load_review(directory: str | Path) -> dict[str, Any]:
    """A review folder as DataFrames: ``documents``, ``units``, ``decisions``, ``suggestions``.

    ``suggestions`` has one row per unit with the latest model's probabilities (dict columns)
    plus the codes the reviewer would see (``suggested_mechanisms``, ``suggested_role``).

    Example::

        tables = load_review("my-review")
        tables["decisions"].groupby("reviewer").action.value_counts()
    """
    import pandas as pd

    from mechcode.loop.active import suggested_codes
    from mechcode.store.review import Review

    rv = Review.open(directory)
    try:
        rows = []
        for uid, s in rv.suggestions().items():
            codes = suggested_codes(s)
            rows.append({"unit_id": uid, **s, "suggested_mechanisms": codes["mechanisms"],
                         "suggested_role": codes["role"], "suggested_polarity": codes["polarity"]})
        return {"documents": pd.DataFrame(rv.documents()), "units": pd.DataFrame(rv.units()),
                "decisions": pd.DataFrame(rv.decisions()), "suggestions": pd.DataFrame(rows)}
    finally:
        close = getattr(rv, "close", None)
        if close is not None:
            close()


def train(data: Any, codebook: str | Path | Codebook, backend: str = "sparse",
          output: str | Path | None = None, **params: Any):
    """Fit a backend on labelled units; with ``output``, also write a verified model directory.

    Returns the fitted backend (``.predict(units)`` gives predict-contract dicts).

    Example::

        from mechcode.models.base import Unit

        model = train("corpora/sims2021/units.jsonl", "corpora/sims2021/codebook.yaml",
                      backend="sparse", C=4.0)
        model.predict([Unit("u1", "Leaders built trust across both organisations.")])
    """
    from mechcode.experiments.data import labelled, make_backend

    units, cb = labelled(_rows(data)), _codebook(codebook)
    if output is None:
        return make_backend(backend, params).fit(units, cb)
    from mechcode.models.train import load_model, train_model

    train_model(units, cb, backend, output, **params)
    return load_model(output)[0]


def evaluate(data: Any, codebook: str | Path | Codebook, backend: str = "sparse", folds: int = 5,
             seeds: int | Sequence[int] = 1, protocol: str = "grouped-cv", **params: Any):
    """Grouped cross-validation (or ``definitions-to-evidence``) of a backend, one row per seed.

    Columns: ``seed``, ``mechanism_macro_f1``, ``role_macro_f1``, ``polarity_macro_f1``,
    ``ece_mechanism``, ``ece_role``, ``fit_s``, ``n_test_units``; the full reports are in
    ``df.attrs["reports"]``.

    Example::

        scores = evaluate("corpora/sims2021/units.jsonl", "corpora/sims2021/codebook.yaml",
                          backend="sparse", folds=5, seeds=3)
        scores.mechanism_macro_f1.agg(["mean", "std"])
    """
    import pandas as pd

    from mechcode.experiments.data import labelled
    from mechcode.models.evaluation.evaluate import evaluate as run

    units, cb = labelled(_rows(data)), _codebook(codebook)
    rows, reports = [], []
    for seed in (range(seeds) if isinstance(seeds, int) else seeds):
        rep = run(units, cb, backend, protocol, n_folds=folds, params=params, baselines=(), seed=seed)
        reports.append(rep)
        rows.append({"seed": seed, **rep["summary"]["backend"], "fit_s": rep["timing"]["fit_s"],
                     "n_test_units": rep["n_test_units"]})
    df = pd.DataFrame(rows)
    df.attrs["reports"] = reports
    return df


def simulate(data: Any, codebook: str | Path | Codebook, backend: str | Sequence[str] = "sparse",
             strategy: str | Sequence[str] = "uncertain", seeds: int | Sequence[int] = 3,
             seed_labels: int = 10, batch: int = 10, retrain_every: int = 10,
             output: str | Path | None = None, **kwargs: Any):
    """Simulated review (see ``mechcode simulate``): ``(curve DataFrame, summary dict)``.

    The curve has one row per backend x strategy x step (``backend``, ``strategy``, ``n_coded``,
    ``recall_mean``, ``f1_mechanism_mean``, ...). The summary is ``summary.json``: one dict for
    one backend and strategy, else ``{"runs": [...]}``. Without ``output`` the checkpoints go to a
    temporary folder; other keyword arguments (``max_steps``, ``holdout``, ``params``, ...) are
    those of :func:`mechcode.experiments.simulate.run_simulation`.

    Example::

        curve, summary = simulate("corpora/sims2021/units.jsonl", "corpora/sims2021/codebook.yaml",
                                  strategy=["uncertain", "random"], seeds=2, max_steps=5)
        curve.pivot(index="n_coded", columns="strategy", values="recall_mean").plot()
    """
    import pandas as pd

    from mechcode.experiments.simulate import run_simulation

    backends = [backend] if isinstance(backend, str) else list(backend)
    strategies = [strategy] if isinstance(strategy, str) else list(strategy)
    kwargs.setdefault("log", lambda m: None)
    with tempfile.TemporaryDirectory(prefix="mechcode-sim-") as tmp:
        summaries = run_simulation(_rows(data), _codebook(codebook), output or tmp, backends=backends,
                                   strategies=strategies, seeds=seeds, seed_labels=seed_labels, batch=batch,
                                   retrain_every=retrain_every, plots=output is not None, **kwargs)
    curve = pd.DataFrame([{"backend": s["backend"], "strategy": s["strategy"], **row}
                          for s in summaries for row in s["curve"]])
    return curve, (summaries[0] if len(summaries) == 1 else {"runs": summaries})
