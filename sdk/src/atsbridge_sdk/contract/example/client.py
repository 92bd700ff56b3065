"""The Example ATS API client: one ``ExampleSession`` per connection, built on the SDK."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from atsbridge.errors import AuthError, ConfigError, PayloadError
from atsbridge.model import (
    Candidate,
    CandidateQuery,
    Job,
    JobQuery,
    JobState,
    JobStatus,
    Lead,
    Page,
    PushResult,
    RateLimit,
    SessionContext,
)

from atsbridge_sdk.auth import ApiKeyHeader
from atsbridge_sdk.baseurl import read_base_url
from atsbridge_sdk.http import HttpClient, json_body
from atsbridge_sdk.paginate import CursorPaginator, fetch_page

from . import mapping

log = logging.getLogger(__name__)

DISPLAY_NAME = "Example ATS"
PRODUCTION_URL = "https://api.example-ats.invalid"
# Published limit is 20 requests/s with bursts of 10; stay a little under it so network
# jitter never turns our pacing into the ATS's 429.
RATE_LIMIT = RateLimit(requests_per_second=16, burst=8, max_concurrency=4)


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(response: Any, what: str) -> dict[str, Any]:
    try:
        body = json_body(response)
    except ValueError:
        raise PayloadError(what, "(body)", "response is not JSON") from None
    if not isinstance(body, dict):
        raise PayloadError(what, "(body)", f"expected an object, got {type(body).__name__}")
    return body


class ExampleSession:
    """An authenticated connection to one Example ATS account."""

    def __init__(self, config: dict[str, Any], context: SessionContext):
        api_key = config.get("api_key")
        if not isinstance(api_key, str) or not api_key:
            raise ConfigError(["api_key: required"])
        # The base as documented (https://api.example-ats.invalid/v1), its /v1 optional.
        self.base = read_base_url(
            config.get("base_url"),
            default=PRODUCTION_URL,
            documented=PRODUCTION_URL + "/v1",
            tail="/v1",
        )
        self.http = HttpClient(
            self.base.root,
            auth=ApiKeyHeader("Authorization", api_key, prefix="Bearer "),
            rate_limit=context.rate_limit or RATE_LIMIT,
            secrets=[api_key],
            on_event=context.on_event,  # type: ignore[arg-type]
        )

    def __repr__(self) -> str:
        return f"<ExampleSession {self.http.base_url}>"

    def close(self) -> None:
        self.http.close()

    # -- auth ---------------------------------------------------------------------------------

    def check(self) -> None:
        """One cheap authenticated request: doubles as "test connection"."""
        try:
            with self.base.first_request(self.base.join("/v1/me")):
                self.http.get("/v1/me")
        except AuthError as exc:
            raise AuthError(
                f"{DISPLAY_NAME} rejected the API key (HTTP {exc.status_code}): create a new key "
                "under Settings > API keys and paste it into api_key",
                status_code=exc.status_code,
            ) from None

    # -- jobs -----------------------------------------------------------------------------------

    def search_jobs(self, query: JobQuery) -> Page[Job]:
        params: dict[str, Any] = {"limit": query.page_size}
        if query.updated_since is not None:
            params["updated_since"] = _iso(query.updated_since)
        if query.text:
            params["q"] = query.text
        if query.statuses:
            params["state"] = ",".join(sorted(mapping.JOB_STATE[s] for s in query.statuses))
        paginator = CursorPaginator(
            "/v1/jobs", params, cursor_param="cursor", next_key="next_cursor", items_key="data"
        )
        response, cursor = fetch_page(self.http, paginator, query.cursor)
        items = _body(response, "/v1/jobs").get("data") or []
        return Page(tuple(mapping.job_from_api(item) for item in items), cursor)

    def job_statuses(self, job_ids: list[str]) -> list[JobState]:
        states = []
        for job_id in job_ids:
            response = self.http.get(f"/v1/jobs/{job_id}", accept=(404,))
            if response.status_code == 404:
                states.append(JobState(job_id, JobStatus.CLOSED, "deleted", exists=False))
                continue
            job = mapping.job_from_api(_body(response, f"/v1/jobs/{job_id}"))
            states.append(JobState(job.ats_id, job.status, job.status_raw))
        return states

    # -- candidates -------------------------------------------------------------------------------

    def list_candidates(self, query: CandidateQuery) -> Page[Candidate]:
        """One page of a job's applications, or of the account's (``job_ats_id`` None)."""
        if query.job_ats_id is None:
            path = "/v1/applications"
        else:
            path = f"/v1/jobs/{query.job_ats_id}/applications"
        params: dict[str, Any] = {"limit": query.page_size}
        if query.updated_since is not None:
            params["updated_since"] = _iso(query.updated_since)
        paginator = CursorPaginator(
            path, params, cursor_param="cursor", next_key="next_cursor", items_key="data"
        )
        response, cursor = fetch_page(self.http, paginator, query.cursor)
        items = _body(response, path).get("data") or []
        return Page(tuple(mapping.candidate_from_application(i) for i in items), cursor)

    # -- lead push --------------------------------------------------------------------------------

    def find_candidate(self, lead: Lead, idempotency_key: str) -> dict[str, Any] | None:
        """The person a previous attempt (or anyone) already created, if any."""
        lookups = [{"external_id": idempotency_key}] + [{"email": e} for e in lead.emails]
        for params in lookups:
            found = _body(self.http.get("/v1/candidates", params=params), "/v1/candidates")
            data = found.get("data") or []
            if data:
                return data[0]
        return None

    def push_lead(self, job_id: str, lead: Lead, idempotency_key: str) -> PushResult:
        person = self.find_candidate(lead, idempotency_key)
        existed = person is not None
        if person is None:
            body = mapping.candidate_to_api(lead, idempotency_key)
            person = _body(self.http.post("/v1/candidates", json=body), "/v1/candidates")
        candidate_id = str(person["id"])
        applications = {a["job_id"]: a for a in person.get("applications") or []}
        application = applications.get(job_id)
        if application is None:
            path = f"/v1/candidates/{candidate_id}/applications"
            response = self.http.post(path, json={"job_id": job_id}, accept=(409,))
            if response.status_code == 409:  # a lost answer: the application is there
                existed = True
                application = {"id": _body(response, path).get("application_id")}
            else:
                application = _body(response, path)
        files = set(person.get("files") or [])
        for attachment in lead.attachments:
            if attachment.filename in files:
                continue
            self.http.post(
                f"/v1/candidates/{candidate_id}/files",
                data={"kind": "resume"},
                files={"file": (attachment.filename, attachment.content, attachment.content_type)},
            )
        return PushResult(
            candidate_id=candidate_id,
            application_id=application.get("id"),
            already_existed=existed,
            unsupported=(),
        )
