"""Metrics and health endpoint, `atsbridge runs`, and the secret-key check at start."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.host import Host, HostConfig, HostError
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sandboxes import QUICK, connect, fast_registry, start, wait_for


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_metrics_health_and_runs(tmp_path: Path) -> None:
    registry = fast_registry()
    sandbox = start(registry, "greenhouse")
    app = Atsbridge(db=f"sqlite:///{tmp_path / 'obs.db'}", registry=registry)
    host = Host(
        app,
        HostConfig(
            metrics_port=0, reconcile_seconds=0.3, lease_seconds=5, first_run_spread_seconds=0.1
        ),
    )
    try:
        connect(app, "acme", "greenhouse", sandbox, QUICK)
        host.start()
        base = f"http://127.0.0.1:{host.metrics_port}"
        wait_for(
            lambda: host.metrics.runs.labels("greenhouse", "jobs", "succeeded")._value.get() >= 1,
            what="a job sync",
        )
        status, body = _get(base + "/healthz")
        health = json.loads(body)
        assert status == 200 and health["status"] == "ok" and health["connections"] == 1
        status, body = _get(base + "/metrics")
        text = body.decode()
        assert status == 200
        for name in (
            'atsbridge_task_runs_total{ats="greenhouse",outcome="succeeded",task="jobs"}',
            'atsbridge_http_requests_total{ats="greenhouse",code="200"}',
            'atsbridge_outbox_depth{state="pending"} 0.0',
            'atsbridge_task_lag_seconds{task="jobs"}',
            "atsbridge_http_throttled_total",
            "atsbridge_http_retries_total",
            "atsbridge_live_hosts 1.0",
        ):
            assert name in text or name.split("{")[0] in text, name
        assert _get(base + "/nope")[0] == 404

        state = CliState(registry=registry, app=app)
        result = CliRunner().invoke(cli, ["runs", "--tenant", "acme", "--json"], obj=state)
        assert result.exit_code == 0, result.output
        rows = json.loads(result.output)
        assert any(r["kind"] == "jobs" and r["status"] == "succeeded" for r in rows)
        assert all(r["tenant"] == "acme" and r["ats"] == "greenhouse" for r in rows)
        table = CliRunner().invoke(cli, ["runs", "--kind", "jobs"], obj=state)
        assert table.exit_code == 0 and "greenhouse" in table.output
        bad = CliRunner().invoke(cli, ["runs", "--tenant", "nobody"], obj=state)
        assert bad.exit_code == 2 and "no tenant 'nobody'" in bad.output
    finally:
        host.stop()
        app.close()
        sandbox.stop()
    with pytest.raises(OSError):  # the endpoint stopped with the host
        urllib.request.urlopen(f"http://127.0.0.1:{host.metrics_port}/healthz", timeout=2)


def test_a_host_with_another_secret_key_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = fast_registry()
    sandbox = start(registry, "greenhouse")
    db = f"sqlite:///{tmp_path / 'keys.db'}"
    monkeypatch.setenv("ATSBRIDGE_SECRET_KEY", Fernet.generate_key().decode())
    try:
        with Atsbridge(db=db, registry=registry) as app:
            connect(app, "acme", "greenhouse", sandbox, {})
        monkeypatch.setenv("ATSBRIDGE_SECRET_KEY", Fernet.generate_key().decode())
        with Atsbridge(db=db, registry=registry) as app:
            host = Host(app, HostConfig())
            with pytest.raises(HostError) as caught:
                host.start()
            message = str(caught.value)
            assert "cannot decrypt the secrets of connection acme/greenhouse" in message
            assert "same ATSBRIDGE_SECRET_KEY" in message
            # It gave the SQLite lock back: a host with the right key could start now.
            assert host._sqlite_lock is None
    finally:
        sandbox.stop()


def test_host_run_rejects_bad_intervals(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(cli, ["--db", db, "host", "run", "--interval", "jobs=0"])
    assert result.exit_code == 2
    assert "--interval jobs: must be a positive number of minutes" in result.output
