"""Errors as RFC 9457 problem details (``application/problem+json``) with stable codes.

Every error response has ``type`` (``urn:atsbridge:problem:<code>``), ``title``, ``status``,
``detail`` (one line, secrets redacted), ``code`` (stable, for programs), ``request_id``
(also in the access log line and the ``X-Request-ID`` header) and, for invalid input,
``errors``: one ``{"field", "message"}`` per problem, the field as a dotted path
(``body.config.api_key``, ``query.limit``).

Codes: ``input.invalid`` 422, ``auth.missing_key`` / ``auth.invalid_key`` 401,
``auth.forbidden`` 403 (scope too small; never for another tenant's data, which is
``not_found``), ``not_found`` 404, ``conflict`` 409, ``idempotency.mismatch`` 422,
``idempotency.in_progress`` 409, ``ats.auth_failed`` 422 (the ATS refused the customer's
credentials: fix them), ``ats.refused`` 502, ``ats.bad_payload`` 502, ``plugin.failed`` 502,
``ats.unavailable`` 503, ``internal`` 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from atsbridge.errors import (
    AtsbridgeError,
    AtsError,
    AtsUnavailable,
    AuthError,
    BadInput,
    ConfigError,
    Conflict,
    NotFound,
    PayloadError,
    PluginFailed,
)
from atsbridge.http.context import request_id
from atsbridge.secrets import REDACTOR

__all__ = ["MEDIA_TYPE", "ApiProblem", "install_handlers", "problem_response"]

log = logging.getLogger("atsbridge.http")

MEDIA_TYPE = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    500: "Internal error",
    502: "Bad gateway",
    503: "Service unavailable",
}
# "config.api_key: is required" -> field "config.api_key"; a problem without such a prefix
# names no field.
_FIELD_PREFIX = re.compile(r"^([A-Za-z_$][\w.$\[\]-]*): (.+)$")


class ApiProblem(Exception):
    """Raised by the HTTP layer itself for an answer that is not a domain error."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:atsbridge:problem:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": REDACTOR.redact(detail),
        "code": code,
        "request_id": request_id(),
    }
    if errors is not None:
        body["errors"] = [
            {"field": e["field"], "message": REDACTOR.redact(e["message"])} for e in errors
        ]
    headers = {**(headers or {}), "X-Request-ID": body["request_id"]}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_errors(problems: list[str], prefix: str) -> list[dict[str, str]]:
    out = []
    for problem in problems:
        match = _FIELD_PREFIX.match(problem)
        if match:
            out.append({"field": f"{prefix}.{match.group(1)}", "message": match.group(2)})
        else:
            out.append({"field": prefix, "message": problem})
    return out


def domain_problem(exc: AtsbridgeError, body_prefix: str = "body") -> JSONResponse:
    """The problem response of a domain error (the same mapping for every route)."""
    message = str(exc)
    if isinstance(exc, NotFound):
        return problem_response(404, "not_found", message)
    if isinstance(exc, Conflict):
        return problem_response(409, "conflict", message)
    if isinstance(exc, ConfigError):
        errors = _field_errors(exc.problems, body_prefix)
        return problem_response(422, "input.invalid", message, errors=errors)
    if isinstance(exc, BadInput):
        return problem_response(422, "input.invalid", message, errors=_field_errors([message], ""))
    if isinstance(exc, AuthError):
        return problem_response(422, "ats.auth_failed", message)
    if isinstance(exc, AtsError):
        return problem_response(502, "ats.refused", message)
    if isinstance(exc, AtsUnavailable):
        return problem_response(503, "ats.unavailable", message, headers={"Retry-After": "60"})
    if isinstance(exc, PayloadError):
        return problem_response(502, "ats.bad_payload", message)
    if isinstance(exc, PluginFailed):
        return problem_response(502, "plugin.failed", message)
    return problem_response(502, "ats.failed", message)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int) and parts:
            parts[-1] = f"{parts[-1]}[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        message = str(err.get("msg", "invalid"))
        errors.append({"field": _location(err.get("loc", ())), "message": message})
    first = errors[0] if errors else {"field": "request", "message": "invalid"}
    detail = f"{first['field']}: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem_response(422, "input.invalid", detail, errors=errors)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http.error")
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "error")
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(exc.status_code, code, detail, headers=headers)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(
        exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers
    )


async def _on_domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AtsbridgeError)
    return domain_problem(exc)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "request_id=%s %s %s failed: %s",
        request_id(),
        request.method,
        request.url.path,
        type(exc).__name__,
        exc_info=exc,
    )
    return problem_response(500, "internal", f"internal error (request {request_id()})")


def install_handlers(app: Any) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ApiProblem, _on_problem)
    app.add_exception_handler(AtsbridgeError, _on_domain)
    app.add_exception_handler(Exception, _on_unexpected)
