"""A pytest plugin that lists what a test run opens outside the repository and the places any run reads.

``tests/test_standalone.py`` runs pytest with ``-p audit_reads``: every file opened and folder
listed (``sys.addaudithook``) is checked, and those beside the repository (``../shared``) or
elsewhere unexpected are written, one per line, to the file named by ``$FIMIGRAPH_AUDIT_READS``.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_EVENTS = frozenset({"open", "os.listdir", "os.scandir"})
# What any Python process reads: its interpreter and packages, temporary files, the system's own files.
_ROOTS = tuple(
    Path(p).resolve()
    for p in {sys.prefix, sys.base_prefix, *sysconfig.get_paths().values(), tempfile.gettempdir(), "/dev", "/proc", "/sys", "/etc", "/usr"}
)
_outside: set[str] = set()


def outside(path: Path) -> bool:
    """Whether reading ``path`` means the run needs something the repository does not hold."""
    if path.is_relative_to(REPO):
        return False
    if path.is_relative_to(REPO.parent):  # beside the clone: what a user who clones it lacks
        return True
    return not any(path.is_relative_to(root) for root in _ROOTS)


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event not in _EVENTS or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = Path(os.path.abspath(os.fsdecode(args[0])))
    if outside(path):
        _outside.add(str(path))


def pytest_configure(config: pytest.Config) -> None:
    """Start auditing before any test module is collected (suites are read at collection)."""
    sys.addaudithook(_audit)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write what was read outside, one path a line."""
    Path(os.environ["FIMIGRAPH_AUDIT_READS"]).write_text("".join(f"{p}\n" for p in sorted(_outside)), encoding="utf-8")
