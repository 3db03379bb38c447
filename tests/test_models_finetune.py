"""The finetune backend on a tiny randomly initialised BERT built in tmp_path (fast, offline)."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, parse_codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit, Unit
from mechcode.models.io import verify_dir, write_card
from mechcode.models.backends.finetune import FinetuneBackend, _split

CODEBOOK = parse_codebook({"name": "test", "version": "1", "mechanisms": [
    {"id": "trust", "name": "Trust", "description": "Leaders build trust between partner organisations."},
    {"id": "vision", "name": "Shared vision", "description": "Leaders set out a shared vision of integrated care."},
]})

SENTENCES = [
    ("managers met every week and came to trust each other", ["trust"], "mechanism-reasoning", "+"),
    ("we searched five databases for studies", [], "none", None),
    ("the director set out a shared vision of care", ["vision"], "mechanism-resource", "+"),
    ("partner organisations did not trust the lead agency", ["trust"], "context", "-"),
    ("staff turnover was high in both services", [], None, None),
    ("a common vision helped teams work together", ["vision"], "outcome", None),
]


def units(n_copies: int = 5) -> list[LabelledUnit]:
    return [LabelledUnit(id=f"u{c}-{i}", text=t, context=f"paragraph {i} {t}", mechanisms=m, role=r,
                         polarity=p, group=f"g{i}-{c % 2}")
            for c in range(n_copies) for i, (t, m, r, p) in enumerate(SENTENCES)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    d = tmp_path_factory.mktemp("tiny-bert")
    text = " ".join(s for s, *_ in SENTENCES) + " paragraph " + " ".join(
        m.description for m in CODEBOOK.mechanisms)
    words = sorted(set(re.findall(r"[a-z]+|[0-9]", text.lower())))
    (d / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","] + words))
    tok = BertTokenizerFast.from_pretrained(str(d))  # reads vocab.txt (transformers 4 and 5)
    tok.save_pretrained(d)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=37, max_position_embeddings=128)
    BertModel(cfg).save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def trained(tiny_model):
    be = FinetuneBackend(model_path=str(tiny_model), epochs=6, lr=5e-3, head_lr=1e-2, batch_size=8,
                         max_length=48, seed=1, threads=1)  # one thread: a tiny model gains nothing
    be.progress = False
    return be.fit(units(), CODEBOOK)


def test_training_loss_goes_down_and_contract(trained):
    hist = trained.history
    assert len(hist) == 6 and all(np.isfinite(hist))
    assert hist[-1] < 0.5 * hist[0]
    queries = [Unit(id="a", text="trust grew between partner organisations", context=""),
               Unit(id="b", text="we searched databases")]
    preds = trained.predict(queries)
    assert [p["id"] for p in preds] == ["a", "b"]
    for p in preds:
        assert list(p["mechanisms"]) == ["trust", "vision"]
        assert all(0 <= v <= 1 for v in p["mechanisms"].values())
        assert list(p["role"]) == list(ROLE_IDS) and abs(sum(p["role"].values()) - 1) < 1e-4
        assert list(p["polarity"]) == list(POLARITY_IDS) and abs(sum(p["polarity"].values()) - 1) < 1e-4
        assert len(p["rationale"]) == 3 and {"id", "text", "mechanisms", "similarity"} <= set(p["rationale"][0])
    assert trained.predict([]) == []


def test_learns_the_training_labels(trained):
    train = units(1)
    preds = trained.predict(train)
    for u, p in zip(train, preds):
        for m in ("trust", "vision"):
            if m in u.mechanisms:  # each positive outranks every negative of the same mechanism
                negs = [q["mechanisms"][m] for v, q in zip(train, preds) if m not in v.mechanisms]
                assert p["mechanisms"][m] > max(negs)


def test_save_load_round_trip_safetensors_only(trained, tmp_path):
    out = tmp_path / "model"
    trained.save(out)
    card = write_card(out, {"backend": trained.name, "version": trained.version,
                            "hyperparameters": trained.hyperparameters()})
    assert verify_dir(out)["files"] == card["files"]
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"weights.safetensors", "finetune.json", "encoder/config.json", "examples.npy"} <= names
    assert any(n.startswith("encoder/tokenizer") or n == "encoder/vocab.txt" for n in names)
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"))]
    from safetensors import safe_open

    with safe_open(str(out / "weights.safetensors"), framework="pt") as fh:
        keys = set(fh.keys())
    assert {"mech.weight", "role.weight", "pol.weight"} <= keys and any(k.startswith("encoder.") for k in keys)
    meta = json.loads((out / "finetune.json").read_text())
    assert meta["mechanism_ids"] == ["trust", "vision"] and len(meta["history"]) == 6
    queries = [Unit(id=u.id, text=u.text, context=u.context) for u in units(1)]
    loaded = FinetuneBackend.load(out, card)
    assert loaded.predict(queries) == trained.predict(queries)


def test_unknown_roles_only_and_errors(tiny_model, tmp_path):
    plain = [LabelledUnit(id=str(i), text=t, mechanisms=m) for i, (t, m, *_) in enumerate(SENTENCES)]
    be = FinetuneBackend(model_path=str(tiny_model), epochs=1, batch_size=4, max_length=32,
                         definitions=False, threads=1)
    be.progress = False
    preds = be.fit(plain, CODEBOOK).predict(plain[:2])
    assert be.temperatures["role"]["method"] == "identity"  # nothing to calibrate the role on
    assert len(preds) == 2 and abs(sum(preds[0]["role"].values()) - 1) < 1e-4
    with pytest.raises(ModelError, match="not a local model directory"):
        FinetuneBackend(model_path=str(tmp_path / "none")).fit(plain, CODEBOOK)
    with pytest.raises(ModelError, match="not fitted"):
        FinetuneBackend(model_path=str(tiny_model)).predict(plain)
    (tmp_path / "bad").mkdir()
    with pytest.raises(ModelError, match="unreadable finetune model"):
        FinetuneBackend.load(tmp_path / "bad")


def test_held_out_split_is_grouped():
    many = [LabelledUnit(id=str(i), text="x", group=f"g{i // 4}") for i in range(200)]
    train, held = _split(many, seed=0)
    assert len(train) + len(held) == 200 and 0 < len(held) < 40
    assert not {u.group for u in train} & {u.group for u in held}
    assert _split(many[:50], seed=0) == (many[:50], [])
