"""Schema fuzzing: Schemathesis generates requests for every operation of the OpenAPI schema
(valid and invalid bodies, paths, queries, headers) and each goes in with every key scope
(write, read, admin) and with none. No answer may be a server error, and every answer must
match its documented status code, content type and model, on SQLite and on PostgreSQL.

The budget here is small so the suite stays fast (``MONOGRAM_FUZZ_EXAMPLES`` generated cases
per operation, default 15, each sent four times); ``bench/fuzz.py`` runs the long version and
reports its figures.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from monogram.workspace import Workspace
from tests.conftest import Api, basic

EXAMPLES = int(os.environ.get("MONOGRAM_FUZZ_EXAMPLES", "15"))
CHECKS = (status_code_conformance, content_type_conformance, response_schema_conformance)
SCOPES = ("write", "read", "admin", "none")


@dataclass
class Report:
    requests: Counter[str] = field(default_factory=Counter)  # per key scope
    statuses: Counter[int] = field(default_factory=Counter)
    operations: int = 0
    problems: list[str] = field(default_factory=list)


def fuzz(api: Api, examples: int) -> Report:
    """Every operation, ``examples`` generated cases each, sent with every key scope."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    keys = {"write": api.write, "read": api.read, "admin": api.admin, "none": None}
    report = Report()
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations += 1

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            for scope, key in keys.items():
                headers = {**(case.headers or {}), **(basic(key) if key else {})}
                response = case.call(headers=headers)
                report.requests[scope] += 1
                report.statuses[response.status_code] += 1
                where = f"{case.method} {case.formatted_path} ({scope} key)"
                if response.status_code >= 500:
                    report.problems.append(f"{where}: {response.status_code} {response.text[:200]}")
                    continue
                try:
                    case.validate_response(response, checks=CHECKS)
                except Exception as exc:  # a failed conformance check: keep it, go on
                    report.problems.append(f"{where}: {str(exc)[:400]}")

        run()
    return report


@pytest.fixture
def fuzzed(workspace: Workspace) -> Iterator[Api]:
    wrapper = Api(workspace)
    with wrapper.client:
        yield wrapper


def test_every_operation_with_every_scope_answers_as_documented(fuzzed: Api) -> None:
    report = fuzz(fuzzed, EXAMPLES)
    assert report.operations >= 30  # every operation of the schema was tried
    assert set(report.requests) == set(SCOPES)
    assert min(report.requests.values()) >= report.operations  # each scope on each operation
    assert all(status < 500 for status in report.statuses)
    assert report.problems == [], "\n".join(sorted(set(report.problems))[:20])
