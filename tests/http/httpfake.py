"""An in-memory ATS for the HTTP API tests: jobs, one pipeline per job, lead pushes.

Registered as plugin ``httpfake``; no network. ``calls`` counts hook calls by name so tests
assert how many ATS requests an API call cost; ``down`` makes every hook fail as
unreachable and a config whose ``api_key`` is not ``GOOD_KEY`` is refused like a 401.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from atsbridge.errors import AtsUnavailable, AuthError
from atsbridge.hookspecs import hookimpl
from atsbridge.model import (
    Candidate,
    CandidateStatus,
    Capability,
    Job,
    JobState,
    JobStatus,
    Location,
    Page,
    PluginInfo,
    PushResult,
)

GOOD_KEY = "httpfake-key-0123456789"
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["api_key", "account"],
    "properties": {
        "api_key": {"type": "string", "writeOnly": True, "minLength": 8},
        "account": {"type": "string", "minLength": 1, "maxLength": 50},
    },
}
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def config(account: str = "acme") -> dict[str, Any]:
    return {"api_key": GOOD_KEY, "account": account}


class Session:
    def __init__(self, account: str):
        self.account = account

    def close(self) -> None:
        pass


class HttpFake:
    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Job]] = {}  # account -> ats id -> job
        self.pipelines: dict[tuple[str, str], list[Candidate]] = {}
        self.pushed: list[tuple[str, str, str]] = []  # (account, job id, idempotency key)
        self.calls: Counter[str] = Counter()
        self.down = False

    # --- test controls -------------------------------------------------------------------

    def add_job(self, account: str, ats_id: str, title: str, **fields: Any) -> Job:
        jobs = self.jobs.setdefault(account, {})
        fields.setdefault("status", JobStatus.OPEN)
        fields.setdefault("status_raw", fields["status"].value)
        fields.setdefault("updated_at", T0 + timedelta(minutes=len(jobs) + 1))
        job = Job(ats_id=ats_id, title=title, **fields)
        jobs[ats_id] = job
        return job

    def add_candidate(
        self, account: str, job_id: str, ats_id: str, name: str, email: str
    ) -> Candidate:
        first, _, last = name.partition(" ")
        person = Candidate(
            ats_id=ats_id,
            job_ats_id=job_id,
            first_name=first,
            last_name=last,
            emails=(email,),
            status=CandidateStatus.IN_REVIEW,
            status_raw="review",
            stage="Review",
            updated_at=T0,
        )
        self.pipelines.setdefault((account, job_id), []).append(person)
        return person

    # --- hooks ---------------------------------------------------------------------------

    def _enter(self, hook: str) -> None:
        self.calls[hook] += 1
        if self.down:
            raise AtsUnavailable("httpfake: connection refused (simulated outage)")

    @hookimpl
    def atsbridge_plugin_info(self) -> PluginInfo:
        return PluginInfo(
            name="httpfake",
            version="0.0.1",
            display_name="HTTP fake",
            capabilities={
                Capability.JOBS,
                Capability.JOB_STATUS,
                Capability.CANDIDATES,
                Capability.LEAD_PUSH,
            },
            config_schema=SCHEMA,
            setup_instructions="1. Create an API key.\n2. Paste it.",
        )

    @hookimpl
    def atsbridge_open_session(self, config: dict, context: Any) -> Session:
        self._enter("open_session")
        if config["api_key"] != GOOD_KEY:
            raise AuthError("httpfake: 401 Unauthorized: check the API key")
        return Session(config["account"])

    @hookimpl
    def atsbridge_search_jobs(self, session: Session, query: Any) -> Page:
        self._enter("search_jobs")
        jobs = sorted(
            self.jobs.get(session.account, {}).values(),
            key=lambda j: (j.updated_at or T0, j.ats_id),
            reverse=True,
        )
        if query.updated_since is not None:
            jobs = [j for j in jobs if j.updated_at and j.updated_at >= query.updated_since]
        start = int(query.cursor) if query.cursor else 0
        end = start + query.page_size
        return Page(items=jobs[start:end], next_cursor=str(end) if end < len(jobs) else None)

    @hookimpl
    def atsbridge_list_candidates(self, session: Session, query: Any) -> Page:
        self._enter("list_candidates")
        people = self.pipelines.get((session.account, query.job_ats_id or ""), [])
        return Page(items=list(people))

    @hookimpl
    def atsbridge_job_statuses(self, session: Session, job_ids: list[str]) -> list[JobState]:
        self._enter("job_statuses")
        jobs = self.jobs.get(session.account, {})
        out = []
        for ats_id in job_ids:
            job = jobs.get(ats_id)
            if job is None:
                out.append(JobState(ats_id, JobStatus.CLOSED, "deleted", exists=False))
            else:
                out.append(JobState(ats_id, job.status, job.status_raw))
        return out

    @hookimpl
    def atsbridge_push_lead(
        self, session: Session, job_id: str, lead: Any, idempotency_key: str
    ) -> PushResult:
        self._enter("push_lead")
        existed = any(k == idempotency_key for _, _, k in self.pushed)
        self.pushed.append((session.account, job_id, idempotency_key))
        number = len({k for _, _, k in self.pushed})
        return PushResult(
            candidate_id=f"C{number}",
            application_id=f"A{number}",
            already_existed=existed,
            status=CandidateStatus.NEW,
            stage="Applied",
        )


def berlin() -> Location:
    return Location(city="Berlin", country_code="DE")
