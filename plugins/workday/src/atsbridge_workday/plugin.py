"""atsbridge hook implementations for Workday Recruiting (SOAP)."""

from __future__ import annotations

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

from atsbridge_workday import __version__
from atsbridge_workday import assumptions as U
from atsbridge_workday.client import WorkdayClient, load_schema, open_client

CAPABILITIES: frozenset[Capability] = frozenset(
    (
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
    )
)


@hookimpl
def atsbridge_plugin_info() -> PluginInfo:
    setup = resources.files("atsbridge_workday").joinpath("setup.md").read_text("utf-8")
    return PluginInfo(
        name="workday",
        version=__version__,
        display_name="Workday Recruiting",
        capabilities=CAPABILITIES,
        config_schema=load_schema(),
        setup_instructions=setup,
        api_version="Recruiting web service (SOAP), version set per connection (default v45.2)",
        requires_core=">=0.1,<0.2",
        rate_limit=U.RATE_LIMIT,
    )


@hookimpl
def atsbridge_sandbox(options: SandboxOptions) -> Any:
    from atsbridge_workday.sandbox import WorkdaySandbox

    return WorkdaySandbox(options)


@hookimpl
def atsbridge_open_session(config: dict, context: SessionContext) -> WorkdayClient:
    return open_client(
        config,
        on_event=context.on_event,
        save_secrets=context.save_secrets,
        rate_limit=context.rate_limit or U.RATE_LIMIT,
    )


@hookimpl
def atsbridge_search_jobs(session: WorkdayClient, query: JobQuery) -> Any:
    return session.search_jobs(query)


@hookimpl
def atsbridge_list_candidates(session: WorkdayClient, query: CandidateQuery) -> Any:
    return session.list_candidates(query)


@hookimpl
def atsbridge_job_statuses(session: WorkdayClient, job_ids: list[str]) -> Any:
    return session.job_statuses(job_ids)


@hookimpl
def atsbridge_push_lead(
    session: WorkdayClient, job_id: str, lead: Lead, idempotency_key: str
) -> Any:
    # Workday has no idempotency key field; the push is made idempotent by looking the
    # person up by email before creating anything (see WorkdayClient.push_lead).
    return session.push_lead(job_id, lead)
