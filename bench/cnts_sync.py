"""Benchmark: initial pipeline sync into do-not-source lists, against a bare httpx loop.

Seeds a plugin's sandbox (default smartrecruiters) with 2,000 jobs of 100 candidates each,
rate limits off, links every job, and times the core's ``candidates`` sync of all of them
(plugin hooks, mapping, normalisation, SQLite writes, checkpoints, run records). Then it
replays exactly the HTTP requests that sync made with a bare ``httpx.Client`` that only
fetches each page and decodes its JSON, and reports the ratio of the two throughputs
(target: the sync reaches at least 0.6 of the bare loop).

The sync runs as the host runs it: a task of this many first (full) passes stores through
worker processes, every core but one (``services/cnts_processes``), while this process keeps the
plugin session and fetches; ``--processes N`` sets the ``cnts_sync_processes`` connection
setting instead (0: everything in this process). The sandbox runs in a child process of its
own, so its CPU time is charged to neither loop (``--in-process`` keeps it in a thread, as
the tests do). CPU times (the workers' included) are printed beside the wall times: on a
shared machine the wall times swing with the load. The bare loop stays sequential, as the
ATS's one-listing-at-a-time rule has the sync's requests. It replays every successful GET of
the sync, but counts people on the pipeline listing's pages only (``LISTINGS``): the sync's
other reads, such as Greenhouse's candidate lookups, hold no one the listing did not.

The store is an SQLite file in a temporary directory; ``--postgres [ADMIN_URL]`` uses a
fresh schema in that PostgreSQL database instead (default: the local test database),
dropped at the end.

    .venv/bin/python bench/cnts_sync.py [--ats smartrecruiters] [--jobs 2000] [--per-job 100]
        [--processes N] [--in-process] [--postgres [ADMIN_URL]]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa
from atsbridge.api import Atsbridge
from atsbridge.model import RateLimit, SandboxOptions, SessionContext
from atsbridge.secrets import resolve_references, unseal
from atsbridge.services.cnts import sync_candidates, worker_processes
from atsbridge.sessions import PluginSession
from atsbridge.store import JobLink
from cryptography.fernet import Fernet

TENANT = "bench"
PG_ADMIN_URL = os.environ.get(
    "ATSBRIDGE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
UNPACED = RateLimit(requests_per_second=100_000.0, burst=100_000, max_concurrency=8)
# How each plugin's sandbox expects the credential the request log recorded.
AUTH_HEADERS = {
    "smartrecruiters": lambda value: {"X-SmartToken": value},
    "lever": lambda value: {"Authorization": f"Basic {value}"},
    "greenhouse": lambda value: {"Authorization": f"Bearer {value}"},
}
# Each plugin's pipeline listing: one person per item on its pages, the people the sync
# stores, so the check below compares their count with the sync's. The sync's other GETs are
# replayed all the same (it had to make them) but not counted: Greenhouse lists a job's
# applications, then fetches their candidates by ids (the same people again, 50 a page);
# Lever reads its archive reasons (4, not people) once per session.
LISTINGS = {
    "smartrecruiters": "/candidates",
    "lever": "/v1/opportunities",
    "greenhouse": "/v3/applications",
}


class RemoteSandbox:
    """A plugin's sandbox in a child process, driven over a pipe (start, facts, log, stop)."""

    def __init__(self, ats: str, options: SandboxOptions):
        parent, child = mp.Pipe()
        self.conn = parent
        self.process = mp.Process(target=_serve, args=(ats, options, child), daemon=True)
        self.process.start()
        self.url, self.config, self.job_ids = parent.recv()

    def request_log(self) -> list[tuple[str, str, str, str, int | None]]:
        self.conn.send("log")
        return self.conn.recv()

    def clear_log(self) -> None:
        self.conn.send("clear")
        self.conn.recv()

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(10)


def _serve(ats: str, options: SandboxOptions, conn) -> None:  # type: ignore[no-untyped-def]
    app = Atsbridge(db="sqlite://")
    sandbox = app.plugin(ats).call("atsbridge_sandbox", options=options)
    sandbox.start()
    # Job ids only: asking every pipeline's size is a scan of all people per job.
    conn.send((sandbox.url, sandbox.connection_config(), [j.ats_id for j in sandbox.jobs()]))
    while True:
        command = conn.recv()
        if command == "log":
            conn.send(
                [(r.method, r.path, r.query, r.auth_value, r.status) for r in sandbox.request_log]
            )
        elif command == "clear":
            sandbox.clear_log()
            conn.send(True)
        else:
            sandbox.stop()
            return


class LocalSandbox:
    def __init__(self, ats: str, options: SandboxOptions, app: Atsbridge):
        self.sandbox = app.plugin(ats).call("atsbridge_sandbox", options=options)
        self.sandbox.start()
        self.url, self.config = self.sandbox.url, self.sandbox.connection_config()
        self.job_ids = [j.ats_id for j in self.sandbox.jobs()]

    def request_log(self) -> list[tuple[str, str, str, str, int | None]]:
        return [
            (r.method, r.path, r.query, r.auth_value, r.status) for r in self.sandbox.request_log
        ]

    def clear_log(self) -> None:
        self.sandbox.clear_log()

    def stop(self) -> None:
        self.sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ats", default="smartrecruiters", choices=sorted(AUTH_HEADERS))
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--per-job", type=int, default=100)
    parser.add_argument("--processes", type=int, default=None)
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--postgres", nargs="?", const=PG_ADMIN_URL, metavar="ADMIN_URL")
    args = parser.parse_args()

    with _store(args.postgres) as db:
        app = Atsbridge(db=db)
        try:
            _bench(app, args)
        finally:
            app.close()


@contextmanager
def _store(pg_admin_url: str | None) -> Iterator[str]:
    """The database URL the sync stores into, removed afterwards (with the key file)."""
    with tempfile.TemporaryDirectory(prefix="cnts-sync-bench-") as workdir:
        # The secret key file lives beside an SQLite file, else in ATSBRIDGE_HOME: never
        # the user's own.
        os.environ["ATSBRIDGE_HOME"] = workdir
        if pg_admin_url is None:
            yield f"sqlite:///{Path(workdir) / 'store.db'}"
        else:
            # PostgreSQL needs a configured key (atsbridge never mints one for a shared db).
            os.environ.setdefault("ATSBRIDGE_SECRET_KEY", Fernet.generate_key().decode())
            with _pg_schema(pg_admin_url) as url:
                yield url


@contextmanager
def _pg_schema(pg_admin_url: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(pg_admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _bench(app: Atsbridge, args: argparse.Namespace) -> None:
    plugin = app.plugin(args.ats)
    t0 = time.perf_counter()
    options = SandboxOptions(
        seed=3, jobs=args.jobs, candidates_per_job=args.per_job, rate_limited=False
    )
    sandbox = (
        LocalSandbox(args.ats, options, app)
        if args.in_process
        else RemoteSandbox(args.ats, options)
    )
    where = "in this process" if args.in_process else "in a child process"
    print(
        f"{args.ats} sandbox {where}: {args.jobs:,} jobs x {args.per_job} seeded in "
        f"{time.perf_counter() - t0:.1f} s at {sandbox.url}"
    )
    print(f"store: {app.store.dialect}")
    try:
        run(app, plugin, sandbox, args)
    finally:
        sandbox.stop()


def run(app: Atsbridge, plugin, sandbox, args) -> None:  # type: ignore[no-untyped-def]
    app.connections.connect(TENANT, args.ats, sandbox.config)
    job_ids = sorted(sandbox.job_ids)
    now = app.clock()
    if args.processes is not None:
        app.connections.update_settings(TENANT, args.ats, cnts_sync_processes=args.processes)
    with app.store.tenant(TENANT) as repo:
        connection = repo.require_connection(args.ats)
        connection_id = connection.id
        settings = dict(connection.settings)
        for i, job_id in enumerate(job_ids):
            repo.add(
                JobLink(
                    connection_id=connection_id,
                    product_job_id=f"P{i}",
                    ats_job_id=job_id,
                    created_at=now,
                    updated_at=now,
                )
            )

    # The host's session, minus the ATS's published pacing: the sandbox enforces none here.
    context = SessionContext(connection_label=f"{TENANT}/{args.ats}", rate_limit=UNPACED)
    stored = app.connections._stored_config(TENANT, args.ats)
    assert stored is not None
    plain = resolve_references(unseal(stored, app.secret_box))
    raw = plugin.call("atsbridge_open_session", config=plain, context=context)
    session = PluginSession(TENANT, args.ats, connection_id, settings, plugin, raw)
    sandbox.clear_log()
    try:
        cpu = _cpu()
        started = time.perf_counter()
        reports = sync_candidates(app, session)
        ours = time.perf_counter() - started
        own_cpu, workers_cpu = (after - before for after, before in zip(_cpu(), cpu, strict=True))
        ours_cpu = own_cpu + workers_cpu
    finally:
        session.close()
    added = sum(r.counts["added"] for r in reports)
    failed = [r for r in reports if r.status != "succeeded"]
    pages = [r for r in sandbox.request_log() if r[0] == "GET" and r[4] == 200]
    processes = worker_processes(app, settings, [(j, True) for j in job_ids])
    how = (
        f"{processes} worker process{'es' if processes > 1 else ''}"
        if processes
        else "in this process"
    )
    print(
        f"sync ({how}): {added:,} candidates from {len(pages):,} pages in {ours:.1f} s -> "
        f"{added / ours:,.0f} candidates/s "
        f"(CPU {own_cpu:.1f} s here, {workers_cpu:.1f} s in workers)"
    )
    if failed:
        raise SystemExit(f"sync incomplete: {len(failed)} failed runs")

    header, listing = AUTH_HEADERS[args.ats], LISTINGS[args.ats]
    others: dict[str, list[int]] = {}  # path of a non-listing GET -> [pages, items]
    with httpx.Client(base_url=sandbox.url, timeout=60) as client:
        started, cpu = time.perf_counter(), time.process_time()
        decoded = 0
        for _method, path, query, auth_value, _status in pages:
            response = client.get(path + (f"?{query}" if query else ""), headers=header(auth_value))
            response.raise_for_status()
            if path == listing:
                decoded += _items(response.json())
            else:
                tally = others.setdefault(path, [0, 0])
                tally[0] += 1
                tally[1] += _items(response.json())
        bare = time.perf_counter() - started
        bare_cpu = time.process_time() - cpu
    if decoded != added:
        where = f"the {listing} pages" if others else "the pages"
        raise SystemExit(f"the sync stored {added:,} people but {where} hold {decoded:,}")
    print(
        f"bare httpx loop: the same {len(pages):,} pages in {bare:.1f} s -> "
        f"{added / bare:,.0f} candidates/s (CPU {bare_cpu:.1f} s)"
    )
    if others:
        also = ", ".join(f"{n:,} {path} ({items:,} items)" for path, (n, items) in others.items())
        print(
            f"  people counted on the {len(pages) - sum(n for n, _ in others.values()):,} "
            f"{listing} pages; also replayed, not counted: {also}"
        )
    ratio = bare / ours
    verdict = "PASS" if ratio >= 0.6 else "FAIL"
    print(f"ratio sync/bare throughput: {ratio:.2f} (target >= 0.6: {verdict})")
    print(
        f"CPU per candidate: sync {ours_cpu / added * 1e6:.0f} us (workers included), "
        f"bare loop {bare_cpu / added * 1e6:.0f} us"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process, and of its children that have exited (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _items(body: object) -> int:
    """People on one page: the page itself or its longest list (``content``, ``data``...)."""
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        return max((len(v) for v in body.values() if isinstance(v, list)), default=0)
    return 0


if __name__ == "__main__":
    main()
