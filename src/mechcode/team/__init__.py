"""Team coding: named reviewers with tokens, blind double coding, agreement, adjudication.

Library entry points (for the web layer and the CLI):

- :func:`mechcode.team.reviewers.authenticate` ``(review, token) -> name | None``
- :func:`mechcode.team.assign.visible_codes`, :func:`~mechcode.team.assign.is_blind`
  (final codes and training units are read in :mod:`mechcode.store.finals`)
- :func:`mechcode.team.adjudicate.disagreements`, :func:`~mechcode.team.adjudicate.adjudicate`
- :func:`mechcode.team.agreement.agreement`
"""
