"""Run the reviewer server: open the review, bind the socket, print the URL, serve with uvicorn."""
from __future__ import annotations

import ipaddress
import logging
import socket
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from mechcode.errors import MechcodeError
from mechcode.web.auth import new_token

DEFAULT_PORT = 8765
PORT_TRIES = 20


class ServerError(MechcodeError):
    """The server cannot start (port in use, bad host ...)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int, tries: int = 1) -> socket.socket:
    """A listening socket on ``host:port`` (the next free port up to ``tries`` - 1 higher)."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ServerError(f"cannot resolve host {host!r} ({exc})") from exc
    last: OSError | None = None
    for p in ([port] if port == 0 else range(port, port + max(1, tries))):
        # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on such sockets (else ~40 ms
        # Nagle/delayed-ACK stalls on every keep-alive request)
        sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((addr[0], p, *addr[2:]))
            sock.listen(128)
            sock.set_inheritable(True)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise ServerError(f"cannot listen on {host}:{port} ({last}); choose another --port (0 = any free port)")


def url_for(host: str, port: int, token: str) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}"


@dataclass
class ServerOptions:
    review_dir: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None
    reviewer: str = "reviewer"
    retrain_every: int = 10
    backend: str = "sparse"
    seed_data: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # retrain backend hyperparameters
    initial_params: dict[str, Any] = field(default_factory=dict)  # the first model's (loop.serving.initial_settings)


def build(opts: ServerOptions):
    """(app, service, token): the review opened, the loop service and the guarded ASGI app."""
    from mechcode.loop.serving import INITIAL_BACKEND, initial_settings
    from mechcode.loop.training import load_seed_data
    from mechcode.loop.service import LoopService
    from mechcode.models.registry import get_backend
    from mechcode.store.review import Review
    from mechcode.web.app import create_app

    get_backend(opts.backend)(**opts.params)  # unknown backend or bad setting -> a clear error before anything starts
    get_backend(INITIAL_BACKEND)(**initial_settings(INITIAL_BACKEND, opts.initial_params))
    review = Review.open(opts.review_dir)
    seed = load_seed_data(opts.seed_data, review.codebook) if opts.seed_data else []
    service = LoopService(review, reviewer=opts.reviewer, retrain_every=opts.retrain_every,
                          backend=opts.backend, seed_units=seed, params=opts.params,
                          initial_params=opts.initial_params)
    token = opts.token or new_token()
    app = create_app(service, token, loopback_only=is_loopback(opts.host))
    return app, service, token


def serve(opts: ServerOptions, echo: Callable[[str], None] | None = None) -> None:
    """Start the server and block until it is stopped (Ctrl+C)."""
    import uvicorn

    echo = echo or (lambda line: print(line, flush=True))
    app, service, token = build(opts)
    sock = bind(opts.host, opts.port, tries=1 if opts.port == 0 else PORT_TRIES)
    port = sock.getsockname()[1]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logging.getLogger("mechcode").addHandler(handler)
    logging.getLogger("mechcode").setLevel(logging.INFO)
    echo(f"mechcode review server for {opts.review_dir} (reviewer: {service.reviewer}, "
         f"model: {service.serving.version or 'zeroshot, created on first use'})")
    if not is_loopback(opts.host):
        echo(f"warning: listening on {opts.host}, reachable from other machines; keep the token secret. "
             "The session cookie is then marked Secure: serve the page over HTTPS (e.g. behind a reverse "
             "proxy), or use 'Authorization: Bearer TOKEN'")
    echo("Open this URL in your browser (it carries your access token):")
    echo(f"    {url_for(opts.host, port, token)}")
    echo("Team members open the same address with their personal token "
         f"(from 'mechcode reviewer add'): {url_for(opts.host, port, 'THEIR_TOKEN')}")
    echo("Press Ctrl+C to stop.")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=5, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
