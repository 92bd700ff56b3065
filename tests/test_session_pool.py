"""A connection's tasks in one process share one plugin session (atsbridge.sessionpool)."""

from __future__ import annotations

import threading

import pytest
from atsbridge.api import Atsbridge
from atsbridge.errors import AuthError
from atsbridge.model import JobQuery
from atsbridge.plugins import PluginRegistry
from atsbridge.services.sync import KINDS, load_kinds
from fakeats import GOOD_KEY, FakeAts

GOOD = {"api_key": GOOD_KEY, "account": "acme-corp"}


@pytest.fixture
def app(db_url: str, registry: PluginRegistry):
    with Atsbridge(db=db_url, registry=registry) as app:
        app.connections.connect("acme", "fakeats", GOOD)
        yield app


def search(app: Atsbridge) -> None:
    with app.open_session("acme", "fakeats") as session:
        session.call("atsbridge_search_jobs", query=JobQuery())


def test_tasks_share_one_session_and_prove_credentials_once(app, fake: FakeAts) -> None:
    opened = len(fake.sessions)  # connect proved them in a session of its own
    load_kinds()
    for _ in range(3):  # as the host runs tasks: a session each, one after another
        with app.open_session("acme", "fakeats") as session:
            KINDS["jobs"].task(app, session, full=False, on_progress=None)
    assert len(fake.sessions) == opened + 1
    assert not fake.sessions[-1].closed
    app.close()
    assert fake.sessions[-1].closed


def test_concurrent_tasks_share_the_session_being_opened(app, fake: FakeAts) -> None:
    opened = len(fake.sessions)
    threads = [threading.Thread(target=search, args=(app,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake.sessions) == opened + 1


def test_an_auth_failure_makes_the_next_task_prove_the_credentials(app, fake) -> None:
    search(app)
    first = fake.sessions[-1]
    fake.read_failure = AuthError("fakeats: token revoked")
    with pytest.raises(AuthError):
        search(app)
    assert first.closed  # dropped from the pool, closed once its lease ended
    fake.read_failure = None
    search(app)
    assert fake.sessions[-1] is not first and not fake.sessions[-1].closed


def test_a_changed_config_opens_a_new_session(app, fake: FakeAts) -> None:
    search(app)
    first = fake.sessions[-1]
    app.connections.connect("acme", "fakeats", {**GOOD, "account": "acme-two"})
    search(app)
    assert first.closed
    assert fake.sessions[-1].config["account"] == "acme-two"


def test_check_always_proves_the_credentials_in_a_session_of_its_own(app, fake) -> None:
    search(app)
    before = len(fake.sessions)
    app.connections.check("acme", "fakeats")
    app.connections.check("acme", "fakeats")
    assert len(fake.sessions) == before + 2
    assert fake.sessions[-1].closed and not fake.sessions[before - 1].closed


def test_disconnect_closes_the_pooled_session(app, fake: FakeAts) -> None:
    search(app)
    app.connections.disconnect("acme", "fakeats")
    assert fake.sessions[-1].closed
