"""The one process runner on dask (``run_pool(..., executor="dask")``): the same contract as the
local pool -- every item's result, a job that raises is that item's failure, an item past its
time limit is reported as timed out -- on a local dask cluster started by the runner.

dask is the ``mechcode[dask]`` extra, part of ``mechcode[test]``: like ``tests/test_batch.py``
this test needs it installed (no skip)."""
from __future__ import annotations

import math
import time

import pytest

from mechcode import parallel
from mechcode.errors import MechcodeError

JOBS = {"four": (math.sqrt, (4.0,)), "nine": (math.sqrt, (9.0,)), "negative": (math.sqrt, (-1.0,)),
        "stuck": (time.sleep, (60,))}


@pytest.mark.slow
def test_dask_runner_yields_results_failures_and_timeouts(monkeypatch):
    monkeypatch.setattr(parallel, "GRACE", 0.0)
    t0 = time.monotonic()
    out = list(parallel.run_pool(list(JOBS), 2, JOBS.__getitem__, 6.0, executor="dask",
                                 failed=lambda item, why: ("failed", item, why)))
    assert len(out) == 4 and time.monotonic() - t0 < 50  # the stuck item did not hold the run
    assert sorted(r for r in out if isinstance(r, float)) == [2.0, 3.0]
    failures = {r[1]: r[2] for r in out if isinstance(r, tuple)}
    assert set(failures) == {"negative", "stuck"}
    assert "dask worker failure (ValueError: math domain error)" in failures["negative"]
    assert "timed out after 6 s" in failures["stuck"]


def test_unknown_executor_is_one_clear_error():
    with pytest.raises(MechcodeError, match="unknown executor 'spark'; expected local or dask"):
        next(parallel.run_pool(["a"], 1, JOBS.__getitem__, 1.0, executor="spark"))
