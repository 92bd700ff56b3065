"""The request id of the request being answered, and the ASGI middleware that sets it.

Each request gets an id (``X-Request-ID`` from the caller when it is a plain token, else
``req_<16 hex>``), returned in the ``X-Request-ID`` header and in every problem body, and
written in the one access log line per request (logger ``atsbridge.http.access``), so a
product engineer can quote it and an operator can find the request.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import time
from typing import Any

__all__ = ["RequestIdMiddleware", "request_id"]

HEADER = b"x-request-id"
_ID = contextvars.ContextVar("atsbridge_request_id", default="-")
_SAFE = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
access_log = logging.getLogger("atsbridge.http.access")


def request_id() -> str:
    """The id of the request this code runs for ("-" outside a request)."""
    return _ID.get()


class RequestIdMiddleware:
    """Pure ASGI (no per-request task or body buffering: the import window is hot)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", ()) if k == HEADER), None)
        rid = given.decode() if given and _SAFE.match(given) else f"req_{secrets.token_hex(8)}"
        # Not reset afterwards on purpose: the outermost error middleware answers a crash
        # after this returns, in the same task, and must still see the id.
        _ID.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                if not any(k.lower() == HEADER for k, _ in headers):
                    headers.append((HEADER, rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request_id=%s %s %s %d %.1fms",
                    rid,
                    scope.get("method", "-"),
                    scope.get("path", "-"),
                    status,
                    (time.perf_counter() - started) * 1000,
                )
