"""The suggestion backends, by name, in the one registry style (:class:`mechcode.registry.Registry`).

Adding a backend touches one module: write ``mechcode/models/backends/NAME.py`` with a class following
:class:`mechcode.models.base.Backend` and add one line here. A backend's module (and its heavy
dependencies: torch, transformers) is imported only when that backend is used.
"""
from __future__ import annotations

from mechcode.errors import ModelError
from mechcode.registry import Registry

BACKENDS = Registry("backend", {
    "sparse": "sparse:SparseBackend",
    "embed": "embed:EmbedBackend",
    "finetune": "finetune:FinetuneBackend",
    "zeroshot": "zeroshot:ZeroShotBackend",
}, package="mechcode.models.backends", error=ModelError)
DEFAULT_BACKEND = "sparse"


def backend_names() -> list[str]:
    return list(BACKENDS)


def get_backend(name: str):
    """The backend class registered as ``name`` (:class:`ModelError` naming the others if unknown)."""
    return BACKENDS.load(name)
