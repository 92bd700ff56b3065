"""A tiny in-process ATS plugin for core tests: no HTTP, fully controllable.

Each ``FakeAts`` instance is one plugin object registered with ``PluginRegistry.register``.
"""

from __future__ import annotations

import logging
from typing import Any

from atsbridge.errors import AtsUnavailable, AuthError
from atsbridge.hookspecs import hookimpl
from atsbridge.model import (
    Capability,
    Job,
    JobState,
    JobStatus,
    Page,
    PluginInfo,
    PushResult,
)

log = logging.getLogger("fakeats")

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["api_key", "account"],
    "properties": {
        "api_key": {"type": "string", "writeOnly": True, "minLength": 8},
        "refresh_token": {"type": "string", "x-secret": True},
        "account": {"type": "string", "minLength": 1},
        "base_url": {"type": "string", "format": "uri", "default": "https://api.fake.example"},
        "timeout": {"type": "integer", "minimum": 1, "default": 30},
        "region": {"enum": ["eu", "us"]},
    },
}

GOOD_KEY = "fake-key-0123456789"


class FakeSession:
    def __init__(self, config: dict):
        self.config = config
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeAts:
    def __init__(
        self,
        name: str = "fakeats",
        *,
        requires_core: str = ">=0.1",
        rotate_to: str | None = None,
        failure: Exception | None = None,
    ):
        self.name = name
        self.requires_core = requires_core
        self.valid_key = GOOD_KEY
        self.rotate_to = rotate_to
        self.failure = failure
        # Raised by the ATS hooks that read (search, list), e.g. an AuthError mid-session.
        self.read_failure: Exception | None = None
        self.sessions: list[FakeSession] = []
        self.jobs = [
            Job(ats_id="J1", title="Backend Engineer", status=JobStatus.OPEN, status_raw="open")
        ]

    @hookimpl
    def atsbridge_plugin_info(self) -> PluginInfo:
        return PluginInfo(
            name=self.name,
            version="1.2.3",
            display_name="Fake ATS",
            capabilities={Capability.JOBS, Capability.LEAD_PUSH},
            config_schema=SCHEMA,
            setup_instructions="# Fake ATS\n\nCreate an API key under Settings > API.",
            api_version="v9",
            requires_core=self.requires_core,
        )

    @hookimpl
    def atsbridge_sandbox(self, options: Any) -> Any:
        return {"seed": options.seed}

    @hookimpl
    def atsbridge_open_session(self, config: dict, context: Any) -> FakeSession:
        # Deliberately careless, like a real plugin might be: the redactor must catch it.
        log.info("opening %s with key %s", context.connection_label, config["api_key"])
        if self.failure is not None:
            raise self.failure
        if config["api_key"] != self.valid_key:
            raise AuthError("fakeats rejected the API key: check config.api_key")
        if self.rotate_to is not None:
            context.save_secrets({"refresh_token": self.rotate_to})
        session = FakeSession(config)
        self.sessions.append(session)
        return session

    @hookimpl
    def atsbridge_search_jobs(self, session: FakeSession, query: Any) -> Page:
        if self.read_failure is not None:
            raise self.read_failure
        return Page(items=[j for j in self.jobs if not query.text or query.text in j.title])

    @hookimpl
    def atsbridge_list_candidates(self, session: FakeSession, query: Any) -> Page:
        return Page(items=())

    @hookimpl
    def atsbridge_job_statuses(self, session: FakeSession, job_ids: list[str]) -> list:
        return [
            JobState(ats_id=i, status=JobStatus.CLOSED, status_raw="gone", exists=False)
            for i in job_ids
        ]

    @hookimpl
    def atsbridge_push_lead(
        self, session: FakeSession, job_id: str, lead: Any, idempotency_key: str
    ) -> PushResult:
        return PushResult(candidate_id=f"c-{idempotency_key}")


def unavailable() -> AtsUnavailable:
    return AtsUnavailable("fakeats is down (HTTP 503 after 3 retries)")
