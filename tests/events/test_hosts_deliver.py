"""Two processes (two ``host run``, or ``serve`` beside ``host run``) on one PostgreSQL
database share the product's webhook deliveries: both send at the same time, each to a
different endpoint (an endpoint's head is claimed by one sender at a time), and when the
one sending an event is SIGKILLed mid-request the other takes the delivery over after its
lease and sends it again with the same ``webhook-id``. Every event reaches each endpoint
in log order, signature verified, and after the receiver's deduplication on
``webhook-id`` (what Standard Webhooks asks of receivers) exactly once.

Nothing waits on time as an assertion: the receiver holds requests open, and the test
reads the claims in the database while they are held.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from atsbridge.api import Atsbridge
from atsbridge.events import record, types
from atsbridge.plugins import PluginRegistry
from atsbridge.store.tables import WebhookDeliveryRow, WebhookEndpointRow
from receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

D = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]
W = WebhookEndpointRow.__table__  # type: ignore[attr-defined]
N = 10  # events per endpoint
K = 6  # the index of the event in flight at E1 when its sender is killed
# Long enough that neither sender takes the other's claim while the test holds a request
# open on purpose (the first phase waits for both senders to be in flight); the survivor
# waits this long after the SIGKILL before it sends the dead sender's delivery again.
CLAIM_SECONDS = "8"


def _spawn(db: str, kind: str, name: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``serve`` or ``host run`` delivering webhooks; return it and the id it
    records as the claimer of the deliveries it sends."""
    common = ["--webhook-claim-seconds", CLAIM_SECONDS]
    if kind == "serve":
        args = ["serve", "--port", "0", *common]
    else:
        args = ["host", "run", "--host-id", name, "--api-port", "0", "--shutdown-grace", "5"]
        args += [*common, "--reconcile-seconds", "0.5"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "atsbridge.cli", "--db", db, *args],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    # Both commands print their API's address once their deliverer runs.
    for line in proc.stderr:
        if re.match(r"api: http://127\.0\.0\.1:\d+", line):
            break
    else:
        raise AssertionError(f"{kind} {name} never printed its address (exit {proc.wait(10)})")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # never a full pipe
    claimer = name if kind == "host" else f"{socket.gethostname()}:{proc.pid}"
    return proc, claimer


def _wait(condition: Callable[[], object], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _deliveries(app: Atsbridge) -> list[sa.Row]:
    with app.store.system_session() as session:
        query = sa.select(
            D.c.endpoint_id, D.c.state, D.c.claimed_by, D.c.attempts, D.c.event_row_id
        ).order_by(D.c.seq)
        return list(session.connection().execute(query))


def _in_flight(app: Atsbridge) -> dict[str, str]:
    """endpoint id -> the claimer of its delivery being sent now."""
    return {r.endpoint_id: r.claimed_by for r in _deliveries(app) if r.state == "delivering"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.on_arrival = None
    r.stop()


@pytest.mark.parametrize("kinds", [("host", "host"), ("serve", "host")], ids="+".join)
def test_two_senders_on_postgres_deliver_each_event_once_through_a_sigkill(
    kinds: tuple[str, str], pg_schema_url: str, receiver: Receiver
) -> None:
    # pg_schema_url set ATSBRIDGE_SECRET_KEY: both processes open the sealed secrets too.
    app = Atsbridge(db=pg_schema_url, registry=PluginRegistry())
    procs: dict[str, subprocess.Popen[str]] = {}
    release = threading.Event()
    go = threading.Event()
    try:
        app.store  # noqa: B018 (migrate once here, not in two processes starting at once)
        claimers: dict[str, str] = {}
        for n, kind in enumerate(kinds, start=1):
            proc, claimer = _spawn(pg_schema_url, kind, f"h{n}")
            procs[claimer] = proc
            claimers[claimer] = f"{kind} h{n}"
        assert len(claimers) == 2

        endpoints: dict[str, str] = {}  # endpoint id -> receiver path
        for name in ("e1", "e2"):
            view, secret = app.webhooks.create(
                tenant=None, url=receiver.url_for(name), event_types=None
            )
            receiver.secrets[name] = secret
            endpoints[str(view["id"])] = name

        lock = threading.Lock()
        first: dict[str, threading.Event] = {"e1": threading.Event(), "e2": threading.Event()}
        caught = threading.Event()
        ids: list[str] = []

        def on_arrival(name: str, webhook_id: str) -> None:
            with lock:
                head = webhook_id == ids[0] and not first[name].is_set()
                if head:
                    first[name].set()
                kill_here = name == "e1" and webhook_id == ids[K] and not caught.is_set()
                if kill_here:
                    caught.set()
            if head:
                go.wait(60)  # each endpoint's first request waits until both are open
            if kill_here:
                release.wait(60)  # its sender is killed while this request is open

        receiver.on_arrival = on_arrival
        with app.store.tenant("acme", create=True) as repo:  # one commit: the whole backlog
            ids.extend(
                record(repo, tenant="acme", type=types.SYNC_FINISHED, data={"n": i})
                for i in range(N)
            )

        # Phase 1: both endpoints' first deliveries are open at once. A sender sends one
        # request at a time, so they come from the two processes; the claims say which.
        _wait(lambda: first["e1"].is_set() and first["e2"].is_set(), "both first deliveries")
        in_flight = _in_flight(app)
        assert set(in_flight) == set(endpoints)
        assert set(in_flight.values()) == set(claimers), (in_flight, claimers)
        go.set()

        # Phase 2: SIGKILL whichever process is sending E1's event K, mid-request.
        _wait(caught.is_set, f"e1's event {K}")
        e1 = next(e for e, name in endpoints.items() if name == "e1")
        victim = _in_flight(app)[e1]
        survivor = next(c for c in claimers if c != victim)
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait(30)
        release.set()  # the receiver takes it; the dead sender never learns: it comes again

        def done() -> bool:
            got = {name: set(receiver.ids_at(name)) for name in endpoints.values()}
            if any(len(g) < N for g in got.values()):
                return False
            return [r.state for r in _deliveries(app)] == ["delivered"] * (2 * N)

        _wait(done, "every event at both endpoints, each delivery recorded")
        rows = _deliveries(app)
        procs[survivor].send_signal(signal.SIGTERM)
        assert procs[survivor].wait(60) == 0, f"{claimers[survivor]} did not stop cleanly"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        release.set()
        go.set()
        app.close()

    assert receiver.refused == []  # every request carried a valid signature
    # E2 lost and repeated nothing; E1's request in flight at the kill came again with the
    # same webhook-id, right after the first time (order held), and nothing else did.
    assert receiver.ids_at("e2") == ids
    assert receiver.ids_at("e1") == [*ids[: K + 1], ids[K], *ids[K + 1 :]]
    for name in ("e1", "e2"):
        got = receiver.ids_at(name)
        assert sorted(set(got), key=got.index) == ids  # deduplicated: each event once
    # The database agrees: that one delivery took two attempts, the survivor's the second.
    retried = [r for r in rows if r.attempts != 1]
    assert len(retried) == 1
    assert retried[0].attempts == 2
    assert retried[0].claimed_by == survivor
    assert endpoints[retried[0].endpoint_id] == "e1"
