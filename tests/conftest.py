"""Shared fixtures. Real data lives in ../shared (read in place, never copied).

Outside CI a missing ../shared skips the tests that need it; in CI (CI=true)
it is a failure.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MECHCODE_SHARED", ROOT.parent / "shared")).resolve()
PDF_DIR = SHARED / "pdfs"
SEED = SHARED / "seed" / "000_383aeab258abff5b.txt"
CORPUS = ROOT / "corpora" / "sims2021"

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def need(path: Path) -> Path:
    """Return ``path`` if it exists; else skip (locally) or fail (CI=true)."""
    if path.exists():
        return path
    msg = f"shared data missing: {path}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg)
    pytest.skip(msg)


def truth_pdfs() -> list[Path]:
    """PDFs in ../shared/pdfs that have a .truth.txt (empty list if the folder is missing)."""
    if not PDF_DIR.exists():
        return []
    return sorted(p for p in PDF_DIR.glob("*.pdf") if p.with_suffix(".truth.txt").exists())


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return need(SHARED)


@pytest.fixture(scope="session")
def pdf_dir() -> Path:
    return need(PDF_DIR)


@pytest.fixture(scope="session")
def seed_text() -> str:
    return need(SEED).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS
