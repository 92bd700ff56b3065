"""A run that lost its checkpoint to another run stops at its next page, writing nothing.

The runner keeps its run row in memory between pages and writes each page with statements
that name the run as the checkpoint's owner; these tests take the checkpoint away (or retire
the run) between two pages, as another host presuming the run dead would, and check that the
page is rolled back and the new owner's cursor is left alone.
"""

from __future__ import annotations

import pytest
from atsbridge.errors import Conflict
from atsbridge.store import Job as JobRow
from atsbridge.store import SyncCheckpoint, SyncRun
from jobfake import JobFake, place
from sqlmodel import select


def _seed(ats: JobFake, n: int) -> None:
    for i in range(n):
        ats.add(f"J{i:03d}", f"Engineer {i}", reference=f"REF-{i}", locations=[place("Paris")])


def _sync(app):
    with app.open_session("acme", "jobfake") as session:
        return app.jobs.sync_session(session, page_size=10)


def _mirrored(app) -> int:
    with app.store.tenant("acme") as repo:
        return len(repo.all(select(JobRow)))


def _checkpoint(app) -> SyncCheckpoint:
    with app.store.tenant("acme") as repo:
        return repo.first(select(SyncCheckpoint).where(SyncCheckpoint.kind == "jobs"))


def test_a_run_whose_checkpoint_was_taken_over_stops_without_writing(app, ats) -> None:
    _seed(ats, 25)
    usurper: dict[str, int] = {}

    def take_over(call: int) -> None:
        if call != 2:
            return
        with app.store.tenant("acme") as repo:
            other = repo.add(
                SyncRun(
                    connection_id=_checkpoint(app).connection_id,
                    kind="jobs",
                    started_at=app.clock(),
                    status="running",
                    progress={"scope": ""},
                    host="elsewhere:1",
                )
            )
            repo.flush()
            checkpoint = repo.first(select(SyncCheckpoint).where(SyncCheckpoint.kind == "jobs"))
            checkpoint.run_id = other.id
            checkpoint.cursor = "the new owner's cursor"
            usurper["id"] = other.id

    ats.on_call = take_over
    with pytest.raises(Conflict, match="taken over"):
        _sync(app)
    assert _mirrored(app) == 10  # page 2 rolled back
    checkpoint = _checkpoint(app)
    assert (checkpoint.run_id, checkpoint.cursor) == (usurper["id"], "the new owner's cursor")
    first = next(r for r in app.sync.runs("acme", "jobfake") if r.id != usurper["id"])
    assert first.status == "failed" and first.pages == 1


def test_a_run_retired_by_another_host_stops_without_writing(app, ats) -> None:
    _seed(ats, 25)

    def retire(call: int) -> None:
        if call == 2:
            with app.store.tenant("acme") as repo:
                for run in repo.all(select(SyncRun).where(SyncRun.status == "running")):
                    run.status = "interrupted"

    ats.on_call = retire
    with pytest.raises(Conflict, match="taken over"):
        _sync(app)
    assert _mirrored(app) == 10
    run = app.sync.runs("acme", "jobfake")[0]
    assert run.status == "interrupted" and run.pages == 1
    assert _checkpoint(app).cursor is not None  # still at page 2 for whoever resumes


def test_run_records_match_what_the_runner_reported(app, ats) -> None:
    """The in-memory copy of the run row and the row itself never drift apart."""
    _seed(ats, 25)
    seen = []
    with app.open_session("acme", "jobfake") as session:
        final = app.jobs.sync_session(session, page_size=10, on_progress=seen.append)
    stored = app.sync.runs("acme", "jobfake")[0]
    assert stored == final
    assert [(r.status, r.pages) for r in seen] == [
        ("running", 0),
        ("running", 1),
        ("running", 2),
        ("succeeded", 3),
    ]
    assert stored.counts == {"added": 25, "updated": 0, "unchanged": 0, "removed": 0}
    assert stored.progress["phase"] == "done" and stored.ended_at is not None
