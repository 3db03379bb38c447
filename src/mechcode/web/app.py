"""The reviewer web app: thin FastAPI routes over :class:`mechcode.loop.service.LoopService`.

Static files come only from the package's ``web/static`` folder, by an explicit allow-list
(no path ever reaches the file system). All errors are JSON ``{"error": "..."}``.

Every route resolves the reviewer it acts for with :meth:`LoopService.who`: the reviewer of
a personal token (a different ``reviewer`` in the request is refused with 403), else the
name the request gives, else the server's ``--reviewer``.
"""
from __future__ import annotations

import logging
from importlib import resources
from typing import Annotated

from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from mechcode.errors import MechcodeError
from mechcode.loop import worklog
from mechcode.loop.access import Forbidden, InvalidRequest, NotFound
from mechcode.loop.service import LoopService
from mechcode.web.auth import MAX_BODY, REVIEWER_KEY, Guard
from mechcode.web.identity import ReviewIdentity
from mechcode.web.schemas import DecisionIn, RangeRejectIn, SpanIn, UndoIn

log = logging.getLogger(__name__)

# name -> content type; nothing else is ever served from the package
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "paper.js": "text/javascript; charset=utf-8",
    "team.js": "text/javascript; charset=utf-8",
    "status.js": "text/javascript; charset=utf-8",
    "history.js": "text/javascript; charset=utf-8",
    "find.js": "text/javascript; charset=utf-8",
    "keys.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


def static_response(name: str) -> Response:
    """A file of the allow-list, read from the installed package."""
    ctype = STATIC_FILES.get(name)
    if ctype is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    data = resources.files("mechcode.web").joinpath("static", name).read_bytes()
    return Response(data, media_type=ctype)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


# the loop's refusals as HTTP statuses (a handler is looked up by the exception's class hierarchy)
REFUSALS = ((NotFound, 404), (Forbidden, 403), (MechcodeError, 400))


def _refusal(status: int):
    async def refuse(_req: Request, exc: Exception):
        return JSONResponse({"error": str(exc)}, status_code=status)

    return refuse


def _handlers(app: FastAPI) -> None:
    for cls, status in REFUSALS:
        app.add_exception_handler(cls, _refusal(status))

    @app.exception_handler(RequestValidationError)
    async def unprocessable(_req: Request, exc: RequestValidationError):
        return JSONResponse({"error": _validation_message(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def crashed(_req: Request, exc: Exception):
        log.exception("unexpected error")
        return JSONResponse({"error": f"internal error ({exc.__class__.__name__}); see the server log"},
                            status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_req: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        return JSONResponse({"error": message.lower() if exc.status_code == 404 else message},
                            status_code=exc.status_code)


def _page_routes(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def index():
        return static_response("index.html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        return static_response(name)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return static_response("favicon.svg")


def signed_in(request: Request) -> str | None:
    """The reviewer whose personal token authenticated the request (None: the server token)."""
    return request.scope.get(REVIEWER_KEY)


ReviewerQ = Annotated[str | None, Query(max_length=64)]  # ?reviewer=NAME


def _api_routes(app: FastAPI, svc: LoopService) -> None:
    def who(request: Request, requested: str | None) -> str:
        return svc.who(signed_in(request), requested)

    @app.get("/api/status")
    def status(request: Request, reviewer: ReviewerQ = None, mode: str = "paper",
               mechanism: str | None = None, paper: int | None = None):
        name = who(request, reviewer)
        return {**svc.status(name, signed_in(request)), "stop": worklog.stop(svc, name, mode, mechanism, paper)}

    @app.get("/api/queue")
    def queue(request: Request, mode: str = "paper", limit: int = Query(20, ge=1, le=200),
              mechanism: str | None = None, paper: int | None = None, reviewer: ReviewerQ = None):
        return svc.queue(mode, who(request, reviewer), limit, mechanism, paper)

    def coder(request: Request, requested: str | None) -> str:
        return svc.coder(signed_in(request), requested)

    @app.post("/api/decisions", status_code=201)
    def decide(request: Request, body: DecisionIn):
        return svc.decide(**{**body.model_dump(), "reviewer": coder(request, body.reviewer)})

    @app.post("/api/decisions/{decision_id}/undo", status_code=201)
    def undo(request: Request, decision_id: int, body: UndoIn | None = Body(None)):
        return svc.undo(decision_id, coder(request, body.reviewer if body else None), signed_in(request))

    @app.post("/api/spans", status_code=201)
    def spans(request: Request, body: SpanIn):
        return svc.add_span(**{**body.model_dump(), "reviewer": coder(request, body.reviewer)})

    @app.get("/api/units/{unit_id}")
    def unit(request: Request, unit_id: int, reviewer: ReviewerQ = None):
        return worklog.unit_history(svc, unit_id, who(request, reviewer))

    @app.get("/api/units/{unit_id}/item")
    def unit_item(request: Request, unit_id: int, reviewer: ReviewerQ = None):
        return worklog.item(svc, unit_id, who(request, reviewer))

    @app.get("/api/history")
    def history(request: Request, limit: int = Query(50, ge=1, le=200), before: int | None = None,
                paper: int | None = None, mechanism: str | None = None, action: str | None = None,
                reviewer: ReviewerQ = None):
        return worklog.history(svc, who(request, reviewer), limit, before, paper, mechanism, action)

    @app.get("/api/search")
    def search(q: str = Query(..., max_length=500), limit: int = Query(30, ge=1, le=200),
               offset: int = Query(0, ge=0), paper: int | None = None):
        return worklog.search(svc, q, limit, offset, paper)

    @app.post("/api/reject-range", status_code=201)
    def reject_range(request: Request, body: RangeRejectIn):
        return worklog.reject_range(svc, coder(request, body.reviewer), body.document_id, body.section,
                                    body.page_from, body.page_to, body.note)

    @app.post("/api/batches/{batch}/undo", status_code=201)
    def undo_batch(request: Request, batch: str, body: UndoIn | None = Body(None)):
        return worklog.undo_batch(svc, coder(request, body.reviewer if body else None), batch, signed_in(request))

    @app.post("/api/retrain", status_code=202)
    def retrain():
        return svc.retrain()

    @app.get("/api/codebook")
    def codebook():
        return svc.codebook()

    @app.get("/api/papers")
    def papers(request: Request, reviewer: ReviewerQ = None):
        return worklog.papers(svc, who(request, reviewer))

    @app.get("/api/papers/{document_id}")
    def paper(request: Request, document_id: int, reviewer: ReviewerQ = None):
        return worklog.paper(svc, document_id, who(request, reviewer))


def create_app(service: LoopService, token: str, max_body: int = MAX_BODY, loopback_only: bool = True):
    """The ASGI app (FastAPI wrapped in :class:`mechcode.web.auth.Guard`).

    Besides ``token`` (the server's own), every reviewer's personal token is accepted, and the
    session cookie a token URL opens (:class:`mechcode.web.identity.ReviewIdentity`)."""
    app = FastAPI(title="mechcode reviewer", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service
    _handlers(app)
    _page_routes(app)
    _api_routes(app, service)
    return Guard(app, ReviewIdentity(service.review, token), max_body=max_body, loopback_only=loopback_only)


__all__ = ["create_app", "static_response", "STATIC_FILES", "InvalidRequest"]
