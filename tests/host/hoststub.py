"""An in-process ATS plugin for host tests: no HTTP, per-account behaviour, overlap probes.

Each connection's config names an ``account``. ``StubAts.behaviour[account]`` makes that
account's calls fail or slow down; ``calls`` counts hook calls per (account, hook); and
``max_overlap`` records the most calls of one hook that ever ran at once for one account,
which is how the tests see that a task never runs twice at once for a connection.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import attrs
from atsbridge.errors import AtsUnavailable
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
from atsbridge.plugins import PluginRegistry

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["account", "api_key"],
    "properties": {
        "account": {"type": "string", "minLength": 1},
        "api_key": {"type": "string", "writeOnly": True, "minLength": 8},
    },
}
KEY = "stub-key-0123456789"


@attrs.define
class Behaviour:
    fail: bool = False
    delay: float = 0.0  # seconds per job page
    # A URL each job page GETs first through the SDK's HTTP client, e.g. a HostileServer's
    # trickling endpoint, with that client's total deadline (seconds).
    fetch: str | None = None
    fetch_deadline: float = 5.0


class StubSession:
    def __init__(self, account: str):
        self.account = account

    def close(self) -> None:
        pass


class StubAts:
    def __init__(self, name: str = "stub", jobs: int = 3):
        self.name = name
        self.jobs = [
            Job(ats_id=f"J{i}", title=f"Engineer {i}", status=JobStatus.OPEN, status_raw="open")
            for i in range(1, jobs + 1)
        ]
        self.behaviour: dict[str, Behaviour] = defaultdict(Behaviour)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)
        self.max_overlap: dict[tuple[str, str], int] = defaultdict(int)
        self._in_flight: dict[tuple[str, str], int] = defaultdict(int)
        self._lock = threading.Lock()
        # Set at teardown so that "slow" calls end at once instead of holding up the exit.
        self.release = threading.Event()

    def _enter(self, account: str, hook: str) -> None:
        with self._lock:
            key = (account, hook)
            self.calls[key] += 1
            self._in_flight[key] += 1
            self.max_overlap[key] = max(self.max_overlap[key], self._in_flight[key])

    def _leave(self, account: str, hook: str) -> None:
        with self._lock:
            self._in_flight[(account, hook)] -= 1

    def count(self, account: str, hook: str = "search") -> int:
        with self._lock:
            return self.calls[(account, hook)]

    @hookimpl
    def atsbridge_plugin_info(self) -> PluginInfo:
        return PluginInfo(
            name=self.name,
            version="0.0.1",
            display_name="Stub ATS",
            capabilities={Capability.JOBS},
            config_schema=SCHEMA,
            setup_instructions="# Stub\n",
            api_version="v0",
        )

    @hookimpl
    def atsbridge_open_session(self, config: dict, context: Any) -> StubSession:
        return StubSession(config["account"])

    @hookimpl
    def atsbridge_search_jobs(self, session: StubSession, query: Any) -> Page:
        account = session.account
        self._enter(account, "search")
        try:
            behaviour = self.behaviour[account]
            if behaviour.delay:
                self.release.wait(behaviour.delay)
            if behaviour.fetch:
                from atsbridge_sdk.http import HttpClient, RetryPolicy

                retry = RetryPolicy(max_attempts=1)
                with HttpClient(
                    behaviour.fetch, retry=retry, deadline=behaviour.fetch_deadline, timeout=5.0
                ) as http:
                    http.get("")
            if behaviour.fail:
                raise AtsUnavailable(f"stub account {account} is down")
            return Page(items=self.jobs)
        finally:
            self._leave(account, "search")

    @hookimpl
    def atsbridge_list_candidates(self, session: StubSession, query: Any) -> Page:
        return Page(items=())

    @hookimpl
    def atsbridge_job_statuses(self, session: StubSession, job_ids: list[str]) -> list:
        return [JobState(ats_id=i, status=JobStatus.OPEN, status_raw="open") for i in job_ids]

    @hookimpl
    def atsbridge_push_lead(
        self, session: StubSession, job_id: str, lead: Any, idempotency_key: str
    ) -> PushResult:
        return PushResult(candidate_id=f"c-{idempotency_key[:12]}")


def stub_registry(stub: StubAts) -> PluginRegistry:
    registry = PluginRegistry()
    registry.register(stub, stub.name, f"atsbridge-{stub.name}")
    assert registry.statuses[-1].ok, registry.statuses[-1].error
    return registry


def stub_config(account: str) -> dict:
    return {"account": account, "api_key": KEY}
