"""Settings: one typed object, read from the environment (``FIMIGRAPH_*``), that fails fast."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError
from .limits import Limits

Engine = Literal["native", "pyshacl"]


class Settings(BaseSettings):
    """Where the store lives, which engine reasons, how the server listens and compacts, and its limits."""

    model_config = SettingsConfigDict(env_prefix="FIMIGRAPH_", extra="ignore")

    store: Path = Field(default=Path("fimigraph-store"), description="Folder of the on-disk store.")
    engine: Engine = Field(default="native", description="Reasoning engine: native (fast, default) or pyshacl (reference).")
    compact_after: int = Field(default=100, ge=0, description=(
        "Compact the store once this many changes (sources added, replaced or retracted, by any process) "
        "were made since its last compaction: the server in the background, `load` and `retract` at their end; 0 never."))
    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the server listens on.")
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0, description="Largest source document accepted.")
    reads: Literal["open", "closed"] = Field(default="open", description=(
        "Whether a caller without a token may read (as the anonymous reader, cleared for TLP:CLEAR): open, or closed "
        "(every request needs a token). Writes always need an editor's token."))
    owl_check: bool = Field(default=False, description=(
        "Check each source document with the OWL reasoner (HermiT) before it is written, and refuse one that "
        "contradicts the ontology (422). About 2 s a document (bench/RESULTS.md); off by default."))
    # What one document or query may hold: checked before a parser sees it (see fimigraph.limits).
    max_depth: int = Field(default=Limits.max_depth, ge=1, le=1000, description=(
        "Deepest nesting accepted: of {, ( and [ in a SPARQL query, of objects and arrays in JSON, JSON-LD and "
        "STIX, of elements in RDF/XML (pyoxigraph's parsers overflow their stack past a few thousand)."))
    max_triples: int = Field(default=Limits.max_triples, ge=1, description="Most triples one source document may hold.")
    max_literal_length: int = Field(default=Limits.max_literal_length, ge=1, description=(
        "Longest literal (in characters) a source document may hold."))
    # Caller-supplied SPARQL (/sparql) runs in worker processes, which can be stopped (fimigraph.querypool).
    max_query_bytes: int = Field(default=1024 * 1024, gt=0, description="Largest SPARQL query accepted by /sparql.")
    query_timeout: float = Field(default=30.0, gt=0, le=3600, description=(
        "Seconds a /sparql query may take, from its arrival to the last byte of its answer; its worker is then stopped."))
    query_workers: int = Field(default=min(4, os.cpu_count() or 1), ge=1, le=64, description=(
        "Worker processes that answer /sparql queries: how many run at once (default: min(4, cores))."))
    query_queue: int = Field(default=32, ge=0, description=(
        "/sparql queries that may wait for a free worker; beyond them the answer is 503 with Retry-After."))
    query_memory_mb: int = Field(default=384, ge=128, description=(
        "Memory one /sparql worker may use (MiB: its data mappings, heap and threads' stacks; about 80 at rest); "
        "a query needing more is stopped."))
    max_result_rows: int = Field(default=20_000, ge=1, description=(
        "Most rows (or triples) a /sparql answer may hold (a cross product at 100k triples makes 100,000 in 1 s, "
        "so its refusal comes within 1 s on a busy machine)."))
    max_result_bytes: int = Field(default=32 * 1024 * 1024, gt=0, description="Largest /sparql answer, in bytes.")
    shutdown_timeout: float = Field(default=3.0, ge=0, description=(
        "Seconds the server waits for running requests after SIGTERM before it stops them."))

    @property
    def limits(self) -> Limits:
        """The limits on one document or query, as the parsers' checks take them."""
        return Limits(max_depth=self.max_depth, max_triples=self.max_triples, max_literal_length=self.max_literal_length)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, with explicit overrides (e.g. CLI options) taking precedence."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except PydanticValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid setting: {problems}") from exc

