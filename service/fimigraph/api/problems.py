"""RFC 9457 problem details: every error the API returns, in one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import Match

from ..errors import FimigraphError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("fimigraph.api")


def problem(status: int, title: str, detail: str, *, type_uri: str = "about:blank", instance: str | None = None, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": type_uri, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    """Map every error to problem JSON, once for the whole app."""

    @app.exception_handler(FimigraphError)
    async def _fimigraph_error(request: Request, exc: FimigraphError) -> JSONResponse:
        response = problem(exc.status, exc.title, exc.detail, type_uri=exc.type_uri, instance=str(request.url.path), **exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _request_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"location": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors)
        return problem(400, "Bad request", detail, instance=str(request.url.path), errors=errors)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        response = problem(exc.status_code, str(exc.detail), str(exc.detail), instance=str(request.url.path))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; list every route's.
            allowed = sorted({m for route in iter_route_contexts(app.routes) if route.matches(request.scope)[0] != Match.NONE
                              for m in (route.methods or ())})
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Log the cause for operators; never echo internals to clients.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "the server failed to handle this request; the error is logged", instance=str(request.url.path))
