"""The task timeout is hard: a task stuck inside one ATS call (a trickling answer) is
abandoned and recorded as timed out, the others go on, and ``/healthz`` names it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from atsbridge.store import SyncRun
from hostile_server import HostileServer
from hoststub import Behaviour, stub_config
from sandboxes import wait_for
from sqlmodel import select
from test_scheduling import fast_config


def _health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_trickling_ats_is_abandoned_at_the_task_timeout(sqlite_app, stub) -> None:
    from atsbridge.host import Host

    app = sqlite_app
    with HostileServer() as server:
        app.connections.connect("slow", "stub", stub_config("slow"), check=False)
        app.connections.connect("fine", "stub", stub_config("fine"), check=False)
        # One byte every 0.25 s: every read succeeds, the answer never ends; the client's
        # own total deadline (20 s) is far past the task timeout (1 s).
        stub.behaviour["slow"] = Behaviour(fetch=server.url + "/trickle", fetch_deadline=20)
        host = Host(
            app,
            fast_config(task_timeout_seconds=1.0, lease_seconds=0.6, metrics_port=0, workers=4),
        )
        try:
            host.start()
            slow_cid = next(c for c, e in host.connections.items() if e.tenant == "slow")
            timed_out = host.metrics.runs.labels("stub", "jobs", "timed_out")
            wait_for(lambda: timed_out._value.get() >= 1, timeout=30, what="a timeout")

            status, health = _health(host.metrics_port)
            assert status == 503 and health["status"] == "unhealthy"
            stuck = [t for t in health["stuck_tasks"] if t["abandoned"]]
            assert stuck and stuck[0]["connection"] == "slow/stub" and stuck[0]["task"] == "jobs"
            assert any("task jobs of slow/stub" in p for p in health["problems"])

            # The scheduler goes on: the healthy connection keeps syncing, and the stuck
            # task's lease was released as run, so its next run starts after its interval
            # (beside the abandoned thread) instead of being refused as busy.
            before = stub.count("fine")
            wait_for(lambda: stub.count("fine") >= before + 2, timeout=30, what="other syncs")
            assert (slow_cid, "jobs") in host.leases.last_runs()
            wait_for(lambda: stub.count("slow") >= 2, timeout=30, what="the next slow run")
        finally:
            clean = host.stop()
        assert clean  # an abandoned task does not hold up the stop
        with app.store.system_session() as session:
            running = session.exec(
                select(SyncRun).where(
                    SyncRun.connection_id == slow_cid, SyncRun.status == "running"
                )
            ).all()
        assert running == []
    # The server gone, the stuck call fails and its thread returns: no longer stuck (and
    # nothing of this test logs into the next one).
    wait_for(lambda: host.stuck_tasks() == [], timeout=30, what="the abandoned thread")
