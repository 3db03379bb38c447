"""Who a request is: the server token, a reviewer's personal token, or a signed-in session.

:class:`ReviewIdentity` is the :class:`mechcode.web.auth.Identity` of a review: personal
tokens are checked against the review's ``reviewers`` table, sessions against its
``sessions`` table. A session is valid while it has not expired *and* the token that opened
it still works (a re-issued reviewer token, or another server ``--token``, ends it).
"""
from __future__ import annotations

import secrets

from mechcode.store import sessions
from mechcode.team.reviewers import authenticate, hash_token, holds_token


class ReviewIdentity:
    """Token and session checks for one review and one server token (blocking SQLite reads)."""

    def __init__(self, review, server_token: str):
        if not server_token:
            raise ValueError("an access token is required")
        self.review = review
        self._server = server_token.encode("utf-8")
        self._server_hash = hash_token(server_token)

    def token(self, value: str) -> tuple[bool, str | None]:
        if not value:
            return False, None
        if secrets.compare_digest(value.encode("utf-8", "replace"), self._server):
            return True, None
        name = authenticate(self.review, value)
        return (True, name) if name else (False, None)

    def open_session(self, value: str) -> str | None:
        ok, name = self.token(value)
        if not ok:
            return None
        return sessions.create(self.review.connect(), name, hash_token(value))

    def session(self, sid: str) -> tuple[bool, str | None]:
        found = sessions.lookup(self.review.connect(), sid)
        if found is None:
            return False, None
        reviewer, token_hash = found
        if reviewer is None:
            return secrets.compare_digest(token_hash, self._server_hash), None
        return (True, reviewer) if holds_token(self.review, reviewer, token_hash) else (False, None)
