"""A dead ATS: the error names the host, check/connect fail fast, other commands say they retry."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.model import SandboxOptions
from atsbridge.plugins import PluginRegistry
from atsbridge_sdk.http import RetryPolicy
from click.testing import CliRunner, Result

PLUGINS = ["greenhouse", "lever", "smartrecruiters", "workday"]


@attrs.define
class Dead:
    """A connection stored while its sandbox ran; then the sandbox stopped: the port refuses."""

    ats: str
    db: str
    host: str
    config: dict
    registry: PluginRegistry
    backoffs: list[int] = attrs.Factory(list)

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", self.db, *args], obj=CliState(self.registry))


@pytest.fixture
def dead(tmp_path: Path, request: pytest.FixtureRequest, monkeypatch) -> Dead:
    ats = request.param
    registry = PluginRegistry.discover()
    options = SandboxOptions(seed=2, jobs=3, candidates_per_job=1, rate_limited=False)
    sandbox = registry.get(ats).call("atsbridge_sandbox", options=options).start()
    config = sandbox.connection_config()
    db = f"sqlite:///{tmp_path / 'dead.db'}"
    with Atsbridge(db=db, registry=registry) as app:
        app.connections.connect("acme", ats, config)
        app.session_pool.close()
    host = sandbox.url.split("//", 1)[1].rstrip("/")
    sandbox.stop()
    out = Dead(ats, db, host, config, registry)

    # No real waiting between attempts; the attempts are counted instead.
    def no_wait(policy: RetryPolicy, attempt: int, rng: object) -> float:
        out.backoffs.append(attempt)
        return 0.0

    monkeypatch.setattr(RetryPolicy, "backoff", no_wait)
    return out


@pytest.mark.parametrize("dead", PLUGINS, indirect=True)
def test_check_of_a_refused_connection_fails_at_once_naming_the_host(dead: Dead) -> None:
    result = dead.run("check", "acme", dead.ats)
    assert result.exit_code == 1, result.output
    assert dead.host in result.stderr
    assert "connection refused after 1 attempt(s)" in result.stderr
    assert "retrying" not in result.stderr and dead.backoffs == []


@pytest.mark.parametrize("dead", PLUGINS, indirect=True)
def test_connect_to_a_refused_host_fails_at_once(dead: Dead, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(dead.config))
    result = dead.run("connect", "other", dead.ats, "--config", str(path), "--json")
    assert result.exit_code == 1, result.output
    error = json.loads(result.stderr)["error"]
    assert dead.host in error["message"] and "after 1 attempt(s)" in error["message"]
    assert dead.backoffs == []


@pytest.mark.parametrize("dead", ["lever"], indirect=True)
def test_sync_retries_and_says_so_on_stderr(dead: Dead) -> None:
    result = dead.run("sync", "acme", dead.ats, "--jobs")
    assert result.exit_code == 1, result.output
    shown = [line for line in result.stderr.splitlines() if line.startswith("retrying (")]
    assert [line.split(")")[0] for line in shown] == [f"retrying ({n}/6" for n in range(2, 7)]
    assert all(dead.host in line and "connection refused" in line for line in shown)
    assert dead.backoffs == [1, 2, 3, 4, 5]
    assert "connection refused after 6 attempt(s)" in result.stderr
    assert "ConnectError" not in result.stderr
