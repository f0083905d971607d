"""The exception tree of fimigraph, mapped once to HTTP problem JSON and to CLI exit codes.

    FimigraphError                 base: every error fimigraph raises on purpose
    ├── InputError                 400  the request or file cannot be read
    │   ├── ParseError             400  malformed RDF/JSON, with line and column
    │   ├── UnsupportedFormat      415  a media type or file extension fimigraph does not read
    │   ├── QueryError             400  malformed SPARQL, an update sent to the read-only endpoint, or SERVICE
    │   └── LimitExceeded          400  input nested deeper than a parser's limit, or an XML DTD (refused outright)
    ├── NotAcceptable              406  no representation matches the Accept header
    ├── PayloadTooLarge            413  a request, document, literal or triple count over its limit
    ├── QueryLimitExceeded         422  a query that needs more time, result rows, result bytes or memory than allowed
    ├── ValidationError            422  well-formed input that breaks the SHACL shapes (carries the report)
    │   └── Inconsistent           422  input that contradicts the ontology's OWL axioms (HermiT; carries the report)
    ├── Unauthorized               401  no token where reads are closed, or a token that is unknown, revoked or malformed
    ├── Forbidden                  403  a caller whose role may not do this (a reader writing)
    ├── NotFound                   404  no such source, subject, link
    ├── AlreadyExists              409  a source with that IRI is loaded already
    ├── StoreError                 503  the store cannot be opened (locked, bad path), written or compacted
    ├── TooManyQueries             503  every query worker is busy and the queue is full (with Retry-After)
    ├── ConfigError                  -  a setting is wrong; raised at start-up
    └── AddressInUse                 -  the server cannot listen: another program holds its address and port

Each class carries ``status`` (HTTP), ``exit_code`` (CLI) and ``title``; ``detail`` is the
one-line reason shown to the user, ``extra`` any structured data (e.g. a SHACL report),
``headers`` any HTTP headers the answer needs. The limit errors name the setting that refused
the input in ``extra["limit"]`` (e.g. ``max_depth``, as in ``FIMIGRAPH_MAX_DEPTH``) and its value.
"""

from __future__ import annotations

from typing import Any


class FimigraphError(Exception):
    """Base class: a problem fimigraph reports to its user."""

    status = 500
    exit_code = 1
    title = "fimigraph error"
    slug = "error"

    headers: dict[str, str] = {}

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as detail and extra, whatever __init__ takes: errors cross process boundaries
        # (query workers, bulk validation) and must come back the same.
        return _rebuild, (type(self), self.detail, self.extra)

    @property
    def type_uri(self) -> str:
        """The problem type IRI (RFC 9457 ``type``)."""
        return f"https://w3id.org/fimigraph/problems/{self.slug}"


def _rebuild(cls: type[FimigraphError], detail: str, extra: dict[str, Any]) -> FimigraphError:
    error = cls.__new__(cls)
    FimigraphError.__init__(error, detail, extra=extra)
    return error


class InputError(FimigraphError):
    status, exit_code, title, slug = 400, 2, "Bad input", "bad-input"


class ParseError(InputError):
    title, slug = "Malformed input", "parse-error"


class UnsupportedFormat(InputError):
    status, title, slug = 415, "Unsupported format", "unsupported-format"


class QueryError(InputError):
    title, slug = "Bad query", "bad-query"


class _NamesLimit(FimigraphError):
    """An error that names the limit (a setting, or a fixed rule) the input went over."""

    def __init__(self, detail: str, *, limit: str, value: float | None = None) -> None:
        super().__init__(detail, extra={"limit": limit, "value": value})


class LimitExceeded(_NamesLimit, InputError):
    title, slug = "Limit exceeded", "limit-exceeded"


class NotAcceptable(FimigraphError):
    status, exit_code, title, slug = 406, 2, "Not acceptable", "not-acceptable"


class PayloadTooLarge(_NamesLimit):
    status, exit_code, title, slug = 413, 2, "Payload too large", "payload-too-large"


class QueryLimitExceeded(_NamesLimit):
    status, exit_code, title, slug = 422, 2, "Query limit exceeded", "query-limit-exceeded"


class ValidationError(FimigraphError):
    status, exit_code, title, slug = 422, 3, "Input breaks the SHACL shapes", "validation-error"


class Inconsistent(ValidationError):
    title, slug = "Input contradicts the ontology", "inconsistent"


class Unauthorized(FimigraphError):
    status, exit_code, title, slug = 401, 10, "Not authenticated", "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(FimigraphError):
    status, exit_code, title, slug = 403, 10, "Not allowed", "forbidden"


class NotFound(FimigraphError):
    status, exit_code, title, slug = 404, 4, "Not found", "not-found"


class AlreadyExists(FimigraphError):
    status, exit_code, title, slug = 409, 5, "Already exists", "already-exists"


class StoreError(FimigraphError):
    status, exit_code, title, slug = 503, 6, "Store unavailable", "store-error"


class TooManyQueries(FimigraphError):
    status, exit_code, title, slug = 503, 6, "Too many queries", "too-many-queries"
    headers = {"Retry-After": "1"}


class ConfigError(FimigraphError):
    exit_code, title, slug = 7, "Bad configuration", "config-error"


class AddressInUse(FimigraphError):
    exit_code, title, slug = 8, "Address in use", "address-in-use"
