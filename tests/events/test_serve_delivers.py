"""The deliverer runs inside ``atsbridge serve`` (and ``host run``): a backlog reaches a
local receiver; SIGKILL of the server in the middle of a delivery loses nothing and
duplicates nothing (the one request in flight is sent again with the same webhook-id,
which the receiver recognises), and a clean stop leaves nothing claimed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from atsbridge.api import Atsbridge
from atsbridge.events import record, types
from atsbridge.plugins import PluginRegistry
from atsbridge.store.tables import WebhookDeliveryRow
from receiver import Receiver

D = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]
N = 12


@pytest.fixture
def app(db_url: str) -> Iterator[Atsbridge]:
    with Atsbridge(db=db_url, registry=PluginRegistry()) as app:
        yield app


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.hold = None
    r.stop()


def _backlog(app: Atsbridge, receiver: Receiver, n: int = N) -> list[str]:
    _view, secret = app.webhooks.create(tenant=None, url=receiver.url, event_types=None)
    receiver.secret = secret
    with app.store.tenant("acme", create=True) as repo:
        return [
            record(repo, tenant="acme", type=types.SYNC_FINISHED, data={"n": i}) for i in range(n)
        ]


def _start(db_url: str, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "atsbridge.cli", "--db", db_url, *args],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if re.match(r"api: http://127\.0\.0\.1:\d+", line):
            break
    else:
        raise AssertionError(f"the server never printed its address (exit {proc.wait(10)})")
    # Keep reading its log so a full pipe never blocks it.
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc


def _wait(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _states(app: Atsbridge) -> list[str]:
    with app.store.system_session() as session:
        return list(session.connection().execute(sa.select(D.c.state).order_by(D.c.seq)).scalars())


def test_sigkill_mid_delivery_loses_and_duplicates_nothing(
    app: Atsbridge, receiver: Receiver, db_url: str
) -> None:
    ids = _backlog(app, receiver)
    held = threading.Event()
    release = threading.Event()
    caught: list[str] = []

    def on_request(webhook_id: str) -> None:
        if webhook_id == ids[4] and not caught:
            caught.append(webhook_id)
            held.set()
            release.wait(30)  # the server is killed while this request is open

    receiver.on_request = on_request
    serve = ("serve", "--port", "0", "--webhook-claim-seconds", "1")
    first = _start(db_url, *serve)
    try:
        _wait(held.is_set, "the fifth delivery")
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    release.set()  # the receiver takes it (the sender never learns): a duplicate to come
    _wait(lambda: len(receiver.ids()) == 5, "the receiver to take the fifth")
    assert receiver.ids() == ids[:5]
    second = _start(db_url, *serve)
    try:
        _wait(lambda: len(set(receiver.ids())) == N, "every event")
        _wait(lambda: _states(app) == ["delivered"] * N, "every delivery recorded")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    got = receiver.ids()
    # Nothing lost, in order; the one request in flight at the kill came again, same id.
    assert sorted(set(got), key=got.index) == ids
    assert got == [*ids[:5], ids[4], *ids[5:]]
    assert receiver.refused == []


def test_host_run_delivers_and_stops_cleanly(
    app: Atsbridge, receiver: Receiver, db_url: str
) -> None:
    ids = _backlog(app, receiver, 3)
    host = _start(db_url, "host", "run", "--api-port", "0", "--shutdown-grace", "5")
    try:
        _wait(lambda: receiver.ids() == ids, "the backlog")
        _wait(lambda: _states(app) == ["delivered"] * 3, "every delivery recorded")
    finally:
        host.send_signal(signal.SIGTERM)
        assert host.wait(60) == 0


def test_serve_without_deliveries_sends_nothing(
    app: Atsbridge, receiver: Receiver, db_url: str
) -> None:
    _backlog(app, receiver, 2)
    proc = _start(db_url, "serve", "--port", "0", "--no-deliver-webhooks")
    try:
        time.sleep(1.5)  # long enough for a deliverer's first round, were there one
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert receiver.arrived == []
