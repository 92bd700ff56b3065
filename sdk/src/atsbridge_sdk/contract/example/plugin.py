"""Hook implementations: the whole surface the core (and the contract kit) sees."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from atsbridge.hookspecs import hookimpl
from atsbridge.model import (
    CandidateQuery,
    Capability,
    JobQuery,
    Lead,
    PluginInfo,
    SandboxOptions,
    SessionContext,
)

from .client import DISPLAY_NAME, RATE_LIMIT, ExampleSession

NAME = "example"
VERSION = "0.1.0"
_FILES = resources.files(__package__)
CAPABILITIES: frozenset[Capability] = frozenset(
    {
        Capability.JOBS,
        Capability.CANDIDATES,
        Capability.ACCOUNT_CANDIDATES,
        Capability.JOB_STATUS,
        Capability.LEAD_PUSH,
        Capability.RESUME,
        Capability.EDUCATION,
        Capability.EXPERIENCE,
        Capability.LINKEDIN,
        Capability.PHONE,
        Capability.TAGS,
    }
)


@hookimpl
def atsbridge_plugin_info() -> PluginInfo:
    return PluginInfo(
        name=NAME,
        version=VERSION,
        display_name=DISPLAY_NAME,
        capabilities=CAPABILITIES,
        config_schema=json.loads(_FILES.joinpath("config.schema.json").read_text("utf-8")),
        setup_instructions=_FILES.joinpath("setup.md").read_text("utf-8"),
        api_version="v1",
        requires_core=">=0.1,<0.2",
        rate_limit=RATE_LIMIT,
    )


@hookimpl
def atsbridge_sandbox(options: SandboxOptions) -> Any:
    from .sandbox import ExampleSandbox

    return ExampleSandbox(options)


@hookimpl
def atsbridge_open_session(config: dict, context: SessionContext) -> Any:
    session = ExampleSession(config, context)
    try:
        session.check()
    except BaseException:
        session.close()
        raise
    return session


@hookimpl
def atsbridge_search_jobs(session: ExampleSession, query: JobQuery) -> Any:
    return session.search_jobs(query)


@hookimpl
def atsbridge_list_candidates(session: ExampleSession, query: CandidateQuery) -> Any:
    return session.list_candidates(query)


@hookimpl
def atsbridge_job_statuses(session: ExampleSession, job_ids: list[str]) -> Any:
    return session.job_statuses(job_ids)


@hookimpl
def atsbridge_push_lead(
    session: ExampleSession, job_id: str, lead: Lead, idempotency_key: str
) -> Any:
    return session.push_lead(job_id, lead, idempotency_key)
