"""The Lever sandbox's outbound webhooks: Lever-shaped bodies signed Lever's way.

A webhook is added as an admin does under Settings > Integrations and API > Webhooks
(``LeverSandbox.register_webhook``): a URL and the events it fires on; Lever generates the
webhook's signature token, which the admin copies into atsbridge. Each delivery carries
``token`` (new per event, kept across retries), ``triggeredAt`` (epoch ms, kept across
retries) and ``signature`` = hex HMAC-SHA256(signature token, token + triggeredAt).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from atsbridge_sdk.clock import SYSTEM_CLOCK, Clock
from atsbridge_sdk.sandbox.webhooks import LEVER_RETRIES, Outgoing, Signed, Target, WebhookDeliverer

from atsbridge_lever.webhooks import sign

__all__ = ["deliverer", "event", "signer"]


def signer(target: Target, outgoing: Outgoing, sent_at: datetime) -> Signed:
    """The body with ``token``, ``triggeredAt`` and the ``signature`` over both."""
    triggered = int(outgoing.occurred_at.timestamp() * 1000)
    body = {
        **outgoing.payload,
        "triggeredAt": triggered,
        "token": outgoing.delivery_id,
        "signature": sign(target.secret, outgoing.delivery_id, triggered),
    }
    return Signed(dict(outgoing.headers), json.dumps(body).encode())


def deliverer(*, clock: Clock = SYSTEM_CLOCK, scale: float = 1.0) -> WebhookDeliverer:
    return WebhookDeliverer(signer, LEVER_RETRIES, clock=clock, scale=scale)


def event(
    name: str,
    opportunity: dict,
    when: datetime,
    *,
    from_stage: str | None = None,
    to_stage: str | None = None,
) -> Outgoing:
    data = {
        "opportunityId": opportunity["id"],
        "candidateId": opportunity["id"],  # Lever's legacy name for the opportunity
        "contactId": opportunity["contact"],
    }
    if name == "candidateStageChange":
        data.update(fromStageId=from_stage, toStageId=to_stage)
    return Outgoing(secrets.token_hex(16), name, {"event": name, "data": data}, when)
