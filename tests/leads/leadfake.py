"""An in-memory ATS for the lead outbox tests: people, applications, pipelines, failures.

Registered with ``PluginRegistry.register`` as plugin ``leadfake``; no HTTP. Its push looks
the person up by email before creating them, like the real plugins, so replays after a
crash are safe; ``pushes`` records every call and ``overlaps`` counts pushes of one key that
ran at the same time (which the outbox must never allow).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from atsbridge.hookspecs import hookimpl
from atsbridge.model import (
    Candidate,
    CandidateQuery,
    CandidateStatus,
    Capability,
    Job,
    JobState,
    JobStatus,
    Lead,
    LeadExported,
    Page,
    PluginInfo,
    PushResult,
)

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["api_key"],
    "properties": {"api_key": {"type": "string", "writeOnly": True}},
}
CONFIG = {"api_key": "leadfake-key-123456"}
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


class Session:
    def close(self) -> None:
        pass


@attrs.define
class Person:
    id: str
    lead: Lead
    applications: dict[str, str] = attrs.Factory(dict)  # job id -> application id


@attrs.define
class Application:
    id: str
    person_id: str
    job_id: str
    status: CandidateStatus = CandidateStatus.NEW
    stage: str = "Applied"
    updated_at: datetime = T0


class LeadFake:
    def __init__(self, name: str = "leadfake"):
        self.name = name
        self.jobs: dict[str, Job] = {
            jid: Job(ats_id=jid, title=f"Job {jid}", status=JobStatus.OPEN, status_raw="open")
            for jid in ("J1", "J2")
        }
        self.people: dict[str, Person] = {}
        self.applications: dict[str, Application] = {}
        self.pushes: list[str] = []  # idempotency keys, in call order
        self.list_calls: list[CandidateQuery] = []
        self.failures: deque[BaseException] = deque()  # raised by the next pushes, in order
        self.open_failure: BaseException | None = None
        self.push_delay = 0.0
        self.unsupported: tuple[str, ...] = ("tags",)
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.overlaps = 0
        self.now = T0

    # --- test controls -----------------------------------------------------------------

    def move(self, person_id: str, job_id: str, status: CandidateStatus, stage: str) -> None:
        app_id = self.people[person_id].applications[job_id]
        self.now += timedelta(minutes=1)
        app = self.applications[app_id]
        app.status, app.stage, app.updated_at = status, stage, self.now

    def person_by_email(self, email: str) -> Person | None:
        for person in self.people.values():
            if email in person.lead.emails:
                return person
        return None

    # --- hooks ---------------------------------------------------------------------------

    @hookimpl
    def atsbridge_plugin_info(self) -> PluginInfo:
        return PluginInfo(
            name=self.name,
            version="0.1.0",
            display_name="Lead fake",
            capabilities={Capability.JOBS, Capability.CANDIDATES, Capability.LEAD_PUSH},
            config_schema=SCHEMA,
            setup_instructions="# Lead fake",
        )

    @hookimpl
    def atsbridge_sandbox(self, options: Any) -> Any:
        return None

    @hookimpl
    def atsbridge_open_session(self, config: dict, context: Any) -> Session:
        if self.open_failure is not None:
            raise self.open_failure
        return Session()

    @hookimpl
    def atsbridge_search_jobs(self, session: Session, query: Any) -> Page:
        return Page(items=list(self.jobs.values()))

    @hookimpl
    def atsbridge_job_statuses(self, session: Session, job_ids: list[str]) -> list:
        return [JobState(i, self.jobs[i].status, self.jobs[i].status_raw) for i in job_ids]

    @hookimpl
    def atsbridge_list_candidates(self, session: Session, query: CandidateQuery) -> Page:
        self.list_calls.append(query)
        items = [
            Candidate(
                ats_id=a.person_id,
                job_ats_id=a.job_id,
                application_id=a.id,
                status=a.status,
                stage=a.stage,
                status_raw=a.stage.lower(),
                updated_at=a.updated_at,
            )
            for a in self.applications.values()
            if a.job_id == query.job_ats_id
            and (query.updated_since is None or a.updated_at >= query.updated_since)
        ]
        return Page(items=items)

    @hookimpl
    def atsbridge_push_lead(
        self, session: Session, job_id: str, lead: Lead, idempotency_key: str
    ) -> PushResult:
        with self.lock:
            self.pushes.append(idempotency_key)
            self.in_flight[idempotency_key] += 1
            if self.in_flight[idempotency_key] > 1:
                self.overlaps += 1
            failure = self.failures.popleft() if self.failures else None
        try:
            if self.push_delay:
                time.sleep(self.push_delay)
            if failure is not None:
                raise failure
            with self.lock:
                person = self.person_by_email(lead.emails[0])
                existed = person is not None and job_id in person.applications
                if person is None:
                    person = Person(id=f"P{len(self.people) + 1}", lead=lead)
                    self.people[person.id] = person
                if job_id not in person.applications:
                    app = Application(f"A{len(self.applications) + 1}", person.id, job_id)
                    self.applications[app.id] = app
                    person.applications[job_id] = app.id
                app = self.applications[person.applications[job_id]]
            return PushResult(
                candidate_id=person.id,
                application_id=app.id,
                already_existed=existed,
                unsupported=self.unsupported,
                status=app.status,
                stage=app.stage,
            )
        finally:
            with self.lock:
                self.in_flight[idempotency_key] -= 1


class Observer:
    """Records the event hooks the core broadcasts."""

    def __init__(self) -> None:
        self.exported: list[LeadExported] = []
        self.changed: list[Any] = []

    @hookimpl
    def atsbridge_lead_exported(self, event: LeadExported) -> None:
        self.exported.append(event)

    @hookimpl
    def atsbridge_candidate_status_changed(self, event: Any) -> None:
        self.changed.append(event)
