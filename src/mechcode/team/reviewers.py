"""Named reviewers of a review, each with a personal access token.

A token is 32 random bytes (``secrets.token_urlsafe``), shown once when the
reviewer is added. Only its SHA-256 digest is stored (``reviewers.token_hash``,
``sha256:<hex>``): a token of that strength needs no salt or slow hash to
resist guessing, and a digest lets :func:`authenticate` look a token up
directly. Re-issuing a token (``add_reviewer(..., new_token=True)``) makes
the old one stop working.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from mechcode.errors import StoreError
from mechcode.store import reviewers as table

TOKEN_PREFIX = "mc_"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$")
RESERVED = ("codebook-migration", "model")


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    """A valid reviewer name (stripped); StoreError otherwise."""
    name = str(name or "").strip()
    if not NAME_RE.match(name):
        raise StoreError(f"reviewer name {name!r} must be 1-64 characters: letters, digits, space . _ @ -")
    if name.lower() in RESERVED:
        raise StoreError(f"reviewer name {name!r} is reserved; choose another")
    return name


def add_reviewer(review, name: str, new_token: bool = False) -> str:
    """Register ``name`` and return its new token (printed once, stored hashed).

    An existing name is refused unless ``new_token`` (then its token is replaced).
    """
    name = check_name(name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with review.transaction() as con:
        known = table.exists(con, name)
        if known and not new_token:
            raise StoreError(f"reviewer {name!r} already exists; use --new-token to issue a new token")
        if known:
            table.set_token_hash(con, name, hash_token(token))
        else:
            table.insert(con, name, hash_token(token))
    return token


def authenticate(review, token: str | None) -> str | None:
    """The reviewer name a token belongs to, or None (for the web layer)."""
    if not token or not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    found = table.by_token_hash(review.connect(), digest)
    if found is None or not secrets.compare_digest(found[1], digest):
        return None
    return found[0]


def holds_token(review, name: str, token_hash: str) -> bool:
    """Whether ``token_hash`` is still reviewer ``name``'s personal token (not re-issued since)."""
    stored = table.token_hash_of(review.connect(), name)
    return stored is not None and secrets.compare_digest(stored, token_hash)


def reviewer_names(review) -> list[str]:
    """Registered reviewer names, in the order they were added."""
    return table.names(review.connect())


def reviewers(review) -> list[dict[str, Any]]:
    """Registered reviewers with their activity: name, created_at, decisions, coded units, assigned units."""
    return table.activity(review.connect())
