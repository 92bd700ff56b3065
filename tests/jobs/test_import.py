"""Import (link) of ATS jobs into product jobs, and close/reopen propagation with events."""

from __future__ import annotations

import pytest
from atsbridge.errors import Conflict, NotFound
from atsbridge.model import JobClosed, JobReopened, JobStatus
from jobfake import CONFIG, JobFake, Observer, place


@pytest.fixture
def synced(app, ats: JobFake):
    ats.add(
        "A1",
        "Senior Backend Engineer",
        reference="ENG-1",
        locations=[place("Kraków", "Lesser Poland", "PL")],
        department="Engineering",
        employment_type="full_time",
        description="<p>Build payments.</p>",
    )
    ats.add("A2", "Nurse", locations=[place("Leeds")])  # no reference, department, ...
    ats.add("A3", "Store Manager", reference="RET-3")
    app.jobs.sync("acme", "jobfake")
    return app


def test_import_returns_prefilled_fields_and_nothing_missing(synced) -> None:
    result = synced.jobs.import_job("acme", "jobfake", "A1", "P-100")
    assert result.prefilled == {
        "title": "Senior Backend Engineer",
        "description": "<p>Build payments.</p>",
        "location": {
            "city": "Kraków",
            "region": "Lesser Poland",
            "country_code": "PL",
            "raw": None,
            "text": "Kraków, Lesser Poland, Poland",
        },
        "department": "Engineering",
        "employment_type": "full_time",
        "reference": "ENG-1",
    }
    assert result.missing == []
    assert result.state == "open"
    assert synced.jobs.search("acme", "ENG-1").items[0].linked_to == "P-100"


def test_import_lists_the_fields_the_product_must_fill(synced) -> None:
    result = synced.jobs.import_job("acme", "jobfake", "A2", "P-200")
    assert result.prefilled["title"] == "Nurse"
    assert result.missing == ["description", "department", "employment_type", "reference"]


def test_importing_an_ats_job_twice_is_refused(synced) -> None:
    synced.jobs.import_job("acme", "jobfake", "A1", "P-100")
    with pytest.raises(Conflict, match="jobfake job A1 is already imported as product job 'P-100'"):
        synced.jobs.import_job("acme", "jobfake", "A1", "P-999")


def test_linking_a_product_job_twice_is_refused(synced) -> None:
    synced.jobs.import_job("acme", "jobfake", "A1", "P-100")
    with pytest.raises(Conflict, match="product job 'P-100' is already linked to jobfake job A1"):
        synced.jobs.import_job("acme", "jobfake", "A3", "P-100")
    assert [v.product_job_id for v in synced.jobs.list("acme")] == ["P-100"]


def test_unknown_ats_job_or_connection_is_a_clear_error(synced) -> None:
    with pytest.raises(NotFound, match="jobfake job 'NOPE' is not in tenant 'acme'"):
        synced.jobs.import_job("acme", "jobfake", "NOPE", "P-1")
    with pytest.raises(NotFound, match="has no other connection"):
        synced.jobs.import_job("acme", "other", "A1", "P-1")


def test_another_tenant_cannot_import_or_see_the_job(synced) -> None:
    synced.connections.connect("globex", "jobfake", dict(CONFIG))
    with pytest.raises(NotFound):
        synced.jobs.import_job("globex", "jobfake", "A1", "P-1")
    synced.jobs.import_job("acme", "jobfake", "A1", "P-1")
    assert synced.jobs.list("globex") == []
    # The same product job id in another tenant is a different product job.
    synced.jobs.sync("globex", "jobfake")
    assert synced.jobs.import_job("globex", "jobfake", "A1", "P-1").state == "open"


def test_ats_edits_update_the_mirror_but_never_the_snapshot(synced, ats: JobFake) -> None:
    synced.jobs.import_job("acme", "jobfake", "A1", "P-100")
    ats.edit("A1", title="Principal Backend Engineer", description="changed")
    synced.jobs.sync("acme", "jobfake")
    [link] = synced.jobs.list("acme")
    assert link.title == "Senior Backend Engineer"
    assert link.snapshot["description"] == "<p>Build payments.</p>"
    assert link.current_title == "Principal Backend Engineer"
    assert [j.ats_id for j in synced.jobs.search("acme", "principal").items] == ["A1"]


def test_closing_fires_once_and_reopening_fires_reopened(
    synced, ats: JobFake, observer: Observer
) -> None:
    synced.jobs.import_job("acme", "jobfake", "A1", "P-100")
    ats.edit("A1", status=JobStatus.CLOSED, status_raw="filled")
    synced.jobs.sync("acme", "jobfake")
    synced.jobs.sync("acme", "jobfake")  # the overlap re-reads the closed job: no second event
    synced.jobs.sync("acme", "jobfake", full=True)
    assert observer.closed == [
        JobClosed(
            tenant="acme",
            ats="jobfake",
            ats_job_id="A1",
            product_job_id="P-100",
            status_raw="filled",
        )
    ]
    [link] = synced.jobs.list("acme")
    assert link.state == "closed" and link.closed_at is not None

    ats.edit("A1", status=JobStatus.OPEN, status_raw="open")
    synced.jobs.sync("acme", "jobfake")
    synced.jobs.sync("acme", "jobfake")
    assert observer.reopened == [
        JobReopened(
            tenant="acme", ats="jobfake", ats_job_id="A1", product_job_id="P-100", status_raw="open"
        )
    ]
    assert len(observer.closed) == 1
    [link] = synced.jobs.list("acme")
    assert link.state == "open" and link.closed_at is None


def test_unlinked_jobs_fire_no_events(synced, ats: JobFake, observer: Observer) -> None:
    ats.edit("A3", status=JobStatus.CLOSED)
    synced.jobs.sync("acme", "jobfake")
    assert observer.closed == []


def test_a_deleted_job_closes_its_link_through_the_status_check(
    synced, ats: JobFake, observer: Observer
) -> None:
    synced.jobs.import_job("acme", "jobfake", "A1", "P-100")
    synced.jobs.import_job("acme", "jobfake", "A3", "P-300")
    ats.delete("A1")
    synced.jobs.sync("acme", "jobfake")  # incremental: a deletion is invisible here
    assert observer.closed == []
    # The host's links task follows the mirror's listing: no status read for listed jobs.
    synced.sync.run("acme", "jobfake", ["links"])
    assert ats.status_calls == [] and observer.closed == []
    reports = synced.sync.run("acme", "jobfake", ["links"], full=True)
    assert ats.status_calls == [["A1", "A3"]]
    assert reports[-1].counts["removed"] == 1
    assert [e.ats_job_id for e in observer.closed] == ["A1"]
    assert observer.closed[0].status_raw == "deleted"
    links = {v.product_job_id: v for v in synced.jobs.list("acme")}
    assert links["P-100"].state == "closed" and not links["P-100"].in_mirror
    assert links["P-300"].state == "open"
    # Closed links are not asked about again.
    synced.sync.run("acme", "jobfake", ["links"], full=True)
    assert ats.status_calls[-1] == ["A3"]
    assert len(observer.closed) == 1


def test_a_full_pass_closes_links_of_jobs_gone_from_the_listing(
    synced, ats: JobFake, observer: Observer
) -> None:
    synced.jobs.import_job("acme", "jobfake", "A2", "P-200")
    ats.delete("A2")
    report = synced.jobs.sync("acme", "jobfake", full=True)
    assert report.counts["removed"] == 1
    assert [(e.ats_job_id, e.status_raw) for e in observer.closed] == [("A2", "deleted")]


def test_a_failing_observer_does_not_fail_the_sync(
    synced, ats: JobFake, observer: Observer, caplog
) -> None:
    class Broken:
        from atsbridge.hookspecs import hookimpl

        @hookimpl
        def atsbridge_job_closed(self, event):
            raise RuntimeError("observer bug")

    synced.registry.pm.register(Broken(), name="broken")
    synced.jobs.import_job("acme", "jobfake", "A1", "P-100")
    ats.edit("A1", status=JobStatus.CLOSED)
    report = synced.jobs.sync("acme", "jobfake")
    assert report.status == "succeeded"
    assert synced.jobs.list("acme")[0].state == "closed"
    assert "the atsbridge_job_closed hook of broken failed" in caplog.text
    assert [e.ats_job_id for e in observer.closed] == ["A1"]  # the others still got it


def test_one_link_and_the_first_answer_of_an_existing_import(synced) -> None:
    first = synced.jobs.import_job("acme", "jobfake", "A2", "P-200")
    synced.jobs.import_job("acme", "jobfake", "A1", "P-100")
    assert synced.jobs.link("acme", "P-200").ats_job_id == "A2"
    with pytest.raises(NotFound, match="product job 'P-999' is not linked in tenant 'acme'"):
        synced.jobs.link("acme", "P-999")
    same = synced.jobs.existing_import("acme", "P-200", "jobfake", "A2")
    assert same is not None and same.to_json() == first.to_json()
    # Another job behind the same product job, or an unknown one, is no replay of an import.
    assert synced.jobs.existing_import("acme", "P-200", "jobfake", "A3") is None
    assert synced.jobs.existing_import("acme", "P-999", "jobfake", "A2") is None
