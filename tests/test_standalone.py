"""The repository stands alone: its tests read nothing beside it unless told to (``FIMIGRAPH_SHARED``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import REPO

# The tests that read third-party data: the suites (at collection), and the seed case with its one
# quote check that needs the article, which is not redistributable.
READERS = ["tests/test_shacl_af_suite.py", "tests/test_seed_case.py", "tests/test_sparql_protocol.py::test_suite_is_present"]


def test_tests_read_nothing_beside_the_repository(tmp_path: Path) -> None:
    """With FIMIGRAPH_SHARED unset, the tests that read suites pass, opening no file outside the repository."""
    report = tmp_path / "outside.txt"
    env = {k: v for k, v in os.environ.items() if k != "FIMIGRAPH_SHARED"}
    env |= {"FIMIGRAPH_AUDIT_READS": str(report), "PYTHONPATH": str(REPO / "tests")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "audit_reads", "-p", "no:cacheprovider", *READERS],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert report.read_text(encoding="utf-8") == ""
    assert "1 skipped" in done.stdout and "not redistributable" in done.stdout, done.stdout[-2000:]
