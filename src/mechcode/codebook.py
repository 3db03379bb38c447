"""Codebooks: the mechanisms a review codes against, the CMO roles and polarity.

A codebook is a YAML (or JSON) file::

    name: My review
    version: "2"
    mechanisms:
      - id: shared-vision            # stable id, [a-z0-9-]
        name: Shared vision
        description: Leaders articulate ...
        status: active               # active | merged | retired | no-evidence
        kind: mechanism              # mechanism | general
        merged_into: []              # ids, for status merged
        suggest: true                # optional; default: true for active codes only
        examples:                    # optional short passages that ARE this mechanism
          - Staff trusted the manager because she had worked on the wards.
        not_examples:                # optional passages that look close but are NOT it
          - The trust appointed a new chief executive in 2015.
    roles:                           # optional; defaults below
      - id: context
        name: Context
        description: ...
        examples: [...]              # optional, as for mechanisms
        not_examples: [...]
    polarity:                        # optional; defaults below
      - id: "+"
        description: ...
    history:                         # optional earlier versions, oldest first
      - version: "1"
        mechanisms: [...]            # same shape as above

``examples`` and ``not_examples`` are lists of short passages (a sentence or two, in the
review team's words or quoted from the review's own evidence). They are training data for the
codebook prior every backend starts from (:mod:`mechcode.models.backends.prior`): an example is a
positive of its mechanism or role, a not-example of a mechanism is a passage that should get
*no* mechanism (or another one), of a role a passage that should get another role. Both are
optional; a codebook without them works as before. They round-trip through revisions and
exports unchanged.

``suggest`` says whether models may suggest a code. Default: only ``active`` codes are
suggested; ``merged``, ``retired`` and ``no-evidence`` codes are kept for history and manual
coding but not suggested unless the codebook says ``suggest: true``.

Any review writes its own; ``corpora/sims2021/codebook.yaml`` is the bundled example.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mechcode.errors import CodebookError
from mechcode.files import read_parsed

ROLE_IDS = ("context", "mechanism-resource", "mechanism-reasoning", "outcome", "none")
POLARITY_IDS = ("+", "-")
STATUSES = ("active", "merged", "retired", "no-evidence")
KINDS = ("mechanism", "general")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")

# the default CMO roles and polarity values, as data (``mechcode/data/default-roles.yaml``)
_DEFAULTS = yaml.safe_load(resources.files("mechcode").joinpath("data", "default-roles.yaml")
                           .read_text(encoding="utf-8"))
DEFAULT_ROLES: list[dict[str, str]] = _DEFAULTS["roles"]
DEFAULT_POLARITY: list[dict[str, str]] = _DEFAULTS["polarity"]


@dataclass
class Mechanism:
    id: str
    name: str
    description: str = ""
    status: str = "active"
    kind: str = "mechanism"
    merged_into: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    not_examples: list[str] = field(default_factory=list)
    suggest: bool | None = None

    @property
    def suggestable(self) -> bool:
        """Retired codes keep their history but can no longer be chosen."""
        return self.status != "retired"

    @property
    def suggested(self) -> bool:
        """Whether models suggest this code: ``suggest`` if set, else only ``active`` codes."""
        return self.status == "active" if self.suggest is None else bool(self.suggest)

    def to_dict(self) -> dict[str, Any]:
        """As in the YAML; empty optional fields left out (so old codebooks keep their fingerprint)."""
        return _compact(asdict(self))


@dataclass
class Role:
    id: str
    name: str
    description: str = ""
    examples: list[str] = field(default_factory=list)
    not_examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _compact(asdict(self))


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items()
            if not (k in ("examples", "not_examples") and not v) and not (k == "suggest" and v is None)}


@dataclass
class Codebook:
    name: str
    version: str
    mechanisms: list[Mechanism]
    roles: list[Role] = field(default_factory=lambda: [Role(**r) for r in DEFAULT_ROLES])
    polarity: list[Role] = field(default_factory=lambda: [Role(**p) for p in DEFAULT_POLARITY])
    history: list[dict[str, Any]] = field(default_factory=list)

    def mechanism_ids(self, suggestable_only: bool = False) -> list[str]:
        return [m.id for m in self.mechanisms if m.suggestable or not suggestable_only]

    def suggested_ids(self) -> list[str]:
        """The ids models suggest (:attr:`Mechanism.suggested`), codebook order."""
        return [m.id for m in self.mechanisms if m.suggested]

    def get(self, mechanism_id: str) -> Mechanism:
        for m in self.mechanisms:
            if m.id == mechanism_id:
                return m
        raise CodebookError(f"unknown mechanism id {mechanism_id!r} (codebook {self.name} v{self.version})")

    def role(self, role_id: str) -> Role:
        for r in self.roles:
            if r.id == role_id:
                return r
        raise CodebookError(f"unknown role {role_id!r}; expected one of {', '.join(ROLE_IDS)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "mechanisms": [m.to_dict() for m in self.mechanisms],
            "roles": [r.to_dict() for r in self.roles],
            "polarity": [p.to_dict() for p in self.polarity],
            "history": self.history,
        }

    def fingerprint(self) -> str:
        """A short hash of the codebook content (changes whenever any code changes)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True),
                              encoding="utf-8")


def _mechanism(raw: Any, where: str) -> Mechanism:
    if not isinstance(raw, dict):
        raise CodebookError(f"{where}: each mechanism must be a mapping, got {type(raw).__name__}")
    missing = [k for k in ("id", "name") if not raw.get(k)]
    if missing:
        raise CodebookError(f"{where}: mechanism is missing {', '.join(missing)}")
    mid = str(raw["id"])
    if not _ID_RE.match(mid):
        raise CodebookError(f"{where}: mechanism id {mid!r} must be lowercase letters, digits, - _ .")
    status = raw.get("status", "active")
    if status not in STATUSES:
        raise CodebookError(f"{where}: mechanism {mid!r} has status {status!r}; expected one of {STATUSES}")
    kind = raw.get("kind", "mechanism")
    if kind not in KINDS:
        raise CodebookError(f"{where}: mechanism {mid!r} has kind {kind!r}; expected one of {KINDS}")
    merged = raw.get("merged_into") or []
    if isinstance(merged, str):
        merged = [merged]
    suggest = raw.get("suggest")
    if suggest is not None and not isinstance(suggest, bool):
        raise CodebookError(f"{where}: mechanism {mid!r} has suggest {suggest!r}; expected true or false")
    return Mechanism(id=mid, name=str(raw["name"]), description=str(raw.get("description", "")).strip(),
                     status=status, kind=kind, merged_into=[str(m) for m in merged],
                     examples=_passages(raw, "examples", f"{where}: {mid}"),
                     not_examples=_passages(raw, "not_examples", f"{where}: {mid}"), suggest=suggest)


def _passages(raw: dict, key: str, where: str) -> list[str]:
    """``examples`` / ``not_examples``: a list of non-empty strings (or absent)."""
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CodebookError(f"{where}: '{key}' must be a list of non-empty text passages")
    return [" ".join(v.split()) for v in value]


def _roles(raw: Any, defaults: list[dict], allowed: tuple[str, ...], what: str) -> list[Role]:
    if raw is None:
        return [Role(**r) for r in defaults]
    if not isinstance(raw, list):
        raise CodebookError(f"{what} must be a list")
    by_id = {r["id"]: dict(r) for r in defaults}
    for r in raw:
        if not isinstance(r, dict) or str(r.get("id")) not in allowed:
            raise CodebookError(f"{what}: entry {r!r} must have an id in {allowed}")
        rid = str(r["id"])
        by_id[rid].update({k: str(v) for k, v in r.items() if k in ("name", "description")})
        for key in ("examples", "not_examples"):
            by_id[rid][key] = _passages(r, key, f"{what}: {rid}")
    return [Role(**by_id[i]) for i in allowed if i in by_id]


def parse_codebook(data: Any, source: str = "codebook") -> Codebook:
    """Validate a parsed YAML/JSON mapping and build a :class:`Codebook`."""
    if not isinstance(data, dict):
        raise CodebookError(f"{source}: a codebook must be a mapping with 'mechanisms'")
    mechs_raw = data.get("mechanisms")
    if not isinstance(mechs_raw, list) or not mechs_raw:
        raise CodebookError(f"{source}: 'mechanisms' must be a non-empty list")
    mechanisms = [_mechanism(m, f"{source}: mechanisms[{i}]") for i, m in enumerate(mechs_raw)]
    ids = [m.id for m in mechanisms]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise CodebookError(f"{source}: duplicate mechanism ids {dupes}")
    for m in mechanisms:
        unknown = [t for t in m.merged_into if t not in ids]
        if unknown:
            raise CodebookError(f"{source}: {m.id!r} merged_into unknown ids {unknown}")
    history = data.get("history") or []
    if not isinstance(history, list):
        raise CodebookError(f"{source}: 'history' must be a list of earlier versions")
    for i, h in enumerate(history):
        if not isinstance(h, dict) or "version" not in h or not isinstance(h.get("mechanisms"), list):
            raise CodebookError(f"{source}: history[{i}] needs 'version' and 'mechanisms'")
        for j, m in enumerate(h["mechanisms"]):
            _mechanism(m, f"{source}: history[{i}].mechanisms[{j}]")
    return Codebook(
        name=str(data.get("name", "codebook")),
        version=str(data.get("version", "1")),
        mechanisms=mechanisms,
        roles=_roles(data.get("roles"), DEFAULT_ROLES, ROLE_IDS, f"{source}: roles"),
        polarity=_roles(data.get("polarity"), DEFAULT_POLARITY, POLARITY_IDS, f"{source}: polarity"),
        history=history,
    )


def load_codebook(path: str | Path) -> Codebook:
    """Load and validate a codebook file (YAML or JSON)."""
    data = read_parsed(path, yaml.safe_load, (yaml.YAMLError,), CodebookError, "codebook file", "YAML/JSON")
    return parse_codebook(data, str(path))


def version_codebook(cb: Codebook, version: str) -> Codebook:
    """The codebook as it was at an earlier ``version`` from its history (or itself)."""
    if version == cb.version:
        return cb
    for h in cb.history:
        if str(h["version"]) == str(version):
            return parse_codebook({**cb.to_dict(), "version": h["version"], "mechanisms": h["mechanisms"],
                                   "history": []}, f"{cb.name} v{version}")
    raise CodebookError(f"codebook {cb.name!r} has no version {version!r}")
