"""Optional pieces (extras) fail with one clear message naming the extra, never a bare ImportError."""
from __future__ import annotations

import sys

import pytest

from mechcode.errors import MechcodeError, ModelError


def test_dask_executor_without_dask_names_the_extra(monkeypatch):
    from mechcode.parallel import run_pool

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(MechcodeError, match=r"mechcode\[dask\]"):
        next(run_pool(["x.pdf"], 1, lambda item: (len, (item,)), 10, executor="dask"))


def test_skops_without_skops_names_the_extra(monkeypatch, tmp_path):
    from mechcode.models import io as model_io

    monkeypatch.setitem(sys.modules, "skops", None)
    monkeypatch.setitem(sys.modules, "skops.io", None)
    with pytest.raises(ModelError, match=r"mechcode\[skops\]"):
        model_io.load_skops(tmp_path / "m.skops")
    with pytest.raises(ModelError, match=r"mechcode\[skops\]"):
        model_io.save_skops({}, tmp_path / "m.skops")


def test_runtime_requirements_exclude_test_and_bench_only_packages():
    import tomllib
    from pathlib import Path

    py = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    runtime = " ".join(py["project"]["dependencies"])
    for name in ("skops", "dask", "psutil", "reportlab", "pymupdf", "pytest", "spacy"):
        assert name not in runtime, name
