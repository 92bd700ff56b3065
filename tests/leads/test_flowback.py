"""Status flow-back: the ATS's stage moves show in leads list, the funnel and the history."""

from __future__ import annotations

from atsbridge.api import Atsbridge
from atsbridge.model import Candidate, CandidateStatus
from conftest import lead_doc
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
    assert [(r.kind, r.scope, r.status) for r in reports] == [("statuses", "J1", "succeeded")]

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
