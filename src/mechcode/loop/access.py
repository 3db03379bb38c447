"""Who a request acts as, what it may do, and how the reviewer loop refuses a request.

:class:`Forbidden`, :class:`InvalidRequest` and :class:`NotFound` are the loop's refusals
(the web layer maps them to 403, 400 and 404).

A request signed with a reviewer's personal token acts as that reviewer only
(:func:`resolve_reviewer`); one signed with the server token reads as any reviewer (the
server's ``--reviewer`` by default). Coding is stricter (:func:`resolve_coder`): once the
review has named reviewers, a decision, span or undo is attributed from the token only, and
the server token codes as the server's ``--reviewer`` only, never as a named reviewer.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from mechcode.errors import MechcodeError


class Forbidden(MechcodeError):
    """A request that the signed-in reviewer may not make (acting or reading as someone else)."""


class InvalidRequest(MechcodeError):
    """A request the reviewer loop refuses (unknown unit, mechanism, role ...); nothing is stored."""


class NotFound(MechcodeError):
    """A resource named in the URL does not exist."""


def resolve_reviewer(signed_in: str | None, requested: str | None, default: str) -> str:
    """The reviewer a request acts as.

    With a personal token (``signed_in``) that reviewer, and a different ``requested`` name is
    refused; with the server token the ``requested`` name, else the server's ``default``.
    """
    if signed_in is None:
        return requested or default
    if requested and requested != signed_in:
        raise Forbidden(f"you are signed in as {signed_in!r} with a personal token: you cannot act or read "
                        f"as {requested!r}")
    return signed_in


def resolve_coder(signed_in: str | None, requested: str | None, default: str, named: Iterable[str]) -> str:
    """The reviewer a coding request (decision, span, undo) is attributed to.

    Without named reviewers this is :func:`resolve_reviewer`. With named reviewers the token
    alone decides: a personal token codes as its reviewer; the server token codes as the
    server's ``default`` reviewer, and is refused when that name, or the one requested, is a
    named reviewer's (only their personal token may code for them)."""
    named = set(named)
    if signed_in is not None or not named:
        return resolve_reviewer(signed_in, requested, default)
    if requested and requested != default:
        raise Forbidden(f"the server token cannot code as {requested!r}: this review has named reviewers, "
                        "so each codes with their personal token (mechcode reviewer add)")
    if default in named:
        raise Forbidden(f"the server token cannot code as the named reviewer {default!r}; "
                        "open the page with that reviewer's personal token")
    return default


def check_undo(actor: str, decision: Mapping[str, Any], strict: bool) -> None:
    """A reviewer may only undo their own decisions (``strict``: always; else only when signed in)."""
    if strict and decision["reviewer"] != actor:
        raise Forbidden(f"decision {decision['id']} was made by {decision['reviewer']!r}; "
                        f"you ({actor!r}) can only undo your own decisions")
