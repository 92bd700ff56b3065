"""A faithful fake of the Lever API v1 on loopback, for tests, the demo and plugin authors.

It serves what ATS-API-NOTES §2 says Lever serves, and is strict where Lever's contract is
strict: ``limit`` 1..100, offset tokens only as issued, the pipeline split between
``posting_id`` (live) and ``archived_posting_id`` (archived), ``perform_as`` on writes,
the per-key token bucket (10/s, burst 20) and the 2/s cap on creating opportunities. It is
stricter than Lever is known to be in one way: unknown query parameters and body fields are
refused with 400, so a typo in the plugin shows up here rather than being ignored silently.
The OAuth2 token endpoint lives on the same server at ``/oauth/token`` and rotates refresh
tokens on every use, as Lever does. It also serves reads the notes do not list (a single
posting, opportunity or user; the notes and files lists); ``unlisted_reads=False`` plays an
API built from the notes alone, where they answer 404/405.

Confidential postings (``confidential_every``: every 5th seeded one by default) and their
opportunities are listed only when asked for with ``confidentiality=confidential`` or
``all`` (the default is ``non-confidential``), and only to a key allowed to see
confidential data (``confidential_access``); a key without it is refused with 403 when it
asks for them, and its single reads of confidential records answer 404 [UNCONFIRMED: how
Lever refuses].
"""

from __future__ import annotations

import base64
import bisect
import random
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

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
from atsbridge_sdk.sandbox.webhooks import Target, WebhookDeliverer

from atsbridge_lever import sandbox_webhooks as hooks

API = "/v1"
MAX_LIMIT = 100
MAX_FILE_BYTES = 30 * 1024 * 1024
ERROR_CODES = {  # [UNCONFIRMED] Lever's error ``code`` names
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "ResourceNotFoundError",
    405: "MethodNotAllowedError",
    429: "TooManyRequestsError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}

# Lever's default stages keep fixed ids; an account's custom stages get uuids.
RECRUITER_SCREEN = "9f1b6c3e-2d4a-4e8b-a1c7-3f5d2e6b8a01"
PHONE_INTERVIEW = "3c7e9a1d-5b2f-4c6e-8d0a-7e1f4b9c2d02"
ONSITE_INTERVIEW = "6a2d8f4b-1e3c-4a5d-9b7e-0c8f2a4d6e03"
STAGES = [
    ("lead-new", "New lead"),
    ("lead-reached-out", "Reached out"),
    ("lead-responded", "Responded"),
    ("applicant-new", "New applicant"),
    (RECRUITER_SCREEN, "Recruiter screen"),
    (PHONE_INTERVIEW, "Phone interview"),
    (ONSITE_INTERVIEW, "On-site interview"),
    ("offer", "Offer"),
]
REASON_HIRED = "b1e2c3d4-0000-4000-8000-0000000000a1"
REASON_NOT_A_FIT = "b1e2c3d4-0000-4000-8000-0000000000a2"
REASON_UNDERQUALIFIED = "b1e2c3d4-0000-4000-8000-0000000000a3"
REASON_WITHDREW = "b1e2c3d4-0000-4000-8000-0000000000a4"
ARCHIVE_REASONS = [
    (REASON_HIRED, "Hired", "hired"),
    (REASON_NOT_A_FIT, "Not a fit", "non-hired"),
    (REASON_UNDERQUALIFIED, "Underqualified", "non-hired"),
    (REASON_WITHDREW, "Withdrew", "non-hired"),
]
ORIGINS = {"agency", "applied", "internal", "referred", "sourced", "university"}
PHONE_TYPES = {"mobile", "home", "work", "skype", "other"}

# The sandbox's own reading of posting states (kept apart from the plugin's mapping on
# purpose: the fidelity tests compare the two).
STATE_STATUS = {
    "published": JobStatus.OPEN,
    "internal": JobStatus.OPEN,
    "closed": JobStatus.CLOSED,
    "draft": JobStatus.DRAFT,
    "pending": JobStatus.DRAFT,
    "rejected": JobStatus.DRAFT,
}
STATUS_STATE = {
    JobStatus.OPEN: "published",
    JobStatus.CLOSED: "closed",
    JobStatus.DRAFT: "draft",
    JobStatus.ON_HOLD: "pending",  # Lever has no on-hold; awaiting approval is closest
}
SEED_STATE = {"open": "published", "closed": "closed", "draft": "draft", "on_hold": "pending"}

POSTING_PARAMS = {
    "limit",
    "offset",
    "state",
    "team",
    "department",
    "location",
    "commitment",
    "level",
    "tag",
    "group",
    "confidentiality",
    "distribution_channel",
    "updated_at_start",
    "updated_at_end",
    "include",
    "expand",
}
OPPORTUNITY_PARAMS = {
    "limit",
    "offset",
    "include",
    "expand",
    "tag",
    "email",
    "origin",
    "source",
    "confidentiality",
    "stage_id",
    "posting_id",
    "archived_posting_id",
    "created_at_start",
    "created_at_end",
    "updated_at_start",
    "updated_at_end",
    "advanced_at_start",
    "advanced_at_end",
    "archived_at_start",
    "archived_at_end",
    "archived",
    "archive_reason_id",
    "snoozed",
    "contact_id",
}
CONFIDENTIALITY = {"confidential", "non-confidential", "all"}
OPPORTUNITY_EXPANDS = {"applications", "stage", "owner", "followers", "sourcedBy", "contact"}
CREATE_FIELDS = {
    "name",
    "headline",
    "stage",
    "location",
    "phones",
    "emails",
    "links",
    "tags",
    "sources",
    "origin",
    "owner",
    "followers",
    "postings",
    "createdAt",
    "archived",
    "contact",
}


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _sort_key(item: dict) -> tuple[int, str]:
    return (-int(item.get("updatedAt") or 0), str(item["id"]))


class LeverSandbox(Sandbox):
    """The fake Lever. Ids are Lever's: posting ids for jobs, contact ids for people."""

    name = "lever"
    rate_limit = TokenBucketLimit(rate=10.0, burst=20)
    webhooks: WebhookDeliverer
    application_post_limit = TokenBucketLimit(rate=2.0, burst=2)

    def __init__(
        self,
        options: SandboxOptions = SandboxOptions(),
        *,
        send_retry_after=True,
        unlisted_reads=True,
        confidential_every: int = 5,
        confidential_access: bool = True,
    ):
        super().__init__(options)
        # Every n-th seeded posting (0: none) is confidential, as on accounts that hire for
        # unannounced roles. On by default (every 5th), so every test and benchmark against
        # the default world proves confidential records are synced, not only those that
        # ask; ``confidential_access`` is the key's permission to see them.
        self.confidential_every = confidential_every
        self.confidential_access = confidential_access
        # Lever does not promise Retry-After on 429; tests turn it off to prove the client
        # copes without it.
        self.send_retry_after = send_retry_after
        # False plays an API built from the notes alone: the single-record reads they do not
        # list (a posting, an opportunity, a user) are not there, and the notes and files
        # paths take POST only.
        self.unlisted_reads = unlisted_reads
        self._ids = random.Random(options.seed * 7919 + 17)
        self.api_key = f"lvr-sandbox-{options.seed:04d}-{self._hex(12)}"
        self.client_id = f"lvr-client-{self._hex(8)}"
        self.client_secret = f"lvr-secret-{self._hex(16)}"
        self.refresh_token = f"lvr-refresh-{self._hex(16)}"
        self.refresh_tokens_issued = 0
        self._access_tokens: set[str] = set()
        self.user_id = self._uuid()
        self.users = {self.user_id: {"id": self.user_id, "name": "Integration User"}}
        self.postings: dict[str, dict] = {}
        self.contacts: dict[str, dict] = {}
        self.opportunities: dict[str, dict] = {}
        self.opportunity_posting: dict[str, str] = {}  # opportunity id -> posting id
        self.applications: dict[str, list[dict]] = {}  # opportunity id -> its applications
        # posting id -> its opportunity ids, kept with opportunity_posting, so a listing by
        # posting reads that posting's opportunities instead of all of them (200,000 in a
        # 2,000-job world). Listings are sorted by (updatedAt, id), so the order this yields
        # them in changes nothing in what is served.
        self._posting_opps: dict[str, dict[str, None]] = {}
        self.notes: dict[str, list[dict]] = {}
        self.files: dict[str, list[dict]] = {}
        self.file_content: dict[str, bytes] = {}  # file id -> bytes
        self._offsets: dict[str, tuple[str, tuple[int, str]]] = {}
        self._app_bucket: dict[str, tuple[float, float]] = {}
        self._last_ms = 0
        self._seed(options)
        # Outbound webhooks (sandbox_webhooks): control-API changes are pushed to the
        # webhooks added with register_webhook, as Lever would.
        self.webhooks = hooks.deliverer()

    # -- ids and time -----------------------------------------------------------------------

    def _hex(self, n: int) -> str:
        return "".join(self._ids.choice("0123456789abcdef") for _ in range(n))

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def _now_ms(self) -> int:
        # A second past anything already stored, whatever the wall clock says, so an edit
        # always stands clear of the seeded data for updated_since checks.
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1000)
        return self._last_ms

    # -- seeding -------------------------------------------------------------------------

    def _seed(self, options: SandboxOptions) -> None:
        world = make_world(options.seed, options.jobs, options.candidates_per_job)
        for job in world.jobs:
            state = SEED_STATE[job.status]
            if state == "published" and job.key % 4 == 0:
                state = "internal"
            pid = self._uuid()
            every = self.confidential_every
            confidential = bool(every) and job.key % every == every - 1
            categories: dict[str, Any] = {
                "team": job.department,
                "department": job.department,
                "location": job.place.city,
                "commitment": "Full-time" if job.key % 5 else "Part-time",
            }
            if job.key % 3 == 0:
                categories["allLocations"] = [job.place.city, "Remote"]
            self.postings[pid] = {
                "id": pid,
                "text": job.title,
                "state": state,
                "distributionChannels": ["public"] if state == "published" else [],
                "confidentiality": "confidential" if confidential else "non-confidential",
                "user": self.user_id,
                "owner": self.user_id,
                "hiringManager": None,
                "categories": categories,
                "tags": [],
                "country": job.place.country_code,
                "workplaceType": ("onsite", "hybrid", "remote")[job.key % 3],
                "reqCode": job.reference,
                "requisitionCodes": [job.reference],
                "content": {
                    "description": job.description,
                    "descriptionHtml": job.description,
                    "lists": [],
                    "closing": "",
                    "closingHtml": "",
                },
                "urls": {
                    "list": "https://jobs.lever.co/sandbox",
                    "show": f"https://jobs.lever.co/sandbox/{pid}",
                    "apply": f"https://jobs.lever.co/sandbox/{pid}/apply",
                },
                "createdAt": _ms(job.created_at),
                "updatedAt": _ms(job.updated_at),
            }
            self._last_ms = max(self._last_ms, _ms(job.updated_at))
            for person in world.pipelines[job.key]:
                self._add_person(pid, person)

    def _stage_and_archive(self, person_key: int, status: str) -> tuple[str, dict | None]:
        """Where a seed status puts an opportunity: (stage id, archived or None)."""
        if status == "new":
            return ("lead-new" if person_key % 3 == 0 else "applicant-new"), None
        if status == "in_review":
            return RECRUITER_SCREEN, None
        if status == "interviewing":
            return (PHONE_INTERVIEW if person_key % 2 else ONSITE_INTERVIEW), None
        if status == "offered":
            return "offer", None
        reason = {
            "hired": REASON_HIRED,
            "withdrawn": REASON_WITHDREW,
            "rejected": REASON_NOT_A_FIT if person_key % 2 else REASON_UNDERQUALIFIED,
        }[status]
        stage = "offer" if status == "hired" else "applicant-new"
        return stage, {"reason": reason, "archivedAt": None}

    def _add_person(self, posting_id: str, person: SeedPerson, when: int | None = None) -> str:
        contact_id = self._uuid()
        location = f"{person.place.city}, {person.place.country}"
        self.contacts[contact_id] = {
            "id": contact_id,
            "name": f"{person.first_name} {person.last_name}",
            "headline": f"{person.title} at {person.company}",
            "emails": [person.email],
            "phones": [{"type": "mobile", "value": person.phone}],
            "links": [person.linkedin_url],
            "location": location,
        }
        stage, archived = self._stage_and_archive(person.key, person.status)
        updated = when if when is not None else _ms(person.updated_at)
        if archived is not None:
            archived["archivedAt"] = updated
        self._last_ms = max(self._last_ms, updated)
        self._new_opportunity(
            contact_id,
            posting_id,
            stage=stage,
            archived=archived,
            origin="sourced" if stage.startswith("lead-") else "applied",
            when=updated,
            created=_ms(person.created_at) if when is None else when,
        )
        return contact_id

    def _new_opportunity(
        self,
        contact_id: str,
        posting_id: str | None,
        *,
        stage: str,
        archived: dict | None,
        origin: str,
        when: int,
        created: int | None = None,
        tags: Iterable[str] = (),
        sources: Iterable[str] = (),
    ) -> dict:
        contact = self.contacts[contact_id]
        oid = self._uuid()
        opp = {
            "id": oid,
            "name": contact["name"],
            "headline": contact.get("headline") or "",
            "contact": contact_id,
            "emails": list(contact["emails"]),
            "phones": [dict(p) for p in contact["phones"]],
            "links": list(contact["links"]),
            "location": contact.get("location") or "",
            "stage": stage,
            "stageChanges": [
                {
                    "toStageId": stage,
                    "toStageIndex": self._stage_index(stage),
                    "updatedAt": when,
                    "userId": self.user_id,
                }
            ],
            "confidentiality": self._confidentiality_of(posting_id),
            "archived": archived,
            "tags": list(tags),
            "sources": list(sources),
            "origin": origin,
            "owner": self.user_id,
            "followers": [self.user_id],
            "applications": [self._uuid()] if posting_id else [],
            "isAnonymized": False,
            "createdAt": created if created is not None else when,
            "updatedAt": when,
            "lastInteractionAt": when,
            "lastAdvancedAt": when,
            "snoozedUntil": None,
        }
        self.opportunities[oid] = opp
        self.applications[oid] = [
            {
                "id": app_id,
                "opportunityId": oid,
                "candidateId": contact_id,
                "posting": posting_id,
                "type": "posting",
                "createdAt": opp["createdAt"],
                "user": None,
                "postingOwner": self.user_id,
                "postingHiringManager": None,
            }
            for app_id in opp["applications"]
        ]
        if posting_id:
            self.opportunity_posting[oid] = posting_id
            self._posting_opps.setdefault(posting_id, {})[oid] = None
        self.notes[oid] = []
        self.files[oid] = []
        return opp

    def _confidentiality_of(self, posting_id: str | None) -> str:
        posting = self.postings.get(posting_id) if posting_id else None
        return posting["confidentiality"] if posting else "non-confidential"

    @staticmethod
    def _stage_index(stage_id: str) -> int:
        return next((i for i, (sid, _) in enumerate(STAGES) if sid == stage_id), 0)

    # -- HTTP plumbing ---------------------------------------------------------------------

    def error(self, status: int, message: str) -> SandboxResponse:
        code = ERROR_CODES.get(status, "Error")
        return json_response({"code": code, "message": message}, status)

    def authenticate(self, request: SandboxRequest) -> SandboxResponse | None:
        if request.path == "/oauth/token":
            request.credential = "token-endpoint"
            return None
        header = request.headers.get("Authorization", "") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                user = base64.b64decode(value, validate=True).decode().partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                user = ""
            if user and secrets.compare_digest(user, self.api_key):
                request.credential = "api-key"
                return None
            return self.error(401, "Invalid API key")
        if scheme.lower() == "bearer" and value in self._access_tokens:
            request.credential = f"oauth:{self.client_id}"
            return None
        if scheme.lower() == "bearer":
            return self.error(401, "Invalid or expired access token")
        return self.error(401, "Missing credentials")

    def process(self, request: SandboxRequest, entry: LoggedRequest) -> SandboxResponse | None:
        creating = request.method == "POST" and request.path == f"{API}/opportunities"
        if (
            creating
            and self.authenticate(request) is None
            and self._over_app_limit(request.credential)
        ):
            entry.credential = request.credential
            entry.rate_limited = True
            headers = {"Retry-After": "1"} if self.send_retry_after else {}
            return self._with_headers(
                self.error(429, "Too many opportunity creations; at most 2 per second"),
                headers,
            )
        response = super().process(request, entry)
        if response is not None and response.status == 429 and not self.send_retry_after:
            response.headers.pop("Retry-After", None)
        return response

    def _over_app_limit(self, credential: str) -> bool:
        """The separate 2/s bucket on creating opportunities (applications)."""
        if not self.enforce_rate_limit:
            return False
        limit = self.application_post_limit
        now = time.monotonic()
        with self.lock:
            tokens, last = self._app_bucket.get(credential, (float(limit.burst), now))
            tokens = min(float(limit.burst), tokens + (now - last) * limit.rate)
            if tokens < 1.0:
                self._app_bucket[credential] = (tokens, now)
                return True
            self._app_bucket[credential] = (tokens - 1.0, now)
            return False

    # -- request parsing -----------------------------------------------------------------

    @staticmethod
    def _check_params(request: SandboxRequest, allowed: set[str]) -> None:
        for name in request.query:
            if name not in allowed:
                raise BadRequest(f"Unknown query parameter: {name}")

    @staticmethod
    def _int_arg(request: SandboxRequest, name: str) -> int | None:
        raw = request.arg(name)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            raise BadRequest(f"{name} must be an integer (epoch milliseconds)") from None

    @staticmethod
    def _limit(request: SandboxRequest) -> int:
        raw = request.arg("limit")
        if raw is None:
            return MAX_LIMIT
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
        return limit

    def _page(self, request: SandboxRequest, kind: str, items: list[dict], render=None) -> Any:
        """Lever's paging: ``limit`` + an opaque ``offset`` token, ``{data, hasNext, next}``."""
        limit = self._limit(request)
        items = sorted(items, key=_sort_key)
        start = 0
        token = request.arg("offset")
        if token is not None:
            issued = self._offsets.get(token)
            if issued is None or issued[0] != kind:
                raise BadRequest("Invalid offset token")
            start = bisect.bisect_right([_sort_key(i) for i in items], issued[1])
        chunk = items[start : start + limit]
        has_next = start + limit < len(items)
        body: dict[str, Any] = {
            "data": [render(i) if render else i for i in chunk],
            "hasNext": has_next,
        }
        if has_next:
            last = chunk[-1]
            token = f"{len(self._offsets)}.{last.get('updatedAt') or 0}.{str(last['id'])[:8]}"
            self._offsets[token] = (kind, _sort_key(last))
            body["next"] = token
        return json_response(body)

    def _visible(self, request: SandboxRequest) -> set[str] | SandboxResponse:
        """The confidentiality values a listing asked for, or the 403 for a key without
        confidential access that asked for confidential records."""
        wanted = request.args("confidentiality") or ["non-confidential"]
        for value in wanted:
            if value not in CONFIDENTIALITY:
                raise BadRequest(
                    f"confidentiality must be one of {', '.join(sorted(CONFIDENTIALITY))}"
                )
        out = {"confidential", "non-confidential"} if "all" in wanted else set(wanted)
        if "confidential" in out and not self.confidential_access:
            return self.error(403, "This API key does not have access to confidential data")
        return out

    def _user(self, request: SandboxRequest) -> str:
        user = request.arg("perform_as")
        if not user:
            raise BadRequest("perform_as is required")
        if user not in self.users:
            raise BadRequest(f"perform_as: no user with id {user}")
        return user

    def _json_object(self, request: SandboxRequest) -> dict:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        return body

    # -- postings --------------------------------------------------------------------------

    @route("GET", f"{API}/postings")
    def list_postings(self, request: SandboxRequest) -> SandboxResponse:
        self._check_params(request, POSTING_PARAMS)
        visible = self._visible(request)
        if isinstance(visible, SandboxResponse):
            return visible
        states = request.args("state")
        for state in states:
            if state not in STATE_STATUS:
                raise BadRequest(f"state must be one of {', '.join(STATE_STATUS)}")
        start = self._int_arg(request, "updated_at_start")
        end = self._int_arg(request, "updated_at_end")
        filters = {
            "team": request.args("team"),
            "department": request.args("department"),
            "location": request.args("location"),
            "commitment": request.args("commitment"),
        }
        tags = request.args("tag")
        out = []
        for posting in self.postings.values():
            if posting["confidentiality"] not in visible:
                continue
            if states and posting["state"] not in states:
                continue
            if start is not None and posting["updatedAt"] < start:
                continue
            if end is not None and posting["updatedAt"] > end:
                continue
            cats = posting["categories"]
            if any(values and cats.get(key) not in values for key, values in filters.items()):
                continue
            if tags and not set(tags) & set(posting["tags"]):
                continue
            out.append(posting)
        return self._page(request, "postings", out)

    @route("GET", f"{API}/postings/{{posting_id}}")
    def get_posting(self, request: SandboxRequest) -> SandboxResponse:
        if not self.unlisted_reads:
            return self.error(404, "Resource not found")
        self._check_params(request, {"expand", "include", "distribution"})
        posting = self.postings.get(request.path_params["posting_id"])
        if posting is None or not self._may_see(posting):
            return self.error(404, "Posting not found")
        return json_response({"data": posting})

    def _may_see(self, record: dict) -> bool:
        return self.confidential_access or record["confidentiality"] != "confidential"

    # -- stages, archive reasons, users ----------------------------------------------------

    @route("GET", f"{API}/stages")
    def list_stages(self, request: SandboxRequest) -> SandboxResponse:
        self._check_params(request, {"limit", "offset"})
        items = [{"id": sid, "text": text, "updatedAt": 0} for sid, text in STAGES]
        return self._page(
            request, "stages", items, render=lambda s: {"id": s["id"], "text": s["text"]}
        )

    @route("GET", f"{API}/archive_reasons")
    def list_archive_reasons(self, request: SandboxRequest) -> SandboxResponse:
        self._check_params(request, {"limit", "offset", "type"})
        kind = request.arg("type")
        items = [
            {"id": rid, "text": text, "status": "active", "type": rtype, "updatedAt": 0}
            for rid, text, rtype in ARCHIVE_REASONS
            if kind is None or kind == rtype
        ]
        return self._page(
            request,
            "archive_reasons",
            items,
            render=lambda r: {k: v for k, v in r.items() if k != "updatedAt"},
        )

    @route("GET", f"{API}/users/{{user_id}}")
    def get_user(self, request: SandboxRequest) -> SandboxResponse:
        if not self.unlisted_reads:
            return self.error(404, "Resource not found")
        user = self.users.get(request.path_params["user_id"])
        if user is None:
            return self.error(404, "User not found")
        return json_response({"data": user})

    # -- opportunities -----------------------------------------------------------------------

    def _render(self, opp: dict, expand: Iterable[str] = ()) -> dict:
        out = dict(opp)
        out["archived"] = dict(opp["archived"]) if opp["archived"] else None
        if "stage" in expand:
            names = dict(STAGES)
            out["stage"] = {"id": opp["stage"], "text": names.get(opp["stage"], "")}
        if "applications" in expand:
            out["applications"] = [dict(a) for a in self.applications.get(opp["id"], ())]
        return out

    def _expand(self, request: SandboxRequest) -> list[str]:
        expand = request.args("expand")
        for value in expand:
            if value not in OPPORTUNITY_EXPANDS:
                raise BadRequest(f"expand: unknown value {value}")
        return expand

    @route("GET", f"{API}/opportunities")
    def list_opportunities(self, request: SandboxRequest) -> SandboxResponse:
        self._check_params(request, OPPORTUNITY_PARAMS)
        expand = self._expand(request)
        visible = self._visible(request)
        if isinstance(visible, SandboxResponse):
            return visible
        live_on = set(request.args("posting_id"))
        archived_on = set(request.args("archived_posting_id"))
        emails = {e.lower() for e in request.args("email")}
        windows = {
            key: (self._int_arg(request, f"{key}_start"), self._int_arg(request, f"{key}_end"))
            for key in ("updated_at", "created_at")
        }
        archived_flag = request.arg("archived")
        if archived_flag not in (None, "true", "false"):
            raise BadRequest("archived must be true or false")
        multi = {
            "stage": set(request.args("stage_id")),
            "origin": set(request.args("origin")),
            "contact": set(request.args("contact_id")),
        }
        tags, sources = set(request.args("tag")), set(request.args("source"))
        reasons = set(request.args("archive_reason_id"))
        out = []
        for oid, opp in self._candidates(live_on, archived_on):
            posting = self.opportunity_posting.get(oid)
            if opp["confidentiality"] not in visible:
                continue
            archived = opp["archived"] is not None
            if live_on and (posting not in live_on or archived):
                continue
            if archived_on and (posting not in archived_on or not archived):
                continue
            if archived_flag is not None and archived != (archived_flag == "true"):
                continue
            if emails and not emails & {e.lower() for e in opp["emails"]}:
                continue
            if any(values and opp[key] not in values for key, values in multi.items()):
                continue
            if tags and not tags & set(opp["tags"]):
                continue
            if sources and not sources & set(opp["sources"]):
                continue
            if reasons and (not archived or opp["archived"]["reason"] not in reasons):
                continue
            stamps = {"updated_at": opp["updatedAt"], "created_at": opp["createdAt"]}
            if any(
                (lo is not None and stamps[key] < lo) or (hi is not None and stamps[key] > hi)
                for key, (lo, hi) in windows.items()
            ):
                continue
            out.append(opp)
        return self._page(request, "opportunities", out, render=lambda o: self._render(o, expand))

    def _candidates(self, live_on: set[str], archived_on: set[str]) -> Iterable[tuple[str, dict]]:
        """The opportunities a listing filtered by posting can match, or all of them."""
        postings = live_on & archived_on if live_on and archived_on else live_on or archived_on
        if not live_on and not archived_on:
            return self.opportunities.items()
        return [
            (oid, self.opportunities[oid])
            for posting in postings
            for oid in self._posting_opps.get(posting, ())
        ]

    @route("GET", f"{API}/opportunities/{{opp_id}}")
    def get_opportunity(self, request: SandboxRequest) -> SandboxResponse:
        if not self.unlisted_reads:
            return self.error(404, "Resource not found")
        self._check_params(request, {"expand", "include"})
        opp = self.opportunities.get(request.path_params["opp_id"])
        if opp is None or not self._may_see(opp):
            return self.error(404, "Opportunity not found")
        return json_response({"data": self._render(opp, self._expand(request))})

    @route("POST", f"{API}/opportunities")
    def create_opportunity(self, request: SandboxRequest) -> SandboxResponse:
        self._check_params(request, {"perform_as", "parse", "perform_as_posting_owner"})
        user = self._user(request)
        body = self._json_object(request)
        unknown = sorted(set(body) - CREATE_FIELDS)
        if unknown:
            raise BadRequest(f"Unknown field: {unknown[0]}")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("name is required")
        for key in ("headline", "location", "origin", "stage"):
            if key in body and not isinstance(body[key], str):
                raise BadRequest(f"{key} must be a string")
        lists: dict[str, list[str]] = {}
        for key in ("emails", "links", "tags", "sources", "postings", "followers"):
            value = body.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadRequest(f"{key} must be an array of strings")
            lists[key] = value
        phones = body.get("phones", [])
        if not isinstance(phones, list):
            raise BadRequest("phones must be an array")
        for i, phone in enumerate(phones):
            if (
                not isinstance(phone, dict)
                or set(phone) - {"type", "value"}
                or not isinstance(phone.get("value"), str)
                or phone.get("type", "other") not in PHONE_TYPES
            ):
                raise BadRequest(
                    f"phones[{i}] must be {{type, value}} with type one of "
                    f"{', '.join(sorted(PHONE_TYPES))}"
                )
        origin = body.get("origin", "applied")
        if origin not in ORIGINS:
            raise BadRequest(f"origin must be one of {', '.join(sorted(ORIGINS))}")
        postings = lists["postings"]
        if len(postings) > 1:
            raise BadRequest("postings: at most one posting per opportunity")
        for pid in postings:
            if pid not in self.postings:
                raise BadRequest(f"postings: no posting with id {pid}")
        now = self._now_ms()
        # Lever files a new opportunity under the existing contact with a matching email.
        wanted = {e.lower() for e in lists["emails"]}
        contact_id = next(
            (cid for cid, c in self.contacts.items() if wanted & {e.lower() for e in c["emails"]}),
            None,
        )
        if contact_id is None:
            contact_id = self._uuid()
            self.contacts[contact_id] = {"id": contact_id, "emails": []}
        contact = self.contacts[contact_id]
        contact.update(
            name=name.strip(),
            headline=body.get("headline", contact.get("headline", "")),
            location=body.get("location", contact.get("location", "")),
            emails=list(dict.fromkeys([*contact["emails"], *lists["emails"]])),
            phones=[*contact.get("phones", []), *(dict(p) for p in phones)],
            links=list(dict.fromkeys([*contact.get("links", []), *lists["links"]])),
        )
        stage = body.get("stage") or ("lead-new" if origin == "sourced" else "applicant-new")
        opp = self._new_opportunity(
            contact_id,
            postings[0] if postings else None,
            stage=stage,
            archived=None,
            origin=origin,
            when=now,
            tags=lists["tags"],
            sources=lists["sources"],
        )
        # What this opportunity was created with, not the merged contact.
        opp.update(
            emails=list(lists["emails"]),
            phones=[dict(p) for p in phones],
            links=list(lists["links"]),
            headline=body.get("headline", ""),
            location=body.get("location", ""),
            owner=user,
        )
        return json_response({"data": self._render(opp)}, 201)

    # -- notes and files -----------------------------------------------------------------

    def _opp_or_404(self, request: SandboxRequest) -> dict | None:
        return self.opportunities.get(request.path_params["opp_id"])

    @route("POST", f"{API}/opportunities/{{opp_id}}/notes")
    def add_note(self, request: SandboxRequest) -> SandboxResponse:
        self._check_params(request, {"perform_as", "note_id"})
        user = self._user(request)
        opp = self._opp_or_404(request)
        if opp is None:
            return self.error(404, "Opportunity not found")
        body = self._json_object(request)
        unknown = sorted(set(body) - {"value", "secret", "score", "notifyFollowers", "createdAt"})
        if unknown:
            raise BadRequest(f"Unknown field: {unknown[0]}")
        value = body.get("value")
        if not isinstance(value, str) or not value.strip():
            raise BadRequest("value is required")
        now = self._now_ms()
        note = {
            "id": self._uuid(),
            "text": value,
            "fields": [{"type": "note", "text": "Note", "value": value}],
            "user": user,
            "secret": bool(body.get("secret", False)),
            "completedAt": now,
            "deletedAt": None,
            "createdAt": now,
            "updatedAt": now,
        }
        self.notes[opp["id"]].append(note)
        opp["updatedAt"] = now
        return json_response({"data": {"noteId": note["id"]}}, 201)

    @route("GET", f"{API}/opportunities/{{opp_id}}/notes")
    def list_notes(self, request: SandboxRequest) -> SandboxResponse:
        if not self.unlisted_reads:
            return self.error(405, f"method {request.method} not allowed")
        self._check_params(request, {"limit", "offset"})
        opp = self._opp_or_404(request)
        if opp is None:
            return self.error(404, "Opportunity not found")
        return self._page(request, f"notes:{opp['id']}", list(self.notes[opp["id"]]))

    @route("POST", f"{API}/opportunities/{{opp_id}}/files")
    def add_file(self, request: SandboxRequest) -> SandboxResponse:
        self._check_params(request, {"perform_as"})
        self._user(request)
        opp = self._opp_or_404(request)
        if opp is None:
            return self.error(404, "Opportunity not found")
        parts = request.multipart()
        part = parts.get("file")
        if part is None or not part.filename:
            raise BadRequest("file is required (multipart field 'file' with a filename)")
        if len(part.data) > MAX_FILE_BYTES:
            raise BadRequest("file is larger than 30 MB")
        now = self._now_ms()
        fid = self._uuid()
        ext = part.filename.rsplit(".", 1)[-1].lower() if "." in part.filename else ""
        entry = {
            "id": fid,
            "downloadUrl": f"https://api.lever.co/v1/opportunities/{opp['id']}/files/{fid}/download",
            "ext": ext,
            "name": part.filename,
            "uploadedAt": now,
            "status": "processed",
            "size": len(part.data),
            "updatedAt": now,
            "contentType": part.content_type,
        }
        self.files[opp["id"]].append(entry)
        self.file_content[fid] = part.data
        opp["updatedAt"] = now
        public = {k: v for k, v in entry.items() if k not in ("updatedAt", "contentType")}
        return json_response({"data": public}, 201)

    @route("GET", f"{API}/opportunities/{{opp_id}}/files")
    def list_files(self, request: SandboxRequest) -> SandboxResponse:
        if not self.unlisted_reads:
            return self.error(405, f"method {request.method} not allowed")
        self._check_params(request, {"limit", "offset"})
        opp = self._opp_or_404(request)
        if opp is None:
            return self.error(404, "Opportunity not found")
        return self._page(
            request,
            f"files:{opp['id']}",
            list(self.files[opp["id"]]),
            render=lambda f: {k: v for k, v in f.items() if k not in ("updatedAt", "contentType")},
        )

    # -- OAuth2 token endpoint ------------------------------------------------------------

    @route("POST", "/oauth/token")
    def token(self, request: SandboxRequest) -> SandboxResponse:
        form = request.form()

        def refuse(status: int, error: str, why: str) -> SandboxResponse:
            return json_response({"error": error, "error_description": why}, status)

        if form.get("grant_type") != "refresh_token":
            return refuse(400, "unsupported_grant_type", "only refresh_token is served here")
        if form.get("client_id") != self.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return refuse(401, "invalid_client", "unknown client or wrong secret")
        if not secrets.compare_digest(form.get("refresh_token", ""), self.refresh_token):
            return refuse(403, "invalid_grant", "refresh token is invalid or was rotated")
        access = f"lvr-access-{self._hex(24)}"
        self._access_tokens.add(access)
        # Rotation: the refresh token just used is dead from now on.
        self.refresh_token = f"lvr-refresh-{self._hex(16)}"
        self.refresh_tokens_issued += 1
        return json_response(
            {
                "access_token": access,
                "refresh_token": self.refresh_token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "offline_access postings:read:admin opportunities:write:admin",
            }
        )

    def revoke_access_tokens(self) -> None:
        """Expire every access token, as an hour passing would."""
        with self.lock:
            self._access_tokens.clear()

    # -- control API (atsbridge_sdk.sandbox.Sandbox) -------------------------------------

    def connection_config(self, *, valid: bool = True, auth_method: str = "api_key") -> dict:
        config: dict[str, Any] = {
            "auth_method": auth_method,
            "perform_as": self.user_id,
            "base_url": f"{self.url}{API}",
        }
        if auth_method == "oauth2":
            config.update(
                client_id=self.client_id,
                client_secret=self.client_secret if valid else "lvr-secret-wrong",
                refresh_token=self.refresh_token,
                token_url=f"{self.url}/oauth/token",
            )
        else:
            config["api_key"] = self.api_key if valid else "lvr-sandbox-wrong-key"
        return config

    def jobs(self) -> list[JobFacts]:
        with self.lock:
            return [
                JobFacts(
                    ats_id=p["id"],
                    title=p["text"],
                    reference=p["reqCode"],
                    city=p["categories"].get("location"),
                    country_code=p["country"],
                    status=STATE_STATUS[p["state"]],
                    updated_at=datetime.fromtimestamp(p["updatedAt"] / 1000, tz=UTC),
                )
                for p in self.postings.values()
            ]

    def _posting(self, job_id: str) -> dict:
        try:
            return self.postings[job_id]
        except KeyError:
            raise KeyError(f"no posting {job_id!r} in the sandbox") from None

    def pipeline(self, job_id: str) -> list[str]:
        with self.lock:
            return sorted(
                {self.opportunities[oid]["contact"] for oid in self._posting_opps.get(job_id, ())}
            )

    def set_job_status(self, job_id: str, status: JobStatus) -> None:
        with self.lock:
            posting = self._posting(job_id)
            posting["state"] = STATUS_STATE[JobStatus(status)]
            posting["updatedAt"] = self._now_ms()

    def set_posting_state(self, job_id: str, state: str) -> None:
        """Lever's own states, for the ones JobStatus does not name (internal, rejected)."""
        if state not in STATE_STATUS:
            raise ValueError(f"unknown Lever posting state {state!r}")
        with self.lock:
            posting = self._posting(job_id)
            posting["state"] = state
            posting["updatedAt"] = self._now_ms()

    def set_confidential(self, job_id: str, confidential: bool = True) -> None:
        """Make a posting (and the opportunities applied to it) confidential, or not."""
        value = "confidential" if confidential else "non-confidential"
        with self.lock:
            posting = self._posting(job_id)
            now = self._now_ms()
            posting.update(confidentiality=value, updatedAt=now)
            for oid in self._posting_opps.get(job_id, ()):
                self.opportunities[oid].update(confidentiality=value, updatedAt=now)

    def rename_job(self, job_id: str, title: str) -> None:
        with self.lock:
            posting = self._posting(job_id)
            posting["text"] = title
            posting["updatedAt"] = self._now_ms()

    def delete_job(self, job_id: str) -> None:
        with self.lock:
            self.postings.pop(job_id, None)

    def add_candidate(self, job_id: str, person: SeedPerson) -> str:
        with self.lock:
            self._posting(job_id)
            contact = self._add_person(job_id, person, when=self._now_ms())
            for opp in self._opps_of(job_id, contact):
                self._push("applicationCreated", opp)
            return contact

    def _opps_of(self, job_id: str, candidate_id: str) -> list[dict]:
        return [
            self.opportunities[oid]
            for oid in self._posting_opps.get(job_id, ())
            if self.opportunities[oid]["contact"] == candidate_id
        ]

    def remove_candidate(self, job_id: str, candidate_id: str) -> None:
        with self.lock:
            for opp in self._opps_of(job_id, candidate_id):
                self._drop_opportunity(opp)

    def _drop_opportunity(self, opp: dict) -> None:
        del self.opportunities[opp["id"]]
        self.applications.pop(opp["id"], None)
        posting = self.opportunity_posting.pop(opp["id"], None)
        if posting is not None:
            self._posting_opps[posting].pop(opp["id"], None)
        self._push("candidateDeleted", opp)

    def delete_person(self, candidate_id: str) -> None:
        """Delete a contact and every opportunity of theirs (one ``candidateDeleted`` each)."""
        with self.lock:
            for opp in [o for o in self.opportunities.values() if o["contact"] == candidate_id]:
                self._drop_opportunity(opp)
            del self.contacts[candidate_id]

    def register_webhook(self, url: str, events: set[str] | frozenset[str] | None = None) -> Target:
        """Add a webhook as an admin does in Settings > Integrations and API > Webhooks;
        Lever generates its signature token (``target.secret``), to paste into atsbridge."""
        return self.webhooks.register(url, "lvr-sig-" + secrets.token_hex(16), events=events)

    def _push(self, name: str, opp: dict, **stages: str | None) -> None:
        self.webhooks.emit(hooks.event(name, opp, self.webhooks.clock.now(), **stages))

    def move_candidate(self, job_id: str, candidate_id: str, status: CandidateStatus) -> None:
        with self.lock:
            opps = self._opps_of(job_id, candidate_id)
            if not opps:
                raise KeyError(f"{candidate_id!r} has no opportunity on posting {job_id!r}")
            now = self._now_ms()
            for opp in opps:
                key = sum(map(ord, opp["id"]))
                stage, archived = self._stage_and_archive(key, CandidateStatus(status).value)
                if archived is not None:
                    archived["archivedAt"] = now
                was_stage, was_archived = opp["stage"], opp["archived"] is not None
                if stage != opp["stage"]:
                    opp["stageChanges"].append(
                        {
                            "toStageId": stage,
                            "toStageIndex": self._stage_index(stage),
                            "updatedAt": now,
                            "userId": self.user_id,
                        }
                    )
                opp.update(stage=stage, archived=archived, updatedAt=now, lastAdvancedAt=now)
                if CandidateStatus(status) is CandidateStatus.HIRED:
                    self._push("candidateHired", opp)
                elif was_archived != (archived is not None):
                    self._push("candidateArchiveChange", opp)
                if stage != was_stage:
                    self._push("candidateStageChange", opp, from_stage=was_stage, to_stage=stage)

    def people(self, email: str | None = None) -> list[PersonFacts]:
        with self.lock:
            out = []
            for cid, contact in self.contacts.items():
                emails = tuple(contact.get("emails", []))
                if email is not None and email.lower() not in {e.lower() for e in emails}:
                    continue
                opp_ids = [oid for oid, o in self.opportunities.items() if o["contact"] == cid]
                first, _, last = (contact.get("name") or "").partition(" ")
                links = contact.get("links", [])
                resume = next(
                    (self.file_content[f["id"]] for oid in opp_ids for f in self.files[oid]),
                    None,
                )
                out.append(
                    PersonFacts(
                        ats_id=cid,
                        first_name=first,
                        last_name=last,
                        emails=emails,
                        job_ids=tuple(
                            sorted(
                                {
                                    self.opportunity_posting[oid]
                                    for oid in opp_ids
                                    if oid in self.opportunity_posting
                                }
                            )
                        ),
                        linkedin_url=next((x for x in links if "linkedin.com/" in x), None),
                        phones=tuple(p["value"] for p in contact.get("phones", [])),
                        resume=resume,
                    )
                )
            return out

    # -- inspection helpers for tests ----------------------------------------------------

    def opportunities_of(self, contact_id: str) -> list[dict]:
        with self.lock:
            return [dict(o) for o in self.opportunities.values() if o["contact"] == contact_id]

    def notes_of(self, opportunity_id: str) -> list[dict]:
        with self.lock:
            return [dict(n) for n in self.notes.get(opportunity_id, [])]

    def files_of(self, opportunity_id: str) -> list[tuple[dict, bytes]]:
        with self.lock:
            return [
                (dict(f), self.file_content[f["id"]]) for f in self.files.get(opportunity_id, [])
            ]
