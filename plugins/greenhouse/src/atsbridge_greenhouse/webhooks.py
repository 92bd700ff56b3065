"""Greenhouse webhooks in: verify, parse into events, and the targeted read they trigger.

Greenhouse POSTs ``{"action": ..., "payload": {...}}`` with ``Signature: sha256 <hex>``,
the HMAC-SHA256 of the exact raw body keyed with the webhook's secret, and
``Greenhouse-Event-ID``, stable across its retries (the dedupe key). There is no signed
timestamp, so a replay is stopped by that id, not by freshness (notes 1.9 and 6).

Ids are those the plugin reports elsewhere: ``Job.ats_id`` is the job id,
``Candidate.ats_id`` the candidate (person) id, ``application_id`` the application id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from atsbridge.errors import PayloadError, WebhookRefused
from atsbridge.model import (
    Candidate,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventKind,
    WebhookRequest,
)
from atsbridge_sdk.inbound import hmac_sha256_hex, json_object, matches_any, opt_field, req_id

from atsbridge_greenhouse import constants as c
from atsbridge_greenhouse import mapping as m
from atsbridge_greenhouse.client import GreenhouseClient

__all__ = [
    "APPLICATION_ACTIONS",
    "JOB_ACTIONS",
    "parse",
    "read_candidate",
    "receive",
    "sign",
    "verify",
]

RECORD = "greenhouse webhook"
SIGNATURE_HEADER = "signature"
EVENT_ID_HEADER = "greenhouse-event-id"

# Every action carrying payload.job.id: a job to re-read (a close is a job_updated).
JOB_ACTIONS = frozenset({"job_created", "job_updated", "job_deleted", "job_approved"})
# Job posts: created/updated carry job_id at the payload's top level, deleted nests it in
# payload.job_post; a prospect post has no job_id and concerns no job.
JOB_POST_ACTIONS = frozenset({"job_post_created", "job_post_updated", "job_post_deleted"})
# Actions whose payload.application names the person and the application's jobs.
APPLICATION_ACTIONS = frozenset(
    {
        "new_candidate_application",
        "new_prospect_application",
        "candidate_stage_change",
        "hire_candidate",
        "reject_candidate",
        "unreject_candidate",
        "prospect_created",
    }
)


def sign(secret: str, body: bytes) -> str:
    """The ``Signature`` header value Greenhouse sends for ``body``."""
    return f"sha256 {hmac_sha256_hex(secret, body)}"


def verify(headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...]) -> None:
    """Raise ``WebhookRefused`` unless ``Signature`` matches the body under some secret."""
    if not secrets:
        raise WebhookRefused("no webhook secret is set for this Greenhouse connection")
    value = headers.get(SIGNATURE_HEADER, "").strip()
    if not value:
        raise WebhookRefused("Greenhouse delivery without a Signature header")
    scheme, _, digest = value.partition(" ")
    if scheme.lower() != "sha256" or not digest.strip():
        raise WebhookRefused("Greenhouse Signature header is not 'sha256 <hex>'")
    if not matches_any((hmac_sha256_hex(s, body) for s in secrets), [digest]):
        raise WebhookRefused("Greenhouse Signature does not match the body")


def receive(request: WebhookRequest) -> WebhookDelivery:
    """Verify one delivery, then parse it (``atsbridge_webhook_receive``)."""
    verify(request.headers, request.body, request.secrets)
    doc = json_object(request.body, RECORD)
    action = doc.get("action")
    if not isinstance(action, str) or not action:
        raise PayloadError(RECORD, "action", "missing or not a string")
    delivery_id = request.headers.get(EVENT_ID_HEADER, "").strip()
    if action == "ping":
        # The ping on save may come without an event id; nothing is stored for it anyway.
        return WebhookDelivery(delivery_id or f"ping-{hashlib.sha256(request.body).hexdigest()}")
    if not delivery_id:
        raise WebhookRefused("Greenhouse delivery without a Greenhouse-Event-ID header")
    return WebhookDelivery(delivery_id, parse(action, doc.get("payload")))


def parse(action: str, payload: Any) -> tuple[WebhookEvent, ...]:
    """The events of one Greenhouse action (``()`` for actions that change nothing we
    mirror: interviews, offers, users ...)."""
    if not isinstance(payload, dict):
        raise PayloadError(RECORD, "payload", "an object expected")
    doc = {"payload": payload}
    if action in JOB_ACTIONS:
        return (
            WebhookEvent(WebhookEventKind.JOB, job_ats_id=req_id(doc, "payload.job.id", RECORD)),
        )
    if action in JOB_POST_ACTIONS:
        path = "payload.job_post.job_id" if action == "job_post_deleted" else "payload.job_id"
        if opt_field(doc, path, RECORD) is None:
            return ()  # a prospect post: no job
        return (WebhookEvent(WebhookEventKind.JOB, job_ats_id=req_id(doc, path, RECORD)),)
    if action in APPLICATION_ACTIONS:
        return _application_events(doc)
    if action == "update_candidate":
        person = req_id(doc, "payload.candidate.id", RECORD)
        return (WebhookEvent(WebhookEventKind.CANDIDATE, candidate_ats_id=person),)
    if action == "delete_candidate":
        person = req_id(doc, "payload.person.id", RECORD)
        return (WebhookEvent(WebhookEventKind.CANDIDATE_DELETED, candidate_ats_id=person),)
    if action == "merge_candidate":
        person = req_id(doc, "payload.person.id", RECORD)
        survivor = req_id(doc, "payload.person.new_candidate_id", RECORD)
        return (
            WebhookEvent(
                WebhookEventKind.CANDIDATE_MERGED, candidate_ats_id=person, merged_into=survivor
            ),
        )
    return ()


def _application_events(doc: dict) -> tuple[WebhookEvent, ...]:
    application = req_id(doc, "payload.application.id", RECORD)
    person = req_id(doc, "payload.application.candidate.id", RECORD)
    jobs = opt_field(doc, "payload.application.jobs", RECORD)
    if jobs is not None and not isinstance(jobs, list):
        raise PayloadError(RECORD, "payload.application.jobs", "a list expected")
    job_ids = [
        req_id({"job": job}, "job.id", RECORD) if isinstance(job, dict) else _bad_job(i)
        for i, job in enumerate(jobs or [])
    ]
    if not job_ids:  # a prospect on no job: the person still changed
        return (
            WebhookEvent(
                WebhookEventKind.CANDIDATE, candidate_ats_id=person, application_id=application
            ),
        )
    return tuple(
        WebhookEvent(
            WebhookEventKind.CANDIDATE,
            job_ats_id=job,
            candidate_ats_id=person,
            application_id=application,
        )
        for job in dict.fromkeys(job_ids)
    )


def _bad_job(index: int) -> str:
    raise PayloadError(RECORD, f"payload.application.jobs[{index}]", "an object expected")


def read_candidate(client: GreenhouseClient, candidate_id: str) -> tuple[Candidate, ...]:
    """The person's current applications, one ``Candidate`` per (application, job).

    Requests: one ``GET /v3/applications?candidate_ids=`` (a deleted or merged-away person
    has none, and the read stops there), one ``GET /v3/candidates?ids=`` for the person's
    details, and the job's stages only when a row lacks its stage name (cached per session).
    """
    text = str(candidate_id).strip()
    if not text.isdigit():
        return ()  # not a Greenhouse id: no such person
    params = {"candidate_ids": text, "per_page": c.MAX_PER_PAGE}
    apps = client._all("/v3/applications", params, m.GhApplication, "application") or []
    if not apps:
        return ()
    people = client._people({int(text)})
    person = people.get(int(text))
    unnamed = {
        j for a in apps if not a.stage_name and a.job_interview_stage_id for j in m.jobs_of(a)
    }
    stages = client._stage_names(unnamed) if unnamed else {}
    out = []
    for app in apps:
        for job in m.jobs_of(app):
            stage = None
            if not app.stage_name and app.job_interview_stage_id:
                stage = stages.get(job, {}).get(app.job_interview_stage_id)
            out.append(m.candidate_from(app, person, str(job), stage))
    return tuple(out)
