"""Lever webhooks in: verify the in-body signature, refuse stale events, map to events.

Lever POSTs ``{"event", "triggeredAt": <ms>, "token", "signature", "data": {opportunityId,
candidateId, contactId, ...}}``. ``signature`` is the hex HMAC-SHA256 of ``token +
str(triggeredAt)`` keyed with the webhook's own signature token (one per webhook: the
connection keeps several). The signature covers neither the event name nor ``data``, so
the body is only a hint: every event becomes a ``candidate`` event for the contact it
names, and the core re-reads that person's opportunities (``read_candidate``) instead of
trusting the rest (notes 2.7 and 6). Lever sends no posting (job) events: job closes stay
polled.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from atsbridge.errors import PayloadError, WebhookRefused
from atsbridge.model import (
    Candidate,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventKind,
    WebhookRequest,
)
from atsbridge_sdk.inbound import hmac_sha256_hex, matches_any, opt_field, req_id

from atsbridge_lever import mapping

if TYPE_CHECKING:
    from atsbridge_lever.client import LeverClient

__all__ = [
    "CANDIDATE_EVENTS",
    "MAX_AGE",
    "MAX_AHEAD",
    "parse",
    "read_candidate",
    "receive",
    "sign",
    "verify",
]

RECORD = "lever webhook"
# An event older than this is refused even with a good signature: the signed triggeredAt
# is the only defence against a replay of a captured delivery. Lever keeps triggeredAt
# across its retries, so a retry later than this is refused too; polling catches it.
MAX_AGE = timedelta(hours=1)
MAX_AHEAD = timedelta(minutes=5)  # clock skew the other way

# Events about an opportunity (a candidate's place on a posting) or its contact: re-read
# the person. candidateDeleted deletes one opportunity, not necessarily the person, so it
# too is a re-read (no opportunity left reads as the person gone).
CANDIDATE_EVENTS = frozenset(
    {
        "applicationCreated",
        "candidateStageChange",
        "candidateArchiveChange",
        "candidateHired",
        "candidateDeleted",
        "contactCreated",
        "contactUpdated",
    }
)


def sign(signature_token: str, token: str, triggered_at: int) -> str:
    """The ``signature`` Lever puts in the body."""
    return hmac_sha256_hex(signature_token, f"{token}{triggered_at}".encode())


def verify(doc: Any, secrets: tuple[str, ...], now: datetime) -> tuple[str, datetime]:
    """Check ``signature`` under any signature token and that ``triggeredAt`` is recent;
    returns (token, triggered at). Raises ``WebhookRefused`` naming the failed check."""
    if not secrets:
        raise WebhookRefused("no webhook signature token is set for this Lever connection")
    if not isinstance(doc, dict):
        raise WebhookRefused("Lever delivery is not a JSON object: no signature to check")
    token, signature, triggered = doc.get("token"), doc.get("signature"), doc.get("triggeredAt")
    if not isinstance(token, str) or not token:
        raise WebhookRefused("Lever delivery without a token")
    if not isinstance(signature, str) or not signature:
        raise WebhookRefused("Lever delivery without a signature")
    if isinstance(triggered, bool) or not isinstance(triggered, int):
        raise WebhookRefused("Lever delivery without an integer triggeredAt")
    if not matches_any((sign(s, token, triggered) for s in secrets), [signature]):
        raise WebhookRefused("Lever signature does not match token and triggeredAt")
    at = datetime.fromtimestamp(triggered / 1000, UTC)
    if now - at > MAX_AGE:
        raise WebhookRefused(f"Lever event triggered {now - at} ago: stale or replayed")
    if at - now > MAX_AHEAD:
        raise WebhookRefused("Lever event triggeredAt is in the future")
    return token, at


def receive(request: WebhookRequest) -> WebhookDelivery:
    """Verify one delivery and map it (``atsbridge_webhook_receive``)."""
    try:
        doc = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("Lever delivery is not JSON: no signature to check") from None
    token, at = verify(doc, request.secrets, request.received_at)
    return WebhookDelivery(token, parse(doc), occurred_at=at)


def parse(doc: dict) -> tuple[WebhookEvent, ...]:
    """The events of a verified delivery; ``()`` for interview events and unknown ones."""
    name = doc.get("event")
    if not isinstance(name, str) or not name:
        raise PayloadError(RECORD, "event", "missing or not a string")
    if name not in CANDIDATE_EVENTS:
        return ()
    data = doc.get("data")
    if not isinstance(data, dict):
        raise PayloadError(RECORD, "data", "an object expected")
    contact = req_id(doc, "data.contactId", RECORD)
    opportunity = opt_field(doc, "data.opportunityId", RECORD)
    application = req_id(doc, "data.opportunityId", RECORD) if opportunity is not None else None
    return (
        WebhookEvent(
            WebhookEventKind.CANDIDATE, candidate_ats_id=contact, application_id=application
        ),
    )


def read_candidate(client: LeverClient, contact_id: str) -> tuple[Candidate, ...]:
    """Every opportunity of the contact, one ``Candidate`` per (opportunity, posting).

    Requests: one ``GET /opportunities?contact_id=`` (expanded applications and stage), plus
    the stages and archive reasons once per session when a row names one.
    """
    text = str(contact_id).strip()
    if not text:
        return ()
    params: dict[str, Any] = {
        "contact_id": text,
        "expand": ["applications", "stage"],
        **client.visibility(),
    }
    items = client.all_items("/opportunities", params)
    if not items:
        return ()
    stages, reasons = client.names_for(items)
    return tuple(mapping.account_candidates(items, stages, reasons))
