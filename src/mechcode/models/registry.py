"""A small registry of named, versioned backends, imported lazily.

Adding a backend touches one module: write ``mechcode/models/NAME.py`` with a
class following :class:`mechcode.models.base.Backend` and add one line here.
Heavy dependencies (torch, transformers) are imported only when that backend is used.
"""
from __future__ import annotations

import importlib

from mechcode.errors import ModelError

# name -> "module:Class" inside mechcode.models
BACKENDS: dict[str, str] = {
    "sparse": "sparse:SparseBackend",
    "embed": "embed:EmbedBackend",
    "finetune": "finetune:FinetuneBackend",
    "zeroshot": "zeroshot:ZeroShotBackend",
}
DEFAULT_BACKEND = "sparse"


def backend_names() -> list[str]:
    return list(BACKENDS)


def get_backend(name: str):
    """The backend class registered as ``name``."""
    target = BACKENDS.get(name)
    if target is None:
        raise ModelError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")
    mod_name, cls_name = target.split(":")
    module = importlib.import_module(f"mechcode.models.{mod_name}")
    return getattr(module, cls_name)
