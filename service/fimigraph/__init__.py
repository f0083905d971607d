"""fimigraph — a knowledge graph and graded attribution reasoning service for FIMI analysts."""

__version__ = "0.1.0"
