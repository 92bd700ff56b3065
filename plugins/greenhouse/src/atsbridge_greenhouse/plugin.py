"""atsbridge hook implementations for Greenhouse (Harvest API v3)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from atsbridge.errors import BadInput
from atsbridge.hookspecs import hookimpl
from atsbridge.model import (
    Candidate,
    CandidateQuery,
    Capability,
    JobQuery,
    JobState,
    Lead,
    Page,
    PluginInfo,
    PushResult,
    SandboxOptions,
    SessionContext,
    WebhookDelivery,
    WebhookRequest,
)

from atsbridge_greenhouse import __version__, webhooks
from atsbridge_greenhouse import constants as c
from atsbridge_greenhouse.client import GreenhouseClient


@cache
def _resource(name: str) -> str:
    return resources.files("atsbridge_greenhouse").joinpath(name).read_text(encoding="utf-8")


@hookimpl
def atsbridge_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="greenhouse",
        version=__version__,
        display_name="Greenhouse",
        capabilities=frozenset(
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
                Capability.WEBHOOKS,
            }
        ),
        config_schema=json.loads(_resource("config.schema.json")),
        setup_instructions=_resource("setup.md"),
        webhook_setup=_resource("webhook_setup.md"),
        api_version=c.API_VERSION,
        rate_limit=c.CLIENT_RATE_LIMIT,
    )


@hookimpl
def atsbridge_sandbox(options: SandboxOptions) -> Any:
    from atsbridge_greenhouse.sandbox import GreenhouseSandbox

    return GreenhouseSandbox(options)


@hookimpl
def atsbridge_open_session(config: dict, context: SessionContext) -> GreenhouseClient:
    client = GreenhouseClient(
        config,
        rate_limit=context.rate_limit or c.CLIENT_RATE_LIMIT,
        on_event=context.on_event,
    )
    try:
        client.check()
    except BaseException:
        client.close()
        raise
    return client


def _client(session: Any) -> GreenhouseClient:
    if not isinstance(session, GreenhouseClient):
        raise BadInput(f"not a Greenhouse session: {type(session).__name__}")
    return session


@hookimpl
def atsbridge_search_jobs(session: Any, query: JobQuery) -> Page:
    return _client(session).search_jobs(query)


@hookimpl
def atsbridge_list_candidates(session: Any, query: CandidateQuery) -> Page[Candidate]:
    return _client(session).list_candidates(query)


@hookimpl
def atsbridge_job_statuses(session: Any, job_ids: list[str]) -> list[JobState]:
    return _client(session).job_statuses(job_ids)


@hookimpl
def atsbridge_push_lead(session: Any, job_id: str, lead: Any, idempotency_key: str) -> PushResult:
    # The key is not sent: Greenhouse has no idempotency header, so the push is made
    # repeatable by finding the person (by email) and each part before creating it.
    if not isinstance(lead, Lead):
        raise BadInput(f"lead must be a Lead, got {type(lead).__name__}")
    return _client(session).push_lead(job_id, lead)


@hookimpl
def atsbridge_webhook_receive(request: WebhookRequest) -> WebhookDelivery:
    """Verify a Greenhouse delivery (``Signature: sha256 <hex>`` over the raw body) and
    map its action to events.

    Returns: a ``WebhookDelivery`` keyed on ``Greenhouse-Event-ID`` (a ping: no events).
    Raises: ``WebhookRefused`` (no secret set, missing or bad signature, no event id),
    ``PayloadError`` naming the field of a malformed body.
    Called by: the core's ``/hooks`` receiver, before storing. Threads: any; pure.
    """
    return webhooks.receive(request)


@hookimpl
def atsbridge_read_candidate(session: Any, candidate_ats_id: str) -> tuple[Candidate, ...]:
    """One person's current applications, after a candidate event.

    Returns: one ``Candidate`` per (application, job); ``()`` when the person is gone.
    Costs two requests (applications by ``candidate_ids``, the person by ``ids``), one when
    the person has no application left.
    Raises: as the other reads (``AuthError``, ``AtsError``, ``AtsUnavailable``, ``PayloadError``).
    Called by: the core's webhook processor. Threads: one call at a time per session.
    """
    return webhooks.read_candidate(_client(session), candidate_ats_id)
