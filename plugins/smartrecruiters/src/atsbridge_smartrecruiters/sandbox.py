"""A faithful fake of the SmartRecruiters Customer API, on loopback.

It serves the endpoints the plugin uses with the real API's paths, parameters, field names,
status values, paging (``limit``/``offset`` for jobs, opaque ``pageId``/``nextPageId`` for
candidates), auth (``X-SmartToken`` or an OAuth2 client-credentials Bearer token from
``/identity/oauth/token`` on the same server), error bodies and limits: 10 requests/s per
credential, 8 requests in flight, 1 in flight on ``GET /candidates``, and the
``X-RateLimit-*`` headers on every response.

It is stricter than the real API in one way on purpose: unknown query parameters and unknown
top-level body fields are refused with a 400, so a misspelt parameter fails a test instead of
being silently ignored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from atsbridge.model import CandidateStatus, JobStatus, SandboxOptions
from atsbridge_sdk.sandbox import (
    BadRequest,
    JobFacts,
    LoggedRequest,
    PersonFacts,
    Sandbox,
    SandboxRequest,
    SandboxResponse,
    SeedPerson,
    TokenBucketLimit,
    json_response,
    make_world,
    route,
)
from atsbridge_sdk.sandbox.webhooks import WebhookDeliverer

from atsbridge_smartrecruiters import sandbox_webhooks as hooks
from atsbridge_smartrecruiters.sandbox_webhooks import SubscriptionsApi

REQUESTS_PER_SECOND = 10
CONCURRENT_LIMIT = 8
CANDIDATES_CONCURRENT_LIMIT = 1
TOKEN_TTL = 1800
DEFAULT_LIMIT = 10
MAX_LIMIT = 100

JOB_STATUSES = ("CREATED", "SOURCING", "INTERVIEW", "OFFER", "FILLED", "CANCELLED", "ON_HOLD")
POSTING_STATUSES = ("PUBLIC", "INTERNAL", "PRIVATE", "NOT_PUBLISHED")
CANDIDATE_STATUSES = (
    "LEAD",
    "NEW",
    "IN_REVIEW",
    "INTERVIEW",
    "OFFERED",
    "HIRED",
    "REJECTED",
    "WITHDRAWN",
    "TRANSFERRED",
)
ATTACHMENT_TYPES = ("GENERIC_FILE", "RESUME", "COVER_LETTER")

UNIFIED_TO_JOB = {
    JobStatus.OPEN: "SOURCING",
    JobStatus.CLOSED: "FILLED",
    JobStatus.DRAFT: "CREATED",
    JobStatus.ON_HOLD: "ON_HOLD",
}
JOB_TO_UNIFIED = {
    "CREATED": JobStatus.DRAFT,
    "SOURCING": JobStatus.OPEN,
    "INTERVIEW": JobStatus.OPEN,
    "OFFER": JobStatus.OPEN,
    "FILLED": JobStatus.CLOSED,
    "CANCELLED": JobStatus.CLOSED,
    "ON_HOLD": JobStatus.ON_HOLD,
}
UNIFIED_TO_CANDIDATE = {
    CandidateStatus.NEW: "NEW",
    CandidateStatus.IN_REVIEW: "IN_REVIEW",
    CandidateStatus.INTERVIEWING: "INTERVIEW",
    CandidateStatus.OFFERED: "OFFERED",
    CandidateStatus.HIRED: "HIRED",
    CandidateStatus.REJECTED: "REJECTED",
    CandidateStatus.WITHDRAWN: "WITHDRAWN",
}
SUB_STATUSES = {
    "IN_REVIEW": "Hiring Manager Review",
    "INTERVIEW": "Onsite Interview",
    "OFFERED": "Offer Sent",
}
ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}

JOBS_PARAMS = {"limit", "offset", "updatedAfter", "q", "status", "postingStatus", "city"}
JOBS_PARAMS |= {"department", "lastActivityAfter"}
CANDIDATES_PARAMS = {"q", "limit", "pageId", "jobId", "status", "subStatus", "tag"}
CANDIDATES_PARAMS |= {"updatedAfter"}
CREATE_FIELDS = {"firstName", "lastName", "email", "phoneNumber", "web", "location"}
CREATE_FIELDS |= {"education", "experience", "tags", "sourceDetails"}
NOTES_CREATE_FIELDS = CREATE_FIELDS - {"location", "tags"}
EDUCATION_FIELDS = {"institution", "degree", "major", "current", "startDate", "endDate"}
EDUCATION_FIELDS |= {"location", "description"}
EXPERIENCE_FIELDS = {"title", "company", "current", "startDate", "endDate", "description"}
EXPERIENCE_FIELDS |= {"location"}
# Endpoints the plugin uses that the API notes do not list (README, UNCONFIRMED 3, 4, 16).
UNLISTED_ENDPOINTS = (
    ("GET", re.compile(r"/jobs/[^/]+")),
    ("PUT", re.compile(r"/candidates/[^/]+/jobs/[^/]+")),
    ("GET", re.compile(r"/candidates/[^/]+/attachments")),
)


def iso(when: datetime) -> str:
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _parse_iso(name: str, value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"Parameter {name} must be an ISO 8601 date-time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _int_param(request: SandboxRequest, name: str, default: int, low: int, high: int) -> int:
    raw = request.arg(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Parameter {name} must be an integer") from None
    if not low <= value <= high:
        raise BadRequest(f"Parameter {name} must be between {low} and {high}")
    return value


def _check_params(request: SandboxRequest, allowed: set[str]) -> None:
    unknown = sorted(set(request.query) - allowed)
    if unknown:
        raise BadRequest(f"Unsupported query parameter: {unknown[0]}")


class SmartRecruitersSandbox(SubscriptionsApi, Sandbox):
    """The fake ATS. Seeded from ``make_world``; pushed candidates are kept for inspection."""

    name = "smartrecruiters"
    rate_limit = TokenBucketLimit(rate=REQUESTS_PER_SECOND, burst=REQUESTS_PER_SECOND)
    webhooks: WebhookDeliverer

    def __init__(self, options: SandboxOptions = SandboxOptions()):
        super().__init__(options)
        rng = random.Random(f"smartrecruiters:{options.seed}")
        self._uuid_rng = random.Random(f"smartrecruiters-ids:{options.seed}")
        self.api_key = f"srk_{rng.getrandbits(96):024x}"
        self.client_id = f"srci_{rng.getrandbits(48):012x}"
        self.client_secret = f"srcs_{rng.getrandbits(128):032x}"
        self.tokens: dict[str, tuple[str, float]] = {}  # access token -> (client id, expiry)
        self.token_ttl = TOKEN_TTL
        self._token_seq = 0
        self._jobs: dict[str, dict[str, Any]] = {}
        self._people: dict[str, dict[str, Any]] = {}
        # job id -> ids of people ever assigned to it, so a per-job listing reads its own
        # pipeline instead of every person (a 2,000-job world holds 200,000 of them). A
        # superset: a removal may leave an id behind, and the listing still checks the
        # person's assignments, so what it serves is exactly what a full scan would.
        self._by_job: dict[str, set[str]] = {}
        self._order: dict[str, int] = {}  # person id -> position in _people (listing order)
        self._attachment_data: dict[str, bytes] = {}
        # The API notes show ``secondaryAssignments`` but an implementation may leave an
        # optional field out; False serves rows with only ``primaryAssignment``.
        self.secondary_assignments = True
        # An HTTP status (404, 405, 403...) makes the endpoints the notes do not list answer
        # with it, as an implementation of only the documented API would.
        self.unlisted_status: int | None = None
        # The create body's accepted top-level fields (unknown ones are a 400). The API
        # notes' example shows fewer than CREATE_FIELDS: NOTES_CREATE_FIELDS is that subset.
        self.create_fields = CREATE_FIELDS
        world = make_world(options.seed, options.jobs, options.candidates_per_job)
        latest = max([j.updated_at for j in world.jobs], default=datetime(2026, 9, 1, tzinfo=UTC))
        job_ids: list[str] = []
        for seed_job in world.jobs:
            job_id = self._new_id()
            job_ids.append(job_id)
            status = {
                "open": rng.choice(["SOURCING", "SOURCING", "INTERVIEW", "OFFER"]),
                "closed": rng.choice(["FILLED", "CANCELLED"]),
                "draft": "CREATED",
                "on_hold": "ON_HOLD",
            }[seed_job.status]
            place = seed_job.place
            self._jobs[job_id] = {
                "id": job_id,
                "title": seed_job.title,
                "refNumber": seed_job.reference,
                "createdOn": iso(seed_job.created_at),
                "updatedOn": iso(seed_job.updated_at),
                "department": {
                    "id": str(700000 + sum(map(ord, seed_job.department))),
                    "label": seed_job.department,
                },
                "location": {
                    "city": place.city,
                    "region": place.region,
                    "regionCode": place.region_code,
                    "country": place.country,
                    "countryCode": place.country_code.lower(),
                },
                "typeOfEmployment": {"id": "permanent", "label": "Full-time"},
                "status": status,
                "postingStatus": self._posting_status(status),
            }
        for index, seed_job in enumerate(world.jobs):
            for person in world.pipelines[seed_job.key]:
                pid = self._store_person(person, job_ids[index])
                latest = max(latest, person.updated_at)
                # Some people are also on the next job, as a sourced lead: exercises the
                # secondaryAssignments path of the per-job status.
                if person.key % 5 == 0 and len(job_ids) > 1:
                    other = job_ids[(index + 1) % len(job_ids)]
                    self._people[pid]["assignments"].append(
                        {"job": {"id": other}, "status": "LEAD", "subStatus": None}
                    )
                    self._index(pid, other)
        self._now = latest + timedelta(hours=1)
        # Webhooks (sandbox_webhooks): subscriptions made through the webhooks API get the
        # control API's changes pushed, as SmartRecruiters would.
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.webhooks = hooks.deliverer()

    # -- helpers ---------------------------------------------------------------------------

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._uuid_rng.getrandbits(128), version=4))

    def _track(self, pid: str) -> None:
        """Index a person just stored in ``_people`` (see ``_by_job``)."""
        self._order.setdefault(pid, len(self._order))
        for a in self._people[pid]["assignments"]:
            self._index(pid, a["job"]["id"])

    def _index(self, pid: str, job_id: str) -> None:
        self._by_job.setdefault(job_id, set()).add(pid)

    def _tick(self) -> str:
        """A logical clock for edits: after every seeded time, one second per change."""
        self._now += timedelta(seconds=1)
        return iso(self._now)

    @staticmethod
    def _posting_status(status: str) -> str:
        if status in ("SOURCING", "INTERVIEW", "OFFER"):
            return "PUBLIC"
        return "PRIVATE" if status == "ON_HOLD" else "NOT_PUBLISHED"

    def _store_person(self, person: SeedPerson, job_id: str) -> str:
        pid = self._new_id()
        raw = UNIFIED_TO_CANDIDATE[CandidateStatus(person.status)]
        # The two statuses that have no unified twin appear for some seeded people.
        if raw == "NEW" and person.key % 2 == 0:
            raw = "LEAD"
        if raw == "WITHDRAWN" and person.key % 2 == 0:
            raw = "TRANSFERRED"
        self._people[pid] = {
            "id": pid,
            "firstName": person.first_name,
            "lastName": person.last_name,
            "email": person.email,
            "phoneNumber": person.phone,
            "web": {"linkedin": person.linkedin_url},
            "location": {
                "city": person.place.city,
                "country": person.place.country,
                "countryCode": person.place.country_code.lower(),
            },
            "education": [],
            "experience": [{"title": person.title, "company": person.company, "current": True}],
            "tags": [],
            "createdOn": iso(person.created_at),
            "updatedOn": iso(person.updated_at),
            "assignments": [
                {"job": {"id": job_id}, "status": raw, "subStatus": SUB_STATUSES.get(raw)}
            ],
            "attachments": [],
        }
        self._track(pid)
        return pid

    def _render(self, person: dict[str, Any]) -> dict[str, Any]:
        """A candidate as the API shows it: assignments split into primary and secondary."""
        out = {k: v for k, v in person.items() if k not in ("assignments", "attachments")}
        shown = []
        for a in person["assignments"]:
            job = self._jobs.get(a["job"]["id"], {})
            item = {"job": {"id": a["job"]["id"], "title": job.get("title")}, "status": a["status"]}
            if a.get("subStatus"):
                item["subStatus"] = a["subStatus"]
            shown.append(item)
        out["primaryAssignment"] = shown[0] if shown else None
        if self.secondary_assignments:
            out["secondaryAssignments"] = shown[1:]
        return out

    def _job_or_404(self, job_id: str) -> dict[str, Any]:
        job = self._jobs.get(job_id)
        if job is None:
            raise _NotFound(f"Job {job_id} not found")
        return job

    def _person_or_404(self, candidate_id: str) -> dict[str, Any]:
        person = self._people.get(candidate_id)
        if person is None:
            raise _NotFound(f"Candidate {candidate_id} not found")
        return person

    # -- the SandboxApp contract ---------------------------------------------------------------

    def error(self, status: int, message: str) -> SandboxResponse:
        code = ERROR_CODES.get(status, "ERROR")
        return json_response(
            {"message": message, "errors": [{"code": code, "message": message}]}, status
        )

    def authenticate(self, request: SandboxRequest) -> SandboxResponse | None:
        if request.path == "/identity/oauth/token":
            request.credential = "identity"  # the token endpoint is not metered per client
            return None
        key = request.headers.get("X-SmartToken")
        if key is not None:
            if key != self.api_key:
                return self.error(401, "Invalid X-SmartToken")
            request.credential = "api-key"
            return None
        header = request.headers.get("Authorization") or ""
        if header.lower().startswith("bearer "):
            entry = self.tokens.get(header[7:].strip())
            if entry is None:
                return self.error(401, "Invalid access token")
            client, expires = entry
            if self._clock() >= expires:
                return self.error(401, "Access token expired")
            request.credential = f"client:{client}"
            return None
        return self.error(401, "Missing authentication: X-SmartToken or Bearer token")

    def concurrency_key(self, request: SandboxRequest) -> tuple[str, int] | None:
        if request.path == "/identity/oauth/token":
            return None
        if request.method == "GET" and request.path == "/candidates":
            return ("GET /candidates", CANDIDATES_CONCURRENT_LIMIT)
        return ("all", CONCURRENT_LIMIT)

    def process(self, request: SandboxRequest, entry: LoggedRequest) -> SandboxResponse | None:
        response = super().process(request, entry)
        if response is not None:
            # Every response carries the limits, 401s and 429s included.
            cap = self.concurrency_key(request) or ("all", CONCURRENT_LIMIT)
            with self._limit_lock:
                busy = self._in_flight[(request.credential, cap[0])]
            left, _ = self.remaining(request.credential)
            response.headers = {
                "X-RateLimit-Limit": str(REQUESTS_PER_SECOND),
                "X-RateLimit-Remaining": str(left),
                "X-RateLimit-Concurrent-Limit": str(cap[1]),
                "X-RateLimit-Concurrent-Remaining": str(max(0, cap[1] - busy)),
                **response.headers,
            }
        return response

    def dispatch(self, request: SandboxRequest) -> SandboxResponse:
        if self.unlisted_status is not None and any(
            request.method == method and pattern.fullmatch(request.path)
            for method, pattern in UNLISTED_ENDPOINTS
        ):
            return self.error(self.unlisted_status, f"No {request.method} {request.path}")
        try:
            return super().dispatch(request)
        except _NotFound as exc:
            return self.error(404, str(exc))

    @staticmethod
    def _clock() -> float:
        return time.monotonic()

    # -- auth ------------------------------------------------------------------------------------

    @route("POST", "/identity/oauth/token")
    def token(self, request: SandboxRequest) -> SandboxResponse:
        ctype = request.headers.get("Content-Type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return json_response(
                {"error": "invalid_request", "error_description": "form body expected"}, 400
            )
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            return json_response(
                {"error": "unsupported_grant_type", "error_description": "client_credentials"},
                400,
            )
        # Client authentication is in the body (not HTTP Basic) for this endpoint.
        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return json_response(
                {"error": "invalid_client", "error_description": "Bad client credentials"}, 401
            )
        self._token_seq += 1
        digest = hashlib.sha256(f"{self.client_secret}:{self._token_seq}".encode()).hexdigest()
        token = f"srat_{digest[:40]}"
        self.tokens[token] = (self.client_id, self._clock() + self.token_ttl)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}
        return json_response(body)

    def expire_tokens(self) -> None:
        """Make every issued access token expire now (to test the refresh on 401)."""
        with self.lock:
            self.tokens = {t: (c, 0.0) for t, (c, _) in self.tokens.items()}

    # -- jobs --------------------------------------------------------------------------------------

    @route("GET", "/jobs")
    def list_jobs(self, request: SandboxRequest) -> SandboxResponse:
        _check_params(request, JOBS_PARAMS)
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int_param(request, "offset", 0, 0, 10**9)
        jobs = list(self._jobs.values())
        since = request.arg("updatedAfter")
        if since is not None:
            after = _parse_iso("updatedAfter", since)
            jobs = [j for j in jobs if _parse_iso("updatedOn", j["updatedOn"]) > after]
        status = request.arg("status")
        if status is not None:
            if status not in JOB_STATUSES:
                raise BadRequest(f"Parameter status must be one of {', '.join(JOB_STATUSES)}")
            jobs = [j for j in jobs if j["status"] == status]
        posting = request.arg("postingStatus")
        if posting is not None:
            if posting not in POSTING_STATUSES:
                raise BadRequest("Parameter postingStatus has an unknown value")
            jobs = [j for j in jobs if j["postingStatus"] == posting]
        text = (request.arg("q") or "").strip().casefold()
        if text:
            jobs = [j for j in jobs if text in _job_search_text(j)]
        city = request.arg("city")
        if city:
            jobs = [j for j in jobs if j["location"]["city"].casefold() == city.casefold()]
        jobs.sort(key=lambda j: (j["createdOn"], j["id"]), reverse=True)
        page = jobs[offset : offset + limit]
        return json_response(
            {"limit": limit, "offset": offset, "totalFound": len(jobs), "content": page}
        )

    @route("GET", "/jobs/{job_id}")
    def get_job(self, request: SandboxRequest) -> SandboxResponse:
        return json_response(self._job_or_404(request.path_params["job_id"]))

    # -- candidates -----------------------------------------------------------------------------

    @staticmethod
    def _page_token(offset: int, fingerprint: str) -> str:
        raw = json.dumps({"o": offset, "f": fingerprint}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _read_page_token(token: str, fingerprint: str) -> int:
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded))
            offset, seen = int(data["o"]), str(data["f"])
        except (ValueError, KeyError, TypeError):
            raise BadRequest("Parameter pageId is invalid") from None
        if seen != fingerprint:
            raise BadRequest("Parameter pageId does not belong to this query")
        return offset

    @route("GET", "/candidates")
    def list_candidates(self, request: SandboxRequest) -> SandboxResponse:
        _check_params(request, CANDIDATES_PARAMS)
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        filters = {k: sorted(v) for k, v in request.query.items() if k not in ("pageId", "limit")}
        fingerprint = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]
        page_id = request.arg("pageId")
        offset = self._read_page_token(page_id, fingerprint) if page_id else 0
        job_id = request.arg("jobId")
        statuses = request.args("status")
        for s in statuses:
            if s not in CANDIDATE_STATUSES:
                raise BadRequest(f"Parameter status must be one of {', '.join(CANDIDATE_STATUSES)}")
        since = request.arg("updatedAfter")
        after = _parse_iso("updatedAfter", since) if since is not None else None
        text = (request.arg("q") or "").strip().casefold()
        tag = request.arg("tag")
        matches = []
        for person in self._listed(job_id):
            assignments = person["assignments"]
            if job_id is not None:
                assignments = [a for a in assignments if a["job"]["id"] == job_id]
                if not assignments:
                    continue
            if statuses and not any(a["status"] in statuses for a in assignments):
                continue
            if after is not None and _parse_iso("updatedOn", person["updatedOn"]) <= after:
                continue
            if text:
                haystack = " ".join(
                    (person["firstName"], person["lastName"], person["email"] or "")
                ).casefold()
                if text not in haystack:
                    continue
            if tag and tag not in person["tags"]:
                continue
            matches.append(person)
        page = matches[offset : offset + limit]
        body: dict[str, Any] = {
            "limit": limit,
            "totalFound": len(matches),
            "content": [self._render(p) for p in page],
        }
        headers: dict[str, str] = {}
        if offset + limit < len(matches):
            token = self._page_token(offset + limit, fingerprint)
            body["nextPageId"] = token
            params = [(k, v) for k, vs in request.query.items() if k != "pageId" for v in vs]
            link = f"{self.url}/candidates?{urlencode([*params, ('pageId', token)])}"
            headers["Link"] = f'<{link}>; rel="next"'
        return json_response(body, headers=headers)

    def _listed(self, job_id: str | None) -> Iterable[dict[str, Any]]:
        """The people a listing has to look at, in the order the API lists them."""
        if job_id is None:
            return self._people.values()
        ids = sorted(self._by_job.get(job_id, ()), key=self._order.__getitem__)
        return [self._people[pid] for pid in ids]

    @route("GET", "/candidates/{candidate_id}")
    def get_candidate(self, request: SandboxRequest) -> SandboxResponse:
        return json_response(self._render(self._person_or_404(request.path_params["candidate_id"])))

    @route("POST", "/jobs/{job_id}/candidates")
    def create_candidate(self, request: SandboxRequest) -> SandboxResponse:
        job = self._job_or_404(request.path_params["job_id"])
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        problems = _candidate_problems(body, self.create_fields)
        if problems:
            errors = [{"code": "INVALID_FIELD", "message": p} for p in problems]
            return json_response({"message": "Invalid candidate", "errors": errors}, 400)
        pid = self._new_id()
        now = self._tick()
        web = body.get("web") or {}
        person = {
            "id": pid,
            "firstName": body["firstName"],
            "lastName": body["lastName"],
            "email": body["email"],
            "phoneNumber": body.get("phoneNumber"),
            "web": dict(web),
            "location": dict(body.get("location") or {}),
            "education": [dict(e) for e in body.get("education") or []],
            "experience": [dict(x) for x in body.get("experience") or []],
            "tags": list(body.get("tags") or []),
            "sourceDetails": body.get("sourceDetails"),
            "createdOn": now,
            "updatedOn": now,
            "assignments": [{"job": {"id": job["id"]}, "status": "NEW", "subStatus": None}],
            "attachments": [],
        }
        self._people[pid] = person
        self._track(pid)
        return json_response(self._render(person), 201)

    @route("PUT", "/candidates/{candidate_id}/jobs/{job_id}")
    def assign_candidate(self, request: SandboxRequest) -> SandboxResponse:
        person = self._person_or_404(request.path_params["candidate_id"])
        job = self._job_or_404(request.path_params["job_id"])
        if not any(a["job"]["id"] == job["id"] for a in person["assignments"]):
            person["assignments"].append({"job": {"id": job["id"]}, "status": "NEW"})
            self._index(person["id"], job["id"])
            person["updatedOn"] = self._tick()
        return json_response(self._render(person))

    @route("POST", "/candidates/{candidate_id}/attachments")
    def add_attachment(self, request: SandboxRequest) -> SandboxResponse:
        person = self._person_or_404(request.path_params["candidate_id"])
        parts = request.multipart()
        file = parts.get("file")
        if file is None or file.filename is None:
            raise BadRequest("Multipart part 'file' (with a filename) is required")
        kind_part = parts.get("attachmentType")
        kind = kind_part.data.decode() if kind_part else "GENERIC_FILE"
        if kind not in ATTACHMENT_TYPES:
            raise BadRequest(f"attachmentType must be one of {', '.join(ATTACHMENT_TYPES)}")
        attachment_id = self._new_id()
        item = {
            "id": attachment_id,
            "name": file.filename,
            "type": kind,
            "contentType": file.content_type or "application/octet-stream",
            "size": len(file.data),
        }
        person["attachments"].append(item)
        self._attachment_data[attachment_id] = file.data
        person["updatedOn"] = self._tick()
        return json_response(item, 201)

    @route("GET", "/candidates/{candidate_id}/attachments")
    def list_attachments(self, request: SandboxRequest) -> SandboxResponse:
        person = self._person_or_404(request.path_params["candidate_id"])
        items = list(person["attachments"])
        return json_response({"totalFound": len(items), "content": items})

    # -- the control API (tests, demo, contract kit) -------------------------------------------

    def connection_config(self, *, valid: bool = True) -> dict:
        key = self.api_key if valid else "srk_" + "0" * 24
        return {"auth_method": "api_key", "api_key": key, "base_url": self.url}

    def oauth_config(self, *, valid: bool = True) -> dict:
        secret = self.client_secret if valid else "srcs_" + "0" * 32
        return {
            "auth_method": "oauth_client_credentials",
            "client_id": self.client_id,
            "client_secret": secret,
            "base_url": self.url,
        }

    def jobs(self) -> list[JobFacts]:
        with self.lock:
            return [
                JobFacts(
                    ats_id=j["id"],
                    title=j["title"],
                    reference=j["refNumber"],
                    city=j["location"]["city"],
                    country_code=j["location"]["countryCode"].upper(),
                    status=JOB_TO_UNIFIED[j["status"]],
                    updated_at=_parse_iso("updatedOn", j["updatedOn"]),
                )
                for j in self._jobs.values()
            ]

    def job_record(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            return json.loads(json.dumps(self._jobs[job_id]))

    def pipeline(self, job_id: str) -> list[str]:
        with self.lock:
            return [
                p["id"]
                for p in self._listed(job_id)
                if any(a["job"]["id"] == job_id for a in p["assignments"])
            ]

    def set_job_status(self, job_id: str, status: JobStatus) -> None:
        self.set_job_raw_status(job_id, UNIFIED_TO_JOB[status])

    def set_job_raw_status(self, job_id: str, raw: str) -> None:
        assert raw in JOB_STATUSES, raw
        with self.lock:
            job = self._jobs[job_id]
            job["status"] = raw
            job["postingStatus"] = self._posting_status(raw)
            job["updatedOn"] = self._tick()
            self._push("job.status.updated", {"job_id": job_id}, f"/jobs/{job_id}")

    def rename_job(self, job_id: str, title: str) -> None:
        with self.lock:
            job = self._jobs[job_id]
            job["title"] = title
            job["updatedOn"] = self._tick()

    def delete_job(self, job_id: str) -> None:
        with self.lock:
            del self._jobs[job_id]

    def add_candidate(self, job_id: str, person: SeedPerson) -> str:
        with self.lock:
            self._job_or_404(job_id)
            pid = self._store_person(person, job_id)
            self._people[pid]["updatedOn"] = self._tick()
            body = {"job_id": job_id, "candidate_id": pid}
            self._push("application.created", body, f"/candidates/{pid}/jobs/{job_id}")
            return pid

    def remove_candidate(self, job_id: str, candidate_id: str) -> None:
        with self.lock:
            person = self._people[candidate_id]
            person["assignments"] = [a for a in person["assignments"] if a["job"]["id"] != job_id]
            person["updatedOn"] = self._tick()
            body = {"candidate_id": candidate_id}
            self._push("candidate.updated", body, f"/candidates/{candidate_id}")

    def move_candidate(self, job_id: str, candidate_id: str, status: CandidateStatus) -> None:
        self.set_candidate_raw_status(job_id, candidate_id, UNIFIED_TO_CANDIDATE[status])

    def set_candidate_raw_status(self, job_id: str, candidate_id: str, raw: str) -> None:
        assert raw in CANDIDATE_STATUSES, raw
        with self.lock:
            person = self._people[candidate_id]
            for a in person["assignments"]:
                if a["job"]["id"] == job_id:
                    a["status"], a["subStatus"] = raw, SUB_STATUSES.get(raw)
            person["updatedOn"] = self._tick()
            body = {"job_id": job_id, "candidate_id": candidate_id}
            link = f"/candidates/{candidate_id}/jobs/{job_id}"
            self._push("application.status.updated", body, link)

    def delete_person(self, candidate_id: str) -> None:
        """Delete a candidate with all their applications (``candidate.deleted``)."""
        with self.lock:
            del self._people[candidate_id]
            for ids in self._by_job.values():
                ids.discard(candidate_id)
            self._tick()
            body = {"candidate_id": candidate_id}
            self._push("candidate.deleted", body, f"/candidates/{candidate_id}")

    def _push(self, name: str, body: dict[str, str], path: str) -> None:
        base = self.url if self._server is not None else ""
        self.webhooks.emit(hooks.event(name, body, base + path, self._now))

    def people(self, email: str | None = None) -> list[PersonFacts]:
        with self.lock:
            chosen = [
                p
                for p in self._people.values()
                if email is None or (p["email"] or "").casefold() == email.casefold()
            ]
            return [self._facts(p) for p in chosen]

    def person_record(self, candidate_id: str) -> dict[str, Any]:
        """The stored candidate, exactly as pushed (assignments and attachments included)."""
        with self.lock:
            return json.loads(json.dumps(self._people[candidate_id]))

    def attachment_bytes(self, attachment_id: str) -> bytes:
        with self.lock:
            return self._attachment_data[attachment_id]

    def _facts(self, p: dict[str, Any]) -> PersonFacts:
        web = p.get("web") or {}
        resume = next((a for a in p["attachments"] if a["type"] == "RESUME"), None)
        resume = resume or next(iter(p["attachments"]), None)
        return PersonFacts(
            ats_id=p["id"],
            first_name=p["firstName"],
            last_name=p["lastName"],
            emails=(p["email"],) if p["email"] else (),
            job_ids=tuple(a["job"]["id"] for a in p["assignments"]),
            linkedin_url=web.get("linkedin") or web.get("linkedIn"),
            phones=(p["phoneNumber"],) if p.get("phoneNumber") else (),
            educations=len(p["education"]),
            experiences=len(p["experience"]),
            resume=self._attachment_data[resume["id"]] if resume else None,
        )


def _job_search_text(job: dict[str, Any]) -> str:
    """What ``q`` searches: a full-text search over title, reference, department and place."""
    loc = job["location"]
    words = [job["title"], job["refNumber"] or "", job["department"]["label"]]
    words += [loc.get("city") or "", loc.get("region") or "", loc.get("country") or ""]
    return " ".join(words).casefold()


class _NotFound(Exception):
    pass


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _candidate_problems(body: dict[str, Any], fields: set[str] = CREATE_FIELDS) -> list[str]:
    """What is wrong with a create body, one message per field (empty when it is fine)."""
    problems = [f"Unknown field: {k}" for k in sorted(set(body) - fields)]
    for name in ("firstName", "lastName", "email"):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"Field {name} is required")
    email = body.get("email")
    if isinstance(email, str) and email.strip() and "@" not in email:
        problems.append("Field email must be an email address")
    if "phoneNumber" in body and not _is_str(body["phoneNumber"]):
        problems.append("Field phoneNumber must be a string")
    web = body.get("web")
    if web is not None and (not isinstance(web, dict) or not all(_is_str(v) for v in web.values())):
        problems.append("Field web must be an object of URLs")
    location = body.get("location")
    if location is not None and (
        not isinstance(location, dict) or not all(_is_str(v) for v in location.values())
    ):
        problems.append("Field location must be an object of strings")
    problems += _list_problems(body, "education", EDUCATION_FIELDS, "institution")
    problems += _list_problems(body, "experience", EXPERIENCE_FIELDS, "company")
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(_is_str(t) for t in tags)):
        problems.append("Field tags must be a list of strings")
    return problems


def _list_problems(body: dict[str, Any], name: str, fields: set[str], needed: str) -> list[str]:
    items = body.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        return [f"Field {name} must be a list"]
    problems = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"Field {name}[{i}] must be an object")
            continue
        problems += [f"Unknown field: {name}[{i}].{k}" for k in sorted(set(item) - fields)]
        if not _is_str(item.get(needed)) or not item[needed].strip():
            problems.append(f"Field {name}[{i}].{needed} is required")
        if "current" in item and not isinstance(item["current"], bool):
            problems.append(f"Field {name}[{i}].current must be a boolean")
        for key in fields - {"current", "location"}:
            if key in item and not _is_str(item[key]):
                problems.append(f"Field {name}[{i}].{key} must be a string")
    return problems
