"""Access control and hardening for the reviewer server, as one ASGI middleware.

- Every request needs an access token: ``Authorization: Bearer TOKEN``, or the session cookie
  that opening ``/?token=TOKEN`` sets (the token leaves the URL by a redirect, as in Jupyter).
  The cookie holds an opaque session id, never the token (HttpOnly, SameSite=Strict, an
  expiry, and ``Secure`` when the server listens beyond the loopback); the server keeps the
  sessions (:class:`Identity`, table ``sessions``). The token is the server's own
  (``--token``) or a reviewer's personal token (``mechcode reviewer add``); a personal token's
  reviewer name is passed to the app in ``scope["mechcode.reviewer"]`` (None for the server
  token), and the app lets that request act as that reviewer only.
- Token and session lookups query SQLite, so they run in a worker thread, never on the
  event loop.
- A state-changing request authenticated by the cookie alone must come from the page itself:
  ``Origin`` equal to this server's origin, or ``Sec-Fetch-Site: same-origin`` (CSRF guard).
- Request bodies are capped (64 KiB by default); bigger ones get 413 before the app runs.
- On a loopback server, the ``Host`` header must name the loopback (DNS-rebinding guard).
- Every response carries a strict Content-Security-Policy and related headers.
"""
from __future__ import annotations

import json
import secrets
from typing import Any, Awaitable, Callable, Protocol
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool

from mechcode.store.sessions import SESSION_DAYS

MAX_BODY = 64 * 1024
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
LOGIN_HINT = ("missing or wrong access token: open the URL that `mechcode review` printed (it ends in "
              "?token=...), or send the header 'Authorization: Bearer TOKEN'")

REVIEWER_KEY = "mechcode.reviewer"  # scope key: the reviewer a personal token signed in (or None)

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


class Identity(Protocol):
    """Who a token or a session id belongs to (blocking: the Guard calls it in a worker thread)."""

    def token(self, value: str) -> tuple[bool, str | None]:
        """(valid, reviewer): the server token gives no reviewer, a personal token its reviewer."""

    def open_session(self, value: str) -> str | None:
        """A new session id for a valid token (None: the token is not valid)."""

    def session(self, sid: str) -> tuple[bool, str | None]:
        """(valid, reviewer) of a session id."""


def new_token() -> str:
    """A fresh random access token (URL-safe)."""
    return secrets.token_urlsafe(24)


def cookie_name(port: int | None) -> str:
    """Per-port cookie name: cookies ignore ports, so two servers on one host must not clash."""
    return f"mechcode_session_{port or 0}"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookies(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out[name] = value
    return out


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """The middleware: token check, CSRF guard, body cap, host check, security headers."""

    def __init__(self, app: ASGIApp, identity: Identity, max_body: int = MAX_BODY, loopback_only: bool = True,
                 session_seconds: int = int(SESSION_DAYS * 24 * 3600)):
        self.app = app
        self.identity = identity
        self.max_body = max_body
        self.loopback_only = loopback_only
        self.secure_cookie = not loopback_only  # beyond the loopback the page may sit behind HTTPS
        self.session_seconds = session_seconds

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._secure(send)
        headers = _headers(scope)
        method = scope["method"].upper()
        if self.loopback_only and _host_name(headers.get("host", "")) not in LOOPBACK_HOSTS:
            await _json(send, 400, "bad Host header: this server only answers on the loopback address")
            return
        port = (scope.get("server") or (None, None))[1]
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if method == "GET" and "token" in query:
            await self._login(scope, send, query, port)
            return
        how, reviewer = await self._authenticated(headers, port)
        if how is None:
            await _json(send, 401, LOGIN_HINT, html=method == "GET" and "text/html" in headers.get("accept", ""))
            return
        if method not in SAFE_METHODS and how == "cookie" and not _same_origin(headers):
            await _json(send, 403, "cross-site request refused: a change must come from the review page "
                                   "itself or carry 'Authorization: Bearer TOKEN'")
            return
        if method not in SAFE_METHODS:
            receive = await self._buffer_body(headers, receive, send)
            if receive is None:
                return
        await self.app({**scope, REVIEWER_KEY: reviewer}, receive, send)

    async def _authenticated(self, headers: dict[str, str], port: int | None) -> tuple[str | None, str | None]:
        """(how, reviewer): how = "bearer" / "cookie" (None when no valid token or session came)."""
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer " and auth[7:].strip():
            ok, name = await run_in_threadpool(self.identity.token, auth[7:].strip())
            if ok:
                return "bearer", name
        sid = _cookies(headers.get("cookie", "")).get(cookie_name(port))
        if sid:
            ok, name = await run_in_threadpool(self.identity.session, sid)
            if ok:
                return "cookie", name
        return None, None

    async def _login(self, scope: Scope, send: Callable, query: dict[str, str], port: int | None) -> None:
        """``?token=`` in the URL: open a session, set its cookie, redirect to the path without the token."""
        sid = await run_in_threadpool(self.identity.open_session, query.pop("token"))
        if sid is None:
            await _json(send, 401, LOGIN_HINT)
            return
        path = scope.get("path") or "/"
        if not path.startswith("/") or path.startswith("//"):
            path = "/"
        location = path + ("?" + urlencode(query) if query else "")
        cookie = (f"{cookie_name(port)}={sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age={self.session_seconds}"
                  + ("; Secure" if self.secure_cookie else ""))
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode("latin-1", "replace")),
                                (b"set-cookie", cookie.encode()), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    async def _buffer_body(self, headers: dict[str, str], receive: Callable, send: Callable):
        """Read the whole body (refusing more than ``max_body`` bytes); a replaying ``receive``."""
        try:
            declared = int(headers.get("content-length") or 0)
        except ValueError:
            await _json(send, 400, "bad Content-Length header")
            return None
        if declared > self.max_body:
            await _json(send, 413, f"request body too large (limit {self.max_body} bytes)")
            return None
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _json(send, 413, f"request body too large (limit {self.max_body} bytes)")
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, sent = b"".join(chunks), False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay

    @staticmethod
    def _secure(send: Callable) -> Callable:
        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        return wrapped


def _same_origin(headers: dict[str, str]) -> bool:
    """The request comes from a page of this very server (Origin / Sec-Fetch-Site)."""
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    origin = headers.get("origin")
    if origin is not None:
        return origin in (f"http://{headers.get('host', '')}", f"https://{headers.get('host', '')}")
    return site == "same-origin"


async def _json(send: Callable, status: int, message: str, html: bool = False) -> None:
    if html:
        body = ("<!doctype html><meta charset='utf-8'><title>mechcode</title>"
                "<p>This review server needs its access token. Open the link printed in the terminal "
                "where you ran <code>mechcode review</code> (it ends in <code>?token=...</code>).</p>").encode()
        ctype = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"error": message}).encode()
        ctype = b"application/json"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
