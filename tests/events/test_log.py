"""The event log: written in the change's transaction, read as a tenant-scoped feed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from atsbridge.api import Atsbridge
from atsbridge.errors import BadInput
from atsbridge.events import EventLog, record, types
from atsbridge.model import JobClosed, JobStatus
from atsbridge.store import Store
from atsbridge.store.tables import EventRow
from jobfake import JobFake, Observer

# The changes' events; every sync also logs its sync.finished (see test_sync_events.py).
CHANGES = [t for t in types.DOMAIN_TYPES if t != types.SYNC_FINISHED]


def test_closing_and_reopening_a_linked_job_is_in_the_feed_once(
    linked: Atsbridge, ats: JobFake, observer: Observer
) -> None:
    ats.edit("A1", status=JobStatus.CLOSED, status_raw="filled")
    linked.jobs.sync("acme", "jobfake")
    linked.jobs.sync("acme", "jobfake")  # the overlap sees the closed job again: no second event
    ats.edit("A1", status=JobStatus.OPEN, status_raw="open")
    linked.jobs.sync("acme", "jobfake")
    events, cursor = linked.events.feed(tenants=["acme"], after=None, limit=10, types=CHANGES)
    assert [e["type"] for e in events] == [types.JOB_CLOSED, types.JOB_REOPENED]
    assert cursor is None
    closed = events[0]
    assert closed["id"].startswith("evt_") and len(closed["id"]) == 30
    assert closed["tenant"] == "acme" and closed["created_at"].endswith("Z")
    assert closed["data"] == {
        "ats": "jobfake",
        "ats_job_id": "A1",
        "product_job_id": "P-1",
        "status_raw": "filled",
        "reason": "closed",
    }
    # The plugin hook got the same event, built from the log's data.
    assert observer.closed == [JobClosed("acme", "jobfake", "A1", "P-1", "filled")]
    assert linked.events.get(closed["id"], tenants=["acme"]) == closed


def test_a_deleted_job_is_closed_and_deleted(linked: Atsbridge, ats: JobFake) -> None:
    ats.delete("A1")
    linked.sync.run("acme", "jobfake", ["links"], full=True)  # reads every open link
    events, _ = linked.events.feed(tenants=["acme"], after=None, limit=10, types=CHANGES)
    assert [(e["type"], e["data"].get("reason")) for e in events] == [
        (types.JOB_CLOSED, "deleted"),
        (types.JOB_DELETED, None),
    ]


def test_another_tenants_events_are_invisible(linked: Atsbridge, ats: JobFake) -> None:
    ats.edit("A1", status=JobStatus.CLOSED)
    ats.edit("A2", status=JobStatus.CLOSED)
    linked.jobs.sync("acme", "jobfake")
    linked.jobs.sync("globex", "jobfake")
    acme, _ = linked.events.feed(tenants=["acme"], after=None, limit=10, types=CHANGES)
    globex, _ = linked.events.feed(tenants=["globex"], after=None, limit=10, types=CHANGES)
    every, _ = linked.events.feed(tenants=None, after=None, limit=10, types=CHANGES)
    assert [e["data"]["product_job_id"] for e in acme] == ["P-1"]
    assert [e["data"]["product_job_id"] for e in globex] == ["P-2"]
    assert [e["id"] for e in every] == [acme[0]["id"], globex[0]["id"]]
    assert linked.events.get(globex[0]["id"], tenants=["acme"]) is None
    with pytest.raises(BadInput, match="after"):  # another tenant's id is no cursor for acme
        linked.events.feed(tenants=["acme"], after=globex[0]["id"], limit=10)


def _record(store: Store, tenant: str, n: int) -> list[str]:
    ids = []
    with store.tenant(tenant) as repo:
        for i in range(n):
            ids.append(record(repo, tenant=tenant, type=types.SYNC_FINISHED, data={"i": i}))
    return ids


def test_paging_with_cursors_and_event_ids(app: Atsbridge) -> None:
    ids = _record(app.store, "acme", 5)
    first, cursor = app.events.feed(tenants=["acme"], after=None, limit=2)
    assert [e["id"] for e in first] == ids[:2] and cursor is not None
    second, cursor = app.events.feed(tenants=["acme"], after=cursor, limit=2)
    assert [e["id"] for e in second] == ids[2:4]
    third, cursor = app.events.feed(tenants=["acme"], after=cursor, limit=2)
    assert [e["id"] for e in third] == ids[4:] and cursor is None
    # A reader at the end goes on from its last event's id.
    assert app.events.feed(tenants=["acme"], after=ids[-1], limit=2) == ([], None)
    later = _record(app.store, "acme", 1)
    assert [e["id"] for e in app.events.feed(tenants=["acme"], after=ids[-1], limit=2)[0]] == later
    only, _ = app.events.feed(tenants=["acme"], after=None, limit=10, types=[types.JOB_CLOSED])
    assert only == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"after": "garbage!"}, "after"),
        ({"after": "evt_01HZZZZZZZZZZZZZZZZZZZZZZZ"}, "after"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"types": ["job.exploded"]}, r"types\[0\]"),
    ],
)
def test_bad_feed_arguments_name_the_field(app: Atsbridge, kwargs: dict, field: str) -> None:
    arguments = {"tenants": None, "after": None, "limit": 10, **kwargs}
    with pytest.raises(BadInput, match=field):
        app.events.feed(**arguments)


def test_a_change_that_rolls_back_writes_no_event(app: Atsbridge) -> None:
    with pytest.raises(RuntimeError), app.store.tenant("acme") as repo:
        record(repo, tenant="acme", type=types.JOB_CLOSED, data={"x": 1})
        repo.flush()
        raise RuntimeError("the change failed")
    assert app.events.feed(tenants=None, after=None, limit=10) == ([], None)
    with app.store.system_session() as session:
        assert (
            session.connection().execute(sa.select(sa.func.count()).select_from(EventRow)).scalar()
            == 0
        )


def test_a_page_that_rolls_back_records_no_close(
    linked: Atsbridge, ats: JobFake, observer: Observer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atsbridge.services import jobs

    ats.edit("A1", status=JobStatus.CLOSED)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("index write failed")

    monkeypatch.setattr(jobs, "_reindex", broken)
    with pytest.raises(RuntimeError):
        linked.jobs.sync("acme", "jobfake")
    assert linked.events.feed(tenants=None, after=None, limit=10, types=CHANGES) == ([], None)
    assert observer.closed == []


def test_unknown_types_and_non_json_data_are_refused(app: Atsbridge) -> None:
    with app.store.tenant("acme") as repo:
        with pytest.raises(ValueError, match="unknown event type"):
            record(repo, tenant="acme", type="job.exploded", data={})
        with pytest.raises(ValueError, match="not JSON"):
            record(repo, tenant="acme", type=types.JOB_CLOSED, data={"x": object()})


@pytest.mark.postgres
def test_a_later_commit_of_an_earlier_write_is_not_skipped(pg_schema_url: str) -> None:
    """T1 writes first and commits last: a reader that saw T2's event still gets T1's."""
    store = Store(pg_schema_url)
    log = EventLog(store)
    with store.tenant("acme", create=True):
        pass
    try:
        with store.tenant("acme") as slow:
            first = record(slow, tenant="acme", type=types.SYNC_FINISHED, data={"n": 1})
            slow.flush()  # takes the lower id
            second = _record(store, "acme", 1)[0]  # commits while T1 is open
            seen, _ = log.feed(tenants=None, after=None, limit=10)
            assert [e["id"] for e in seen] == [second]
        after_second = second
        rest, _ = log.feed(tenants=None, after=after_second, limit=10)
        assert [e["id"] for e in rest] == [first]
    finally:
        store.close()


def test_an_exported_lead_is_in_the_feed(linked: Atsbridge) -> None:
    document = {
        "id": "lead-1",
        "first_name": "Ada",
        "last_name": "Q",
        "emails": ["ada@example.org"],
    }
    outcome = linked.leads.push("acme", "P-1", document)
    assert outcome.lead.state == "exported"
    events, _ = linked.events.feed(tenants=["acme"], after=None, limit=10, types=CHANGES)
    assert [(e["type"], e["data"]["lead_id"], e["data"]["candidate_id"]) for e in events] == [
        (types.LEAD_EXPORTED, "lead-1", "c1")
    ]
