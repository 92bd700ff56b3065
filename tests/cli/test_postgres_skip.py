"""Without a PostgreSQL server its tests skip with the reason; under CI=true they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# One PostgreSQL test (marked postgres, through pg_schema_url).
TARGETS = ["tests/test_secret_key.py::test_postgres_requires_a_configured_key"]
DEAD = "postgresql+psycopg://postgres@127.0.0.1:9/test"  # port 9 (discard): nothing listens


def _run(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER")}
    env["ATSBRIDGE_TEST_PG"] = DEAD
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-q", "-rs", *TARGETS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_a_server_postgres_tests_skip_with_the_reason() -> None:
    result = _run(None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "no PostgreSQL server answers at postgresql+psycopg://postgres@127.0.0.1:9/test" in (
        result.stdout
    )
    assert "-m 'not postgres'" in result.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_missing_server_fails(ci: str) -> None:
    result = _run(ci)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 error" in result.stdout or "1 failed" in result.stdout
    assert "CI=true: the PostgreSQL tests must run" in result.stdout
