"""The sandbox control API over HTTP: what a person (``atsbridge sandbox-ctl``) or a test
outside Python does to a running fake ATS, and asks of it.

Every ``Sandbox`` serves it under the reserved prefix ``/_sandbox`` beside the imitated API.
No ATS path starts so, and the prefix is answered before the ATS's routing, so the control
API is never reachable under the ATS's own paths nor shadowed by them. It needs none of the
ATS's credentials, and it is not the plugin's traffic: no rate limit, no injected fault, no
entry in ``request_log`` (tests count the plugin's requests there).

It reaches the world only through the control methods each plugin implements
(``jobs``, ``pipeline``, ``set_job_status``, ``add_candidate``, ``move_candidate``), so a
plugin gets it by being a ``Sandbox``; this module owns the routing, the JSON bodies and the
errors. Operations::

    GET  /_sandbox/                          what is served here: ats, operations, statuses
    GET  /_sandbox/jobs[?status=open,...]    every job with its status (or only those)
    GET  /_sandbox/jobs/{job_id}             one job and its pipeline's candidate ids
    POST /_sandbox/jobs/{job_id}/close       close it, as a recruiter would
    POST /_sandbox/jobs/{job_id}/reopen      open it again
    POST /_sandbox/jobs/{job_id}/candidates  {"count": N, "status": "new"}: N new people
    POST /_sandbox/jobs/{job_id}/candidates/{candidate_id}/move  {"status": "interviewing"}

Errors are ``application/problem+json`` 4xx naming the field (``path.job_id``,
``body.count``, ``query.status``, ...), shaped like the core HTTP API's. Loopback only: the
server listens on 127.0.0.1, the client and the ``Host`` header must be loopback (a web
page using DNS rebinding cannot reach it), and a POST must be ``application/json`` (a
cross-site form cannot send that without a preflight, which is never answered).
"""

from __future__ import annotations

import ipaddress
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import attrs
from atsbridge.model import CandidateStatus, JobStatus

from atsbridge_sdk.sandbox.seed import make_person
from atsbridge_sdk.sandbox.server import SandboxRequest, SandboxResponse

if TYPE_CHECKING:
    from atsbridge_sdk.sandbox.base import JobFacts, Sandbox

__all__ = ["MAX_ADD", "PREFIX", "ControlProblem", "path_of", "serve_control"]

PREFIX = "/_sandbox"
MAX_ADD = 1000  # people per call: the size bound of `atsbridge sandbox --candidates`
# Keys of people added here: far above any seeded world's (at most 200,000 people) and the
# contract kit's own (990,00x), so their emails and LinkedIn URLs never collide.
_ADDED_KEY_BASE = 5_000_000
_LOOPBACK_NAMES = {"localhost"}
_TITLES = {
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    415: "Unsupported media type",
    422: "Invalid input",
}


class ControlProblem(Exception):
    """A 4xx answer of the control API, naming the field that is wrong."""

    def __init__(self, status: int, code: str, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.status, self.code, self.field, self.message = status, code, field, message

    def response(self, headers: dict[str, str] | None = None) -> SandboxResponse:
        body = {
            "type": f"urn:atsbridge:problem:{self.code}",
            "title": _TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": str(self),
            "code": self.code,
            "errors": [{"field": self.field, "message": self.message}],
        }
        return SandboxResponse(
            self.status,
            json.dumps(body, ensure_ascii=False).encode(),
            {"Content-Type": "application/problem+json", **(headers or {})},
        )


def _invalid(field: str, message: str) -> ControlProblem:
    return ControlProblem(422, "input.invalid", field, message)


Handler = Callable[["Sandbox", SandboxRequest, dict[str, str]], SandboxResponse]


@attrs.frozen
class _Operation:
    method: str
    pattern: tuple[str, ...]  # literal segments and {name} placeholders after the prefix
    handler: Handler

    @property
    def spelled(self) -> str:
        return f"{self.method} {PREFIX}/" + "/".join(self.pattern)

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.pattern):
            return None
        params = {}
        for want, got in zip(self.pattern, segments, strict=True):
            if want.startswith("{"):
                params[want[1:-1]] = got
            elif want != got:
                return None
        return params


def serve_control(sandbox: Sandbox, request: SandboxRequest) -> SandboxResponse | None:
    """The control API's answer to ``request``, or None when it is not under ``PREFIX``.

    Returns: a JSON response, or a problem+json 4xx naming the field.
    Called by: the sandbox's HTTP handler, for every request, before the ATS's routes.
    Threads: any server thread; mutations hold ``sandbox.lock`` (the plugin's methods do).
    """
    if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
        return None
    try:
        _check_loopback(request)
        segments = [unquote(s) for s in request.path[len(PREFIX) :].split("/") if s]
        matching = [
            (op, params) for op in _OPERATIONS if (params := op.match(segments)) is not None
        ]
        if not matching:
            known = "; ".join(op.spelled for op in _OPERATIONS)
            raise ControlProblem(
                404, "not_found", "path", f"unknown operation {request.path!r}; known: {known}"
            )
        for op, params in matching:
            if op.method == request.method:
                return op.handler(sandbox, request, params)
        allowed = ", ".join(sorted({op.method for op, _ in matching}))
        problem = ControlProblem(
            405, "method_not_allowed", "method", f"{request.method} not allowed; use {allowed}"
        )
        return problem.response({"Allow": allowed})
    except ControlProblem as problem:
        return problem.response()


def _check_loopback(request: SandboxRequest) -> None:
    if request.client:
        try:
            loopback = ipaddress.ip_address(request.client).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ControlProblem(403, "forbidden", "client", "the control API is loopback-only")
    host = urlsplit("//" + (request.headers.get("Host") or "")).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host.lower() in _LOOPBACK_NAMES
    if not loopback:
        raise ControlProblem(
            403, "forbidden", "header.host", f"{host!r} is not a loopback host name"
        )


# -- bodies and values ----------------------------------------------------------------------


def _body(request: SandboxRequest, allowed: set[str]) -> dict[str, Any]:
    ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ControlProblem(
            415,
            "unsupported_media_type",
            "header.content-type",
            f"must be application/json, not {ctype or 'missing'}",
        )
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except ValueError as exc:
        raise _invalid("body", f"not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _invalid("body", "must be a JSON object")
    for key in sorted(body):
        if key not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise _invalid(f"body.{key}", f"unknown field (fields: {known})")
    return body


def _candidate_status(value: Any, field: str) -> CandidateStatus:
    names = ", ".join(s.value for s in CandidateStatus)
    if not isinstance(value, str):
        raise _invalid(field, f"must be one of {names}")
    try:
        return CandidateStatus(value.strip().lower())
    except ValueError:
        raise _invalid(field, f"unknown status {value!r}; one of {names}") from None


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ADD:
        raise _invalid("body.count", f"must be a whole number from 1 to {MAX_ADD}, not {value!r}")
    return value


def _job_json(fact: JobFacts) -> dict[str, Any]:
    return {
        "id": fact.ats_id,
        "title": fact.title,
        "reference": fact.reference,
        "status": fact.status.value,
        "city": fact.city,
        "country_code": fact.country_code,
        "updated_at": fact.updated_at.isoformat(),
    }


def _job(sandbox: Sandbox, job_id: str) -> JobFacts:
    for fact in sandbox.jobs():
        if fact.ats_id == job_id:
            return fact
    raise ControlProblem(
        404, "not_found", "path.job_id", f"no job {job_id!r} in this {sandbox.name} sandbox"
    )


def _ok(sandbox: Sandbox, obj: dict[str, Any], status: int = 200) -> SandboxResponse:
    body = json.dumps({"ats": sandbox.name, **obj}, ensure_ascii=False).encode()
    return SandboxResponse(status, body, {"Content-Type": "application/json"})


# -- operations -----------------------------------------------------------------------------


def _index(sandbox: Sandbox, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
    return _ok(
        sandbox,
        {
            "operations": [op.spelled for op in _OPERATIONS],
            "job_statuses": [s.value for s in JobStatus],
            "candidate_statuses": [s.value for s in CandidateStatus],
        },
    )


def _list_jobs(sandbox: Sandbox, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
    for name in request.query:
        if name != "status":
            raise _invalid(f"query.{name}", "unknown parameter (parameters: status)")
    wanted: set[JobStatus] = set()
    for raw in ",".join(request.args("status")).split(","):
        if raw.strip():
            try:
                wanted.add(JobStatus(raw.strip().lower()))
            except ValueError:
                names = ", ".join(s.value for s in JobStatus)
                raise _invalid("query.status", f"unknown status {raw!r}; one of {names}") from None
    jobs = [f for f in sandbox.jobs() if not wanted or f.status in wanted]
    return _ok(sandbox, {"jobs": [_job_json(f) for f in jobs]})


def _show_job(sandbox: Sandbox, request: SandboxRequest, p: dict[str, str]) -> SandboxResponse:
    with sandbox.lock:
        fact = _job(sandbox, p["job_id"])
        return _ok(sandbox, {"job": _job_json(fact), "candidates": sandbox.pipeline(fact.ats_id)})


def _set_status(status: JobStatus) -> Handler:
    def handler(sandbox: Sandbox, request: SandboxRequest, p: dict[str, str]) -> SandboxResponse:
        _body(request, set())
        with sandbox.lock:
            before = _job(sandbox, p["job_id"])
            # Already there: nothing to do, and updated_at must not move (a sync would see
            # a change that is none).
            changed = before.status is not status
            if changed:
                try:
                    sandbox.set_job_status(before.ats_id, status)
                except ValueError as exc:  # a status this ATS has no word for
                    raise _invalid("status", str(exc)) from None
            after = _job(sandbox, before.ats_id)
        return _ok(
            sandbox, {"job": _job_json(after), "changed": changed, "was": before.status.value}
        )

    return handler


def _add_candidates(
    sandbox: Sandbox, request: SandboxRequest, p: dict[str, str]
) -> SandboxResponse:
    body = _body(request, {"count", "status"})
    count = _count(body.get("count", 1))
    status = _candidate_status(body.get("status", "new"), "body.status")
    now = datetime.now(UTC)
    added = []
    with sandbox.lock:
        job_id = _job(sandbox, p["job_id"]).ats_id
        for _ in range(count):
            sandbox.control_people_added += 1
            key = _ADDED_KEY_BASE + sandbox.control_people_added
            # The same sandbox seed adds the same people in the same order.
            rng = random.Random(sandbox.options.seed * 1_000_003 + key)
            person = attrs.evolve(make_person(rng, key, now), status=status.value)
            added.append(sandbox.add_candidate(job_id, person))
    return _ok(sandbox, {"job_id": job_id, "status": status.value, "added": added}, 201)


def _move_candidate(
    sandbox: Sandbox, request: SandboxRequest, p: dict[str, str]
) -> SandboxResponse:
    body = _body(request, {"status"})
    if "status" not in body:
        names = ", ".join(s.value for s in CandidateStatus)
        raise _invalid("body.status", f"is required (one of {names})")
    status = _candidate_status(body["status"], "body.status")
    with sandbox.lock:
        job_id = _job(sandbox, p["job_id"]).ats_id
        candidate_id = p["candidate_id"]
        if candidate_id not in sandbox.pipeline(job_id):
            raise ControlProblem(
                404,
                "not_found",
                "path.candidate_id",
                f"no candidate {candidate_id!r} in the pipeline of job {job_id!r}",
            )
        sandbox.move_candidate(job_id, candidate_id, status)
    return _ok(sandbox, {"job_id": job_id, "candidate_id": candidate_id, "status": status.value})


_OPERATIONS = [
    _Operation("GET", (), _index),
    _Operation("GET", ("jobs",), _list_jobs),
    _Operation("GET", ("jobs", "{job_id}"), _show_job),
    _Operation("POST", ("jobs", "{job_id}", "close"), _set_status(JobStatus.CLOSED)),
    _Operation("POST", ("jobs", "{job_id}", "reopen"), _set_status(JobStatus.OPEN)),
    _Operation("POST", ("jobs", "{job_id}", "candidates"), _add_candidates),
    _Operation(
        "POST", ("jobs", "{job_id}", "candidates", "{candidate_id}", "move"), _move_candidate
    ),
]


def path_of(*segments: str) -> str:
    """The control path of ``segments``, each percent-encoded (ids may hold ``/``)."""
    return PREFIX + "/" + "/".join(quote(s, safe="") for s in segments)
