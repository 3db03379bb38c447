"""One simulated review: replay a gold-coded set of units as a reviewer would code them.

One run = one backend, one strategy, one random seed:

1. ``seed_labels`` units are drawn at random (stratified, see
   :func:`mechcode.experiments.strategies.seed_indices`) and "coded" with their gold labels;
   the model is trained on them.
2. Each step the strategy picks the next ``batch`` units from the pool (units not coded yet)
   using the current model's suggestions; the reviewer codes them with the gold labels and
   we note whether the suggestion would have been accepted as is.
   With ``holdout`` > 0, that share of the papers (``paper``; the paragraphs, ``group``, for
   units without a paper id) is set aside per seed: never coded, used only to score the
   suggestions on unseen text (the same split for every
   strategy with the same seed, so strategies are compared on the same units).
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
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from mechcode.codebook import Codebook
from mechcode.errors import DataError
from mechcode.experiments import metrics
from mechcode.experiments.data import backend_label, labelled, make_backend, plain, rows_hash
from mechcode.experiments.strategies import paper_rank, pick, seed_indices, step_seed
from mechcode.files import write_json_atomic

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
    holdout: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("seed_labels", "batch", "retrain_every"):
            if int(getattr(self, name)) < 1:
                raise DataError(f"{name.replace('_', '-')} must be at least 1")
        if self.max_steps is not None and self.max_steps < 0:
            raise DataError("max-steps must not be negative")
        if not 0.0 <= self.holdout < 0.9:
            raise DataError("holdout must be a share in [0, 0.9)")

    def key(self) -> dict[str, Any]:
        """What a checkpoint must match to be resumed."""
        d = asdict(self)
        d.pop("max_steps")
        return d


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
        self.rank = paper_rank(self.rows)
        merged = {m.id for m in codebook.mechanisms if m.status == "merged"}
        self.coverage_ids = [m for m in self.space if m not in merged]
        self.fingerprint = {"data": rows_hash(self.rows), "codebook": codebook.fingerprint()}
        self._units = labelled(self.rows)
        self._plain = plain(self.rows)
        self.pos = {r["id"]: i for i, r in enumerate(self.rows)}

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

    def split(self, seed: int) -> tuple[list[int], list[int]]:
        """``(reviewable, holdout)`` unit positions for ``seed`` (holdout by whole groups)."""
        if self.config.holdout <= 0:
            return list(range(len(self.rows))), []
        from sklearn.model_selection import GroupShuffleSplit

        from mechcode.models.train import holdout_groups

        groups = holdout_groups(self._units)
        if len(set(groups)) < 4:
            raise DataError("holdout needs at least 4 groups (papers or paragraphs)")
        tr, te = next(GroupShuffleSplit(n_splits=1, test_size=self.config.holdout, random_state=seed)
                      .split(self.rows, groups=groups))
        return sorted(int(i) for i in tr), sorted(int(i) for i in te)

    def _new_state(self, seed: int, universe: Sequence[int], holdout: Sequence[int]) -> dict[str, Any]:
        return {"format": FORMAT, "config": self.config.key(), "seed": seed, **self.fingerprint,
                "backend": backend_label(self.backend), "n_units": len(universe),
                "n_evidence": sum(self.evidence[i] for i in universe),
                "holdout": [self.rows[i]["id"] for i in holdout], "order": [], "n_seed": 0,
                "accept": [], "trained_on": 0, "train_seconds": [], "steps": [], "finished": False}

    # -- one run -----------------------------------------------------------------------------
    def run_seed(self, seed: int, checkpoint: Path | None = None,
                 on_step: Callable[[int, dict], None] | None = None,
                 progress: bool = False, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
        """Run (or resume) one seed; returns the final state (the checkpoint's content)."""
        cfg = self.config
        state = self._load(checkpoint, seed)
        if state is not None and self._done(state):
            log(f"seed {seed}: already finished ({len(state['order'])} units coded), skipped")
            return state
        universe, holdout = self.split(seed)
        if state is None:
            state = self._new_state(seed, universe, holdout)
            sub = seed_indices([self.rows[i] for i in universe], cfg.seed_labels, seed)
            order = [universe[j] for j in sub]
            state["order"], state["n_seed"] = [self.rows[i]["id"] for i in order], len(order)
            model, secs = self._train(order)
            state["trained_on"] = len(order)
            state["train_seconds"].append(secs)
            pool = self._pool(universe, order)
            preds = self._predict(model, pool + holdout)
            state["steps"].append(self._row(0, state, order, pool, holdout, preds, [], secs))
            self._save(checkpoint, state)
        else:
            order = [self.pos[u] for u in state["order"]]
            log(f"seed {seed}: resumed after step {len(state['steps']) - 1} "
                f"({len(order)}/{state['n_units']} units coded)")
            model, _ = self._train(order[: state["trained_on"]])
            pool = self._pool(universe, order)
            preds = self._predict(model, pool + holdout)
        bar = _bar(progress, self._expected_steps(len(universe)), len(state["steps"]) - 1,
                   f"{backend_label(self.backend)}/{cfg.strategy} seed {seed}")
        try:
            while not self._done(state):
                step = len(state["steps"])
                picks = pick(cfg.strategy, pool, preds, cfg.batch, seed=step_seed(seed, step),
                             counts=self._counts(order), mechanisms=self.coverage_ids, rank=self.rank)
                state["accept"].extend(self._accept(i, preds.get(i)) for i in picks)
                order.extend(picks)
                state["order"] = [self.rows[i]["id"] for i in order]
                pool = self._pool(universe, order)
                secs = None
                if pool and len(order) - state["trained_on"] >= cfg.retrain_every:
                    model, secs = self._train(order)
                    state["trained_on"] = len(order)
                    state["train_seconds"].append(secs)
                    preds = self._predict(model, pool + holdout)
                state["steps"].append(self._row(step, state, order, pool, holdout, preds, picks, secs))
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
        if state.get("finished") or len(state.get("order", ())) >= state.get("n_units", len(self.rows)):
            return True
        ms = self.config.max_steps
        return ms is not None and len(state.get("steps", ())) - 1 >= ms

    def _expected_steps(self, n: int) -> int:
        left = n - min(self.config.seed_labels, n)
        steps = -(-left // self.config.batch)
        return steps if self.config.max_steps is None else min(steps, self.config.max_steps)

    @staticmethod
    def _pool(universe: Sequence[int], order: Sequence[int]) -> list[int]:
        coded = set(order)
        return [i for i in universe if i not in coded]

    def _counts(self, order: Sequence[int]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in order:
            for m in self.gold[i]:
                counts[m] = counts.get(m, 0) + 1
        return counts

    def _accept(self, i: int, pred: Mapping[str, Any] | None) -> list:
        from mechcode.loop.active import suggested_codes

        exact, partial = metrics.acceptance(suggested_codes(pred, allowed=self.space), self.gold[i],
                                            self.rows[i].get("role"))
        return [exact, round(partial, 6)]

    def _row(self, step: int, state: Mapping[str, Any], order: Sequence[int], pool: Sequence[int],
             holdout: Sequence[int], preds: Mapping[int, Mapping[str, Any]], picks: Sequence[int],
             secs: float | None) -> dict[str, Any]:
        found = sum(self.evidence[i] for i in order)
        n_ev = state["n_evidence"]
        row: dict[str, Any] = {"step": step, "n_coded": len(order), "found": found,
                               "recall": found / n_ev if n_ev else None}
        row.update(self._f1(pool, preds, ""))
        if holdout:
            row.update(self._f1(holdout, preds, "holdout_"))
        acc = state["accept"]
        batch = acc[len(acc) - len(picks):] if picks else []
        row["accept_exact"] = sum(a[0] for a in acc) / len(acc) if acc else None
        row["accept_partial"] = sum(a[1] for a in acc) / len(acc) if acc else None
        row["accept_exact_batch"] = sum(a[0] for a in batch) / len(batch) if batch else None
        row["retrained"] = secs is not None
        row["train_seconds"] = round(secs, 4) if secs is not None else None
        return row

    def _f1(self, idx: Sequence[int], preds: Mapping[int, Mapping[str, Any]], prefix: str) -> dict[str, Any]:
        """Macro-F1 of the current suggestions on ``idx`` (``None`` below ``MIN_EVAL`` units)."""
        keys = [f"{prefix}f1_mechanism", f"{prefix}f1_mechanism_micro", f"{prefix}f1_role"]
        if len(idx) < MIN_EVAL:
            return dict.fromkeys(keys)
        from mechcode.models.evaluation.metrics import score

        s = score([self._units[i] for i in idx], [preds[i] for i in idx], self.codebook)
        return dict(zip(keys, (s["mechanism"]["macro_f1"], s["mechanism"]["micro_f1"], s["role"]["macro_f1"])))

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
