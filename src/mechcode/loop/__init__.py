"""The reviewer loop: queue selection, decisions with suggestion snapshots, background retraining.

- :mod:`mechcode.loop.active`: pure active-learning helpers (uncertainty, suggested codes,
  the ``uncertain`` selection with a random share and a per-mechanism coverage rule).
- :mod:`mechcode.loop.queue`: the queue modes (``paper``, ``uncertain``, ``mechanism``, and the
  team modes ``adjudicate`` and ``recode``).
- :mod:`mechcode.loop.access`: who a request acts as, what it may do, the loop's refusals.
- :mod:`mechcode.loop.visibility`: what a reviewer sees (blind double coding, unit history, team queues).
- :mod:`mechcode.loop.serving`: the model currently serving suggestions (zeroshot until trained).
- :mod:`mechcode.loop.retrain`: the background retraining scheduler.
- :mod:`mechcode.loop.service`: :class:`LoopService`, the one object the web routes call.
"""
