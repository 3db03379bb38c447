"""One simulated review: replay a gold-coded set of units as a reviewer would code them.

One run = one backend, one strategy, one random seed:

1. ``seed_labels`` units are drawn at random (stratified, see
   :func:`mechcode.experiments.strategies.seed_indices`) and "coded" with their gold labels;
   the model is trained on them.
2. Each step the strategy picks the next ``batch`` units from the pool (units not coded yet)
   using the current model's suggestions; the reviewer codes them with the gold labels and
   we note whether the suggestion would have been accepted as is.
3. The model is retrained whenever ``retrain_every`` units were coded since the last
   training, as the reviewer loop does, and re-predicts the pool.

After every step a row of the curve is recorded (units coded, recall of evidence units, F1
on the pool, acceptance so far) and the run's state is written atomically to its checkpoint
(``seed-N.json``). Re-running the same command reads the checkpoints: finished seeds are
skipped, an interrupted one continues from its last step (the model is retrained on exactly
the units it was trained on, so the continued run equals an uninterrupted one).
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from mechcode.codebook import Codebook
from mechcode.errors import DataError
from mechcode.experiments import metrics
from mechcode.experiments.data import backend_label, labelled, make_backend, plain, rows_hash
from mechcode.experiments.strategies import paper_rank, pick, seed_indices, step_seed

FORMAT = 1
MIN_EVAL = 20  # F1 on the pool is reported while at least this many units are left to code


@dataclass
class SimConfig:
    """The settings of one simulated run (``max_steps`` may change between resumes)."""

    backend: str = "sparse"
    strategy: str = "uncertain"
    seed_labels: int = 10
    batch: int = 10
    retrain_every: int = 10
    max_steps: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("seed_labels", "batch", "retrain_every"):
            if int(getattr(self, name)) < 1:
                raise DataError(f"{name.replace('_', '-')} must be at least 1")

    def key(self) -> dict[str, Any]:
        """What a checkpoint must match to be resumed."""
        d = asdict(self)
        d.pop("max_steps")
        return d


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file and ``os.replace`` (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Replay:
    """Simulated reviews of one data set with one :class:`SimConfig`, one seed at a time."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], codebook: Codebook, config: SimConfig,
                 backend: Any = None):
        from mechcode.models.base import label_space, map_labels

        if len(rows) <= config.seed_labels:
            raise DataError(f"need more units than seed labels ({len(rows)} <= {config.seed_labels})")
        self.rows, self.codebook, self.config = list(rows), codebook, config
        self.backend = backend if backend is not None else config.backend
        self.space = label_space(codebook)
        self.gold = [map_labels(r.get("mechanisms") or [], codebook) for r in self.rows]
        self.evidence = [bool(r.get("mechanisms")) for r in self.rows]
        self.n_evidence = sum(self.evidence)
        self.rank = paper_rank(self.rows)
        merged = {m.id for m in codebook.mechanisms if m.status == "merged"}
        self.coverage_ids = [m for m in self.space if m not in merged]
        self.fingerprint = {"data": rows_hash(self.rows), "codebook": codebook.fingerprint()}
        self._units = labelled(self.rows)
        self._plain = plain(self.rows)

    # -- model -------------------------------------------------------------------------------
    def _train(self, coded: Sequence[int]):
        t0 = time.perf_counter()
        model = make_backend(self.backend, self.config.params)
        model.fit([self._units[i] for i in coded], self.codebook)
        return model, time.perf_counter() - t0

    def _predict(self, model, idx: Sequence[int]) -> dict[int, dict[str, Any]]:
        idx = list(idx)
        preds = model.predict([self._plain[i] for i in idx]) if idx else []
        return dict(zip(idx, preds))

    # -- checkpoint --------------------------------------------------------------------------
    def _load(self, path: Path | None, seed: int) -> dict[str, Any] | None:
        if path is None or not path.exists():
            return None
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: unreadable checkpoint ({exc}); delete it or use --fresh") from exc
        want = {"format": FORMAT, "config": self.config.key(), "seed": seed, **self.fingerprint}
        diff = [k for k, v in want.items() if state.get(k) != v]
        if diff:
            raise DataError(f"{path}: checkpoint of a different run ({', '.join(diff)} differ); "
                            "use another output folder or --fresh")
        return state

    def _new_state(self, seed: int) -> dict[str, Any]:
        return {"format": FORMAT, "config": self.config.key(), "seed": seed, **self.fingerprint,
                "backend": backend_label(self.backend), "n_units": len(self.rows),
                "n_evidence": self.n_evidence, "order": [], "n_seed": 0, "accept": [],
                "trained_on": 0, "train_seconds": [], "steps": [], "finished": False}

    # -- one run -----------------------------------------------------------------------------
    def run_seed(self, seed: int, checkpoint: Path | None = None,
                 on_step: Callable[[int, dict], None] | None = None,
                 progress: bool = False, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
        """Run (or resume) one seed; returns the final state (see :meth:`_new_state`)."""
        cfg = self.config
        state = self._load(checkpoint, seed)
        if state is not None and self._done(state):
            log(f"seed {seed}: already finished ({len(state['order'])} units coded), skipped")
            return state
        pos = {r["id"]: i for i, r in enumerate(self.rows)}
        if state is None:
            state = self._new_state(seed)
            order = seed_indices(self.rows, cfg.seed_labels, seed)
            state["order"], state["n_seed"] = [self.rows[i]["id"] for i in order], len(order)
            model, secs = self._train(order)
            state["trained_on"] = len(order)
            state["train_seconds"].append(secs)
            pool = self._pool(order)
            preds = self._predict(model, pool)
            state["steps"].append(self._row(0, state, order, pool, preds, [], True, secs))
            self._save(checkpoint, state)
        else:
            order = [pos[u] for u in state["order"]]
            log(f"seed {seed}: resumed at step {len(state['steps'])} "
                f"({len(order)}/{len(self.rows)} units coded)")
            model, _ = self._train(order[: state["trained_on"]])
            pool = self._pool(order)
            preds = self._predict(model, pool)
        bar = _bar(progress, self._expected_steps(), len(state["steps"]) - 1,
                   f"{backend_label(self.backend)}/{cfg.strategy} seed {seed}")
        try:
            while not self._done(state):
                step = len(state["steps"])
                picks = pick(cfg.strategy, pool, preds, cfg.batch, seed=step_seed(seed, step),
                             counts=self._counts(order), mechanisms=self.coverage_ids, rank=self.rank)
                state["accept"].extend(self._accept(i, preds.get(i)) for i in picks)
                order.extend(picks)
                state["order"] = [self.rows[i]["id"] for i in order]
                pool = self._pool(order)
                secs = None
                if pool and len(order) - state["trained_on"] >= cfg.retrain_every:
                    model, secs = self._train(order)
                    state["trained_on"] = len(order)
                    state["train_seconds"].append(secs)
                    preds = self._predict(model, pool)
                state["steps"].append(self._row(step, state, order, pool, preds, picks, secs is not None, secs))
                state["finished"] = not pool
                self._save(checkpoint, state)
                if bar is not None:
                    bar.update(1)
                if on_step is not None:
                    on_step(step, state)
        finally:
            if bar is not None:
                bar.close()
        return state

    def _done(self, state: Mapping[str, Any]) -> bool:
        if state.get("finished") or len(state.get("order", ())) >= len(self.rows):
            return True
        ms = self.config.max_steps
        return ms is not None and len(state.get("steps", ())) - 1 >= ms

    def _expected_steps(self) -> int:
        left = len(self.rows) - min(self.config.seed_labels, len(self.rows))
        n = -(-left // self.config.batch)
        return n if self.config.max_steps is None else min(n, self.config.max_steps)

    def _pool(self, order: Sequence[int]) -> list[int]:
        coded = set(order)
        return [i for i in range(len(self.rows)) if i not in coded]

    def _counts(self, order: Sequence[int]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in order:
            for m in self.gold[i]:
                counts[m] = counts.get(m, 0) + 1
        return counts

    def _suggested(self, pred: Mapping[str, Any] | None) -> dict[str, Any]:
        from mechcode.loop.active import suggested_codes

        return suggested_codes(pred, allowed=self.space)

    def _accept(self, i: int, pred: Mapping[str, Any] | None) -> list:
        exact, partial = metrics.acceptance(self._suggested(pred), self.gold[i], self.rows[i].get("role"))
        return [exact, round(partial, 6)]

    def _row(self, step: int, state: Mapping[str, Any], order: Sequence[int], pool: Sequence[int],
             preds: Mapping[int, Mapping[str, Any]], picks: Sequence[int], retrained: bool,
             secs: float | None) -> dict[str, Any]:
        found = sum(self.evidence[i] for i in order)
        row: dict[str, Any] = {"step": step, "n_coded": len(order), "found": found,
                               "recall": found / self.n_evidence if self.n_evidence else None}
        row.update(self._pool_f1(pool, preds))
        acc = state["accept"]
        batch = acc[len(acc) - len(picks):] if picks else []
        row["accept_exact"] = sum(a[0] for a in acc) / len(acc) if acc else None
        row["accept_partial"] = sum(a[1] for a in acc) / len(acc) if acc else None
        row["accept_exact_batch"] = sum(a[0] for a in batch) / len(batch) if batch else None
        row["retrained"] = retrained
        row["train_seconds"] = round(secs, 4) if secs is not None else None
        return row

    def _pool_f1(self, pool: Sequence[int], preds: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
        if len(pool) < MIN_EVAL:
            return {"f1_mechanism": None, "f1_mechanism_micro": None, "f1_role": None}
        sugg = [self._suggested(preds[i]) for i in pool]
        mech = metrics.multilabel_f1([self.gold[i] for i in pool], [s["mechanisms"] for s in sugg])
        role = metrics.single_label_f1([self.rows[i].get("role") for i in pool], [s["role"] for s in sugg])
        return {"f1_mechanism": mech["macro"], "f1_mechanism_micro": mech["micro"], "f1_role": role}

    @staticmethod
    def _save(path: Path | None, state: Mapping[str, Any]) -> None:
        if path is not None:
            write_json_atomic(path, state)


def _bar(enabled: bool, total: int, initial: int, desc: str):
    if not enabled:
        return None
    import sys

    from tqdm import tqdm

    return tqdm(total=total, initial=max(0, initial), desc=desc, unit="step", file=sys.stderr, leave=False)
