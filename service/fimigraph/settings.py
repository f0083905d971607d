"""Settings: one typed object, read from the environment (``FIMIGRAPH_*``), that fails fast."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

Engine = Literal["native", "pyshacl"]


class Settings(BaseSettings):
    """Where the store lives, which engine reasons, and how the server listens and compacts."""

    model_config = SettingsConfigDict(env_prefix="FIMIGRAPH_", extra="ignore")

    store: Path = Field(default=Path("fimigraph-store"), description="Folder of the on-disk store.")
    engine: Engine = Field(default="native", description="Reasoning engine: native (fast, default) or pyshacl (reference).")
    compact_after: int = Field(default=100, ge=0, description=(
        "Compact the store once this many changes (sources added, replaced or retracted, by any process) "
        "were made since its last compaction: the server in the background, `load` and `retract` at their end; 0 never."))
    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the server listens on.")
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0, description="Largest source document accepted.")
    owl_check: bool = Field(default=False, description=(
        "Check each source document with the OWL reasoner (HermiT) before it is written, and refuse one that "
        "contradicts the ontology (422). About 2 s a document (bench/RESULTS.md); off by default."))


def load_settings(**overrides: object) -> Settings:
    """Read the settings, with explicit overrides (e.g. CLI options) taking precedence."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except PydanticValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid setting: {problems}") from exc

