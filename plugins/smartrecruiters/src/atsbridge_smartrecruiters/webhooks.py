"""SmartRecruiters webhooks in: the subscription API, the activation handshake, the
``smartrecruiters-signature`` check, parsing, and the targeted read after an event.

Set-up is by API (notes 3.7): ``POST /webhooks-api/v201907/subscriptions`` creates an
inactive subscription, ``PUT .../{id}/activation`` makes SmartRecruiters call the callback
with ``X-Hook-Secret`` (echoed back with a 200 within 20 s: ``receive`` does it), and
``POST .../{id}/secret-key`` returns the signing key (path UNCONFIRMED).

Each delivery carries ``smartrecruiters-timestamp`` and ``smartrecruiters-signature:
v1=<hex>[;v1=<hex>]`` (two values for 24 h after a key rotation); the hex is HMAC-SHA256
over the timestamp, the raw body and the ``event-id``, ``event-name``, ``event-version``
and ``link`` headers, joined by ".". The answer must be 202 within 5 s. The body is
minimal (ids) and ``Link: <url>; rel=self`` points at the current state: the core follows
it through ``atsbridge_read_candidate`` / ``atsbridge_job_statuses``, which read exactly
that state (``GET /candidates/{id}``, ``GET /jobs/{id}``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from atsbridge.errors import AtsError, PayloadError, WebhookRefused
from atsbridge.model import (
    Candidate,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventKind,
    WebhookRequest,
    WebhookSubscription,
)
from atsbridge_sdk.inbound import hmac_sha256_hex, json_object, matches_any, opt_field

from atsbridge_smartrecruiters import mapping

if TYPE_CHECKING:
    from atsbridge_smartrecruiters.client import SmartRecruitersClient

__all__ = [
    "EVENTS",
    "FRESHNESS_SECONDS",
    "SIGNED_HEADERS",
    "SUBSCRIPTIONS_PATH",
    "parse",
    "read_candidate",
    "receive",
    "sign",
    "signed_message",
    "subscribe",
    "verify",
    "verify_signature",
]

RECORD = "smartrecruiters webhook"
SUBSCRIPTIONS_PATH = "/webhooks-api/v201907/subscriptions"
SIGNED_HEADERS = ("event-id", "event-name", "event-version", "link")
# How far the signed timestamp may be from the receive time, either way. Five minutes
# covers clock skew and a slow network; a replay of an older delivery is refused.
FRESHNESS_SECONDS = 300.0

JOB_EVENTS = frozenset({"job.created", "job.updated", "job.status.updated"})
CANDIDATE_EVENTS = frozenset({"candidate.created", "candidate.updated"})
APPLICATION_EVENTS = frozenset({"application.created", "application.status.updated"})
# What ``subscribe`` asks for: every event that can change a job's status or a pipeline.
EVENTS = (
    *sorted(JOB_EVENTS),
    *sorted(CANDIDATE_EVENTS),
    "candidate.deleted",
    *sorted(APPLICATION_EVENTS),
)
EVENT_VERSION = "v1"


# -- signatures ----------------------------------------------------------------------------


def signed_message(timestamp: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    """Timestamp, raw body and the event headers, joined with "." (absent header = "")."""
    pieces = [timestamp.encode(), body]
    pieces += [_header(headers, name).encode() for name in SIGNED_HEADERS]
    return b".".join(pieces)


def sign(secret: str, timestamp: str, body: bytes, headers: Mapping[str, str]) -> str:
    """The hex signature SmartRecruiters sends as a ``v1=`` value."""
    return hmac_sha256_hex(secret, signed_message(timestamp, body, headers))


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = FRESHNESS_SECONDS,
    now: float | None = None,
) -> bool:
    """True when a ``v1=`` value of ``smartrecruiters-signature`` matches and is fresh."""
    try:
        verify(headers, body, (secret,), time.time() if now is None else now, tolerance)
    except WebhookRefused:
        return False
    return True


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secrets: tuple[str, ...],
    now: float,
    tolerance: float = FRESHNESS_SECONDS,
) -> float:
    """Check the signature under any of ``secrets`` and its freshness at ``now`` (epoch
    seconds); returns the signed time. Raises ``WebhookRefused`` saying which check failed."""
    if not secrets:
        raise WebhookRefused("no webhook secret is set for this SmartRecruiters connection")
    timestamp = _header(headers, "smartrecruiters-timestamp")
    if not timestamp:
        raise WebhookRefused("SmartRecruiters delivery without smartrecruiters-timestamp")
    signed_at = _epoch(timestamp)
    if signed_at is None:
        raise WebhookRefused("smartrecruiters-timestamp is not an epoch time")
    if abs(now - signed_at) > tolerance:
        raise WebhookRefused(
            f"smartrecruiters-timestamp is {abs(now - signed_at):.0f} s from now "
            f"(more than {tolerance:.0f} s): stale or replayed"
        )
    offered = [
        part.strip()[3:]
        for part in _header(headers, "smartrecruiters-signature").split(";")
        if part.strip().startswith("v1=")
    ]
    if not offered:
        raise WebhookRefused("SmartRecruiters delivery without a v1= signature")
    # Every value against every key: during a rotation both old and new are in play.
    if not matches_any((sign(s, timestamp, body, headers) for s in secrets), offered):
        raise WebhookRefused("smartrecruiters-signature does not match")
    return signed_at


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is not None:
        return value
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _epoch(timestamp: str) -> float | None:
    try:
        value = float(timestamp)
    except ValueError:
        return None
    return value / 1000 if value > 10**11 else value  # epoch milliseconds or seconds


# -- receiving -----------------------------------------------------------------------------


def receive(request: WebhookRequest) -> WebhookDelivery:
    """The activation handshake (echo ``X-Hook-Secret``), or a signed delivery parsed."""
    handshake = request.headers.get("x-hook-secret", "").strip()
    if handshake:
        # Nothing is stored or acted on, so the echo needs no signature (there is no key
        # before activation); the id just keeps handshakes apart.
        digest = hashlib.sha256(handshake.encode()).hexdigest()[:16]
        return WebhookDelivery(f"handshake-{digest}", response_headers={"X-Hook-Secret": handshake})
    signed_at = verify(
        request.headers, request.body, request.secrets, request.received_at.timestamp()
    )
    delivery_id = request.headers.get("event-id", "").strip()
    if not delivery_id:
        raise PayloadError(RECORD, "event-id (header)", "missing")
    name = request.headers.get("event-name", "").strip()
    if not name:
        raise PayloadError(RECORD, "event-name (header)", "missing")
    doc = json_object(request.body, RECORD) if request.body.strip() else {}
    return WebhookDelivery(
        delivery_id,
        parse(name, doc, request.headers.get("link", "")),
        occurred_at=datetime.fromtimestamp(signed_at, UTC),
        response_status=202,
    )


def parse(name: str, doc: Mapping[str, Any], link: str = "") -> tuple[WebhookEvent, ...]:
    """The events of one SmartRecruiters event (``()`` for offers, interviews ...).

    Ids come from the body (``job_id`` / ``candidate_id``; camelCase accepted, the body
    shape is UNCONFIRMED), else from the ``Link`` URL naming the resource.
    """
    if name in JOB_EVENTS:
        job = _id(doc, ("job_id", "jobId"), _from_link(link, "jobs"))
        return (WebhookEvent(WebhookEventKind.JOB, job_ats_id=job),)
    if name in CANDIDATE_EVENTS or name == "candidate.deleted":
        person = _id(doc, ("candidate_id", "candidateId"), _from_link(link, "candidates"))
        kind = (
            WebhookEventKind.CANDIDATE_DELETED
            if name == "candidate.deleted"
            else WebhookEventKind.CANDIDATE
        )
        return (WebhookEvent(kind, candidate_ats_id=person),)
    if name in APPLICATION_EVENTS:
        person = _id(doc, ("candidate_id", "candidateId"), _from_link(link, "candidates"))
        job = _id(doc, ("job_id", "jobId"), _from_link(link, "jobs"))
        return (
            WebhookEvent(
                WebhookEventKind.CANDIDATE,
                job_ats_id=job,
                candidate_ats_id=person,
                application_id=mapping.application_id(person, job),
            ),
        )
    return ()


def _id(doc: Mapping[str, Any], keys: tuple[str, ...], fallback: str | None) -> str:
    for key in keys:
        value = opt_field(doc, key, RECORD)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise PayloadError(RECORD, key, "a non-empty string id expected")
        return value.strip()
    if fallback:
        return fallback
    raise PayloadError(RECORD, keys[0], "missing (and no Link header naming it)")


def _from_link(link: str, collection: str) -> str | None:
    """The id after ``/<collection>/`` in the ``Link: <url>; rel=self`` header."""
    url = link.strip().split(";")[0].strip().strip("<>")
    parts = [p for p in url.split("?")[0].split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part == collection:
            return parts[i + 1]
    return None


# -- the reads and the subscription --------------------------------------------------------


def read_candidate(client: SmartRecruitersClient, candidate_id: str) -> tuple[Candidate, ...]:
    """The person's assignments, one ``Candidate`` per job, from ``GET /candidates/{id}``
    (what a candidate event's ``Link`` points at): one request; 404 is ``()``."""
    from atsbridge_smartrecruiters.client import _json, _path

    text = str(candidate_id).strip()
    if not text:
        return ()
    response = client.http.get(_path("/candidates/{cid}", cid=text), accept=(404,))
    if response.status_code == 404:
        return ()
    return tuple(mapping.parse_account_candidates(_json(response)))


def subscribe(client: SmartRecruitersClient, callback_url: str) -> WebhookSubscription:
    """Create (or find), activate and key a subscription for ``callback_url``.

    Requests: one listing, one create unless a subscription for that URL exists, one
    activation (SmartRecruiters calls the callback meanwhile; the receiver must be up), one
    secret-key creation. Subscribing again reuses the subscription and rotates its key
    (SmartRecruiters keeps the old key valid for 24 h, so in-flight deliveries still verify).
    """
    from atsbridge_smartrecruiters.client import _json, _path

    listing = _json(client.http.get(SUBSCRIPTIONS_PATH, params={"limit": 100}))
    existing = next(
        (
            row
            for row in mapping.page_content(listing, "SmartRecruiters subscriptions")
            if isinstance(row, dict) and row.get("callbackUrl") == callback_url
        ),
        None,
    )
    if existing is None:
        body = {
            "callbackUrl": callback_url,
            "events": [{"name": n, "version": EVENT_VERSION} for n in EVENTS],
        }
        existing = _json(client.http.post(SUBSCRIPTIONS_PATH, json=body))
    sub_id = existing.get("id") if isinstance(existing, dict) else None
    if not isinstance(sub_id, str) or not sub_id:
        raise PayloadError("SmartRecruiters subscription", "id", "missing")
    path = _path(SUBSCRIPTIONS_PATH + "/{sid}", sid=sub_id)
    response = client.http.put(path + "/activation", accept=(400, 422))
    if response.status_code in (400, 422):
        raise AtsError(
            f"SmartRecruiters could not activate the webhook subscription: its call to "
            f"{callback_url} was not answered 200 with the X-Hook-Secret echoed within 20 s "
            f"(HTTP {response.status_code}); start the atsbridge server and run setup again",
            status_code=response.status_code,
        )
    key = _json(client.http.post(path + "/secret-key", safe_to_retry=False))
    secret = key.get("secretKey") if isinstance(key, dict) else None
    if not isinstance(secret, str) or not secret:
        raise PayloadError("SmartRecruiters secret key", "secretKey", "missing")
    names = [e.get("name") for e in existing.get("events") or [] if isinstance(e, dict)]
    return WebhookSubscription(
        secret=secret, external_id=sub_id, events=tuple(n for n in names if isinstance(n, str))
    )
