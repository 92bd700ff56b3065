"""Benchmark: export 1,000 leads through the outbox against a sandbox limited to 10 req/s.

    .venv/bin/python bench/leads_export.py [--ats smartrecruiters] [--leads 1000] [--rate 10]

The sandbox enforces a token bucket of ``--rate`` requests/s (burst = rate) and the client
is told the same limit. The floor is the number of requests the export needed divided by
the rate: no exporter can beat it without breaking the limit. Reported: wall time of the
drain, the floor, how far above it we are (target: within 15%) and the 429s the sandbox
had to send for limit violations (target: zero).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "leads"))

from atsbridge.api import Atsbridge  # noqa: E402
from atsbridge.model import RateLimit, SandboxOptions  # noqa: E402
from atsbridge_sdk.sandbox import TokenBucketLimit  # noqa: E402
from conftest import lead_doc  # noqa: E402
from sandboxed import PRODUCT_JOB, link_open_job, registry_for, start_sandbox  # noqa: E402

CLIENT_SHARE = 0.97


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ats", default="smartrecruiters")
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="atsbridge-bench-")
    os.environ["ATSBRIDGE_HOME"] = home
    db = args.db or f"sqlite:///{home}/bench.db"
    burst = max(1, int(args.rate))
    # The client paces a hair under the ATS's limit: at exactly the limit, network jitter
    # bunches arrivals enough for the server's bucket to refuse the odd request.
    client = RateLimit(args.rate * CLIENT_SHARE, max(1, burst - 1), 1)
    registry = registry_for(args.ats, client)
    sandbox = start_sandbox(
        registry, args.ats, SandboxOptions(seed=5, jobs=3, candidates_per_job=2)
    )
    sandbox.rate_limit = TokenBucketLimit(rate=args.rate, burst=burst)
    sandbox.enforce_rate_limit = True
    try:
        with Atsbridge(db=db, registry=registry) as app:
            app.connections.connect("acme", args.ats, sandbox.connection_config())
            link_open_job(app, sandbox, args.ats, PRODUCT_JOB)
            t0 = time.perf_counter()
            for i in range(args.leads):
                app.leads.enqueue("acme", PRODUCT_JOB, lead_doc(f"bench-{i}"))
            enqueue_s = time.perf_counter() - t0
            time.sleep(burst / args.rate)  # refill the bucket the connect check used
            sandbox.clear_log()
            t1 = time.perf_counter()
            report = app.leads.drain()
            wall = time.perf_counter() - t1
            states: dict[str, int] = {}
            for view in app.leads.list("acme"):
                states[view.state] = states.get(view.state, 0) + 1
        log = sandbox.request_log
        violations = sum(1 for r in log if r.rate_limited)
        needed = sum(1 for r in log if not r.rate_limited)
        floor = needed / args.rate
        print(f"plugin            {args.ats} (client paced at {client.requests_per_second:g}/s)")
        print(f"leads             {args.leads} ({states})")
        print(f"enqueue           {enqueue_s:.1f} s ({args.leads / enqueue_s:.0f} leads/s)")
        print(f"drain             {report.counts()}")
        print(f"requests needed   {needed} ({needed / args.leads:.2f} per lead)")
        print(f"floor             {floor:.1f} s at {args.rate:g} req/s")
        print(f"wall time         {wall:.1f} s ({100 * (wall / floor - 1):+.1f}% vs floor)")
        print(f"429s (violations) {violations}")
        ok = wall <= floor * 1.15 and violations == 0 and states.get("exported") == args.leads
        print("target            " + ("met" if ok else "NOT met") + " (<= floor +15%, zero 429s)")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
