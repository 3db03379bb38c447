"""Named, pluggable parts (commands, backends, experiment kinds, strategies): one registry style.

A :class:`Registry` maps a name to an object given either directly or as ``"module:attr"``,
imported on first use, so a heavy dependency (torch, mlflow) loads only when its entry is
used and listing the names imports nothing. An unknown name is a clear one-line error naming
the ones available.
"""
from __future__ import annotations

import importlib
from typing import Any, Iterator, Mapping

from mechcode.errors import MechcodeError


class Registry(Mapping[str, Any]):
    """``name -> object``; string entries ``"module:attr"`` are imported by :meth:`load`.

    ``package`` prefixes relative module names (``"sparse:SparseBackend"`` in
    ``mechcode.models.backends``); ``error`` is the exception an unknown name raises.
    """

    def __init__(self, kind: str, entries: Mapping[str, Any], package: str | None = None,
                 error: type[MechcodeError] = MechcodeError):
        self.kind, self.package, self.error = kind, package, error
        self._entries = dict(entries)
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def load(self, name: str) -> Any:
        """The object registered as ``name`` (imported on first use)."""
        if name not in self._entries:
            raise self.error(f"unknown {self.kind} {name!r}; available: {', '.join(self._entries)}")
        if name not in self._loaded:
            self._loaded[name] = self._resolve(self._entries[name])
        return self._loaded[name]

    def _resolve(self, entry: Any) -> Any:
        if not isinstance(entry, str):
            return entry
        module_name, _, attr = entry.partition(":")
        if self.package:
            module_name = f"{self.package}.{module_name}"
        return getattr(importlib.import_module(module_name), attr)
