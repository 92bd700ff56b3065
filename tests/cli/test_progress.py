"""Sync progress: totals where the ATS gives them, rate, time left, the legend once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._progress import LEGEND, describe
from atsbridge.cli._root import CliState
from atsbridge.model import RateLimit, SandboxOptions
from atsbridge.plugins import PluginRegistry
from atsbridge.services.sync import RunReport
from click.testing import CliRunner, Result

FAST = RateLimit(requests_per_second=500.0, burst=100, max_concurrency=4)


def _report(status: str = "running", total: int | None = 1000, **counts: int) -> RunReport:
    return RunReport(
        id=1,
        tenant="acme",
        ats="lever",
        kind="jobs",
        scope="",
        status=status,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        ended_at=None,
        pages=3,
        counts=counts,
        errors=[],
        progress={} if total is None else {"total": total},
    )


def test_describe_with_a_total_shows_rate_and_time_left() -> None:
    line = describe(_report(added=200, updated=50), elapsed=10.0)
    assert line == "3 page(s), 250 of 1,000 items, 25/s, about 30s left, +200 ~50 -0 =0"


def test_describe_without_a_total_and_when_done() -> None:
    assert describe(_report(total=None, unchanged=3), elapsed=2.0) == (
        "3 page(s), 3 items, 1.5/s, +0 ~0 -0 =3"
    )
    done = describe(_report(status="succeeded", added=1000), elapsed=100.0)
    assert done == "3 page(s), 1,000 of 1,000 items, 10/s, +1000 ~0 -0 =0"
    slow = describe(_report(added=1, total=100_000), elapsed=10.0)
    assert slow.endswith("0.1/s, about 277h46m left, +1 ~0 -0 =0")


@pytest.fixture
def sandboxed(tmp_path: Path):
    registry = PluginRegistry.discover()
    plugin = registry.get("smartrecruiters")
    plugin.info = attrs.evolve(plugin.info, rate_limit=FAST)
    options = SandboxOptions(seed=3, jobs=12, candidates_per_job=2, rate_limited=False)
    sandbox = plugin.call("atsbridge_sandbox", options=options).start()
    db = f"sqlite:///{tmp_path / 'p.db'}"
    with Atsbridge(db=db, registry=registry) as app:
        app.connections.connect("acme", "smartrecruiters", sandbox.connection_config())

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db, *args], obj=CliState(registry))

    try:
        yield run
    finally:
        sandbox.stop()


def test_sync_progress_shows_the_ats_total_and_the_legend_once(sandboxed) -> None:
    result = sandboxed("sync", "acme", "smartrecruiters", "--jobs", "--progress")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == LEGEND and lines.count(LEGEND) == 1
    progress = [line for line in lines if line.startswith("acme/smartrecruiters jobs: ")]
    assert progress and "of 12 items" in progress[-1], lines
    assert progress[-1].endswith("+12 ~0 -0 =0")
    assert lines[-1] == (
        'next: atsbridge jobs search acme "TEXT" --ats smartrecruiters  (find a job to import)'
    )


def test_no_progress_when_piped_or_json_unless_asked(sandboxed) -> None:
    piped = sandboxed("sync", "acme", "smartrecruiters", "--jobs")
    assert LEGEND not in piped.stderr and "page(s)" not in piped.stderr
    as_json = sandboxed("sync", "acme", "smartrecruiters", "--jobs", "--json")
    assert as_json.stderr == ""
    forced = sandboxed("sync", "acme", "smartrecruiters", "--jobs", "--json", "--progress")
    assert forced.stderr.splitlines()[0] == LEGEND


def test_cnts_sync_shows_progress(sandboxed) -> None:
    assert sandboxed("sync", "acme", "smartrecruiters", "--jobs").exit_code == 0
    job = sandboxed("jobs", "search", "acme", "--status", "open", "-q").stdout.split()[0]
    assert sandboxed("jobs", "import", "acme", "smartrecruiters", job, "--job", "P1").exit_code == 0
    result = sandboxed("cnts", "sync", "acme", "smartrecruiters", "--progress")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == LEGEND
    assert any(
        line.startswith(f"acme/smartrecruiters candidates/{job}: ") and "2 items" in line
        for line in lines
    ), lines
