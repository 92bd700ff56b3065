"""The SmartRecruiters Customer API client, on the SDK's HttpClient.

Every choice the API notes mark UNCONFIRMED lives in the constants block below (and in the
README's "UNCONFIRMED assumptions" section), so correcting one is a one-line change.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import attrs
import httpx
from atsbridge.config import url_problem
from atsbridge.errors import AtsError, ConfigError, PayloadError
from atsbridge.model import Attachment, CandidateStatus, RateLimit
from atsbridge_sdk.auth import ApiKeyHeader, OAuth2ClientCredentials
from atsbridge_sdk.baseurl import read_base_url
from atsbridge_sdk.clock import SYSTEM_CLOCK, Clock
from atsbridge_sdk.http import HttpClient, HttpEvent, RateLimiter, json_body
from atsbridge_sdk.paginate import CursorPaginator, OffsetLimitPaginator, fetch_page

# --- UNCONFIRMED choices (see README) -----------------------------------------------------
# Key of the LinkedIn URL inside the candidate's ``web`` object. The Candidate API documents
# ``linkedin``; the newer Application API spells it ``linkedIn``. We write ``linkedin`` and
# read either.
LINKEDIN_KEY = "linkedin"
LINKEDIN_KEYS_READ = ("linkedin", "linkedIn")
# ``attachmentType`` for the resume upload. GENERIC_FILE is the documented default; RESUME
# is what the file is, so we ask for it first and fall back when the API refuses the type.
RESUME_ATTACHMENT_TYPE = "RESUME"
FALLBACK_ATTACHMENT_TYPE = "GENERIC_FILE"
# Putting an existing candidate on a job (no body). Plausible from the API's resource layout
# (``/candidates/{id}/jobs/{jobId}/status`` is documented); the bare path is not.
ASSIGN_PATH = "/candidates/{candidate_id}/jobs/{job_id}"
# Answers to it that mean the API will not do this: the push then fails for good (AtsError,
# not AuthError: the credential is fine) with a message saying so.
UNASSIGNABLE = (403, 404, 405, 501)
# Listing a candidate's attachments, to avoid uploading the resume twice on a replay.
ATTACHMENTS_PATH = "/candidates/{candidate_id}/attachments"
# Answers to that listing that mean "cannot tell" (files are then uploaded) rather than fail;
# so does a body of another shape than ``{content: [{name}]}``.
UNLISTABLE = (400, 403, 404, 405, 501)
# Reading one job: ``GET /jobs/{id}`` is not in the API notes. Until one answer proves it
# works, a 404 may mean "no such endpoint" as well as "no such job", so those ids (and all
# ids once it answers 403/405/501) are settled from the ``GET /jobs`` listing instead.
JOB_PATH = "/jobs/{job_id}"
JOB_LOOKUP_REFUSALS = (403, 404, 405, 501)
# Create-body fields beyond the API notes' example (the Candidate API documents them). If a
# create is refused with a 400/422 whose message names some of them, they are dropped,
# reported unsupported, and the create is sent once more.
DROPPABLE_CREATE_FIELDS = ("location", "tags")
# Looking a person up by email: the candidates listing's full-text ``q`` (no documented
# email filter); results are then matched on the exact address locally.
EMAIL_LOOKUP_PARAM = "q"
# SmartRecruiters' CREATED job status (created, not yet sourcing) is reported as a draft.
CREATED_IS_DRAFT = True
# A ``GET /candidates?jobId=`` row whose assignments do not name the job (an API that omits
# ``secondaryAssignments``, say) keeps the person in the pipeline with this status and no
# stage: the status on this job is unknown, and the primary one may be another job's.
UNASSIGNED_ROW_STATUS = CandidateStatus.NEW

# --- the API, as documented ------------------------------------------------------------------
API_VERSION = "Customer API v1 (jobs, candidates)"
PRODUCTION_URL = "https://api.smartrecruiters.com"
TOKEN_PATH = "/identity/oauth/token"
MAX_PAGE = 100
# Published: 10 requests/s and 8 in flight per credential. We pace 5 % under the rate and
# one under a burst of a second's worth, so network jitter never lands a request on an
# empty bucket at the server.
RATE_LIMIT = RateLimit(requests_per_second=9.5, burst=9, max_concurrency=8)

API_KEY = "api_key"
OAUTH = "oauth_client_credentials"


@attrs.frozen
class Settings:
    """A connection config, checked. ``repr`` never shows a secret."""

    auth_method: str
    base_url: str
    token_url: str
    api_key: str | None = attrs.field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        if not isinstance(config, Mapping):
            raise ConfigError(["config: must be a JSON object"])
        problems: list[str] = []

        def text(name: str, required: bool) -> str | None:
            value = config.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                if required:
                    problems.append(f"config.{name}: required")
                return None
            if not isinstance(value, str):
                problems.append(f"config.{name}: must be a string")
                return None
            return value.strip()

        method = config.get("auth_method", API_KEY)
        if method not in (API_KEY, OAUTH):
            problems.append(f"config.auth_method: must be one of: {API_KEY}, {OAUTH}")
        try:  # SmartRecruiters documents its base without a version segment
            base_url = read_base_url(text("base_url", False), default=PRODUCTION_URL).root
        except ConfigError as exc:
            problems.extend(exc.problems)
            base_url = PRODUCTION_URL
        token_url = text("token_url", False) or base_url + TOKEN_PATH
        reason = url_problem(token_url)
        if reason:
            problems.append(f"config.token_url: {reason}")
        api_key = text("api_key", method == API_KEY)
        client_id = text("client_id", method == OAUTH)
        client_secret = text("client_secret", method == OAUTH)
        if problems:
            raise ConfigError(problems)
        return cls(method, base_url, token_url, api_key, client_id, client_secret)

    @property
    def credential_id(self) -> str:
        """Identifies the credential (not secret): the server meters per credential."""
        who = self.api_key if self.auth_method == API_KEY else self.client_id
        return hashlib.sha256(f"{self.base_url}\0{who}".encode()).hexdigest()


class _CredentialShare:
    """What every session of one credential in this process shares.

    SmartRecruiters meters per credential, and the host may open several sessions of one
    connection and call hooks from several threads: each session pacing on its own would add
    up to more than the credential may send. So the pacer (rate and in-flight cap) and the
    one-at-a-time lock of ``GET /candidates`` are per credential, not per session.
    """

    def __init__(self, limiter: RateLimiter):
        self.limiter = limiter
        self.listing_lock = threading.Lock()


_shares: weakref.WeakValueDictionary[tuple, _CredentialShare] = weakref.WeakValueDictionary()
_shares_guard = threading.Lock()


def credential_share(credential_id: str, rate_limit: RateLimit, clock: Clock) -> _CredentialShare:
    key = (credential_id, rate_limit, id(clock))
    with _shares_guard:
        share = _shares.get(key)
        if share is None:
            share = _shares[key] = _CredentialShare(RateLimiter(rate_limit, clock))
        return share


def _path(template: str, **ids: str) -> str:
    return template.format(**{k: quote(v, safe="") for k, v in ids.items()})


class SmartRecruitersClient:
    """The endpoints the plugin uses, returning decoded JSON; mapping happens elsewhere."""

    def __init__(
        self,
        settings: Settings,
        *,
        rate_limit: RateLimit = RATE_LIMIT,
        on_event: Callable[[HttpEvent], None] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        transport: httpx.BaseTransport | None = None,
    ):
        self.settings = settings
        auth: httpx.Auth
        if settings.auth_method == API_KEY:
            assert settings.api_key is not None
            auth = ApiKeyHeader("X-SmartToken", settings.api_key)
        else:
            assert settings.client_id is not None and settings.client_secret is not None
            auth = OAuth2ClientCredentials(
                settings.token_url,
                settings.client_id,
                settings.client_secret,
                client_auth="body",  # SmartRecruiters takes the client credentials in the form
                clock=clock,
                transport=transport,
            )
        self.http = HttpClient(
            settings.base_url,
            auth=auth,
            rate_limit=rate_limit,
            secrets=(settings.api_key, settings.client_secret),
            on_event=on_event,
            clock=clock,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._share = credential_share(settings.credential_id, rate_limit, clock)
        self.http.limiter = self._share.limiter

    def close(self) -> None:
        self.http.close()

    # -- jobs ----------------------------------------------------------------------------------

    def check(self) -> None:
        """The cheapest authenticated call: one job (a 404: a wrong base URL)."""
        base = read_base_url(self.settings.base_url, default=PRODUCTION_URL)
        with base.first_request(base.join("/jobs")):
            self.http.get("/jobs", params={"limit": 1})

    def jobs_page(
        self, params: Mapping[str, str], cursor: str | None, page_size: int
    ) -> tuple[Any, str | None]:
        paginator = OffsetLimitPaginator("/jobs", params=dict(params), limit=_size(page_size))
        response, next_cursor = fetch_page(self.http, paginator, cursor)
        return _json(response), next_cursor

    def job(self, job_id: str) -> tuple[int, Any | None]:
        """``(HTTP status, job)`` of ``GET /jobs/{id}``; no job when it was refused or 404."""
        response = self.http.get(_path(JOB_PATH, job_id=job_id), accept=JOB_LOOKUP_REFUSALS)
        if response.status_code in JOB_LOOKUP_REFUSALS:
            return response.status_code, None
        return response.status_code, _json(response)

    def find_jobs(self, job_ids: set[str]) -> dict[str, Any]:
        """Rows of the ``GET /jobs`` listing whose id is wanted; stops once all are found."""
        found: dict[str, Any] = {}
        cursor: str | None = None
        while True:
            body, cursor = self.jobs_page({}, cursor, MAX_PAGE)
            content = body.get("content") if isinstance(body, dict) else None
            for row in content if isinstance(content, list) else []:
                row_id = row.get("id") if isinstance(row, dict) else None
                if isinstance(row_id, str) and row_id in job_ids:
                    found.setdefault(row_id, row)
            if cursor is None or len(found) == len(job_ids):
                return found

    # -- candidates ------------------------------------------------------------------------------

    def candidates_page(
        self, params: Mapping[str, str], cursor: str | None, page_size: int
    ) -> tuple[Any, str | None]:
        query = {**params, "limit": str(_size(page_size))}
        paginator = CandidatesPaginator("/candidates", params=query)
        with self._share.listing_lock:
            response, next_cursor = fetch_page(self.http, paginator, cursor)
        return _json(response), next_cursor

    def search_candidates(self, text: str) -> list[Any]:
        """Every row the full-text search returns for ``text`` (all pages)."""
        rows: list[Any] = []
        cursor: str | None = None
        while True:
            body, cursor = self.candidates_page({EMAIL_LOOKUP_PARAM: text}, cursor, MAX_PAGE)
            content = body.get("content") if isinstance(body, dict) else None
            rows.extend(content if isinstance(content, list) else [])
            if cursor is None:
                return rows

    def create_candidate(self, job_id: str, body: Mapping[str, Any]) -> Any | None:
        """The created candidate, or None when the API answered without a JSON body."""
        # A POST is never retried by the client: a lost response is reconciled by the caller
        # looking the person up again.
        response = self.http.post(_path("/jobs/{job_id}/candidates", job_id=job_id), json=body)
        try:
            return response.json()
        except ValueError:
            return None

    def assign(self, candidate_id: str, job_id: str) -> None:
        path = _path(ASSIGN_PATH, candidate_id=candidate_id, job_id=job_id)
        response = self.http.put(path, accept=UNASSIGNABLE)
        if response.status_code in UNASSIGNABLE:
            raise AtsError(
                f"SmartRecruiters would not put existing candidate {candidate_id} on job "
                f"{job_id}: PUT {ASSIGN_PATH} answered HTTP {response.status_code}. This API "
                "may not offer adding an existing person to a job (creating one is documented, "
                "this is not); add them to the job in SmartRecruiters by hand",
                status_code=response.status_code,
            )

    def attachments(self, candidate_id: str) -> Any | None:
        """The candidate's attachments listing, or None when the API will not list them."""
        path = _path(ATTACHMENTS_PATH, candidate_id=candidate_id)
        response = self.http.get(path, accept=UNLISTABLE)
        return None if response.status_code in UNLISTABLE else _json(response)

    def upload(self, candidate_id: str, attachment: Attachment, kind: str) -> None:
        path = _path(ATTACHMENTS_PATH, candidate_id=candidate_id)
        files = {"file": (attachment.filename, attachment.content, attachment.content_type)}
        try:
            self.http.post(path, files=files, data={"attachmentType": kind})
        except AtsError as exc:
            if exc.status_code != 400 or kind == FALLBACK_ATTACHMENT_TYPE:
                raise
            self.http.post(path, files=files, data={"attachmentType": FALLBACK_ATTACHMENT_TYPE})


@attrs.frozen
class CandidatesPaginator(CursorPaginator):
    """``nextPageId`` in the body, or else the ``pageId`` of the ``Link: rel="next"`` URL.

    The API documents both; an implementation giving only the header must not end a
    pipeline after its first page.
    """

    def next_cursor(self, response: httpx.Response, cursor: str | None) -> str | None:
        token = super().next_cursor(response, cursor)
        if token is not None:
            return token
        body = json_body(response)
        if not (isinstance(body, dict) and body.get(self.items_key or "content")):
            return None
        link = response.links.get("next", {}).get("url")
        values = httpx.URL(link).params.get_list(self.cursor_param) if link else []
        return values[0] if values else None


def _size(page_size: int) -> int:
    return max(1, min(MAX_PAGE, int(page_size)))


def _json(response: httpx.Response) -> Any:
    try:
        return json_body(response)
    except ValueError:
        what = f"SmartRecruiters {response.request.method} {response.request.url.path}"
        raise PayloadError(what, "(body)", "response is not JSON") from None
