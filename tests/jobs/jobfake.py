"""An in-memory ATS for the job mirror tests: jobs with cursors, updated_since, statuses.

Registered with ``PluginRegistry.register`` as plugin ``jobfake``; no HTTP. ``calls`` records
every ``atsbridge_search_jobs`` query, so tests can count requests and see cursors.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from atsbridge.errors import AtsUnavailable
from atsbridge.hookspecs import hookimpl
from atsbridge.model import (
    Capability,
    Job,
    JobQuery,
    JobState,
    JobStatus,
    Location,
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
CONFIG = {"api_key": "jobfake-key-123456"}
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


class Session:
    def close(self) -> None:
        pass


class JobFake:
    """Serves ``jobs`` newest-updated first, ``page_size`` at a time, with offset cursors."""

    def __init__(self, name: str = "jobfake"):
        self.name = name
        self.jobs: dict[str, Job] = {}
        self.calls: list[JobQuery] = []
        self.status_calls: list[list[str]] = []
        self.fail_on_call: int | None = None  # raise on this search call (1-based)
        self.on_call: Callable[[int], None] | None = None
        self.now = T0

    # --- test controls -----------------------------------------------------------------

    def tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def put(self, job: Job) -> Job:
        self.jobs[job.ats_id] = job
        return job

    def add(self, ats_id: str, title: str, **fields: Any) -> Job:
        fields.setdefault("status", JobStatus.OPEN)
        fields.setdefault("status_raw", fields["status"].value)
        fields.setdefault("updated_at", self.tick())
        fields.setdefault("created_at", fields["updated_at"])
        return self.put(Job(ats_id=ats_id, title=title, **fields))

    def edit(self, ats_id: str, **fields: Any) -> Job:
        old = self.jobs[ats_id]
        values = {**{a.name: getattr(old, a.name) for a in Job.__attrs_attrs__}, **fields}
        values["updated_at"] = self.tick()
        if "status" in fields and "status_raw" not in fields:
            values["status_raw"] = fields["status"].value
        return self.put(Job(**values))

    def delete(self, ats_id: str) -> None:
        del self.jobs[ats_id]

    # --- hooks -------------------------------------------------------------------------

    @hookimpl
    def atsbridge_plugin_info(self) -> PluginInfo:
        return PluginInfo(
            name=self.name,
            version="0.0.1",
            display_name="Job fake",
            capabilities={Capability.JOBS, Capability.JOB_STATUS},
            config_schema=SCHEMA,
            setup_instructions="Nothing to set up.",
        )

    @hookimpl
    def atsbridge_open_session(self, config: dict, context: Any) -> Session:
        return Session()

    @hookimpl
    def atsbridge_search_jobs(self, session: Session, query: JobQuery) -> Page:
        self.calls.append(query)
        number = len(self.calls)
        if self.on_call is not None:
            self.on_call(number)
        if self.fail_on_call == number:
            raise AtsUnavailable("jobfake is down (simulated crash)")
        jobs = sorted(
            self.jobs.values(), key=lambda j: (j.updated_at or T0, j.ats_id), reverse=True
        )
        if query.updated_since is not None:
            jobs = [j for j in jobs if j.updated_at and j.updated_at >= query.updated_since]
        start = int(query.cursor) if query.cursor else 0
        end = start + query.page_size
        return Page(items=jobs[start:end], next_cursor=str(end) if end < len(jobs) else None)

    @hookimpl
    def atsbridge_list_candidates(self, session: Session, query: Any) -> Page:
        return Page(items=())

    @hookimpl
    def atsbridge_job_statuses(self, session: Session, job_ids: list[str]) -> list[JobState]:
        self.status_calls.append(list(job_ids))
        out = []
        for ats_id in job_ids:
            job = self.jobs.get(ats_id)
            if job is None:
                out.append(JobState(ats_id, JobStatus.CLOSED, "deleted", exists=False))
            else:
                out.append(JobState(ats_id, job.status, job.status_raw))
        return out

    @hookimpl
    def atsbridge_push_lead(self, session: Session, job_id: str, lead: Any, idempotency_key: str):
        return PushResult(candidate_id="c1")


def place(city: str, region: str | None = None, country: str | None = None) -> Location:
    return Location(city=city, region=region, country_code=country)


class Observer:
    """Records the job events the core broadcasts."""

    def __init__(self) -> None:
        self.closed: list[Any] = []
        self.reopened: list[Any] = []

    @hookimpl
    def atsbridge_job_closed(self, event: Any) -> None:
        self.closed.append(event)

    @hookimpl
    def atsbridge_job_reopened(self, event: Any) -> None:
        self.reopened.append(event)
