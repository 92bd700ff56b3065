"""``POST /hooks/{ats}/{hook_id}``: the receiver of one connection's inbound ATS webhooks.

No API key: the unguessable hook id finds the connection and the ATS's signature, checked
by the plugin (``atsbridge_webhook_receive``), proves the sender. The answer is quick and
makes no ATS request: the verified delivery is stored in the inbox (once, whatever the
ATS's retries) and acknowledged with the status and headers the plugin asked for; the
processor does the work after. A refused signature is answered 401 and only counted; a
body that passed the signature but has not the ATS's shape is 400; an unknown hook id 404
(as for a wrong ATS name, so the answer tells nothing about other receivers).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from atsbridge.api import Atsbridge
from atsbridge.errors import NotFound, PayloadError, WebhookRefused
from atsbridge.http.problems import problem_response
from atsbridge.model import WebhookRequest
from atsbridge.sessions import call_hook
from atsbridge.webhooks import inbox

__all__ = ["MAX_BODY", "router"]

log = logging.getLogger(__name__)

# Larger than any ATS's delivery (Greenhouse's biggest, a candidate with many applications,
# stays well under 1 MiB); past it the body is not even read.
MAX_BODY = 2 * 1024 * 1024

router = APIRouter(tags=["inbound ATS webhooks"])

_NOT_HERE = "no webhook receiver at this URL"
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Stored (or stored before: a duplicate); processed shortly"},
    202: {"description": "Stored; the status some ATSs expect (SmartRecruiters)"},
    400: {"description": "The signature holds but the body is not the ATS's shape"},
    401: {"description": "Bad, missing or stale signature: nothing stored"},
    404: {"description": "No receiver at this URL"},
    413: {"description": "Body larger than the receiver takes"},
}


async def _body(request: Request) -> bytes | None:
    """The raw body, or None past ``MAX_BODY`` (checked as it streams in)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/hooks/{ats}/{hook_id}",
    summary="Receive one inbound ATS webhook delivery (signed by the ATS, no API key)",
    responses=_RESPONSES,
    status_code=200,
)
async def receive(
    request: Request,
    ats: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9_]+$")],
    hook_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
) -> Response:
    body = await _body(request)
    if body is None:
        return problem_response(413, "webhook.too_large", f"the body exceeds {MAX_BODY} bytes")
    headers = {k.lower(): v for k, v in request.headers.items()}
    app: Atsbridge = request.app.state.atsbridge
    return await run_in_threadpool(_handle, app, ats, hook_id, headers, body)


def _handle(
    app: Atsbridge, ats: str, hook_id: str, headers: dict[str, str], body: bytes
) -> Response:
    receiver = app.ats_hooks.receiver(ats, hook_id)
    if receiver is None:
        return problem_response(404, "not_found", _NOT_HERE)
    try:
        plugin = app.plugin(ats)
    except NotFound:
        return problem_response(404, "not_found", _NOT_HERE)
    if not hasattr(plugin.module, "atsbridge_webhook_receive"):
        return problem_response(404, "not_found", _NOT_HERE)
    request = WebhookRequest(
        headers=headers, body=body, received_at=app.clock(), secrets=receiver.secrets
    )
    try:
        delivery = call_hook(plugin, "atsbridge_webhook_receive", request=request)
    except WebhookRefused as exc:
        app.ats_hooks.count_refusal(receiver, str(exc))
        return problem_response(401, "webhook.refused", str(exc))
    except PayloadError as exc:
        return problem_response(400, "webhook.bad_payload", str(exc))
    delivery = inbox.check_delivery(ats, delivery)
    new = inbox.store(app.store, receiver, delivery, app.clock())
    return JSONResponse(
        {"stored": new, "duplicate": not new},
        status_code=int(delivery.response_status),
        headers=dict(delivery.response_headers),
    )
