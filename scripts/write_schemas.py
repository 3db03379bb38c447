"""Write the JSON Schema files of the public contracts (``schemas/*.schema.json``) from the types
in :mod:`mechcode.contracts`, with pydantic.

    python scripts/write_schemas.py            # rewrite schemas/
    python scripts/write_schemas.py --check    # exit 1 if a file differs from what would be written

Run it after changing a contract type and commit the files with the change;
``tests/test_contracts.py`` fails while they differ.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from mechcode.contracts import EvaluationReport, ModelCard, PredictLine, SimulationSummary
from mechcode.contracts import card, common, predict, report, simulation

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
CONTRACTS: dict[str, tuple[Any, str]] = {
    "predict-line": (PredictLine, "One line of `mechcode predict` output (JSONL)."),
    "model-card": (ModelCard, "model.json, the card of a mechcode model directory."),
    "evaluation-report": (EvaluationReport, "REPORT.json of `mechcode evaluate`; `protocol` says which shape."),
    "simulation-summary": (SimulationSummary, "summary.json (--target evidence; {runs} with several runs) or "
                                              "mechanism-summary.json (--target mechanism) of `mechcode simulate`."),
}


def contract_classes() -> dict[str, type]:
    """Every TypedDict of mechcode.contracts, by name."""
    return {k: v for mod in (card, common, predict, report, simulation) for k, v in vars(mod).items()
            if isinstance(v, type) and issubclass(v, dict) and v.__module__ == mod.__name__}


def inherited_descriptions(cls: type) -> dict[str, str]:
    """Descriptions of the keys a TypedDict inherits (pydantic reads a class's own key strings only)."""
    out: dict[str, str] = {}
    for base in getattr(cls, "__orig_bases__", ()):
        if isinstance(base, type) and issubclass(base, dict):
            out.update(inherited_descriptions(base))
            props = TypeAdapter(base).json_schema().get("properties", {})
            out.update({k: v["description"] for k, v in props.items() if "description" in v})
    return out


def fill_descriptions(body: dict[str, Any]) -> None:
    """Give inherited keys their base class's description, in the top level and every definition."""
    classes = contract_classes()
    for node in [body, *body.get("$defs", {}).values()]:
        cls = classes.get(node.get("title", ""))
        if cls is None:
            continue
        docs = inherited_descriptions(cls)
        for key, prop in node.get("properties", {}).items():
            if "description" not in prop and key in docs:
                prop["description"] = docs[key]


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of contract ``name``, with its title, description and draft."""
    tp, description = CONTRACTS[name]
    body = TypeAdapter(tp).json_schema()
    fill_descriptions(body)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{name}.schema.json",
            "title": name, "description": description, **{k: v for k, v in body.items()
                                                            if k not in ("title", "description")}}


def render(name: str) -> str:
    return json.dumps(schema(name), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="report files that differ, write nothing")
    args = ap.parse_args(argv)
    stale = []
    for name in CONTRACTS:
        path = SCHEMAS / f"{name}.schema.json"
        text = render(name)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            SCHEMAS.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"error: out of date: {', '.join(stale)}; run python scripts/write_schemas.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
