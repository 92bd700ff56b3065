"""Job search through the HTTP API at a steady request rate: p50/p95 latency, server CPU.

    .venv/bin/python bench/api_search.py                  # 100,000 jobs, 200 req/s for 20 s
    .venv/bin/python bench/api_search.py --rate 100 --seconds 10 --scale 0.1

Builds the mirror the way bench/jobs_search.py does (bulk rows and index entries, one
tenant), starts ``atsbridge serve --port 0`` as its own process, creates a read key, then
sends searches (word, location, partial reference, no query: the import window's mix) on an
open-loop schedule: request i leaves at start + i / rate whatever the earlier ones did, so a
slow server shows as latency instead of a lower rate. Latency is measured from the scheduled
send time. The server's CPU share is its user + system CPU seconds over the measured wall
time (1.0 = one core), read from /proc. The load average is printed: on a shared machine
other processes' load is part of every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import jobs_search
from atsbridge.api import Atsbridge
from atsbridge.plugins import PluginRegistry

jobs_search.TENANTS = 1  # the 100,000 jobs of the measured tenant, nothing else


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _run(url: str, key: str, queries: list[str | None], rate: float, n: int):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    headers = {"Authorization": f"Bearer {key}"}
    # No pool or read timeout: a server that falls behind shows as latency, not as a crash.
    timeout = httpx.Timeout(None)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=timeout
    ) as client:

        async def one(i: int, due: float) -> None:
            q = queries[i % len(queries)]
            params = {"limit": "20", **({"q": q} if q else {})}
            r = await client.get(f"/v1/tenants/{jobs_search.MEASURED}/jobs", params=params)
            latencies.append((time.perf_counter() - due) * 1000)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        for i in range(20):  # warm connections and caches
            await one(i, time.perf_counter())
        latencies.clear()
        statuses.clear()
        start = time.perf_counter()
        tasks = []
        for i in range(n):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    return latencies, statuses, wall


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 jobs")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured duration")
    parser.add_argument("--db", help="SQLite file to build/reuse (default: a temp file)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    per_tenant = max(100, int(jobs_search.PER_TENANT * args.scale))
    path = Path(args.db) if args.db else Path(tempfile.mkdtemp()) / "api-bench.db"
    db = f"sqlite:///{path}"
    with Atsbridge(db=db, registry=PluginRegistry()) as app:
        if not app.store.tenant_keys():
            print(f"building {per_tenant:,} jobs in {path} ...", file=sys.stderr)
            jobs_search.build(app, per_tenant, args.seed)
        key = app.api_keys.create("bench", scope="read")[1]
    mix = jobs_search._queries(random.Random(args.seed + 1), per_tenant)
    queries = [q for qs in zip(*mix.values(), strict=False) for q in qs]
    env = {**os.environ, "ATSBRIDGE_HOME": str(path.parent), "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "atsbridge.cli",
            "--db",
            db,
            "serve",
            "--port",
            "0",
            "--log-level",
            "warning",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stderr is not None
        url = None
        for line in server.stderr:
            match = re.match(r"api: (http://127\.0\.0\.1:\d+)", line)
            if match:
                url = match.group(1)
                break
        if url is None:
            print("the server did not start", file=sys.stderr)
            return 1
        n = int(args.rate * args.seconds)
        cpu0 = _cpu_seconds(server.pid)
        latencies, statuses, wall = asyncio.run(_run(url, key, queries, args.rate, n))
        cpu = _cpu_seconds(server.pid) - cpu0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    load = os.getloadavg()
    print(
        f"{per_tenant:,} jobs, {n} searches at {args.rate:g}/s over {wall:.1f}s "
        f"(achieved {n / wall:.0f}/s), statuses {statuses}"
    )
    print(f"latency p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms")
    print(
        f"server CPU {cpu:.1f} s = {cpu / wall:.2f} of one core "
        f"({cpu / n * 1000:.2f} ms per request); load average {load[0]:.2f} {load[1]:.2f} "
        f"on {os.cpu_count()} cores"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
