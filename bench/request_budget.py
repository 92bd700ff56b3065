"""Benchmark: what a connection spends of its ATS's rate limit, per plugin (issue #15).

For each plugin it seeds the sandbox with ``--jobs`` jobs and ``--people`` people spread
over their pipelines, with that ATS's real rate limit enforced, mirrors the jobs, links
``--linked`` of them (not closed ones) and exports ``--leads`` leads into linked jobs. Every
kind then runs as the host runs it: ``app.open_session`` and the registered kind's task, one
task after another in one process. It prints:

(a) the initial do-not-source pass (``candidates``): requests, wall time, the floor (its
    requests at the ATS's enforced rate) and the ratio wall / floor, and the 429s the
    sandbox had to send;
(b) an idle account: requests of one no-change run of each kind times its runs a day at
    the host's default intervals (``atsbridge.host.tasks.TASKS``);
(c) a day where 1 % of the people move: before each kind's measured run, the people that
    move in one of its intervals (1 % of all, divided by its runs a day) move in the
    sandbox; that run's requests times its runs a day.

The daily full passes (``jobs_full``, ``candidates_full``: a day by default) are not in (b)
and (c); their requests are printed on their own line. Request counts come from the
sandbox's request log (every request it answered, token requests included). Wall times on a
shared machine swing with the load; the counts do not.

    .venv/bin/python bench/request_budget.py [--ats lever ...] [--jobs 250] [--linked 200]
        [--people 20000] [--leads 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atsbridge.api import Atsbridge
from atsbridge.host.tasks import TASKS
from atsbridge.model import CandidateStatus, JobStatus, SandboxOptions
from atsbridge.services.sync import KINDS, load_kinds
from atsbridge_sdk.sandbox.server import TokenBucketLimit, WindowLimit

TENANT = "budget"
PLUGINS = ("greenhouse", "lever", "smartrecruiters", "workday")
# The timed host tasks, in the order the host's kinds run (the mirror before what needs it).
DAY_KINDS = ("jobs", "links", "candidates", "statuses")
MINUTES_A_DAY = 24 * 60
MOVES = (CandidateStatus.INTERVIEWING, CandidateStatus.OFFERED, CandidateStatus.IN_REVIEW)


def runs_a_day(kind: str) -> float:
    spec = next(t for t in TASKS if t.kind == kind and not t.polled)
    return MINUTES_A_DAY / spec.default_minutes


def rate_of(sandbox: Any) -> float:
    """Requests per second the sandbox allows one credential over a long walk."""
    limit = sandbox.rate_limit
    if isinstance(limit, TokenBucketLimit):
        return limit.rate
    if isinstance(limit, WindowLimit):
        return limit.limit / limit.seconds
    raise SystemExit(f"{sandbox.name}: the sandbox enforces no rate limit")


def host_run(app: Atsbridge, ats: str, kind: str, *, full: bool = False) -> list[Any]:
    """One run of ``kind`` as the host's scheduler runs it (``Host._execute``)."""
    with app.open_session(TENANT, ats) as session:
        return KINDS[kind].task(app, session, full=full, on_progress=None)


class Counter:
    """Requests the sandbox answered (and 429s it sent) since the last ``start``."""

    def __init__(self, sandbox: Any):
        self.sandbox = sandbox
        self.last: Any = None

    def start(self) -> None:
        self.sandbox.clear_log()

    def requests(self) -> int:
        return len(self.sandbox.request_log)

    def throttled(self) -> int:
        return self.sandbox.rate_limit_violations

    def measure(self, run: Callable[[], Any]) -> tuple[int, float, int]:
        """(requests, wall seconds, 429s) of ``run()``; its result kept in ``last``."""
        self.start()
        t0 = time.perf_counter()
        self.last = run()
        return self.requests(), time.perf_counter() - t0, self.throttled()


class Mover:
    """Moves people of the linked jobs' pipelines, each person once, round robin by job."""

    def __init__(self, sandbox: Any, job_ids: list[str]):
        self.sandbox = sandbox
        self.queues = {job: list(sandbox.pipeline(job)) for job in job_ids}
        self.turn = 0

    def move(self, count: int) -> int:
        moved = 0
        jobs = [job for job, people in self.queues.items() if people]
        while moved < count and jobs:
            job = jobs[self.turn % len(jobs)]
            self.turn += 1
            candidate = self.queues[job].pop()
            self.sandbox.move_candidate(job, candidate, MOVES[moved % len(MOVES)])
            moved += 1
            if not self.queues[job]:
                jobs = [j for j, people in self.queues.items() if people]
        return moved


def bench(ats: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    app = Atsbridge(db=f"sqlite:///{workdir / f'{ats}.db'}")
    try:
        return _bench(app, ats, args)
    finally:
        app.close()


def _bench(app: Atsbridge, ats: str, args: argparse.Namespace) -> dict[str, Any]:
    load_kinds()
    per_job = max(1, args.people // args.jobs)
    options = SandboxOptions(seed=7, jobs=args.jobs, candidates_per_job=per_job, rate_limited=True)
    sandbox = app.plugin(ats).call("atsbridge_sandbox", options=options)
    sandbox.start()
    try:
        counter = Counter(sandbox)
        app.connections.connect(TENANT, ats, sandbox.connection_config())
        host_run(app, ats, "jobs")
        open_jobs = [j.ats_id for j in sandbox.jobs() if j.status != JobStatus.CLOSED]
        linked = sorted(open_jobs)[: args.linked]
        for n, job in enumerate(linked):
            app.jobs.import_job(TENANT, ats, job, f"p-{n}")
        people = sum(len(sandbox.pipeline(job)) for job in linked)
        for n in range(min(args.leads, len(linked))):
            doc = {
                "id": f"lead-{n}",
                "first_name": "Budget",
                "last_name": f"Lead{n}",
                "emails": [f"budget.lead{n}@example.org"],
            }
            app.leads.push(TENANT, f"p-{n}", doc)
        print(
            f"\n== {ats}: {args.jobs} jobs, {len(linked)} linked ({people} people in their "
            f"pipelines), {args.leads} exported leads; enforced rate {rate_of(sandbox):g}/s"
        )
        out: dict[str, Any] = {"ats": ats, "linked": len(linked), "people": people}

        requests, wall, throttled = counter.measure(lambda: host_run(app, ats, "candidates"))
        floor = requests / rate_of(sandbox)
        out["initial"] = (requests, wall, floor, throttled)
        # The listing pages the walk read (account-wide, or every job's): the target is
        # requests <= the account-wide plan's pages + 2.
        pages = sum(r.pages for r in counter.last)
        scopes = sorted({r.scope for r in counter.last})
        plan = "account-wide" if scopes == ["*"] else f"{len(scopes)} listings"
        print(
            f"(a) initial do-not-source pass ({plan}, {pages} pages): {requests} requests, "
            f"{wall:.1f} s wall, floor {floor:.1f} s, "
            f"ratio {wall / floor if floor else float('nan'):.2f}, {throttled} x 429"
        )
        for kind in DAY_KINDS:  # settle: each kind's own first pass is not an idle run
            host_run(app, ats, kind)

        idle: dict[str, int] = {}
        for kind in DAY_KINDS:
            idle[kind], _, _ = counter.measure(lambda kind=kind: host_run(app, ats, kind))
        mover = Mover(sandbox, linked)
        moving: dict[str, int] = {}
        for kind in DAY_KINDS:
            mover.move(round(people / 100 / runs_a_day(kind)))
            moving[kind], _, _ = counter.measure(lambda kind=kind: host_run(app, ats, kind))
        full: dict[str, int] = {}
        for kind in ("jobs", "candidates"):
            full[kind], _, _ = counter.measure(
                lambda kind=kind: host_run(app, ats, kind, full=True)
            )
        print(f"    {'kind':<11}{'runs/day':>9}{'idle run':>10}{'idle/day':>10}", end="")
        print(f"{'1% run':>9}{'1%/day':>9}")
        totals = [0.0, 0.0]
        for kind in DAY_KINDS:
            runs = runs_a_day(kind)
            day_idle, day_moving = idle[kind] * runs, moving[kind] * runs
            totals[0] += day_idle
            totals[1] += day_moving
            print(
                f"    {kind:<11}{runs:>9g}{idle[kind]:>10}{day_idle:>10.0f}"
                f"{moving[kind]:>9}{day_moving:>9.0f}"
            )
        print(f"(b) idle account: {totals[0]:.0f} requests a day")
        print(f"(c) 1 % of the people move: {totals[1]:.0f} requests a day")
        print(
            f"    daily full passes (not in b, c): jobs {full['jobs']}, "
            f"candidates {full['candidates']} requests"
        )
        out.update(idle=idle, moving=moving, full=full, day=totals)
        return out
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ats", action="append", choices=PLUGINS, help="default: all four")
    parser.add_argument("--jobs", type=int, default=250)
    parser.add_argument("--linked", type=int, default=200)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--leads", type=int, default=5)
    args = parser.parse_args()
    if not 0 < args.linked <= args.jobs or args.people < args.jobs or args.leads < 0:
        parser.error("need 0 < --linked <= --jobs <= --people and --leads >= 0")
    with tempfile.TemporaryDirectory(prefix="request-budget-") as workdir:
        os.environ["ATSBRIDGE_HOME"] = workdir  # the secret key file: never the user's own
        results = [bench(ats, args, Path(workdir)) for ats in args.ats or PLUGINS]
    print("\nsummary (requests; wall s):")
    for r in results:
        requests, wall, floor, throttled = r["initial"]
        print(
            f"  {r['ats']:<16} initial {requests:>6} req {wall:>7.1f} s (floor {floor:.1f}, "
            f"x{wall / floor if floor else float('nan'):.2f}, {throttled} x 429)  "
            f"idle/day {r['day'][0]:>7.0f}  1%/day {r['day'][1]:>7.0f}"
        )


if __name__ == "__main__":
    main()
