"""Status flow-back: the ATS's stage moves show in leads list, the funnel and the history."""

from __future__ import annotations

import os

import pytest
from atsbridge.api import Atsbridge
from atsbridge.errors import PayloadError
from atsbridge.model import Candidate, CandidateStatus
from atsbridge.plugins import PluginRegistry
from atsbridge.services import cnts
from atsbridge.services.cnts import sync_candidates
from atsbridge.store import SyncRun
from conftest import CONFIG, lead_doc
from leadfake import LeadFake, Observer


def test_stage_moves_flow_back_on_the_status_sync(
    app: Atsbridge, ats: LeadFake, observer: Observer
) -> None:
    for n in range(3):
        app.leads.push("acme", "pj-1", lead_doc(f"lead-{n}"))
    app.leads.enqueue("acme", "pj-2", lead_doc("elsewhere"))  # never exported: not counted
    before = app.leads.funnel("acme", "pj-1")
    assert before.statuses["new"] == 3 and before.exported == 3

    ats.move("P2", "J1", CandidateStatus.INTERVIEWING, "Onsite")
    ats.move("P3", "J1", CandidateStatus.REJECTED, "Rejected")
    reports = app.leads.sync_statuses()
    # The status task runs the one pipeline walk (the do-not-source lists share it).
    assert [(r.kind, r.scope, r.status) for r in reports] == [("candidates", "J1", "succeeded")]

    by_lead = {v.lead_id: (v.status, v.stage) for v in app.leads.list("acme", "pj-1")}
    assert by_lead == {
        "lead-0": ("new", "Applied"),
        "lead-1": ("interviewing", "Onsite"),
        "lead-2": ("rejected", "Rejected"),
    }
    after = app.leads.funnel("acme", "pj-1")
    assert after.statuses == {
        "new": 1,
        "in_review": 0,
        "interviewing": 1,
        "offered": 0,
        "hired": 0,
        "rejected": 1,
        "withdrawn": 0,
    }
    assert [(e.lead_id, e.old_status, e.new_status, e.stage) for e in observer.changed] == [
        ("lead-1", CandidateStatus.NEW, CandidateStatus.INTERVIEWING, "Onsite"),
        ("lead-2", CandidateStatus.NEW, CandidateStatus.REJECTED, "Rejected"),
    ]
    history = app.leads.history("acme", "pj-1", "lead-1")
    assert [(h["status"], h["stage"]) for h in history] == [
        ("new", "Applied"),
        ("interviewing", "Onsite"),
    ]

    # Nothing moved: a second sync records nothing and fires nothing.
    app.leads.sync_statuses()
    assert len(observer.changed) == 2
    assert len(app.leads.history("acme", "pj-1", "lead-1")) == 2
    # The second pass was incremental (updated_since from the first pass's high-water).
    assert ats.list_calls[0].updated_since is None
    assert ats.list_calls[-1].updated_since is not None


def test_pages_fetched_elsewhere_update_statuses_without_requests(
    app: Atsbridge, ats: LeadFake, observer: Observer
) -> None:
    lead = app.leads.push("acme", "pj-1", lead_doc("lead-1")).lead
    page = [
        Candidate(
            ats_id="someone-else", job_ats_id="J1", status=CandidateStatus.HIRED, stage="Hired"
        ),
        Candidate(
            ats_id=str(lead.candidate_id),
            job_ats_id="J1",
            application_id=lead.application_id,
            status=CandidateStatus.OFFERED,
            stage="Offer",
            status_raw="offer",
        ),
    ]
    changes = app.leads.observe_candidates("acme", "leadfake", "J1", page)
    assert (changes.matched, changes.changed) == (1, 1)
    assert ats.list_calls == []
    view = app.leads.get("acme", "pj-1", "lead-1")
    assert (view.status, view.stage, view.status_raw) == ("offered", "Offer", "offer")
    assert [e.new_status for e in observer.changed] == [CandidateStatus.OFFERED]
    # The same page again changes nothing.
    assert app.leads.observe_candidates("acme", "leadfake", "J1", page).changed == 0
    # A page of another job never touches this lead.
    other = [Candidate(ats_id=str(lead.candidate_id), job_ats_id="J2", status="hired")]
    assert app.leads.observe_candidates("acme", "leadfake", "J2", other).matched == 0


def test_the_do_not_source_refresh_moves_statuses_without_extra_requests(
    app: Atsbridge, ats: LeadFake, observer: Observer
) -> None:
    for n in range(2):
        app.leads.push("acme", "pj-1", lead_doc(f"lead-{n}"))
    app.cnts.sync("acme", "leadfake")
    assert observer.changed == []  # nothing moved since the export
    ats.list_calls.clear()
    pushes = len(ats.pushes)

    ats.move("P2", "J1", CandidateStatus.INTERVIEWING, "Onsite")
    reports = app.cnts.sync("acme", "leadfake")
    assert [r.status for r in reports] == ["succeeded", "succeeded"]
    # One listing per linked job, as without exported leads: nothing else was asked.
    assert sorted(q.job_ats_id for q in ats.list_calls) == ["J1", "J2"]
    assert len(ats.pushes) == pushes
    view = app.leads.get("acme", "pj-1", "lead-1")
    assert (view.status, view.stage, view.status_raw) == ("interviewing", "Onsite", "onsite")
    assert app.leads.funnel("acme", "pj-1").statuses["interviewing"] == 1
    assert [(h["status"], h["stage"]) for h in app.leads.history("acme", "pj-1", "lead-1")] == [
        ("new", "Applied"),
        ("interviewing", "Onsite"),
    ]
    assert [(e.lead_id, e.old_status, e.new_status) for e in observer.changed] == [
        ("lead-1", CandidateStatus.NEW, CandidateStatus.INTERVIEWING)
    ]

    # The status sync (and the next refresh) then find nothing left to change: one event.
    app.leads.sync_statuses()
    app.cnts.sync("acme", "leadfake")
    assert len(observer.changed) == 1
    assert len(app.leads.history("acme", "pj-1", "lead-1")) == 2


def test_parallel_do_not_source_workers_each_fire_their_own_changes(
    app: Atsbridge, ats: LeadFake, observer: Observer
) -> None:
    _two_exported_leads_moved(app, ats)
    with app.open_session("acme", "leadfake") as session:
        reports = sync_candidates(app, session, workers=2)
    assert [r.status for r in reports] == ["succeeded", "succeeded"]
    _assert_both_moves_arrived(app, observer)


def _two_exported_leads_moved(app: Atsbridge, ats: LeadFake) -> None:
    """lead-1 (pj-1, J1) and lead-2 (pj-2, J2) exported and listed, then moved in the ATS."""
    app.leads.push("acme", "pj-1", lead_doc("lead-1"))
    app.leads.push("acme", "pj-2", lead_doc("lead-2"))
    app.cnts.sync("acme", "leadfake")
    ats.move("P1", "J1", CandidateStatus.OFFERED, "Offer")
    ats.move("P2", "J2", CandidateStatus.REJECTED, "Rejected")


def _assert_both_moves_arrived(app: Atsbridge, observer: Observer) -> None:
    assert sorted((e.lead_id, e.new_status) for e in observer.changed) == [
        ("lead-1", CandidateStatus.OFFERED),
        ("lead-2", CandidateStatus.REJECTED),
    ]
    assert {v.lead_id: v.status for v in app.leads.list("acme")} == {
        "lead-1": "offered",
        "lead-2": "rejected",
    }


def test_a_page_rolled_back_fires_nothing(
    app: Atsbridge, ats: LeadFake, observer: Observer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.leads.push("acme", "pj-1", lead_doc("lead-1"))
    app.cnts.sync("acme", "leadfake", product_job_id="pj-1")
    ats.move("P1", "J1", CandidateStatus.HIRED, "Hired")

    def broken(self, *args, **kwargs):
        raise PayloadError("list_candidates", "candidate #1", "simulated bad row")

    # Fails after the lead was recorded, inside the same transaction.
    monkeypatch.setattr(cnts.CandidatesKind, "_store", broken)
    app.cnts.sync("acme", "leadfake", product_job_id="pj-1")
    assert observer.changed == []
    assert app.leads.get("acme", "pj-1", "lead-1").status == "new"
    monkeypatch.undo()
    app.cnts.sync("acme", "leadfake", product_job_id="pj-1")
    assert [e.new_status for e in observer.changed] == [CandidateStatus.HIRED]


def test_worker_processes_relay_status_changes_to_this_process(
    db_url: str, lead_registry: PluginRegistry, ats: LeadFake, observer: Observer
) -> None:
    # Worker processes need the system clock (and a database file or PostgreSQL).
    with Atsbridge(db=db_url, registry=lead_registry) as app:
        app.connections.connect("acme", "leadfake", dict(CONFIG))
        app.connections.update_settings("acme", "leadfake", cnts_sync_processes=2)
        app.jobs.sync("acme", "leadfake")
        app.jobs.import_job("acme", "leadfake", "J1", "pj-1")
        app.jobs.import_job("acme", "leadfake", "J2", "pj-2")
        _two_exported_leads_moved(app, ats)
        reports = app.cnts.sync("acme", "leadfake")
        assert [r.status for r in reports] == ["succeeded", "succeeded"]
        # Recorded by the workers, fired here (the observer lives in this process).
        _assert_both_moves_arrived(app, observer)
        with app.store.tenant("acme") as repo:
            hosts = {
                run.host
                for run in repo.all(repo.select(SyncRun).where(SyncRun.kind == "candidates"))
            }
        assert all(not str(h).endswith(f":{os.getpid()}") for h in hosts)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("REVIEW", "Review", True),
        ("PHONE_SCREEN", "Phone Screen", True),
        ("Reference-Check", "reference check", True),
        ("Onsite", "Offer", False),
        ("Screen", "Screening", False),
        (None, "Review", False),
        (None, None, True),
    ],
)
def test_a_stage_in_another_spelling_is_the_same_stage(a: str | None, b: str | None, same: bool):
    from atsbridge.services.leads import _same_stage

    assert _same_stage(a, b) is same
