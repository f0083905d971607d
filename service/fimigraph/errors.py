"""The exception tree of fimigraph, mapped once to HTTP problem JSON and to CLI exit codes.

    FimigraphError                 base: every error fimigraph raises on purpose
    ├── InputError                 400  the request or file cannot be read
    │   ├── ParseError             400  malformed RDF/JSON, with line and column
    │   ├── UnsupportedFormat      415  a media type or file extension fimigraph does not read
    │   └── QueryError             400  malformed SPARQL, or an update sent to the read-only endpoint
    ├── NotAcceptable              406  no representation matches the Accept header
    ├── PayloadTooLarge            413  a document over the size limit
    ├── ValidationError            422  well-formed input that breaks the SHACL shapes (carries the report)
    ├── NotFound                   404  no such source, subject, link
    ├── AlreadyExists              409  a source with that IRI is loaded already
    ├── StoreError                 503  the store cannot be opened (locked, bad path), written or compacted
    ├── CorruptDocument            500  a document kept as received no longer matches its checksum
    ├── ConfigError                  -  a setting is wrong; raised at start-up
    └── AddressInUse                 -  the server cannot listen: another program holds its address and port

Each class carries ``status`` (HTTP), ``exit_code`` (CLI) and ``title``; ``detail`` is the
one-line reason shown to the user, ``extra`` any structured data (e.g. a SHACL report).
"""

from __future__ import annotations

from typing import Any


class FimigraphError(Exception):
    """Base class: a problem fimigraph reports to its user."""

    status = 500
    exit_code = 1
    title = "fimigraph error"
    slug = "error"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}

    @property
    def type_uri(self) -> str:
        """The problem type IRI (RFC 9457 ``type``)."""
        return f"https://w3id.org/fimigraph/problems/{self.slug}"


class InputError(FimigraphError):
    status, exit_code, title, slug = 400, 2, "Bad input", "bad-input"


class ParseError(InputError):
    title, slug = "Malformed input", "parse-error"


class UnsupportedFormat(InputError):
    status, title, slug = 415, "Unsupported format", "unsupported-format"


class QueryError(InputError):
    title, slug = "Bad query", "bad-query"


class NotAcceptable(FimigraphError):
    status, exit_code, title, slug = 406, 2, "Not acceptable", "not-acceptable"


class PayloadTooLarge(FimigraphError):
    status, exit_code, title, slug = 413, 2, "Payload too large", "payload-too-large"


class ValidationError(FimigraphError):
    status, exit_code, title, slug = 422, 3, "Input breaks the SHACL shapes", "validation-error"


class NotFound(FimigraphError):
    status, exit_code, title, slug = 404, 4, "Not found", "not-found"


class AlreadyExists(FimigraphError):
    status, exit_code, title, slug = 409, 5, "Already exists", "already-exists"


class StoreError(FimigraphError):
    status, exit_code, title, slug = 503, 6, "Store unavailable", "store-error"


class CorruptDocument(FimigraphError):
    status, exit_code, title, slug = 500, 9, "Stored document corrupt", "corrupt-document"


class ConfigError(FimigraphError):
    exit_code, title, slug = 7, "Bad configuration", "config-error"


class AddressInUse(FimigraphError):
    exit_code, title, slug = 8, "Address in use", "address-in-use"
