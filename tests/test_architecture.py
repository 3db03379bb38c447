"""The package layers (ARCHITECTURE.md), checked on the source: every import of every module,
function-level ones included, parsed with ``ast``.

(a) no import cycles between mechcode modules, (b) no upward import (nor one between peers of
a layer), (c) no module imports another module's private (``_name``) function, (d) SQL on the
review database runs in ``store/`` only (no ``.execute`` elsewhere). KNOWN_VIOLATIONS is empty:
any violation found fails (a temporary exception during a large change is listed there, and the
test fails again once it is fixed, so the list never goes stale).
"""
from __future__ import annotations

import ast
import itertools
import textwrap
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

# Bottom to top. A module may import from its own package and from lower layers only; the
# packages (or top-level modules) of one layer may not import each other. "mechcode" is the
# package root (``__version__``); "files" reads and writes files (atomic writes, settings files);
# "registry" is the one registry style for pluggable parts;
# "contracts" the named types of the JSON that leaves the program.
LAYERS = [
    ("mechcode", "errors"),
    ("files",),
    ("document", "codebook", "registry", "parallel", "contracts"),
    ("segment", "codable"),
    ("ingest",),
    ("store",),
    ("team", "models", "synthesis"),
    ("loop", "export"),
    ("experiments", "web"),
    ("batch", "api"),
    ("cli",),
]

# to be removed by the lead after the extraction/evaluation work lands
KNOWN_VIOLATIONS: set[str] = set()  # none left; a violation found fails the test
# modules with a database of their own (not the review's), allowed to run SQL
OWN_DATABASES = {"mechcode.models.embedding_cache"}
SQL_CALLS = {"execute", "executemany", "executescript"}


def _module_names(src: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(src.rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[tuple[str, str | None]]:
    """(imported module, imported private name or None) for every import anywhere in the file."""
    found: set[tuple[str, str | None]] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    aliases: dict[str, str] = {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                found.add((a.name, None))
                aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            for a in node.names:
                target = f"{base}.{a.name}"
                if target in modules:  # from package import submodule
                    found.add((target, None))
                    aliases[a.asname or a.name] = target
                else:
                    found.add((base, a.name if _private(a.name) else None))
    for node in ast.walk(tree):  # module._private through an imported module
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
            if node.value.id in aliases:
                found.add((aliases[node.value.id], node.attr))
    return {(m, p) for m, p in found if m == "mechcode" or m.startswith("mechcode.")}


def _runs_sql(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in SQL_CALLS
               for n in ast.walk(tree))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _owner(target: str, modules: dict[str, Path]) -> str:
    """The module an import loads (``mechcode.x.y.name`` -> ``mechcode.x.y``)."""
    while target not in modules and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def _layer_key(module: str) -> str:
    return "mechcode" if module == "mechcode" else module.split(".")[1]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = itertools.count()

    def visit(v: str) -> None:
        index[v] = low[v] = next(counter)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def violations(src: Path, layers: list[tuple[str, ...]]) -> set[str]:
    """Every cycle, upward (or peer) import, private cross-module import and SQL outside the store."""
    modules = _module_names(src)
    rank = {key: i for i, tier in enumerate(layers) for key in tier}
    graph: dict[str, set[str]] = defaultdict(set)
    found: set[str] = set()
    for name, path in modules.items():
        if not name.startswith("mechcode"):
            continue
        assert _layer_key(name) in rank, f"{name}: add its package to LAYERS (tests/test_architecture.py)"
        if _layer_key(name) != "store" and name not in OWN_DATABASES and _runs_sql(path):
            found.add(f"sql: {name}")
        for target, private in _imports(name, path, modules):
            dep = _owner(target, modules)
            if dep == name:
                continue
            graph[name].add(dep)
            if private is not None:
                found.add(f"private: {name} -> {dep}.{private}")
            src_key, dep_key = _layer_key(name), _layer_key(dep)
            if src_key != dep_key and rank[dep_key] >= rank[src_key]:
                found.add(f"upward: {name} -> {dep}")
    found.update(f"cycle: {', '.join(c)}" for c in _cycles(graph))
    return found


def test_layers_cycles_and_private_imports_match_the_known_list():
    found = violations(SRC, LAYERS)
    new, fixed = sorted(found - KNOWN_VIOLATIONS), sorted(KNOWN_VIOLATIONS - found)
    assert not new, "new architecture violations (see ARCHITECTURE.md):\n" + "\n".join(new)
    assert not fixed, "fixed, strike them off KNOWN_VIOLATIONS:\n" + "\n".join(fixed)


def test_model_backends_do_not_import_evaluation():
    """Inside ``models/``: evaluation measures backends, so a backend never imports evaluation."""
    modules = _module_names(SRC)
    found = sorted(f"{name} -> {_owner(target, modules)}" for name, path in modules.items()
                   if name.startswith("mechcode.models.backends")
                   for target, _ in _imports(name, path, modules)
                   if _owner(target, modules).startswith("mechcode.models.evaluation"))
    assert not found, "backends import evaluation:\n" + "\n".join(found)


def test_architecture_md_states_the_same_layers():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = "\n".join("  ".join(tier) for tier in reversed(LAYERS))
    assert block in text, f"ARCHITECTURE.md should list the layers top-down as:\n{block}"


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body), encoding="utf-8")


def test_the_checker_sees_function_level_cycles_upward_and_private_imports(tmp_path):
    _write(tmp_path, {
        "mechcode/__init__.py": "",
        "mechcode/errors.py": "",
        "mechcode/store/__init__.py": "",
        "mechcode/store/a.py": """
            def f():
                from mechcode.store import b   # function-level, cycle with b
                from ..team.t import g         # relative and upward
                return b, g
            """,
        "mechcode/store/b.py": "from mechcode.store.a import f\nfrom mechcode.store import a as _a\n_a._hidden()\n",
        "mechcode/team/__init__.py": "",
        "mechcode/team/t.py": "from mechcode.errors import _helper\nfrom mechcode import errors\n",
        "mechcode/team/q.py": "def rows(review):\n    return review.connect().execute('SELECT 1')\n",
    })
    assert violations(tmp_path, [("mechcode", "errors"), ("store",), ("team",)]) == {
        "cycle: mechcode.store.a, mechcode.store.b",
        "upward: mechcode.store.a -> mechcode.team.t",
        "private: mechcode.store.b -> mechcode.store.a._hidden",
        "private: mechcode.team.t -> mechcode.errors._helper",
        "sql: mechcode.team.q",
    }
    # peers of one layer may not import each other
    assert "upward: mechcode.store.a -> mechcode.team.t" in violations(tmp_path, [("mechcode", "errors"),
                                                                                  ("store", "team")])


def test_the_checker_passes_downward_imports(tmp_path):
    _write(tmp_path, {
        "mechcode/__init__.py": "__version__ = '0'\n",
        "mechcode/store/__init__.py": "",
        "mechcode/store/a.py": "import mechcode\n\ndef f(con):\n    con.execute('SELECT 1')\n\ndef g():\n    from mechcode import __version__\n    return __version__\n",
        "mechcode/team/__init__.py": "from mechcode.team.t import g\n",
        "mechcode/team/t.py": "from mechcode.store import a\nfrom . import u\ng = a.f\n",
        "mechcode/team/u.py": "import mechcode.store.a as store_a\n",
    })
    assert violations(tmp_path, [("mechcode",), ("store",), ("team",)]) == set()
    assert violations(tmp_path, [("mechcode",), ("team",), ("store",)]) == {
        "upward: mechcode.team.t -> mechcode.store.a", "upward: mechcode.team.u -> mechcode.store.a"}
