"""``JobQuery.mirrored``: the core's stored copy of jobs, offered to plugins on incremental runs."""

from __future__ import annotations

import logging
from datetime import timedelta

import attrs
import sqlalchemy as sa
from atsbridge.model import JobStatus, Location
from jobfake import CONFIG, JobFake


def _sync(app, tenant: str = "acme", **kwargs):
    with app.open_session(tenant, "jobfake") as session:
        return app.jobs.sync_session(session, page_size=10, **kwargs)


def _seed(ats: JobFake) -> None:
    ats.add(
        "J1",
        "Platform Engineer",
        reference="REF-1",
        locations=[
            Location(city="Lyon", region="Auvergne-Rhône-Alpes", country_code="FR", raw="Lyon"),
            Location(city="Remote"),
        ],
        department="Engineering",
        employment_type="full_time",
        description="<p>Build things</p>",
        url="https://jobs.example/1",
    )
    ats.add("J2", "Draft role", status=JobStatus.DRAFT, created_at=ats.now - timedelta(days=3))


def test_only_incremental_passes_offer_the_copy_and_it_is_what_was_stored(app, ats) -> None:
    _seed(ats)
    _sync(app)
    assert ats.calls[-1].mirrored is None  # first pass: nothing to reuse, fetch everything
    _sync(app)
    mirrored = ats.calls[-1].mirrored
    assert mirrored is not None
    assert mirrored(["J1", "J2", "J9"]) == {"J1": ats.jobs["J1"], "J2": ats.jobs["J2"]}
    assert mirrored([]) == {}
    _sync(app, full=True)
    assert ats.calls[-1].mirrored is None  # a full pass is how reused fields get refreshed


def test_the_copy_is_this_connections_own(app, ats) -> None:
    _seed(ats)
    _sync(app)
    _sync(app)
    acme = ats.calls[-1].mirrored
    app.connections.connect("globex", "jobfake", dict(CONFIG))
    ats.edit("J1", title="Renamed")
    _sync(app, "globex")
    _sync(app, "globex")
    globex = ats.calls[-1].mirrored
    # Same ATS ids in two tenants' mirrors: each run is offered its own connection's rows.
    assert globex(["J1"])["J1"].title == "Renamed"
    assert acme(["J1"])["J1"].title == "Platform Engineer"


def test_many_ids_are_read_in_batches(app, ats, monkeypatch) -> None:
    from atsbridge.services import jobs as jobs_module

    monkeypatch.setattr(jobs_module, "MIRROR_READ_BATCH", 3)
    for i in range(8):
        ats.add(f"K{i}", f"Role {i}")
    _sync(app)
    _sync(app)
    copies = ats.calls[-1].mirrored([f"K{i}" for i in range(8)] + ["K0"])
    assert sorted(copies) == [f"K{i}" for i in range(8)]


def test_a_store_failure_means_no_copy_not_a_failed_sync(app, ats, monkeypatch, caplog) -> None:
    _seed(ats)
    _sync(app)
    _sync(app)
    mirrored = ats.calls[-1].mirrored

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(app.store, "tenant", broken)
    with caplog.at_level(logging.WARNING, logger="atsbridge.services.jobs"):
        assert mirrored(["J1"]) == {}
    assert "reading mirrored jobs of acme/jobfake failed" in caplog.text


def test_the_copy_does_not_change_how_queries_compare() -> None:
    from atsbridge.model import JobQuery

    query = JobQuery(page_size=5)
    assert attrs.evolve(query, mirrored=lambda ids: {}) == query
    assert "mirrored" not in repr(query)
