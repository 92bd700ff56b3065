"""The lead outbox's state machine against the in-memory fake, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from atsbridge import leaddoc
from atsbridge.api import Atsbridge
from atsbridge.errors import AtsError, AtsUnavailable, AuthError, BadInput, Conflict, NotFound
from atsbridge.model import Attachment
from atsbridge.services.leads import (
    DEAD,
    EXPORTED,
    EXPORTING,
    FAILED,
    PENDING,
    SKIPPED,
    OutboxPolicy,
    idempotency_key,
)
from atsbridge.store import JobLink, LeadRow, LeadStatusHistory
from conftest import PDF, ManualClock, lead_doc
from leadfake import LeadFake, Observer
from sqlmodel import select


def rows(app: Atsbridge) -> list[LeadRow]:
    with app.store.tenant("acme") as repo:
        return repo.all(select(LeadRow).order_by(LeadRow.id))


def test_push_exports_at_once_with_every_field(app: Atsbridge, ats: LeadFake, observer: Observer):
    outcome = app.leads.push("acme", "pj-1", lead_doc("lead-1"))

    view = outcome.lead
    assert not outcome.already_queued and outcome.deferred is None
    assert view.state == EXPORTED and view.attempts == 1
    assert (view.candidate_id, view.application_id, view.ats_job_id) == ("P1", "A1", "J1")
    assert view.unsupported == ["tags"]  # what the ATS could not take is kept and shown
    assert (view.status, view.stage) == ("new", "Applied")
    lead = ats.people["P1"].lead
    assert lead.educations[0].school == "Université Paris Cité"
    assert lead.experiences[0].current is True
    assert lead.location is not None and lead.location.country_code == "FR"
    assert lead.attachments[0].content == PDF
    assert ats.pushes == [idempotency_key("acme", "pj-1", "lead-1")]
    assert [(e.lead_id, e.result.candidate_id) for e in observer.exported] == [("lead-1", "P1")]
    assert [h["status"] for h in app.leads.history("acme", "pj-1", "lead-1")] == ["new"]


def test_idempotency_key_is_derived_from_tenant_job_and_lead() -> None:
    key = idempotency_key("acme", "pj-1", "lead-1")
    assert key == idempotency_key("acme", "pj-1", "lead-1")
    assert len({key, idempotency_key("acme", "pj-2", "lead-1")}) == 2
    assert len({key, idempotency_key("other", "pj-1", "lead-1")}) == 2
    # No separator ambiguity: ("a", "b\0c") and ("a\0b", "c") differ.
    assert idempotency_key("a", "b-c", "d") != idempotency_key("a-b", "c", "d")


def test_enqueue_is_committed_before_any_request(app: Atsbridge, ats: LeadFake) -> None:
    outcome = app.leads.enqueue("acme", "pj-1", lead_doc("lead-1"))
    assert outcome.lead.state == PENDING and ats.pushes == []
    # A second app on the same database (another process) sees the row at once.
    with Atsbridge(db=app.db, registry=app.registry, clock=app.clock) as other:
        assert [v.lead_id for v in other.leads.list("acme")] == ["lead-1"]
        report = other.leads.drain()
    assert report.exported == 1 and rows(app)[0].state == EXPORTED


def test_same_lead_twice_is_reported_as_already_queued(app: Atsbridge, ats: LeadFake) -> None:
    first = app.leads.push("acme", "pj-1", lead_doc("lead-1"))
    second = app.leads.push("acme", "pj-1", lead_doc("lead-1", headline="changed"))
    assert not first.already_queued and second.already_queued
    assert second.lead.state == EXPORTED
    assert len(rows(app)) == 1 and len(ats.pushes) == 1
    # The same lead id for another product job is another lead.
    assert not app.leads.push("acme", "pj-2", lead_doc("lead-1")).already_queued


def test_lead_for_an_unlinked_job_is_refused(app: Atsbridge) -> None:
    with pytest.raises(NotFound, match="'pj-404' is not linked"):
        app.leads.enqueue("acme", "pj-404", lead_doc())
    assert rows(app) == []


def test_bad_documents_name_every_field(app: Atsbridge) -> None:
    doc = lead_doc(extra_field=1, emails=[], linkedin_url="https://example.org/ada")
    doc["educations"][0]["start"] = "2012-13"
    with pytest.raises(leaddoc.LeadDocumentError) as info:
        app.leads.enqueue("acme", "pj-1", doc)
    assert info.value.problems == [
        "lead.educations[0].start: must be a date YYYY, YYYY-MM or YYYY-MM-DD",
        "lead.emails: must have at least 1 item",
        "lead.extra_field: unknown field",
        "lead.linkedin_url: must be a linkedin.com URL (http or https)",
    ]
    assert rows(app) == []


def test_closed_job_leads_are_skipped(app: Atsbridge, ats: LeadFake) -> None:
    queued = app.leads.enqueue("acme", "pj-1", lead_doc("before-close")).lead
    assert queued.state == PENDING
    # The job closes in the ATS; the job sync propagates it to the link.
    from atsbridge.model import JobStatus

    ats.jobs["J1"] = ats.jobs["J1"].__class__(
        ats_id="J1", title="Job J1", status=JobStatus.CLOSED, status_raw="closed"
    )
    app.jobs.sync("acme", "leadfake", full=True)
    after = app.leads.push("acme", "pj-1", lead_doc("after-close")).lead
    assert (after.state, after.reason) == (SKIPPED, "job closed")
    report = app.leads.drain()
    assert report.skipped == 1 and report.exported == 0
    states = {v.lead_id: (v.state, v.reason, v.attempts) for v in app.leads.list("acme")}
    assert states == {
        "before-close": (SKIPPED, "job closed", 0),
        "after-close": (SKIPPED, "job closed", 0),
    }
    assert ats.pushes == []


def test_failures_back_off_then_die_and_retry_revives(
    app: Atsbridge, ats: LeadFake, clock: ManualClock
) -> None:
    policy = OutboxPolicy(max_attempts=3, jitter=0.0)
    app.leads.policy = policy
    key = idempotency_key("acme", "pj-1", "lead-1")
    ats.failures.extend(AtsUnavailable(f"leadfake is down ({n})") for n in (1, 2, 3))

    first = app.leads.push("acme", "pj-1", lead_doc("lead-1"))
    assert first.lead.state == FAILED and first.lead.attempts == 1
    assert first.lead.next_attempt_at == clock.now + timedelta(minutes=1)
    assert first.lead.last_error == "AtsUnavailable: leadfake is down (1)"

    assert app.leads.drain().claimed == 0  # not due yet
    clock.advance(timedelta(seconds=59))
    assert app.leads.drain().claimed == 0
    clock.advance(timedelta(seconds=1))
    second = app.leads.drain()
    assert (second.claimed, second.failed) == (1, 1)
    view = app.leads.get("acme", "pj-1", "lead-1")
    assert view.next_attempt_at == clock.now + timedelta(minutes=2)  # doubled
    clock.advance(timedelta(minutes=2))
    third = app.leads.drain()
    assert (third.claimed, third.dead) == (1, 1)
    dead = app.leads.get("acme", "pj-1", "lead-1")
    assert (dead.state, dead.attempts, dead.next_attempt_at) == (DEAD, 3, None)
    assert dead.last_error == "AtsUnavailable: leadfake is down (3)"
    clock.advance(timedelta(days=1))
    assert app.leads.drain().claimed == 0  # dead stays dead
    assert ats.pushes == [key] * 3

    revived = app.leads.retry("acme", all_dead=True)
    assert [(v.lead_id, v.state, v.attempts) for v in revived] == [("lead-1", PENDING, 0)]
    assert app.leads.drain().exported == 1
    assert app.leads.get("acme", "pj-1", "lead-1").state == EXPORTED
    with pytest.raises(Conflict, match="is exported"):
        app.leads.retry("acme", "lead-1")


def test_backoff_is_capped_and_jittered_within_bounds() -> None:
    policy = OutboxPolicy(backoff_base=timedelta(minutes=1), backoff_max=timedelta(minutes=10))
    for attempt in range(1, 12):
        base = min(timedelta(minutes=1) * 2 ** (attempt - 1), timedelta(minutes=10))
        delay = policy.delay("k", attempt)
        assert base <= delay <= base * 1.2
        assert delay == policy.delay("k", attempt)  # deterministic
    assert policy.delay("k", 1) != policy.delay("other", 1)


def test_an_ats_refusal_is_dead_at_once(app: Atsbridge, ats: LeadFake) -> None:
    ats.failures.append(AtsError("leadfake refused the candidate: invalid phone", status_code=422))
    view = app.leads.push("acme", "pj-1", lead_doc("lead-1")).lead
    assert (view.state, view.attempts) == (DEAD, 1)
    assert "invalid phone" in (view.last_error or "")
    with pytest.raises(BadInput, match="not both"):
        app.leads.retry("acme", "lead-1", all_dead=True)
    with pytest.raises(NotFound, match="no lead 'nope'"):
        app.leads.retry("acme", "nope")
    assert [v.state for v in app.leads.retry("acme", "lead-1")] == [PENDING]
    assert app.leads.drain().exported == 1


def test_ats_down_stops_the_drain_without_spending_other_attempts(
    app: Atsbridge, ats: LeadFake
) -> None:
    for n in range(3):
        app.leads.enqueue("acme", "pj-1", lead_doc(f"lead-{n}"))
    ats.failures.append(AuthError("leadfake rejected the API key"))
    report = app.leads.drain()
    assert (report.claimed, report.failed) == (1, 1)
    assert report.errors == ["acme/leadfake: leadfake rejected the API key"]
    assert sorted(r.attempts for r in rows(app)) == [0, 0, 1]


def test_unreachable_ats_defers_the_export(app: Atsbridge, ats: LeadFake) -> None:
    ats.open_failure = AtsUnavailable("leadfake is down (HTTP 503 after 3 retries)")
    app.session_pool.close()  # as in a new process: the push must open a session
    outcome = app.leads.push("acme", "pj-1", lead_doc("lead-1"))
    assert outcome.lead.state == PENDING and outcome.lead.attempts == 0
    assert outcome.deferred == "leadfake is down (HTTP 503 after 3 retries)"
    report = app.leads.drain()
    assert report.errors == ["acme/leadfake: leadfake is down (HTTP 503 after 3 retries)"]
    ats.open_failure = None
    assert app.leads.drain().exported == 1


def claim_and_die(app: Atsbridge) -> None:
    """What a process killed mid-push leaves behind: the row claimed, nothing recorded."""
    with app.open_session("acme", "leadfake") as session:
        from atsbridge.services.leads import DrainReport

        claim = app.leads._claim(session, None, DrainReport())
        assert claim is not None and not isinstance(claim, str)
        # The push reached the ATS, but the process died before recording it.
        session.call("atsbridge_push_lead", job_id="J1", lead=claim.lead, idempotency_key=claim.key)


def test_a_push_killed_midway_is_replayed_after_its_lease(
    app: Atsbridge, ats: LeadFake, clock: ManualClock
) -> None:
    app.leads.enqueue("acme", "pj-1", lead_doc("lead-1"))
    claim_and_die(app)
    assert rows(app)[0].state == EXPORTING
    assert app.leads.drain().claimed == 0  # the lease still protects it
    clock.advance(app.leads.policy.lease)
    report = app.leads.drain()
    assert (report.exported, report.already_existed) == (1, 1)
    row = rows(app)[0]
    assert (row.state, row.attempts, row.already_existed) == (EXPORTED, 2, True)
    assert len(ats.people) == 1 and len(ats.applications) == 1


def test_a_result_after_a_takeover_is_not_recorded(
    app: Atsbridge, ats: LeadFake, clock: ManualClock
) -> None:
    from atsbridge.services.leads import DrainReport

    app.leads.enqueue("acme", "pj-1", lead_doc("lead-1"))
    with app.open_session("acme", "leadfake") as session:
        slow = app.leads._claim(session, None, DrainReport())
        assert slow is not None and not isinstance(slow, str)
        clock.advance(app.leads.policy.lease)  # the slow worker is presumed dead
        assert app.leads.drain().exported == 1
        late = DrainReport()
        result = session.call(
            "atsbridge_push_lead", job_id="J1", lead=slow.lead, idempotency_key=slow.key
        )
        app.leads._record_success(session, slow, result, late)
        app.leads._record_failure(session, slow, AtsUnavailable("late"), late)
    assert late.taken_over == 2
    row = rows(app)[0]
    assert (row.state, row.attempts, row.last_error) == (EXPORTED, 2, None)
    with app.store.tenant("acme") as repo:
        assert len(repo.all(select(LeadStatusHistory))) == 1


def test_concurrent_drains_never_push_a_lead_twice(app: Atsbridge, ats: LeadFake) -> None:
    for n in range(24):
        app.leads.enqueue("acme", "pj-1" if n % 2 else "pj-2", lead_doc(f"lead-{n}"))
    ats.push_delay = 0.005  # keep pushes in flight while the other drains claim
    reports = []
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            with Atsbridge(db=app.db, registry=app.registry, clock=app.clock) as other:
                reports.append(other.leads.drain())
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ats.overlaps == 0
    assert sorted(ats.pushes) == sorted(set(ats.pushes)) and len(ats.pushes) == 24
    assert sum(r.exported for r in reports) == 24
    assert {r.state for r in rows(app)} == {EXPORTED}
    assert sum(1 for r in reports if r.exported) >= 2  # the work really was shared


def test_resume_beside_the_document(app: Atsbridge, ats: LeadFake) -> None:
    doc = lead_doc("lead-1")
    doc.pop("attachments")
    resume = Attachment("cv.txt", "text/plain", b"Ada Quinton\nStaff Engineer\n")
    app.leads.push("acme", "pj-1", doc, resume)
    assert ats.people["P1"].lead.attachments == (resume,)
    with pytest.raises(leaddoc.LeadDocumentError, match="given twice"):
        app.leads.enqueue("acme", "pj-1", lead_doc("lead-2"), resume)


def test_link_removed_after_enqueue_skips_the_lead(app: Atsbridge, ats: LeadFake) -> None:
    app.leads.enqueue("acme", "pj-1", lead_doc("lead-1"))
    with app.store.tenant("acme") as repo:
        repo.session.execute(sa.delete(JobLink).where(JobLink.product_job_id == "pj-1"))
    assert app.leads.drain().skipped == 1
    view = app.leads.get("acme", "pj-1", "lead-1")
    assert (view.state, view.reason) == (SKIPPED, "job no longer linked")
    assert ats.pushes == []
