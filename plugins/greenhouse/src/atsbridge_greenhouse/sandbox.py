"""A faithful fake of Greenhouse Harvest v3 (and its token endpoint) on loopback.

It enforces the v3 rules of ATS-API-NOTES section 1.2: flat reads, bare-array lists in id
order (descending), paging only through ``Link: rel="next"`` whose cursor must travel alone,
plural ``*_ids`` filters of at most 50 ids, operator date filters, 422 ``{"errors": [...]}``
for anything else, OAuth2 client-credentials Bearer tokens that expire, Site-Admin-only list
reads, and the request window with X-RateLimit-* headers and 429 + Retry-After.

It also serves reads the notes do not list (offices, the educations/employments lists), as
the plugin assumes they exist; ``unlisted_reads=False`` plays an API built from the notes
alone, where they answer 404/405, to prove the plugin does without them; ``scopes=`` a
credential holding only some scopes; ``sparse=True`` an API that omits null fields and
answers a create with the new record's id only.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from atsbridge.model import CandidateStatus, JobStatus, SandboxOptions
from atsbridge_sdk.sandbox import (
    JobFacts,
    PersonFacts,
    Sandbox,
    SandboxRequest,
    SandboxResponse,
    SeedPerson,
    WindowLimit,
    json_response,
    make_world,
    route,
)
from atsbridge_sdk.sandbox.webhooks import Target, WebhookDeliverer

from atsbridge_greenhouse import sandbox_webhooks as hooks
from atsbridge_greenhouse.constants import MAX_IDS_PER_CALL, MAX_PER_PAGE, RATE_WINDOW
from atsbridge_greenhouse.mapping import format_timestamp, parse_datetime

ADMIN_USER_ID = 31007
BASIC_USER_ID = 31008
STAGES = ("Application Review", "Phone Screen", "Face to Face", "Offer")
# Unified status -> (application status, prospect, stage name) used to seed and move people.
STATUS_SHAPES: dict[str, tuple[str, bool, str | None]] = {
    "new": ("in_process", True, None),
    "in_review": ("in_process", False, "Application Review"),
    "interviewing": ("in_process", False, "Phone Screen"),
    "offered": ("in_process", False, "Offer"),
    "hired": ("hired", False, "Offer"),
    "rejected": ("rejected", False, "Application Review"),
    "withdrawn": ("converted", True, None),
}
SCHOOLS = (
    "Université Paris Cité",
    "University of Leeds",
    "Technische Universität Berlin",
    "Universidade de Lisboa",
    "University of Toronto",
    "Osaka University",
)
DEGREES = (
    "High School",
    "Associate's Degree",
    "Bachelor's Degree",
    "Master's Degree",
    "Master of Business Administration (M.B.A.)",
    "Doctor of Philosophy (Ph.D.)",
    "Other",
)
DISCIPLINES = ("Computer Science", "Mathematics", "Economics", "Design", "Engineering")
ATTACHMENT_TYPES = frozenset(
    {"resume", "cover_letter", "offer_letter", "offer_packet", "other", "admin_only", "public"}
)
DATE_OPERATORS = ("gt", "gte", "lt", "lte")
# The scopes the notes' admin steps (1.1) tick; ``scopes=NOTES_ADMIN_SCOPES`` plays a
# credential set up by those steps alone. A scope is ``harvest:<path resource>:<action>``.
NOTES_ADMIN_SCOPES = frozenset(
    [
        *(
            f"harvest:{resource}:list"
            for resource in (
                "jobs",
                "job_posts",
                "openings",
                "job_interview_stages",
                "applications",
                "candidates",
            )
        ),
        *(
            f"harvest:{resource}:create"
            for resource in (
                "candidates",
                "applications",
                "attachments",
                "candidate_educations",
                "candidate_employments",
            )
        ),
    ]
)
SCOPE_ACTIONS = {"GET": "list", "POST": "create", "PATCH": "update", "DELETE": "delete"}
BOOL_WORDS = {"true": True, "false": False}


class Unprocessable(Exception):
    """A request Greenhouse answers with 422 ``{"errors": [message]}``."""


def _stamp(when: datetime | None) -> str | None:
    return format_timestamp(when) if when is not None else None


class GreenhouseSandbox(Sandbox):
    name = "greenhouse"
    rate_limit: WindowLimit = RATE_WINDOW
    webhooks: WebhookDeliverer

    def __init__(
        self,
        options: SandboxOptions = SandboxOptions(),
        *,
        window: WindowLimit | None = None,
        token_ttl: float = 3600.0,
        stage_names_on_rows: bool = True,
        unlisted_reads: bool = True,
        scopes: frozenset[str] | None = None,
        sparse: bool = False,
    ):
        if window is not None:
            self.rate_limit = window  # a time-scaled copy of the real window keeps tests fast
        super().__init__(options)
        self.token_ttl = token_ttl
        self.stage_names_on_rows = stage_names_on_rows
        # False plays an API built from the notes alone: the reads they do not list
        # (offices, the educations/employments lists) are not there.
        self.unlisted_reads = unlisted_reads
        self.scopes = scopes  # None: the credential holds every scope
        # True plays an API that sends only what the notes show for sure: list rows without
        # their null fields, and created records as their ids (1.7 elides the rest).
        self.sparse = sparse
        self.client_id = f"gh-client-{options.seed}"
        self.client_secret = f"gh-secret-{options.seed}-{secrets.token_hex(8)}"
        self.users = {ADMIN_USER_ID: True, BASIC_USER_ID: False}  # id -> site admin
        self.tokens: dict[str, tuple[int, float]] = {}  # token -> (sub, expires monotonic)
        self.token_grants = 0
        self._next = 100_000
        self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
        self.jobs_: dict[int, dict] = {}
        self.offices: dict[int, dict] = {}
        self.job_posts: dict[int, dict] = {}
        self.stages: dict[int, dict] = {}
        self.candidates: dict[int, dict] = {}
        self.applications: dict[int, dict] = {}
        self.attachments: dict[int, dict] = {}
        self.educations: dict[int, dict] = {}
        self.employments: dict[int, dict] = {}
        self.field_options: dict[str, dict[int, dict]] = {}
        # Indexes kept with the dicts above, so a read costs what it serves, not a scan of
        # everything (200,000 applications and candidates in a 2,000-job world, scanned per
        # request, made a full pipeline sync take minutes). Listings sort their rows by id,
        # so the order an index yields rows in changes nothing in what is served.
        self._stage_by_name: dict[tuple[int, str], int] = {}  # (job id, name) -> first stage
        self._apps_by_job: dict[int, dict[int, None]] = {}  # job id -> its application ids
        self._apps_by_candidate: dict[int, dict[int, None]] = {}  # candidate id -> ditto
        self._places: dict[int, tuple[str, str]] = {}  # office id -> (city, country code)
        self._seed(options)
        # Outbound webhooks (sandbox_webhooks): what the control API changes is pushed to
        # the webhooks registered with register_webhook, as Greenhouse would.
        self.webhooks = hooks.deliverer()

    # -- seeding ------------------------------------------------------------

    def _id(self) -> int:
        self._next += 1
        return self._next

    def _now(self) -> datetime:
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return now

    def _seed(self, options: SandboxOptions) -> None:
        world = make_world(options.seed, options.jobs, options.candidates_per_job)
        for key, names in (
            ("school_name", SCHOOLS),
            ("degree", DEGREES),
            ("discipline", DISCIPLINES),
        ):
            self.field_options[key] = {}
            for priority, name in enumerate(names):
                oid = self._id()
                self.field_options[key][oid] = {
                    "id": oid,
                    "name": name,
                    "priority": priority,
                    "external_id": None,
                }
        offices: dict[str, int] = {}
        departments: dict[str, int] = {}
        for job in world.jobs:
            place = job.place
            if place.city not in offices:
                oid = self._id()
                offices[place.city] = oid
                self._places[oid] = (place.city, place.country_code)
                self.offices[oid] = {
                    "id": oid,
                    "name": place.city,
                    "location": {"name": f"{place.city}, {place.region}, {place.country}"},
                    "parent_id": None,
                    "child_ids": [],
                    "external_id": None,
                }
            departments.setdefault(job.department, 88000 + len(departments))
            status = "open" if job.status == "on_hold" else job.status  # no hold in Greenhouse
            jid = self._id()
            self.jobs_[jid] = {
                "id": jid,
                "name": job.title,
                "requisition_id": job.reference,
                "status": status,
                "confidential": False,
                "department_id": departments[job.department],
                "office_ids": [offices[place.city]],
                "opened_at": None if status == "draft" else job.created_at,
                "closed_at": job.updated_at if status == "closed" else None,
                "created_at": job.created_at,
                "updated_at": job.updated_at,
                "custom_fields": {},
            }
            pid = self._id()
            self.job_posts[pid] = {
                "id": pid,
                "job_id": jid,
                "title": job.title,
                "live": status == "open",
                "active": status != "draft",
                "internal": False,
                "content": job.description,
                "created_at": job.created_at,
                "updated_at": job.updated_at,
            }
            for order, stage in enumerate(STAGES):
                sid = self._id()
                self.stages[sid] = {
                    "id": sid,
                    "job_id": jid,
                    "name": stage,
                    "sort_order": order,
                    "created_at": job.created_at,
                    "updated_at": job.created_at,
                }
                self._stage_by_name.setdefault((jid, stage), sid)
            for person in world.pipelines[job.key]:
                self._add_person(jid, person, person.updated_at)

    def _stage_id(self, job_id: int, name: str | None) -> int | None:
        return self._stage_by_name.get((job_id, name)) if name is not None else None

    def _add_person(self, job_id: int, person: SeedPerson, when: datetime) -> int:
        cid = self._id()
        self.candidates[cid] = {
            "id": cid,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "company": person.company,
            "title": person.title,
            "email_addresses": [{"value": person.email, "type": "personal"}],
            "phone_numbers": [{"value": person.phone, "type": "mobile"}],
            "social_media_addresses": [{"value": person.linkedin_url}],
            "tags": [],
            "created_at": person.created_at,
            "updated_at": when,
        }
        app = self._new_application(cid, job_id, when)
        self._shape_application(app, person.status, when)
        return cid

    def _new_application(self, cid: int, job_id: int, when: datetime, **extra: Any) -> dict:
        aid = self._id()
        app = {
            "id": aid,
            "candidate_id": cid,
            "job_id": job_id,
            "prospect": False,
            "status": "in_process",
            "stage_id": None,
            "stage_name": None,
            "job_interview_stage_id": None,
            "created_at": when,
            "updated_at": when,
            "last_activity_at": when,
            "rejected_at": None,
            "rejection_reason_id": None,
            "source_id": None,
            "recruiter_id": None,
            "custom_fields": {},
            **extra,
        }
        self.applications[aid] = app
        self._apps_by_job.setdefault(job_id, {})[aid] = None
        self._apps_by_candidate.setdefault(cid, {})[aid] = None
        return app

    def _drop_application(self, aid: int) -> None:
        app = self.applications.pop(aid)
        del self._apps_by_job[app["job_id"]][aid]
        del self._apps_by_candidate[app["candidate_id"]][aid]

    def _job_apps(self, job_id: int) -> list[dict]:
        """The job's applications, in creation order (as a scan would find them)."""
        return [self.applications[aid] for aid in self._apps_by_job.get(job_id, ())]

    def _candidate_apps(self, candidate_id: int) -> list[dict]:
        return [self.applications[aid] for aid in self._apps_by_candidate.get(candidate_id, ())]

    def _indexed(
        self, params: dict[str, str], name: str, lookup: Callable[[int], Iterable[dict]]
    ) -> list[dict] | None:
        """The rows an ``*_ids`` filter can match, read through an index; None when the
        filter is absent or malformed (the caller then filters every row and so answers the
        422 it always did, in the same order as its other checks)."""
        if name not in params:
            return None
        try:
            wanted = self._ids(params, name)
        except Unprocessable:
            return None
        return [row for key in sorted(wanted) for row in lookup(key)]

    def _shape_application(self, app: dict, unified: str, when: datetime) -> None:
        status, prospect, stage = STATUS_SHAPES[unified]
        stage_id = self._stage_id(app["job_id"], stage)
        app.update(
            status=status,
            prospect=prospect,
            stage_name=stage,
            job_interview_stage_id=stage_id,
            stage_id=stage_id + 50_000_000 if stage_id else None,
            rejected_at=when if status == "rejected" else None,
            rejection_reason_id=7 if status == "rejected" else None,
            updated_at=when,
            last_activity_at=when,
        )

    # -- HTTP plumbing ---------------------------------------------------------------------

    def error(self, status: int, message: str) -> SandboxResponse:
        return json_response({"errors": [message]}, status)

    def authenticate(self, request: SandboxRequest) -> SandboxResponse | None:
        if request.path == "/token":
            request.credential = "auth-server"
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return self.error(401, "Unauthorized: a Bearer access token is required")
        with self.lock:
            grant = self.tokens.get(token.strip())
        if grant is None:
            return self.error(401, "Unauthorized: invalid access token")
        if time.monotonic() >= grant[1]:
            return self.error(401, "Unauthorized: access token expired")
        request.credential = self.client_id
        if request.method == "GET" and not self.users.get(grant[0], False):
            return self.error(403, "Forbidden: list endpoints require a Site Admin user")
        resource = request.path.removeprefix("/v3/").split("/")[0]
        scope = f"harvest:{resource}:{SCOPE_ACTIONS.get(request.method, 'unknown')}"
        if self.scopes is not None and scope not in self.scopes:
            return self.error(403, f"Forbidden: the credential lacks the scope {scope}")
        return None

    def limit_headers(self, credential: str) -> dict[str, str]:
        left, reset = self.remaining(credential)
        return {
            "X-RateLimit-Limit": str(self.rate_limit.limit),
            "X-RateLimit-Remaining": str(left),
            "X-RateLimit-Reset": str(math.ceil(time.time() + reset)),
        }

    def dispatch(self, request: SandboxRequest) -> SandboxResponse:
        try:
            return super().dispatch(request)
        except Unprocessable as exc:
            return self.error(422, str(exc))

    @route("POST", "/token")
    def token(self, req: SandboxRequest) -> SandboxResponse:
        def refuse(status: int, error: str, description: str) -> SandboxResponse:
            return json_response({"error": error, "error_description": description}, status)

        scheme, _, encoded = req.headers.get("Authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        if scheme.lower() != "basic" or (user, password) != (self.client_id, self.client_secret):
            return refuse(401, "invalid_client", "client authentication failed")
        form = req.form()
        if form.get("grant_type") != "client_credentials":
            return refuse(400, "unsupported_grant_type", "grant_type must be client_credentials")
        sub = form.get("sub", "")
        if not sub.isdigit() or int(sub) not in self.users:
            return refuse(400, "invalid_grant", "sub is not a user of this organization")
        token = secrets.token_urlsafe(24)
        self.tokens[token] = (int(sub), time.monotonic() + self.token_ttl)
        self.token_grants += 1
        expires = datetime.now(UTC) + timedelta(seconds=self.token_ttl)
        return json_response(
            {"access_token": token, "token_type": "Bearer", "expires_at": _stamp(expires)}
        )

    # -- list machinery ------------------------------------------------------------

    def _params(self, req: SandboxRequest, allowed: Iterable[str]) -> dict[str, str]:
        """The effective query of a list call: the first call's, or the cursor's."""
        query = {k: v[-1] for k, v in req.query.items()}
        if "cursor" in query:
            others = sorted(k for k in query if k != "cursor")
            if others:
                raise Unprocessable(
                    "Invalid query params: cursor must be the only query parameter "
                    f"(got {', '.join(others)})"
                )
            try:
                state = json.loads(base64.urlsafe_b64decode(query["cursor"] + "=" * 4))
                if state["path"] != req.path:
                    raise ValueError
                params = dict(state["params"])
                params["_after"] = str(int(state["after"]))
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise Unprocessable("Invalid cursor") from None
            return params
        allowed = set(allowed) | {"per_page", "ids", "fields", "created_at", "updated_at"}
        unknown = sorted(k for k in query if k.split("[")[0] not in allowed)
        if unknown:
            raise Unprocessable(f"Invalid query params: {', '.join(unknown)}")
        return query

    def _page(self, req: SandboxRequest, params: dict[str, str], rows: list[dict]) -> Any:
        per_page_raw = params.get("per_page", "100")
        if not per_page_raw.isdigit() or not 1 <= int(per_page_raw) <= MAX_PER_PAGE:
            raise Unprocessable(f"per_page must be an integer between 1 and {MAX_PER_PAGE}")
        per_page = int(per_page_raw)
        if "ids" in params:
            wanted = self._ids(params, "ids")
            rows = [r for r in rows if r["id"] in wanted]
        for name in ("created_at", "updated_at", "opened_at", "closed_at", "last_activity_at"):
            test = self._date_filter(params, name)
            if test is not None:
                rows = [r for r in rows if test(r.get(name))]
        rows = sorted(rows, key=lambda r: r["id"], reverse=True)
        if "_after" in params:
            after = int(params["_after"])
            rows = [r for r in rows if r["id"] < after]
        page, more = rows[:per_page], len(rows) > per_page
        headers = {}
        if more:
            carried = {k: v for k, v in params.items() if k != "_after"}
            state = {"path": req.path, "params": carried, "after": page[-1]["id"]}
            token = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
            headers["Link"] = f'<{self.url}{req.path}?cursor={token}>; rel="next"'
        fields = [f for f in params.get("fields", "").split(",") if f]
        body = [self._public(r, fields) for r in page]
        return json_response(body, headers=headers)

    def _public(self, row: dict, fields: list[str]) -> dict:
        out = {}
        for key, value in row.items():
            if key.startswith("_") or (fields and key not in fields and key != "id"):
                continue
            if value is None and self.sparse:
                continue
            out[key] = _stamp(value) if isinstance(value, datetime) else value
        return out

    def _created(self, row: dict) -> dict:
        return {"id": row["id"]} if self.sparse else self._public(row, [])

    @staticmethod
    def _ids(params: dict[str, str], name: str) -> set[int]:
        parts = [p.strip() for p in params[name].split(",") if p.strip()]
        if not parts or not all(p.isdigit() for p in parts):
            raise Unprocessable(f"{name} must be a comma separated list of integer ids")
        if len(parts) > MAX_IDS_PER_CALL:
            raise Unprocessable(f"{name} accepts at most {MAX_IDS_PER_CALL} ids")
        return {int(p) for p in parts}

    @staticmethod
    def _bool(params: dict[str, str], name: str) -> bool | None:
        if name not in params:
            return None
        try:
            return BOOL_WORDS[params[name].lower()]
        except KeyError:
            raise Unprocessable(f"{name} must be true or false") from None

    @staticmethod
    def _date_filter(params: dict[str, str], name: str) -> Callable[[Any], bool] | None:
        conditions: list[tuple[str, datetime]] = []
        raw = params.get(name)
        pieces = raw.split("|") if raw is not None else []
        if raw is not None and (len(pieces) % 2 or not pieces):
            raise Unprocessable(f"{name} must look like gte|2024-01-01T00:00:00.000Z")
        pairs = [(pieces[i], pieces[i + 1]) for i in range(0, len(pieces), 2)]
        pairs += [(k[len(name) + 1 : -1], v) for k, v in params.items() if k.startswith(name + "[")]
        for op, value in pairs:
            if op not in DATE_OPERATORS:
                raise Unprocessable(f"{name}: unknown operator {op!r}")
            try:
                conditions.append((op, parse_datetime(value)))
            except ValueError:
                raise Unprocessable(f"{name}: {value!r} is not an ISO 8601 timestamp") from None
        if not conditions:
            return None

        def test(value: Any) -> bool:
            if not isinstance(value, datetime):
                return False
            for op, when in conditions:
                if (
                    (op == "gt" and not value > when)
                    or (op == "gte" and not value >= when)
                    or (op == "lt" and not value < when)
                    or (op == "lte" and not value <= when)
                ):
                    return False
            return True

        return test

    # -- read endpoints ------------------------------------------------------------

    @route("GET", "/v3/jobs")
    def list_jobs(self, req: SandboxRequest) -> SandboxResponse:
        allowed = ("status", "opened_at", "closed_at", "requisition_id", "department_id")
        params = self._params(req, (*allowed, "office_id"))
        rows = list(self.jobs_.values())
        if "status" in params:
            if params["status"] not in ("open", "closed", "draft"):
                raise Unprocessable("status must be one of open, closed, draft")
            rows = [r for r in rows if r["status"] == params["status"]]
        if "requisition_id" in params:
            rows = [r for r in rows if r["requisition_id"] == params["requisition_id"]]
        for name, key in (("department_id", "department_id"), ("office_id", "office_ids")):
            if name in params:
                if not params[name].isdigit():
                    raise Unprocessable(f"{name} must be an integer")
                value = int(params[name])
                rows = [r for r in rows if value in (r[key] if key == "office_ids" else [r[key]])]
        return self._page(req, params, rows)

    @route("GET", "/v3/offices")
    def list_offices(self, req: SandboxRequest) -> SandboxResponse:
        if not self.unlisted_reads:
            return self.error(404, "Resource not found")
        params = self._params(req, ())
        return self._page(req, params, list(self.offices.values()))

    @route("GET", "/v3/job_posts")
    def list_job_posts(self, req: SandboxRequest) -> SandboxResponse:
        params = self._params(req, ("job_ids", "active", "live", "internal"))
        rows = list(self.job_posts.values())
        if "job_ids" in params:
            wanted = self._ids(params, "job_ids")
            rows = [r for r in rows if r["job_id"] in wanted]
        for flag in ("active", "live", "internal"):
            value = self._bool(params, flag)
            if value is not None:
                rows = [r for r in rows if r[flag] is value]
        return self._page(req, params, rows)

    @route("GET", "/v3/job_interview_stages")
    def list_stages(self, req: SandboxRequest) -> SandboxResponse:
        params = self._params(req, ("job_ids",))
        rows = list(self.stages.values())
        if "job_ids" in params:
            wanted = self._ids(params, "job_ids")
            rows = [r for r in rows if r["job_id"] in wanted]
        return self._page(req, params, rows)

    @route("GET", "/v3/applications")
    def list_applications(self, req: SandboxRequest) -> SandboxResponse:
        allowed = ("job_ids", "candidate_ids", "status", "stage_ids", "prospect")
        params = self._params(req, (*allowed, "last_activity_at"))
        if "cursor" not in req.query and "updated_at" in {k.split("[")[0] for k in req.query}:
            # The notes give applications last_activity_at as their date filter, not updated_at.
            raise Unprocessable("Invalid query params: updated_at")
        rows = self._indexed(params, "job_ids", self._job_apps)
        if rows is None:
            rows = self._indexed(params, "candidate_ids", self._candidate_apps)
        if rows is None:
            rows = list(self.applications.values())
        for name, key in (
            ("job_ids", "job_id"),
            ("candidate_ids", "candidate_id"),
            ("stage_ids", "job_interview_stage_id"),
        ):
            if name in params:
                wanted = self._ids(params, name)
                rows = [r for r in rows if r[key] in wanted]
        if "status" in params:
            status = params["status"]
            if status not in ("active", "rejected", "hired", "converted"):
                raise Unprocessable("status must be one of active, rejected, hired, converted")
            row_status = "in_process" if status == "active" else status
            rows = [r for r in rows if r["status"] == row_status]
        prospect = self._bool(params, "prospect")
        if prospect is not None:
            rows = [r for r in rows if r["prospect"] is prospect]
        if not self.stage_names_on_rows:
            rows = [{**r, "stage_name": None} for r in rows]
        return self._page(req, params, rows)

    @route("GET", "/v3/candidates")
    def list_candidates(self, req: SandboxRequest) -> SandboxResponse:
        params = self._params(req, ("email", "tag"))
        rows = self._indexed(
            params, "ids", lambda c: [self.candidates[c]] if c in self.candidates else []
        )
        if rows is None:
            rows = list(self.candidates.values())
        if "email" in params:
            email = params["email"].strip().lower()
            rows = [
                r for r in rows if any(e["value"].lower() == email for e in r["email_addresses"])
            ]
        if "tag" in params:
            rows = [r for r in rows if params["tag"] in r["tags"]]
        return self._page(req, params, rows)

    @route("GET", "/v3/attachments")
    def list_attachments(self, req: SandboxRequest) -> SandboxResponse:
        params = self._params(req, ("application_ids", "candidate_ids"))
        rows = list(self.attachments.values())
        for name, key in (("application_ids", "application_id"), ("candidate_ids", "_candidate")):
            if name in params:
                wanted = self._ids(params, name)
                rows = [r for r in rows if r[key] in wanted]
        return self._page(req, params, rows)

    @route("GET", "/v3/custom_field_options")
    def list_options(self, req: SandboxRequest) -> SandboxResponse:
        params = self._params(req, ("custom_field_key",))
        key = params.get("custom_field_key")
        if key is None and "_after" not in params:
            raise Unprocessable("custom_field_key is required")
        return self._page(req, params, list(self.field_options.get(key or "", {}).values()))

    @route("GET", "/v3/candidate_educations")
    def list_educations(self, req: SandboxRequest) -> SandboxResponse:
        return self._candidate_rows(req, self.educations)

    @route("GET", "/v3/candidate_employments")
    def list_employments(self, req: SandboxRequest) -> SandboxResponse:
        return self._candidate_rows(req, self.employments)

    def _candidate_rows(self, req: SandboxRequest, store: dict[int, dict]) -> SandboxResponse:
        if not self.unlisted_reads:  # the path exists, for POST only
            return self.error(405, f"method {req.method} not allowed")
        params = self._params(req, ("candidate_ids",))
        rows = list(store.values())
        if "candidate_ids" in params:
            wanted = self._ids(params, "candidate_ids")
            rows = [r for r in rows if r["candidate_id"] in wanted]
        return self._page(req, params, rows)

    # -- write endpoints ------------------------------------------------------------

    @staticmethod
    def _body(req: SandboxRequest, allowed: Iterable[str], required: Iterable[str]) -> dict:
        body = req.json()
        if not isinstance(body, dict):
            raise Unprocessable("request body must be a JSON object")
        unknown = sorted(set(body) - set(allowed))
        if unknown:
            raise Unprocessable(f"Invalid attributes: {', '.join(unknown)}")
        missing = [k for k in required if body.get(k) in (None, "")]
        if missing:
            raise Unprocessable(f"Missing required fields: {', '.join(missing)}")
        return body

    @staticmethod
    def _int(body: dict, key: str) -> int | None:
        value = body.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise Unprocessable(f"{key} must be an integer")
        return value

    @staticmethod
    def _values(body: dict, key: str, with_type: bool) -> list[dict]:
        items = body.get(key) or []
        if not isinstance(items, list):
            raise Unprocessable(f"{key} must be an array")
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("value"), str):
                raise Unprocessable(f"{key}[{i}].value must be a string")
            entry = {"value": item["value"]}
            if with_type:
                entry["type"] = str(item.get("type") or "other")
            out.append(entry)
        return out

    def _job(self, job_id: int | None) -> dict:
        if job_id is None or job_id not in self.jobs_:
            raise Unprocessable(f"job_id {job_id} does not match a job")
        return self.jobs_[job_id]

    def _check_no_application(self, cid: int, job_id: int) -> None:
        for app in self._candidate_apps(cid):
            if app["job_id"] == job_id:
                raise Unprocessable("Candidate has already applied to this job")

    @route("POST", "/v3/candidates")
    def create_candidate(self, req: SandboxRequest) -> SandboxResponse:
        allowed = (
            "first_name",
            "last_name",
            "company",
            "title",
            "email_addresses",
            "phone_numbers",
            "social_media_addresses",
            "tags",
            "application",
        )
        body = self._body(req, allowed, ("first_name", "last_name"))
        application = body.get("application")
        if application is not None:
            if not isinstance(application, dict):
                raise Unprocessable("application must be an object")
            unknown = sorted(set(application) - {"job_id", "source_id", "initial_stage_id"})
            if unknown:
                raise Unprocessable(f"Invalid attributes: application.{', '.join(unknown)}")
            self._job(self._int(application, "job_id"))
        for key in ("first_name", "last_name", "company", "title"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise Unprocessable(f"{key} must be a string")
        now = self._now()
        cid = self._id()
        candidate = {
            "id": cid,
            "first_name": body["first_name"],
            "last_name": body["last_name"],
            "company": body.get("company"),
            "title": body.get("title"),
            "email_addresses": self._values(body, "email_addresses", True),
            "phone_numbers": self._values(body, "phone_numbers", True),
            "social_media_addresses": self._values(body, "social_media_addresses", False),
            "tags": list(body.get("tags") or []),
            "created_at": now,
            "updated_at": now,
        }
        self.candidates[cid] = candidate
        result: dict[str, Any] = {"candidate": self._created(candidate)}
        if application is not None:
            app = self._apply(cid, application, now)
            result["application"] = self._created(app)
        return json_response(result, 201)

    def _apply(self, cid: int, body: dict, now: datetime) -> dict:
        job_id = self._int(body, "job_id")
        self._job(job_id)
        assert job_id is not None
        self._check_no_application(cid, job_id)
        stage_id = self._int(body, "initial_stage_id")
        first = self._stage_id(job_id, STAGES[0])
        stage = self.stages.get(stage_id or first or -1)
        if stage is None or stage["job_id"] != job_id:
            raise Unprocessable("initial_stage_id does not belong to the job")
        return self._new_application(
            cid,
            job_id,
            now,
            source_id=self._int(body, "source_id"),
            stage_name=stage["name"],
            job_interview_stage_id=stage["id"],
            stage_id=stage["id"] + 50_000_000,
        )

    @route("POST", "/v3/applications")
    def create_application(self, req: SandboxRequest) -> SandboxResponse:
        allowed = ("candidate_id", "job_id", "source_id", "initial_stage_id")
        body = self._body(req, allowed, ("candidate_id", "job_id"))
        cid = self._int(body, "candidate_id")
        if cid not in self.candidates:
            raise Unprocessable(f"candidate_id {cid} does not match a candidate")
        app = self._apply(cid, body, self._now())
        return json_response(self._created(app), 201)

    def _candidate(self, body: dict) -> int:
        cid = self._int(body, "candidate_id")
        if cid is None or cid not in self.candidates:
            raise Unprocessable(f"candidate_id {cid} does not match a candidate")
        return cid

    @staticmethod
    def _date(body: dict, key: str) -> str | None:
        value = body.get(key)
        if value is None:
            return None
        try:
            if not isinstance(value, str):
                raise ValueError
            parse_datetime(value)
        except ValueError:
            raise Unprocessable(f"{key} must be an ISO 8601 date") from None
        return value

    @route("POST", "/v3/candidate_educations")
    def create_education(self, req: SandboxRequest) -> SandboxResponse:
        allowed = (
            "candidate_id",
            "school_name_custom_field_option_id",
            "degree_custom_field_option_id",
            "discipline_custom_field_option_id",
            "start_date",
            "end_date",
        )
        body = self._body(req, allowed, ("candidate_id", "school_name_custom_field_option_id"))
        cid = self._candidate(body)
        row: dict[str, Any] = {"id": self._id(), "candidate_id": cid}
        for key, field in (
            ("school_name", "school_name_custom_field_option_id"),
            ("degree", "degree_custom_field_option_id"),
            ("discipline", "discipline_custom_field_option_id"),
        ):
            oid = self._int(body, field)
            if oid is not None and oid not in self.field_options[key]:
                raise Unprocessable(f"{field} {oid} is not a {key} option")
            row[field] = oid
        row["start_date"] = self._date(body, "start_date")
        row["end_date"] = self._date(body, "end_date")
        self.educations[row["id"]] = row
        self.candidates[cid]["updated_at"] = self._now()
        return json_response(row, 201)

    @route("POST", "/v3/candidate_employments")
    def create_employment(self, req: SandboxRequest) -> SandboxResponse:
        allowed = ("candidate_id", "company_name", "title", "start_date", "end_date")
        body = self._body(req, allowed, ("candidate_id", "company_name", "title", "start_date"))
        cid = self._candidate(body)
        for key in ("company_name", "title"):
            if not isinstance(body[key], str):
                raise Unprocessable(f"{key} must be a string")
        row = {
            "id": self._id(),
            "candidate_id": cid,
            "company_name": body["company_name"],
            "title": body["title"],
            "start_date": self._date(body, "start_date"),
            "end_date": self._date(body, "end_date"),
        }
        self.employments[row["id"]] = row
        self.candidates[cid]["updated_at"] = self._now()
        return json_response(row, 201)

    @route("POST", "/v3/attachments")
    def create_attachment(self, req: SandboxRequest) -> SandboxResponse:
        allowed = ("application_id", "filename", "type", "content", "url", "visibility")
        body = self._body(req, allowed, ("application_id", "filename", "type"))
        aid = self._int(body, "application_id")
        if aid not in self.applications:
            raise Unprocessable(f"application_id {aid} does not match an application")
        if body["type"] not in ATTACHMENT_TYPES:
            raise Unprocessable(f"type must be one of {', '.join(sorted(ATTACHMENT_TYPES))}")
        if ("content" in body) == ("url" in body):
            raise Unprocessable("exactly one of content or url is required")
        if body.get("visibility") not in (None, "public", "admin_only", "private"):
            raise Unprocessable("visibility must be public, admin_only or private")
        data = b""
        if "content" in body:
            if not isinstance(body["content"], str):
                raise Unprocessable("content must be a base64 string")
            try:
                data = base64.b64decode(body["content"], validate=True)
            except binascii.Error:
                raise Unprocessable("content is not valid base64") from None
        app = self.applications[aid]
        if body["type"] == "resume":  # a newer resume demotes the older ones
            for other in self.attachments.values():
                if other["application_id"] == aid and other["type"] == "resume":
                    other["type"] = "other"
        now = self._now()
        row = {
            "id": self._id(),
            "application_id": aid,
            "filename": body["filename"],
            "type": body["type"],
            "visibility": body.get("visibility") or "public",
            "url": f"{self.url}/files/{secrets.token_hex(6)}/{body['filename']}",
            "created_at": now,
            "_candidate": app["candidate_id"],
            "_bytes": data,
        }
        self.attachments[row["id"]] = row
        return json_response(self._created(row), 201)

    # -- control API ------------------------------------------------------------------------------

    def connection_config(self, *, valid: bool = True) -> dict:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret if valid else "not-the-secret",
            "user_id": ADMIN_USER_ID,
            "base_url": f"{self.url}/v3",  # as the vendor documents the base
            "token_url": f"{self.url}/token",
        }

    def expire_tokens(self) -> None:
        """Make every issued token expired now, as an hour passing would."""
        with self.lock:
            self.tokens = {t: (sub, 0.0) for t, (sub, _) in self.tokens.items()}

    def jobs(self) -> list[JobFacts]:
        with self.lock:
            out = []
            for job in self.jobs_.values():
                city, country = self._places.get(job["office_ids"][0], (None, None))
                out.append(
                    JobFacts(
                        ats_id=str(job["id"]),
                        title=job["name"],
                        reference=job["requisition_id"],
                        city=city,
                        country_code=country,
                        status=JobStatus(job["status"]),
                        updated_at=job["updated_at"],
                    )
                )
            return out

    def _job_row(self, job_id: str) -> dict:
        try:
            return self.jobs_[int(job_id)]
        except (KeyError, ValueError):
            raise KeyError(f"no greenhouse sandbox job {job_id!r}") from None

    def pipeline(self, job_id: str) -> list[str]:
        with self.lock:
            jid = self._job_row(job_id)["id"]
            return sorted({str(a["candidate_id"]) for a in self._job_apps(jid)})

    def set_job_status(self, job_id: str, status: JobStatus) -> None:
        if status is JobStatus.ON_HOLD:
            raise ValueError("Greenhouse jobs have no on-hold status (open, closed or draft)")
        with self.lock:
            job = self._job_row(job_id)
            now = self._now()
            job["status"] = status.value
            job["closed_at"] = now if status is JobStatus.CLOSED else None
            if status is JobStatus.OPEN and job["opened_at"] is None:
                job["opened_at"] = now
            job["updated_at"] = now
            for post in self.job_posts.values():
                if post["job_id"] == job["id"]:
                    post["live"] = status is JobStatus.OPEN
            self.webhooks.emit(hooks.job_event(job, "job_updated", now))

    def rename_job(self, job_id: str, title: str) -> None:
        with self.lock:
            job = self._job_row(job_id)
            job["name"] = title
            job["updated_at"] = self._now()

    def edit_job_post(self, job_id: str, content: str, *, touch_job: bool = True) -> None:
        """Rewrite the job's posts (its description), as a recruiter editing the post would.

        UNCONFIRMED whether Greenhouse moves the *job's* ``updated_at`` on a post edit;
        ``touch_job=False`` plays the case where it does not.
        """
        with self.lock:
            job = self._job_row(job_id)
            now = self._now()
            for post in self.job_posts.values():
                if post["job_id"] == job["id"]:
                    post["content"] = content
                    post["updated_at"] = now
            if touch_job:
                job["updated_at"] = now

    def set_job_office(
        self, job_id: str, city: str, region: str, country: str, country_code: str
    ) -> None:
        """Move the job to the office of ``city`` (created if new): an edit of the job."""
        with self.lock:
            job = self._job_row(job_id)
            office_id = next((o["id"] for o in self.offices.values() if o["name"] == city), None)
            if office_id is None:
                office_id = self._id()
                self.offices[office_id] = {
                    "id": office_id,
                    "name": city,
                    "location": {"name": f"{city}, {region}, {country}"},
                    "parent_id": None,
                    "child_ids": [],
                    "external_id": None,
                }
                self._places[office_id] = (city, country_code)
            job["office_ids"] = [office_id]
            job["updated_at"] = self._now()

    def add_candidate(self, job_id: str, person: SeedPerson) -> str:
        with self.lock:
            jid = self._job_row(job_id)["id"]
            now = self._now()
            cid = self._add_person(jid, person, now)
            app = self._candidate_apps(cid)[0]
            self.webhooks.emit(hooks.application_event(self, app, "new_candidate_application", now))
            return str(cid)

    def _application_of(self, job_id: str, candidate_id: str) -> dict:
        jid = self._job_row(job_id)["id"]
        for app in self._job_apps(jid):
            if str(app["candidate_id"]) == str(candidate_id):
                return app
        raise KeyError(f"candidate {candidate_id} has no application on job {job_id}")

    def remove_candidate(self, job_id: str, candidate_id: str) -> None:
        with self.lock:
            self._drop_application(self._application_of(job_id, candidate_id)["id"])

    def move_candidate(self, job_id: str, candidate_id: str, status: CandidateStatus) -> None:
        with self.lock:
            app = self._application_of(job_id, candidate_id)
            was_rejected = app["status"] == "rejected"
            now = self._now()
            self._shape_application(app, status.value, now)
            action = hooks.APPLICATION_STATUS_ACTIONS.get(app["status"])
            if action is None:
                action = "unreject_candidate" if was_rejected else "candidate_stage_change"
            self.webhooks.emit(hooks.application_event(self, app, action, now))

    def delete_person(self, candidate_id: str) -> None:
        """Delete a candidate and their applications (Greenhouse: ``delete_candidate``)."""
        with self.lock:
            cid = int(candidate_id)
            person = self.candidates.pop(cid)
            apps = [a["id"] for a in self._candidate_apps(cid)]
            for aid in apps:
                self._drop_application(aid)
            self.webhooks.emit(hooks.deleted_event(person, apps, self._now()))

    def merge_people(self, candidate_id: str, into: str) -> None:
        """Merge ``candidate_id`` into ``into``: the applications move to the survivor and
        the merged record disappears (Greenhouse: ``merge_candidate``)."""
        with self.lock:
            cid, survivor = int(candidate_id), int(into)
            if survivor not in self.candidates:
                raise KeyError(f"no greenhouse sandbox candidate {into!r}")
            person = self.candidates.pop(cid)
            now = self._now()
            for app in self._candidate_apps(cid):
                del self._apps_by_candidate[cid][app["id"]]
                app["candidate_id"] = survivor
                app["updated_at"] = app["last_activity_at"] = now
                self._apps_by_candidate.setdefault(survivor, {})[app["id"]] = None
            self.candidates[survivor]["updated_at"] = now
            self.webhooks.emit(hooks.merged_event(person, survivor, now))

    def register_webhook(
        self, url: str, secret: str, events: set[str] | frozenset[str] | None = None
    ) -> Target:
        """Add a webhook as an admin does in Dev Center > Webhooks: Greenhouse pings the
        URL on save, and a webhook whose ping failed stays disabled (``active`` False)."""
        target = self.webhooks.register(url, secret, events=events)
        target.active = hooks.ping(self, target)
        return target

    def people(self, email: str | None = None) -> list[PersonFacts]:
        with self.lock:
            out = []
            for cid, cand in sorted(self.candidates.items()):
                emails = tuple(e["value"] for e in cand["email_addresses"])
                if email is not None and email.lower() not in (e.lower() for e in emails):
                    continue
                apps = self._candidate_apps(cid)
                resumes = sorted(
                    (
                        a
                        for a in self.attachments.values()
                        if a["_candidate"] == cid and a["type"] == "resume"
                    ),
                    key=lambda a: a["id"],
                )
                linkedin = next(
                    (
                        s["value"]
                        for s in cand["social_media_addresses"]
                        if "linkedin.com" in s["value"]
                    ),
                    None,
                )
                out.append(
                    PersonFacts(
                        ats_id=str(cid),
                        first_name=cand["first_name"],
                        last_name=cand["last_name"],
                        emails=emails,
                        job_ids=tuple(sorted(str(a["job_id"]) for a in apps)),
                        linkedin_url=linkedin,
                        phones=tuple(p["value"] for p in cand["phone_numbers"]),
                        educations=sum(
                            1 for e in self.educations.values() if e["candidate_id"] == cid
                        ),
                        experiences=sum(
                            1 for e in self.employments.values() if e["candidate_id"] == cid
                        ),
                        resume=resumes[-1]["_bytes"] if resumes else None,
                    )
                )
            return out
