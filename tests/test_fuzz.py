"""Fuzzing the served API from its own OpenAPI document (schemathesis): no 5xx, no status the document does not name.

Bounded and repeatable: a fixed number of examples per operation, derandomized (the same
requests every run), no example database, no shrinking; one server on a private seed store.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance
from support import served

EXAMPLES = 50
"""Requests per operation at most (9 operations: about 10 s in all; 300 each found nothing more, in 15 s)."""


def test_no_documented_request_gets_a_5xx_or_an_undocumented_status(seed_store_path: Path) -> None:
    failures: list[str] = []
    with served(seed_store_path) as server:
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        for result in schema.get_all_operations():
            operation = result.ok()

            @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
            @given(case=operation.as_strategy())
            def fuzz(case: schemathesis.Case) -> None:
                case.call_and_validate(base_url=server.url, checks=[not_a_server_error, status_code_conformance])

            try:
                fuzz()
            except Exception as exc:  # noqa: BLE001 -- every operation's first failure, reported together below
                failures.append(f"{operation.label}: {exc}")
        assert httpx.get(f"{server.url}/health", timeout=30).json()["status"] == "ok"
    assert not failures, "\n\n".join(failures)
