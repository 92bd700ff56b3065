"""The Greenhouse sandbox's outbound webhooks: payloads shaped like Greenhouse's, signed
like Greenhouse signs them, retried on Greenhouse's schedule.

A webhook is registered the way an admin would add one under Configure > Dev Center >
Webhooks (``GreenhouseSandbox.register_webhook``): a URL, a secret key and the events it
fires on; Greenhouse pings the URL on save and leaves the webhook disabled when the ping
fails. World changes of the sandbox's control API then become deliveries.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from atsbridge_sdk.clock import SYSTEM_CLOCK, Clock
from atsbridge_sdk.sandbox.webhooks import (
    GREENHOUSE_RETRIES,
    Outgoing,
    Signed,
    Target,
    WebhookDeliverer,
)

from atsbridge_greenhouse.webhooks import sign

if TYPE_CHECKING:
    from atsbridge_greenhouse.sandbox import GreenhouseSandbox

__all__ = [
    "APPLICATION_STATUS_ACTIONS",
    "application_event",
    "deleted_event",
    "deliverer",
    "job_event",
    "merged_event",
    "ping",
    "signer",
]

# The action a move to a unified status fires (a plain stage move otherwise).
APPLICATION_STATUS_ACTIONS = {"rejected": "reject_candidate", "hired": "hire_candidate"}


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON: {type(value).__name__}")


def signer(target: Target, outgoing: Outgoing, sent_at: datetime) -> Signed:
    """Greenhouse's way: the exact body, ``Signature: sha256 <hex>`` and the event id."""
    body = json.dumps(outgoing.payload, default=_json).encode()
    headers = {
        "Signature": sign(target.secret, body),
        "Greenhouse-Event-ID": outgoing.delivery_id,
        "User-Agent": "Greenhouse-Webhooks",
        **outgoing.headers,
    }
    return Signed(headers, body)


def deliverer(*, clock: Clock = SYSTEM_CLOCK, scale: float = 1.0) -> WebhookDeliverer:
    return WebhookDeliverer(signer, GREENHOUSE_RETRIES, clock=clock, scale=scale)


def _outgoing(action: str, payload: dict, when: datetime) -> Outgoing:
    return Outgoing(secrets.token_hex(12), action, {"action": action, "payload": payload}, when)


def ping(sandbox: GreenhouseSandbox, target: Target) -> bool:
    """The ping Greenhouse sends when a webhook is saved; True when answered 2xx."""
    assert sandbox.webhooks is not None
    body = json.dumps({"action": "ping", "payload": {"web_hook_id": target.id}}).encode()
    status, _ = sandbox.webhooks.post(
        target.url,
        {"Content-Type": "application/json", "Signature": sign(target.secret, body)},
        body,
    )
    return status is not None and 200 <= status < 300


def _job_doc(job: dict) -> dict:
    return {
        "id": job["id"],
        "name": job["name"],
        "requisition_id": job["requisition_id"],
        "confidential": job["confidential"],
        "status": job["status"],
        "created_at": job["created_at"],
        "opened_at": job["opened_at"],
        "closed_at": job["closed_at"],
    }


def job_event(job: dict, action: str, when: datetime) -> Outgoing:
    """``job_created`` / ``job_updated`` / ``job_deleted`` for a sandbox job row."""
    doc = {"id": job["id"], "name": job["name"]} if action == "job_deleted" else _job_doc(job)
    return _outgoing(action, {"job": doc}, when)


def application_event(
    sandbox: GreenhouseSandbox, app: dict, action: str, when: datetime
) -> Outgoing:
    """An application action (new application, stage change, hire, reject ...)."""
    person = sandbox.candidates[app["candidate_id"]]
    job = sandbox.jobs_.get(app["job_id"]) if app["job_id"] is not None else None
    doc = {
        "id": app["id"],
        "prospect": app["prospect"],
        "status": "active" if app["status"] == "in_process" else app["status"],
        "rejected_at": app["rejected_at"],
        "last_activity_at": app["last_activity_at"],
        "current_stage": (
            {"id": app["job_interview_stage_id"], "name": app["stage_name"]}
            if app["job_interview_stage_id"]
            else None
        ),
        "candidate": {
            "id": person["id"],
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "email_addresses": person["email_addresses"],
        },
        "jobs": [_job_doc(job)] if job is not None else [],
    }
    return _outgoing(action, {"application": doc}, when)


def deleted_event(person: dict, application_ids: list[int], when: datetime) -> Outgoing:
    doc = {
        "id": person["id"],
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "deleted_application_ids": application_ids,
    }
    return _outgoing("delete_candidate", {"person": doc}, when)


def merged_event(person: dict, survivor_id: int, when: datetime) -> Outgoing:
    doc = {
        "id": person["id"],
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "new_candidate_id": survivor_id,
    }
    return _outgoing("merge_candidate", {"person": doc}, when)
