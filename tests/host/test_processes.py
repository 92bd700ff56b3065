"""Host processes: SIGTERM exits 0, one host per SQLite file, and several hosts sharing a
PostgreSQL database without ever running a connection's task twice at once, surviving the
SIGKILL of one of them with no lead lost or duplicated."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.plugins import PluginRegistry
from atsbridge.store import SyncRun
from cryptography.fernet import Fernet
from sandboxes import QUICK, connect, enqueue_lead, import_first_open_job, start, wait_for
from sqlmodel import select

pytestmark = pytest.mark.slow

HOST_ARGS = [
    "--lease-seconds",
    "4",
    "--reconcile-seconds",
    "0.3",
    "--outbox-poll-seconds",
    "0.2",
    "--lead-retry-seconds",
    "0.2",
    "--lead-claim-seconds",
    "2",
    "--shutdown-grace",
    "20",
    "--first-run-spread",
    "0.2",
    "--log-format",
    "json",
]


def spawn_host(db: str, host_id: str, log: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", "atsbridge.cli", "--db", db, "host", "run", "--host-id"]
    with open(log, "wb") as fh:
        return subprocess.Popen([*args, host_id, *HOST_ARGS], stdout=fh, stderr=fh)


def runs(app: Atsbridge) -> list[SyncRun]:
    with app.store.system_session() as session:
        return list(session.exec(select(SyncRun)).all())


def assert_no_overlap(all_runs: list[SyncRun]) -> None:
    """Runs of one (connection, kind, scope) follow each other; none starts before the
    previous one ended."""
    groups: dict[tuple, list[SyncRun]] = defaultdict(list)
    for run in all_runs:
        groups[(run.connection_id, run.kind, run.progress.get("scope", ""))].append(run)
    for key, group in groups.items():
        group.sort(key=lambda r: (r.started_at, r.id))
        for before, after in itertools.pairwise(group):
            assert before.ended_at is not None, (key, before.id, "still running before", after.id)
            assert after.started_at >= before.ended_at, (key, before.id, after.id)


def test_sigterm_stops_gracefully_and_a_second_sqlite_host_is_refused(tmp_path: Path) -> None:
    registry = PluginRegistry.discover()
    sandbox = start(registry, "greenhouse")
    db = f"sqlite:///{tmp_path / 'one.db'}"
    app = Atsbridge(db=db, registry=registry)
    try:
        connect(app, "acme", "greenhouse", sandbox, QUICK)
        host = spawn_host(db, "h1", tmp_path / "h1.log")
        try:
            wait_for(lambda: any(r.status == "succeeded" for r in runs(app)), what="a first run")
            second = subprocess.run(
                [sys.executable, "-m", "atsbridge.cli", "--db", db, "host", "run"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode == 1
            assert "SQLite mode runs one host" in second.stderr
            host.send_signal(signal.SIGTERM)
            assert host.wait(timeout=30) == 0
        finally:
            if host.poll() is None:
                host.kill()
        log = (tmp_path / "h1.log").read_text()
        assert '"message": "host h1 stopped"' in log
        assert all(r.status != "running" for r in runs(app))
    finally:
        app.close()
        sandbox.stop()


@pytest.mark.postgres
@pytest.mark.parametrize("hosts", [2, 3])
def test_hosts_share_a_postgres_database_and_survive_a_sigkill(
    hosts: int, pg_schema_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Several hosts need one key; the test process seals secrets with it too.
    monkeypatch.setenv("ATSBRIDGE_SECRET_KEY", Fernet.generate_key().decode())
    registry = PluginRegistry.discover()
    plan = [("greenhouse", 0), ("smartrecruiters", 1), ("workday", 2), ("greenhouse", 3)]
    sandboxes = {f"t{i}": start(registry, ats, seed=10 + i) for ats, i in plan}
    app = Atsbridge(db=pg_schema_url, registry=registry)
    procs: dict[str, subprocess.Popen] = {}
    try:
        for ats, i in plan:
            connect(app, f"t{i}", ats, sandboxes[f"t{i}"], QUICK)
        for n in range(1, hosts + 1):
            procs[f"h{n}"] = spawn_host(pg_schema_url, f"h{n}", tmp_path / f"h{n}.log")
        emails = {}
        for ats, i in plan:
            import_first_open_job(app, f"t{i}", ats, "pj")
        for ats, i in plan:
            for n in range(6):
                emails[(f"t{i}", n)] = enqueue_lead(app, f"t{i}", "pj", ats, n)
        # Kill one host while the drains are going.
        wait_for(
            lambda: (
                sum(v.state == "exported" for i in range(4) for v in app.leads.list(f"t{i}")) >= 3
            ),
            what="exports under way",
        )
        victim = procs.pop("h1")
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = app.clock()

        def all_exported() -> bool:
            views = [v for _, i in plan for v in app.leads.list(f"t{i}")]
            return len(views) == len(emails) and all(v.state == "exported" for v in views)

        wait_for(all_exported, timeout=60, what="every lead exported after the SIGKILL")
        for (tenant, _n), email in emails.items():
            assert len(sandboxes[tenant].people(email)) == 1, email
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            assert proc.wait(timeout=40) == 0, (tmp_path / f"{name}.log").read_text()[-2000:]

        all_runs = runs(app)
        assert_no_overlap(all_runs)
        # Every host did some of the work (drain runs record no host; sync runs do).
        processes = {r.host for r in all_runs if r.host is not None}
        assert len(processes) == hosts, processes
        after = {r.connection_id for r in all_runs if r.started_at > killed_at}
        assert len(after) == len(plan)  # every connection kept running on the survivors
        assert all(r.status != "running" for r in all_runs)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        app.close()
        for sandbox in sandboxes.values():
            sandbox.stop()
        os.environ.pop("ATSBRIDGE_SECRET_KEY", None)
