"""Benchmark: one host scheduling 10,000 connections, idle. Prints memory and idle CPU.

    .venv/bin/python bench/host_idle.py [--connections 10000] [--seconds 30] [--db URL]

The connections use an in-process stub plugin (no HTTP): what is measured is the host's
own cost (APScheduler jobs, reconcile, outbox poll, heartbeat), not an ATS's. Every task is
recorded as having just run, so nothing is due while measuring, which is what "idle" means
for a host whose connections sync every 30 minutes or more. Targets: under 500 MB resident
and under 5% of one core.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from atsbridge.api import Atsbridge
from atsbridge.hookspecs import hookimpl
from atsbridge.host import TASKS, Host, HostConfig
from atsbridge.model import Capability, Page, PluginInfo
from atsbridge.plugins import PluginRegistry
from atsbridge.store import Connection, TaskLease, Tenant


class IdleStub:
    @hookimpl
    def atsbridge_plugin_info(self) -> PluginInfo:
        return PluginInfo(
            name="idle",
            version="0",
            display_name="Idle stub",
            capabilities={Capability.JOBS},
            config_schema={"type": "object"},
            setup_instructions="-",
            api_version="0",
        )

    @hookimpl
    def atsbridge_open_session(self, config: dict, context: Any) -> object:
        return object()

    @hookimpl
    def atsbridge_search_jobs(self, session: Any, query: Any) -> Page:
        return Page(items=())

    @hookimpl
    def atsbridge_list_candidates(self, session: Any, query: Any) -> Page:
        return Page(items=())

    @hookimpl
    def atsbridge_job_statuses(self, session: Any, job_ids: list[str]) -> list:
        return []

    @hookimpl
    def atsbridge_push_lead(
        self, session: Any, job_id: str, lead: Any, idempotency_key: str
    ) -> Any:
        raise NotImplementedError("the idle benchmark exports nothing")


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def populate(app: Atsbridge, n: int) -> None:
    """Insert n tenants/connections and a just-ran lease per timed task, in bulk."""
    now = datetime.now(UTC)
    engine = app.store.engine
    tenants = Tenant.__table__  # type: ignore[attr-defined]
    connections = Connection.__table__  # type: ignore[attr-defined]
    leases = TaskLease.__table__  # type: ignore[attr-defined]
    timed = [t.name for t in TASKS if not t.polled]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tenants),
            [{"id": i, "key": f"t{i}", "created_at": now} for i in range(1, n + 1)],
        )
        conn.execute(
            sa.insert(connections),
            [
                {
                    "id": i,
                    "tenant_id": i,
                    "ats": "idle",
                    "config": {},
                    "settings": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, n + 1)
            ],
        )
        conn.execute(
            sa.insert(leases),
            [
                {"tenant_id": i, "connection_id": i, "task": task, "last_run_at": now}
                for i in range(1, n + 1)
                for task in timed
            ],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="atsbridge-bench-")
    os.environ.setdefault("ATSBRIDGE_HOME", workdir)
    registry = PluginRegistry()
    registry.register(IdleStub(), "idle")
    assert registry.statuses[-1].ok, registry.statuses[-1].error
    app = Atsbridge(db=args.db or f"sqlite:///{workdir}/bench.db", registry=registry)
    base_rss = rss_mb()
    t0 = time.monotonic()
    populate(app, args.connections)
    t1 = time.monotonic()
    host = Host(app, HostConfig(workers=8))
    host.start()
    t2 = time.monotonic()
    jobs = len(host.scheduler.get_jobs())
    time.sleep(5)  # let start-up settle (first outbox poll, first heartbeat)
    cpu0, wall0 = cpu_seconds(), time.monotonic()
    time.sleep(args.seconds)
    cpu1, wall1 = cpu_seconds(), time.monotonic()
    rss = rss_mb()
    ran = sum(
        host.metrics.runs.labels("idle", t.name, o)._value.get()
        for t in TASKS
        for o in ("succeeded", "failed")
    )
    host.stop()
    app.close()
    idle = (cpu1 - cpu0) / (wall1 - wall0) * 100
    print(f"connections:            {args.connections}")
    print(f"scheduler jobs:         {jobs}")
    print(f"populate:               {t1 - t0:.1f}s")
    print(f"host start (schedule):  {t2 - t1:.1f}s")
    print(f"resident memory:        {rss:.0f} MB (process before the store: {base_rss:.0f} MB)")
    print(f"idle CPU:               {idle:.2f}% of one core over {wall1 - wall0:.0f}s")
    print(f"task runs while idle:   {ran:.0f}")
    print(
        f"targets:                < 500 MB: {'ok' if rss < 500 else 'MISSED'}, "
        f"< 5%: {'ok' if idle < 5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
