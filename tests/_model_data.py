"""A tiny codebook and a few dozen labelled units for the model tests (written here, no download).

Three mechanisms plus two general codes; sentences are grouped in paragraphs (``group``),
with roles and polarity, and some units with no mechanism (methods text).
"""
from __future__ import annotations

import json
from pathlib import Path

import yaml

CODEBOOK = {
    "name": "Tiny leadership review",
    "version": "1",
    "mechanisms": [
        {"id": "shared-vision", "name": "Shared vision",
         "description": "Leaders articulate a common purpose and shared goals. Staff understand the vision "
                        "and commit to working towards it together."},
        {"id": "building-trust", "name": "Building trust",
         "description": "Leaders invest time in relationships so that partners trust one another. "
                        "Trust makes people willing to share information and take risks."},
        {"id": "sharing-power", "name": "Sharing power",
         "description": "Leaders distribute decision making and authority across organisations. "
                        "Power imbalances between partners are acknowledged and addressed."},
        {"id": "general-contexts", "name": "General contexts", "kind": "general",
         "description": "Policy, funding and organisational circumstances that shape integration."},
        {"id": "retired-code", "name": "Retired code", "status": "retired",
         "description": "An old code nobody suggests any more."},
    ],
}

_CUES = {
    "shared-vision": ["a common purpose", "shared goals", "a clear vision", "a joint vision of care"],
    "building-trust": ["trusting relationships", "mutual trust", "time spent building relationships",
                       "openness and trust"],
    "sharing-power": ["shared decision making", "distributed authority", "a balance of power",
                      "devolved budgets and authority"],
}
_ROLE_TEMPLATES = {
    "mechanism-resource": "The leader introduced {cue} across the partnership {n}.",
    "mechanism-reasoning": "Staff felt motivated because of {cue} in team {n}.",
    "outcome": "As a result of {cue}, collaboration improved in site {n}.",
    "context": "In settings without {cue}, integration stalled in region {n}.",
}
_NONE = ["We searched five databases for studies published after {n}.",
         "Data were extracted by two reviewers using a standard form {n}.",
         "The search returned {n} records after removing duplicates.",
         "Quality appraisal followed the RAMESES standards in round {n}."]


def units() -> list[dict]:
    """About 60 labelled units in paragraphs of four sentences."""
    out = []
    k = 0
    for mid, cues in _CUES.items():
        for c, cue in enumerate(cues):
            group = f"{mid}-p{c}"
            sents = []
            for role, tpl in _ROLE_TEMPLATES.items():
                pol = "-" if role == "context" else "+"
                sents.append((tpl.format(cue=cue, n=k), [mid], role, pol))
                k += 1
            ctx = " ".join(s[0] for s in sents)
            for text, mechs, role, pol in sents:
                out.append({"id": f"u{len(out)}", "text": text, "context": ctx, "group": group,
                            "mechanisms": mechs, "role": role, "polarity": pol})
    for g in range(3):
        sents = [t.format(n=g * 10 + i) for i, t in enumerate(_NONE)]
        ctx = " ".join(sents)
        for i, text in enumerate(sents):
            out.append({"id": f"u{len(out)}", "text": text, "context": ctx, "group": f"methods-{g}",
                        "mechanisms": [], "role": "none" if i != 2 else None, "polarity": None})
    return out


def write(tmp: Path) -> tuple[Path, Path]:
    """Write ``units.jsonl`` and ``codebook.yaml`` into ``tmp``; return their paths."""
    data = tmp / "units.jsonl"
    data.write_text("".join(json.dumps(u) + "\n" for u in units()), encoding="utf-8")
    cb = tmp / "codebook.yaml"
    cb.write_text(yaml.safe_dump(CODEBOOK, sort_keys=False), encoding="utf-8")
    return data, cb
