"""Helpers for the do-not-source tests: an in-process ATS with editable pipelines, a test
clock, and shortcuts to connect a tenant and link jobs (tests/cnts)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from atsbridge.api import Atsbridge
from atsbridge.hookspecs import hookimpl
from atsbridge.model import (
    Candidate,
    CandidateQuery,
    CandidateStatus,
    Capability,
    JobState,
    JobStatus,
    Page,
    PluginInfo,
    PushResult,
)
from atsbridge.store import JobLink

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["token"],
    "properties": {"token": {"type": "string", "writeOnly": True}},
}


class Clock:
    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class PipelineAts:
    """A fake ATS whose pipelines tests edit directly; pages newest first, offset cursors.

    ``queries`` records every listing request so tests can tell full from incremental.
    """

    def __init__(self, clock: Clock, name: str = "pipeats"):
        self.clock = clock
        self.name = name
        self.pipelines: dict[str, dict[str, Candidate]] = {}
        self.queries: list[CandidateQuery] = []
        self.fail_jobs: dict[str, Exception] = {}
        self.delay = 0.0  # seconds each listing takes, for tests that stop a sync midway
        # Called with each listing request before it is answered, to hold one back.
        self.before_listing: Callable[[CandidateQuery], object] | None = None

    # -- test controls -------------------------------------------------------------------

    def put(self, job: str, cid: str, **fields: Any) -> Candidate:
        fields.setdefault("first_name", f"First{cid}")
        fields.setdefault("last_name", f"Last{cid}")
        fields.setdefault("emails", (f"{cid}@example.org",))
        fields.setdefault("status", CandidateStatus.NEW)
        candidate = Candidate(ats_id=cid, job_ats_id=job, updated_at=self.clock(), **fields)
        self.pipelines.setdefault(job, {})[cid] = candidate
        return candidate

    def remove(self, job: str, cid: str) -> None:
        del self.pipelines[job][cid]

    # -- hooks ---------------------------------------------------------------------------

    @hookimpl
    def atsbridge_plugin_info(self) -> PluginInfo:
        return PluginInfo(
            name=self.name,
            version="0.0.1",
            display_name="Pipeline fake",
            capabilities={Capability.CANDIDATES},
            config_schema=SCHEMA,
            setup_instructions="none",
        )

    @hookimpl
    def atsbridge_sandbox(self, options: Any) -> Any:
        return None

    @hookimpl
    def atsbridge_open_session(self, config: dict, context: Any) -> Any:
        return self

    def close(self) -> None:
        pass

    @hookimpl
    def atsbridge_search_jobs(self, session: Any, query: Any) -> Page:
        return Page(items=())

    @hookimpl
    def atsbridge_list_candidates(self, session: Any, query: CandidateQuery) -> Page:
        self.queries.append(query)
        time.sleep(self.delay)
        if self.before_listing is not None:
            self.before_listing(query)
        if query.job_ats_id in self.fail_jobs:
            raise self.fail_jobs[query.job_ats_id]
        people = sorted(
            self.pipelines.get(query.job_ats_id, {}).values(),
            key=lambda c: (c.updated_at, c.ats_id),
            reverse=True,
        )
        if query.updated_since is not None:
            people = [c for c in people if c.updated_at and c.updated_at >= query.updated_since]
        start = int(query.cursor or 0)
        end = start + query.page_size
        return Page(items=people[start:end], next_cursor=str(end) if end < len(people) else None)

    @hookimpl
    def atsbridge_job_statuses(self, session: Any, job_ids: list[str]) -> list:
        return [JobState(ats_id=i, status=JobStatus.OPEN, status_raw="open") for i in job_ids]

    @hookimpl
    def atsbridge_push_lead(self, session: Any, job_id: str, lead: Any, idempotency_key: str):
        return PushResult(candidate_id="x")


def connect(app: Atsbridge, tenant: str, ats: str = "pipeats", **settings: Any) -> None:
    app.connections.connect(tenant, ats, {"token": "secret-token-1"})
    if settings:
        app.connections.update_settings(tenant, ats, **settings)


def link(app: Atsbridge, tenant: str, product_job: str, ats_job: str, ats: str = "pipeats"):
    now = app.clock()
    with app.store.tenant(tenant) as repo:
        connection = repo.require_connection(ats)
        repo.add(
            JobLink(
                connection_id=connection.id,
                product_job_id=product_job,
                ats_job_id=ats_job,
                created_at=now,
                updated_at=now,
            )
        )
