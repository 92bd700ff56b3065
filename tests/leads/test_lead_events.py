"""The outbox, the flow-back, the do-not-source list, every sync run and a connection's
refused credentials each write their event in the change's own transaction; observer
plugins get the same events through ``atsbridge_event`` (and the typed hooks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from atsbridge.api import Atsbridge
from atsbridge.errors import AtsError, AtsUnavailable, AuthError
from atsbridge.events import types
from atsbridge.hookspecs import hookimpl
from atsbridge.model import CandidateStatus, Job, JobStatus, LoggedEvent
from atsbridge.services import cnts
from conftest import lead_doc
from leadfake import LeadFake, Observer


class EveryEvent:
    """An observer-only plugin that wants the whole log."""

    def __init__(self) -> None:
        self.events: list[LoggedEvent] = []

    @hookimpl
    def atsbridge_event(self, event: LoggedEvent) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[LoggedEvent]:
        return [e for e in self.events if e.type == kind]


@pytest.fixture
def every(app: Atsbridge) -> EveryEvent:
    plugin = EveryEvent()
    app.registry.pm.register(plugin, name="every-event")
    return plugin


def _feed(app: Atsbridge, *kinds: str) -> list[dict[str, Any]]:
    events, _ = app.events.feed(tenants=["acme"], after=None, limit=1000, types=list(kinds))
    return events


def _same(feed: list[dict[str, Any]], seen: list[LoggedEvent]) -> None:
    """The hook got exactly the logged events, same ids, same data."""
    assert [(e["id"], e["data"]) for e in feed] == [(e.id, e.data) for e in seen]


def test_a_lead_on_the_list_is_skipped_with_an_event(
    app: Atsbridge, tmp_path: Path, every: EveryEvent
) -> None:
    path = tmp_path / "dns.csv"
    path.write_text("email\nada@example.org\n", encoding="utf-8")
    app.cnts.import_file("acme", "pj-1", path)
    outcome = app.leads.push("acme", "pj-1", lead_doc("lead-1", email="ada@example.org"))
    assert outcome.lead.state == "skipped"
    [skipped] = _feed(app, types.LEAD_SKIPPED)
    assert skipped["data"]["lead_id"] == "lead-1"
    assert skipped["data"]["product_job_id"] == "pj-1"
    assert skipped["data"]["reason"] == outcome.lead.reason
    assert skipped["data"]["excluded_by"]["rule"] == "email"
    _same([skipped], every.of(types.LEAD_SKIPPED))


def test_a_lead_of_a_closed_job_is_skipped_with_an_event(
    app: Atsbridge, ats: LeadFake, every: EveryEvent
) -> None:
    app.leads.enqueue("acme", "pj-1", lead_doc("lead-1"))
    ats.jobs["J1"] = Job(ats_id="J1", title="Job J1", status=JobStatus.CLOSED, status_raw="x")
    app.jobs.sync("acme", "leadfake")
    app.leads.drain()
    [skipped] = _feed(app, types.LEAD_SKIPPED)
    assert skipped["data"]["reason"] == "job closed" and skipped["data"]["excluded_by"] is None
    _same([skipped], every.of(types.LEAD_SKIPPED))


def test_each_failed_attempt_is_an_event_and_the_last_says_dead(
    app: Atsbridge, ats: LeadFake, every: EveryEvent
) -> None:
    ats.failures.extend([AtsUnavailable("leadfake is down"), AtsError("duplicate refused")])
    outcome = app.leads.push("acme", "pj-1", lead_doc("lead-1"))
    assert outcome.lead.state == "failed"
    app.leads.retry("acme", "lead-1")
    app.leads.drain()
    assert app.leads.get("acme", "pj-1", "lead-1").state == "dead"
    failed = _feed(app, types.LEAD_FAILED)
    assert [(e["data"]["attempt"], e["data"]["error_code"], e["data"]["dead"]) for e in failed] == [
        (1, "ats.unavailable", False),
        (1, "ats.refused", True),
    ]
    assert failed[0]["data"]["next_attempt_at"] is not None
    assert failed[1]["data"]["next_attempt_at"] is None
    assert "duplicate refused" in failed[1]["data"]["error"]
    _same(failed, every.of(types.LEAD_FAILED))


def test_a_status_move_is_logged_and_reaches_both_hooks(
    app: Atsbridge, ats: LeadFake, observer: Observer, every: EveryEvent
) -> None:
    app.leads.push("acme", "pj-1", lead_doc("lead-1"))
    ats.move("P1", "J1", CandidateStatus.INTERVIEWING, "Onsite")
    app.leads.sync_statuses()
    [moved] = _feed(app, types.CANDIDATE_STATUS_CHANGED)
    assert moved["data"] == {
        "ats": "leadfake",
        "product_job_id": "pj-1",
        "lead_id": "lead-1",
        "candidate_id": "P1",
        "application_id": moved["data"]["application_id"],
        "old_status": "new",
        "new_status": "interviewing",
        "stage": "Onsite",
        "status_raw": moved["data"]["status_raw"],
    }
    [typed] = observer.changed
    assert (typed.lead_id, typed.old_status, typed.new_status, typed.stage) == (
        "lead-1",
        CandidateStatus.NEW,
        CandidateStatus.INTERVIEWING,
        "Onsite",
    )
    _same([moved], every.of(types.CANDIDATE_STATUS_CHANGED))
    app.leads.sync_statuses()  # nothing moved: nothing more
    assert len(_feed(app, types.CANDIDATE_STATUS_CHANGED)) == 1


def test_list_changes_by_file_and_by_sync_are_events(
    app: Atsbridge, ats: LeadFake, tmp_path: Path, every: EveryEvent
) -> None:
    path = tmp_path / "dns.csv"
    path.write_text("email\nada@example.org\nbob@example.org\n", encoding="utf-8")
    report = app.cnts.import_file("acme", "pj-1", path)
    app.cnts.import_file("acme", "pj-1", path, dry_run=True)  # stores nothing: no event
    again = app.cnts.import_file("acme", "pj-1", path)  # nothing new: no event
    app.cnts.remove_email("acme", "pj-1", "bob@example.org")
    app.cnts.remove_import("acme", "pj-1", report.import_id or 0)  # ada kept by `again`
    app.cnts.remove_import("acme", "pj-1", again.import_id or 0)
    app.leads.push("acme", "pj-1", lead_doc("lead-1"))  # a person in J1's pipeline
    app.cnts.sync("acme", "leadfake", product_job_id="pj-1")
    app.cnts.sync("acme", "leadfake", product_job_id="pj-1")  # unchanged: no event
    changes = _feed(app, types.DONOTSOURCE_UPDATED)
    assert [
        (
            e["data"]["source"],
            e["data"]["change"],
            e["data"]["added"],
            e["data"]["updated"],
            e["data"]["removed"],
        )
        for e in changes
    ] == [
        ("file", "import", 2, 0, 0),
        ("file", "email_removed", 0, 0, 1),
        ("file", "import_removed", 0, 0, 1),
        ("ats", "sync", 1, 0, 0),
    ]
    assert {e["data"]["product_job_id"] for e in changes} == {"pj-1"}
    assert changes[0]["data"]["import_id"] == report.import_id
    _same(changes, every.of(types.DONOTSOURCE_UPDATED))


def test_every_sync_run_ends_with_sync_finished(
    app: Atsbridge, ats: LeadFake, every: EveryEvent
) -> None:
    before = len(_feed(app, types.SYNC_FINISHED))  # the fixture's job sync
    reports = app.sync.run("acme", "leadfake", ["jobs"])
    finished = _feed(app, types.SYNC_FINISHED)[before:]
    assert [(e["data"]["kind"], e["data"]["run_id"], e["data"]["status"]) for e in finished] == [
        (r.kind, r.id, "succeeded") for r in reports
    ]
    assert finished[-1]["data"]["counts"] == reports[-1].counts
    _same(finished, every.of(types.SYNC_FINISHED))


def test_a_sync_refused_its_credentials_fails_and_says_so(
    app: Atsbridge, every: EveryEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.leads.push("acme", "pj-1", lead_doc("lead-1"))

    def refused(*args: Any, **kwargs: Any) -> None:
        raise AuthError("token revoked")

    monkeypatch.setattr(cnts.CandidatesKind, "list_page", refused)
    with pytest.raises(AuthError):
        app.cnts.sync("acme", "leadfake", product_job_id="pj-1")
    [ended] = [e for e in _feed(app, types.SYNC_FINISHED) if e["data"]["kind"] == "candidates"]
    assert ended["data"]["status"] == "failed" and "token revoked" in ended["data"]["last_error"]
    [failing] = _feed(app, types.CONNECTION_CREDENTIALS_FAILING)
    assert failing["data"] == {"ats": "leadfake", "during": "sync", "error": "token revoked"}
    _same([failing], every.of(types.CONNECTION_CREDENTIALS_FAILING))


def test_a_refused_check_and_a_refused_session_say_so(
    app: Atsbridge, ats: LeadFake, every: EveryEvent
) -> None:
    app.session_pool.close()  # the fixture's sync left a pooled session: open a new one
    ats.open_failure = AuthError("invalid API key")
    with pytest.raises(AuthError):
        app.connections.check("acme", "leadfake")
    with pytest.raises(AuthError):
        app.sync.run("acme", "leadfake", ["jobs"])
    ats.open_failure = AtsUnavailable("down")  # not a credentials problem: no event
    with pytest.raises(AtsUnavailable):
        app.connections.check("acme", "leadfake")
    failing = _feed(app, types.CONNECTION_CREDENTIALS_FAILING)
    assert [(e["data"]["during"], e["data"]["error"]) for e in failing] == [
        ("check", "invalid API key"),
        ("session", "invalid API key"),
    ]
    _same(failing, every.of(types.CONNECTION_CREDENTIALS_FAILING))
