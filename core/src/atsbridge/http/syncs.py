"""Syncs started through the API: run on a small thread pool of the server that took the
request, answered as soon as the first run is recorded (its progress lives in the store)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from atsbridge.api import Atsbridge
from atsbridge.errors import AtsbridgeError, BadInput
from atsbridge.http.problems import domain_problem
from atsbridge.services.sync import KINDS, RunReport, load_kinds

__all__ = ["FIRST_RUN_WAIT", "new_pool", "start"]

# How long the request waits for the first run to be recorded (or the sync to fail at once:
# refused credentials, ATS down) before answering with the runs begun so far.
FIRST_RUN_WAIT = 10.0


def new_pool(workers: int = 4) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="atsbridge-api-sync")


def start(
    pool: ThreadPoolExecutor,
    app: Atsbridge,
    tenant: str,
    ats: str,
    kinds: list[str] | None,
    full: bool,
) -> dict[str, Any]:
    load_kinds()
    unknown = [k for k in kinds or [] if k not in KINDS]
    if unknown:
        raise BadInput(
            f"body.kinds: unknown sync kind {unknown[0]!r} (known: {', '.join(sorted(KINDS))})"
        )
    seen: dict[int, RunReport] = {}
    first = threading.Event()
    lock = threading.Lock()

    def progress(report: RunReport) -> None:
        with lock:
            seen[report.id] = report
        first.set()

    future: Future[list[RunReport]] = pool.submit(
        app.sync.run, tenant, ats, kinds, full=full, on_progress=progress
    )
    future.add_done_callback(lambda _f: first.set())
    first.wait(FIRST_RUN_WAIT)
    if future.done():
        error = future.exception()
        if error is not None and not seen:
            raise error
        runs = future.result() if error is None else list(seen.values())
        problem = None
        if isinstance(error, AtsbridgeError):
            problem = json.loads(bytes(domain_problem(error).body))
        return {"finished": True, "runs": [r.to_json() for r in runs], "error": problem}
    with lock:
        runs = list(seen.values())
    return {"finished": False, "runs": [r.to_json() for r in runs], "error": None}
