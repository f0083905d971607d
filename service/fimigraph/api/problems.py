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


_DESCRIPTIONS = {
    400: "Bad request: a parameter is missing or malformed",
    401: "No token where reads are closed, or a token that is unknown, revoked or malformed",
    403: "The caller's role does not allow this (writes need an editor), or the document is marked above its clearance",
    404: "No such source, subject or link",
    406: "No representation fits Accept",
    503: "The store is unavailable",
}


def documented(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problems a route answers: ``statuses`` with the usual words, ``described`` (``_413="…"``) with its own."""
    entries = {**{status: _DESCRIPTIONS[status] for status in statuses}, **{int(k.lstrip("_")): v for k, v in described.items()}}
    return {status: {"description": text, "content": {PROBLEM_JSON: {}}} for status, text in entries.items()}


def openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document, saying 400 where it says 422 for a request it cannot read (this app answers 400)."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        for operation in (op for path in schema["paths"].values() for op in path.values()):
            responses = operation.get("responses", {})
            if responses.get("422", {}).get("description") == "Validation Error":
                del responses["422"]
                responses.setdefault("400", documented(400)[400])
            if operation.get("security"):  # every route that reads the caller's token may refuse it
                responses.setdefault("401", documented(401)[401])
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema


def problem(status: int, title: str, detail: str, *, type_uri: str = "about:blank", instance: str | None = None, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": type_uri, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    """Map every error to problem JSON, once for the whole app (and document it so)."""
    app.openapi = lambda: openapi(app)  # type: ignore[method-assign]

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
