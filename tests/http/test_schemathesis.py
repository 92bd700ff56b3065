"""Property tests of the API against its own OpenAPI spec (schemathesis, bounded examples):
no 5xx for any generated request, and every response matches its documented schema."""

from __future__ import annotations

import tempfile
from typing import Any

import schemathesis
from atsbridge.http.app import create_app
from httpworld import make_world
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# What the API promises: never a 5xx, and each response as documented (status, media type,
# body schema). Checks about how strictly input is refused are not that promise.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Built at import: schemathesis generates one test per operation from the loaded schema.
# The database is a throw-away SQLite file; the world is the one every HTTP test uses.
_WORLD = make_world(f"sqlite:///{tempfile.mkdtemp(prefix='atsbridge-st-')}/api.db")
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_WORLD.app))


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_spec(case: Any) -> None:
    # A real key, so generated requests reach the routes rather than stop at 401.
    case.call_and_validate(headers=_WORLD.auth("admin"), checks=CHECKS)
