"""The SmartRecruiters sandbox's webhooks: the subscriptions API and signed deliveries.

``SubscriptionsApi`` is mixed into the sandbox and serves ``/webhooks-api/v201907/
subscriptions`` as notes 3.7 describe: create (inactive), list, get, delete, activate (the
sandbox calls the callback with ``X-Hook-Secret`` and activates only when it is echoed with
a 200, as SmartRecruiters does within 20 s) and create a secret key (the previous key stays
valid for 24 h: deliveries carry a ``v1=`` value for each). World changes then go to every
active, keyed subscription that lists the event, signed over the timestamp, the body and
the event headers, retried 1, 3, 10, 45 ... minutes after a failure; only a 2xx within 5 s
counts.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from atsbridge_sdk.clock import SYSTEM_CLOCK, Clock
from atsbridge_sdk.sandbox import BadRequest, SandboxRequest, SandboxResponse, json_response, route
from atsbridge_sdk.sandbox.webhooks import (
    SMARTRECRUITERS_RETRIES,
    Outgoing,
    Signed,
    Target,
    WebhookDeliverer,
    loopback_url,
)

from atsbridge_smartrecruiters.webhooks import EVENT_VERSION, SUBSCRIPTIONS_PATH, sign

__all__ = ["KEY_OVERLAP", "SubscriptionsApi", "deliverer", "event", "signer"]

KEY_OVERLAP = timedelta(hours=24)  # an old secret key keeps signing this long
KNOWN_EVENTS = frozenset(
    {
        "job.created",
        "job.updated",
        "job.status.updated",
        "candidate.created",
        "candidate.updated",
        "candidate.deleted",
        "application.created",
        "application.status.updated",
        "offer.created",
        "offer.updated",
        "interview.created",
        "interview.updated",
    }
)


def signer(target: Target, outgoing: Outgoing, sent_at: datetime) -> Signed:
    """SmartRecruiters' way: a fresh timestamp per attempt, one ``v1=`` per valid key."""
    body = json.dumps(outgoing.payload).encode()
    headers = dict(outgoing.headers)
    headers["event-id"] = outgoing.delivery_id
    timestamp = str(int(sent_at.timestamp() * 1000))
    values = [sign(key, timestamp, body, headers) for key in (target.secret, *target.old_secrets)]
    headers["smartrecruiters-timestamp"] = timestamp
    headers["smartrecruiters-signature"] = ";".join(f"v1={v}" for v in values)
    return Signed(headers, body)


def deliverer(*, clock: Clock = SYSTEM_CLOCK, scale: float = 1.0) -> WebhookDeliverer:
    return WebhookDeliverer(signer, SMARTRECRUITERS_RETRIES, clock=clock, scale=scale)


def event(name: str, body: dict[str, str], link: str, when: datetime) -> Outgoing:
    """One SmartRecruiters event: a minimal body of ids and the ``Link`` to the state."""
    headers = {"event-name": name, "event-version": EVENT_VERSION, "link": f"<{link}>; rel=self"}
    return Outgoing(str(uuid.uuid4()), name, body, when, headers)


class SubscriptionsApi:
    """The webhooks API routes, mixed into ``SmartRecruitersSandbox`` (which holds ``lock``,
    ``webhooks`` and ``error``)."""

    # Provided by the sandbox class (annotations only: the mixin defines none of them).
    webhooks: WebhookDeliverer
    subscriptions: dict[str, dict[str, Any]]
    lock: Any
    error: Callable[[int, str], SandboxResponse]

    def _missing(self, sub_id: str) -> SandboxResponse:
        return self.error(404, f"Subscription {sub_id} not found")

    @staticmethod
    def _shown(sub: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in sub.items() if not k.startswith("_")}

    @route("POST", SUBSCRIPTIONS_PATH)
    def create_subscription(self, request: SandboxRequest) -> SandboxResponse:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        url, events = body.get("callbackUrl"), body.get("events")
        if not isinstance(url, str) or not url:
            raise BadRequest("callbackUrl is required")
        try:
            loopback_url(url)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        if not isinstance(events, list) or not events:
            raise BadRequest("events must be a non-empty list of {name, version}")
        names = []
        for i, item in enumerate(events):
            name = item.get("name") if isinstance(item, dict) else None
            if name not in KNOWN_EVENTS:
                raise BadRequest(f"events[{i}].name is not a known event")
            names.append(name)
        sub_id = str(uuid.uuid4())
        self.subscriptions[sub_id] = {
            "id": sub_id,
            "callbackUrl": url,
            "events": [{"name": n, "version": EVENT_VERSION} for n in names],
            "status": "inactive",
            "_keys": [],  # (secret, valid until or None), newest first
        }
        return json_response(self._shown(self.subscriptions[sub_id]), 201)

    @route("GET", SUBSCRIPTIONS_PATH)
    def list_subscriptions(self, request: SandboxRequest) -> SandboxResponse:
        rows = [self._shown(s) for s in self.subscriptions.values()]
        return json_response({"content": rows, "totalFound": len(rows)})

    @route("GET", SUBSCRIPTIONS_PATH + "/{sub_id}")
    def get_subscription(self, request: SandboxRequest) -> SandboxResponse:
        sub = self.subscriptions.get(request.path_params["sub_id"])
        if sub is None:
            return self._missing(request.path_params["sub_id"])
        return json_response(self._shown(sub))

    @route("DELETE", SUBSCRIPTIONS_PATH + "/{sub_id}")
    def delete_subscription(self, request: SandboxRequest) -> SandboxResponse:
        sub_id = request.path_params["sub_id"]
        if self.subscriptions.pop(sub_id, None) is None:
            return self._missing(sub_id)
        self.webhooks.unregister(sub_id)
        return SandboxResponse(204)

    @route("PUT", SUBSCRIPTIONS_PATH + "/{sub_id}/activation")
    def activate_subscription(self, request: SandboxRequest) -> SandboxResponse:
        sub = self.subscriptions.get(request.path_params["sub_id"])
        if sub is None:
            return self._missing(request.path_params["sub_id"])
        challenge = secrets.token_hex(16)
        status, headers = self.webhooks.post(sub["callbackUrl"], {"X-Hook-Secret": challenge})
        echoed = _header(headers, "x-hook-secret")
        if status != 200 or echoed != challenge:
            return self.error(400, f"Handshake with {sub['callbackUrl']} failed")
        sub["status"] = "active"
        self._sync_target(sub)
        return SandboxResponse(204)

    @route("POST", SUBSCRIPTIONS_PATH + "/{sub_id}/secret-key")
    def create_secret_key(self, request: SandboxRequest) -> SandboxResponse:
        sub = self.subscriptions.get(request.path_params["sub_id"])
        if sub is None:
            return self._missing(request.path_params["sub_id"])
        key = "srwh_" + secrets.token_hex(20)
        now = self.webhooks.clock.now()
        sub["_keys"] = [(key, None)] + [
            (old, until or now + KEY_OVERLAP) for old, until in sub["_keys"]
        ]
        self._sync_target(sub)
        return json_response({"secretKey": key}, 201)

    def _sync_target(self, sub: dict[str, Any]) -> None:
        """Deliver to an active subscription once it has a key (unsigned ones would only
        be refused), with every key still valid."""
        now = self.webhooks.clock.now()
        keys = [k for k, until in sub["_keys"] if until is None or until > now]
        if sub["status"] != "active" or not keys:
            return
        names = {e["name"] for e in sub["events"]}
        target = self.webhooks.register(
            sub["callbackUrl"], keys[0], events=names, target_id=sub["id"]
        )
        target.old_secrets = tuple(keys[1:])

    def expire_old_keys(self) -> None:
        """Let 24 h pass for the keys: only the newest of each subscription signs."""
        with self.lock:
            for sub in self.subscriptions.values():
                sub["_keys"] = sub["_keys"][:1]
                self._sync_target(sub)


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")
