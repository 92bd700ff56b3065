"""End to end, for every installed plugin: the product registers a webhook and imports an
ATS job through the HTTP API of ``atsbridge host run``; a recruiter closes that job in the
ATS (the plugin's sandbox); the host's scheduled job sync notices, and the product's
receiver gets one signed ``job.closed`` for its job, the same event the feed shows.

Only the recruiter's action happens in this process (on the sandbox's world); the sync,
the event and the delivery are the host's, on its own schedule.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from atsbridge.api import Atsbridge
from atsbridge.model import JobStatus
from receiver import Receiver

sys.path.append(str(Path(__file__).resolve().parent.parent / "host"))

from sandboxes import PLUGINS, QUICK, connect, fast_registry, start

pytestmark = pytest.mark.slow

HOST_ARGS = ["--reconcile-seconds", "0.3", "--first-run-spread", "0.2", "--shutdown-grace", "10"]


def _wait(condition: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return value


def _host(db: str, log: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "atsbridge.cli",
            "--db",
            db,
            "host",
            "run",
            "--api-port",
            "0",
            *HOST_ARGS,
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        log.append(line)
        if match := re.match(r"api: (http://127\.0\.0\.1:\d+)", line):
            break
    else:
        raise AssertionError(f"the host never served its API (exit {proc.wait(10)}): {log}")
    stream = proc.stderr
    threading.Thread(target=lambda: log.extend(stream), daemon=True).start()
    return proc, match.group(1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.mark.parametrize("ats", PLUGINS)
def test_a_job_closed_in_the_ats_reaches_the_products_webhook(
    ats: str, tmp_path: Path, receiver: Receiver
) -> None:
    registry = fast_registry()
    sandbox = start(registry, ats)
    db = f"sqlite:///{tmp_path / 'e2e.db'}"
    app = Atsbridge(db=db, registry=registry)
    log: list[str] = []
    host = None
    try:
        connect(app, "acme", ats, sandbox, QUICK)
        key = app.api_keys.create("product", scope="write", tenants=["acme"])[1]
        host, url = _host(db, log)
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

        # The product subscribes to closures, finds an open job and imports it.
        created = api.post(
            "/v1/webhooks",
            json={"tenant": "acme", "url": receiver.url, "event_types": ["job.closed"]},
        )
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]

        def open_jobs() -> list[dict[str, Any]]:
            found = api.get("/v1/tenants/acme/jobs", params={"status": "open", "limit": 50})
            assert found.status_code == 200, found.text
            return list(found.json()["items"])

        jobs = _wait(open_jobs, "the mirror filled by the host")
        job = min(jobs, key=lambda j: j["ats_id"])
        link = api.put(
            "/v1/tenants/acme/product-jobs/pj-1/link",
            json={"ats": ats, "ats_job_id": job["ats_id"]},
        )
        assert link.status_code in (200, 201), link.text

        # A recruiter closes it in the ATS.
        sandbox.set_job_status(job["ats_id"], JobStatus.CLOSED)

        _wait(receiver.ids, "job.closed at the product's receiver")
        [(webhook_id, event)] = receiver.accepted
        assert event["type"] == "job.closed"
        assert event["tenant"] == "acme"
        assert event["id"] == webhook_id
        assert event["data"]["product_job_id"] == "pj-1"
        assert event["data"]["ats"] == ats
        assert event["data"]["ats_job_id"] == job["ats_id"]
        assert event["data"]["reason"] == "closed"
        # The feed holds the very event the webhook carried.
        feed = api.get("/v1/events", params={"types": "job.closed"}).json()["items"]
        assert [e["id"] for e in feed] == [webhook_id]
        got = api.get("/v1/tenants/acme/product-jobs/pj-1/link").json()
        assert got["state"] == "closed"

        # Later syncs of the closed job send nothing more (a closure is one event).
        runs_before = len(app.sync.runs("acme", ats, limit=1000))
        _wait(
            lambda: len(app.sync.runs("acme", ats, limit=1000)) >= runs_before + 4,
            "more scheduled syncs",
        )
        endpoint = created.json()["id"]
        health = _wait(
            lambda: (h := api.get(f"/v1/webhooks/{endpoint}/health").json())["backlog"] == 0 and h,
            "an empty backlog",
        )
        assert health["consecutive_failures"] == 0
        assert receiver.ids() == [webhook_id]
        assert receiver.refused == []
    finally:
        if host is not None:
            host.send_signal(signal.SIGTERM)
            code = host.wait(60)
            assert code == 0, "".join(log[-40:])
        app.close()
        sandbox.stop()
