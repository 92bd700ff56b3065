"""The atsbridge hooks for SmartRecruiters (Customer API)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from atsbridge.errors import AtsError, AtsUnavailable, AuthError, PayloadError
from atsbridge.hookspecs import hookimpl
from atsbridge.model import (
    Attachment,
    Candidate,
    CandidateQuery,
    CandidateStatus,
    Capability,
    Job,
    JobQuery,
    JobState,
    Lead,
    Page,
    PluginInfo,
    PushResult,
    SandboxOptions,
    SessionContext,
    WebhookDelivery,
    WebhookRequest,
    WebhookSubscription,
)

from atsbridge_smartrecruiters import __version__, mapping, webhooks
from atsbridge_smartrecruiters.client import (
    API_KEY,
    API_VERSION,
    DROPPABLE_CREATE_FIELDS,
    FALLBACK_ATTACHMENT_TYPE,
    RATE_LIMIT,
    RESUME_ATTACHMENT_TYPE,
    Settings,
    SmartRecruitersClient,
)

NAME = "smartrecruiters"
# Every lead field has a structured home, ``GET /candidates`` without ``jobId`` is the
# account-wide listing (rows carry their job assignments), and webhooks are signed.
CAPABILITIES: frozenset[Capability] = frozenset(Capability)


def _resource(name: str) -> str:
    return resources.files("atsbridge_smartrecruiters").joinpath(name).read_text("utf-8")


@hookimpl
def atsbridge_plugin_info() -> PluginInfo:
    return PluginInfo(
        name=NAME,
        version=__version__,
        display_name="SmartRecruiters",
        capabilities=CAPABILITIES,
        config_schema=json.loads(_resource("config.schema.json")),
        setup_instructions=_resource("setup.md"),
        webhook_setup=_resource("webhook_setup.md"),
        api_version=API_VERSION,
        rate_limit=RATE_LIMIT,
    )


@hookimpl
def atsbridge_sandbox(options: SandboxOptions) -> Any:
    from atsbridge_smartrecruiters.sandbox import SmartRecruitersSandbox

    return SmartRecruitersSandbox(options)


class SmartRecruitersSession:
    """One connection's client. Safe to share between the host's worker threads."""

    def __init__(self, client: SmartRecruitersClient):
        self.client = client
        # Whether GET /jobs/{id} is known to work (True), known not to (False) or untried.
        self.job_lookup: bool | None = None

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"<SmartRecruitersSession {self.client.settings.base_url}>"


@hookimpl
def atsbridge_open_session(config: dict, context: SessionContext) -> SmartRecruitersSession:
    settings = Settings.from_config(config)
    client = SmartRecruitersClient(
        settings,
        rate_limit=context.rate_limit or RATE_LIMIT,
        on_event=context.on_event,
    )
    try:
        client.check()
    except AuthError as exc:
        client.close()
        raise AuthError(_auth_hint(settings, exc), status_code=exc.status_code) from None
    except BaseException:
        client.close()
        raise
    return SmartRecruitersSession(client)


def _auth_hint(settings: Settings, exc: AuthError) -> str:
    what = "API key (X-SmartToken)" if settings.auth_method == API_KEY else "OAuth client"
    if exc.status_code == 403:
        fix = (
            "the credential works but lacks permissions: grant it jobs read and candidates "
            "read/write in Settings > Credential Manager"
        )
    else:
        fix = (
            "check the value, that it belongs to this company's SmartRecruiters account and "
            "base_url, and that it was not revoked in Settings > Credential Manager"
        )
    return f"SmartRecruiters rejected the {what}: {fix} ({exc})"


@hookimpl
def atsbridge_search_jobs(session: SmartRecruitersSession, query: JobQuery) -> Page[Job]:
    params: dict[str, str] = {}
    if query.text and query.text.strip():
        params["q"] = query.text.strip()
    if query.updated_since is not None:
        params["updatedAfter"] = mapping.format_since(query.updated_since)
    if query.statuses is not None:
        if not query.statuses:
            return Page(())
        raw = mapping.job_statuses_for(query.statuses)
        # ``status`` takes one value; for several we ask for all and the core filters.
        if len(raw) == 1:
            params["status"] = raw[0]
    body, next_cursor = session.client.jobs_page(params, query.cursor, query.page_size)
    rows = mapping.page_content(body, "SmartRecruiters jobs page")
    items = tuple(mapping.parse_job(row, i) for i, row in enumerate(rows))
    return Page(items, next_cursor, total=_total_found(body))


def _total_found(body: object) -> int | None:
    """``totalFound`` of a listing (for progress only: a bad one is no total, not an error)."""
    total = body.get("totalFound") if isinstance(body, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None


@hookimpl
def atsbridge_list_candidates(
    session: SmartRecruitersSession, query: CandidateQuery
) -> Page[Candidate]:
    # Account-wide (job_ats_id None): the same listing without ``jobId``; each row names its
    # jobs in primaryAssignment / secondaryAssignments, so no request per person is needed.
    job_id = query.job_ats_id
    params = {} if job_id is None else {"jobId": job_id}
    if query.updated_since is not None:
        params["updatedAfter"] = mapping.format_since(query.updated_since)
    body, next_cursor = session.client.candidates_page(params, query.cursor, query.page_size)
    rows = mapping.page_content(body, "SmartRecruiters candidates page")
    if job_id is None:
        # totalFound counts people, not applications: no total rather than a wrong one.
        found = [mapping.parse_account_candidates(row, i) for i, row in enumerate(rows)]
        return Page(tuple(c for per in found for c in per), next_cursor)
    items = tuple(mapping.parse_candidate(row, job_id, i) for i, row in enumerate(rows))
    return Page(items, next_cursor)


@hookimpl
def atsbridge_job_statuses(session: SmartRecruitersSession, job_ids: list[str]) -> list[JobState]:
    # There is no multi-id jobs filter, so one GET /jobs/{id} per job. That endpoint is not
    # in the API notes: ids it cannot settle are looked for in the GET /jobs listing.
    client = session.client
    known: dict[str, JobState] = {}
    unsettled: list[str] = []
    for job_id in dict.fromkeys(job_ids):
        if not job_id.strip():
            known[job_id] = mapping.missing_job_state(job_id)
            continue
        if session.job_lookup is False:
            unsettled.append(job_id)
            continue
        status, raw = client.job(job_id)
        if raw is not None:
            session.job_lookup = True
            known[job_id] = _state(job_id, raw)
        elif status == 404 and session.job_lookup:
            known[job_id] = mapping.missing_job_state(job_id)  # the endpoint works: gone
        else:
            if status != 404:
                session.job_lookup = False  # refused outright: list from now on
            unsettled.append(job_id)
    if unsettled:
        rows = client.find_jobs(set(unsettled))
        if rows:
            session.job_lookup = False  # it answered 404 for jobs that exist
        for job_id in unsettled:
            row = rows.get(job_id)
            known[job_id] = _state(job_id, row) if row else mapping.missing_job_state(job_id)
    return [known[job_id] for job_id in job_ids]


def _state(job_id: str, raw: Any) -> JobState:
    state = mapping.parse_job_state(raw)
    # Report under the id we were asked about, whatever form the API echoes it in.
    return JobState(job_id, state.status, state.status_raw, state.exists)


@hookimpl
def atsbridge_push_lead(
    session: SmartRecruitersSession, job_id: str, lead: Lead, idempotency_key: str
) -> PushResult:
    """Find the person by email, else create them on the job; then attach the files.

    The API has no idempotency key, so the key is not sent: replays are made safe by the
    look-up, which finds what an earlier (possibly lost) attempt created.
    """
    client = session.client
    body, unsupported = mapping.candidate_body(lead)
    email = body["email"]
    person = _find(client, email, job_id)
    if person is not None:
        assignment = person.assignment_for(job_id)
        if assignment is None:
            client.assign(person.id, job_id)
        _attach(client, person.id, lead.attachments, fresh=False)
        return _result(person, job_id, existed=True, unsupported=unsupported)
    try:
        answer = _create(client, job_id, body, unsupported)
    except AtsUnavailable:
        # The create may have happened with its response lost: look before giving up.
        found = _find(client, email, job_id)
        if found is None or found.assignment_for(job_id) is None:
            raise
        created, fresh = found, False
    else:
        structured = _created(answer)
        if structured is None:  # created, but the answer did not say who: look them up
            found = _find(client, email, job_id)
            if found is None:
                raise AtsError(f"SmartRecruiters created {email} on job {job_id} but not found")
            created, fresh = found, False
        else:
            created, fresh = structured, True
    _attach(client, created.id, lead.attachments, fresh=fresh)
    return _result(created, job_id, existed=False, unsupported=unsupported)


def _create(
    client: SmartRecruitersClient, job_id: str, body: dict[str, Any], unsupported: list[str]
) -> Any | None:
    """POST the candidate; fields beyond the notes' example that the API names in a 400/422
    are dropped (and reported unsupported) and the create sent once more."""
    try:
        return client.create_candidate(job_id, body)
    except AtsError as exc:
        if exc.status_code not in (400, 422):
            raise
        message = str(exc)
        refused = [f for f in DROPPABLE_CREATE_FIELDS if f in body and f in message]
        if not refused:
            raise
    for field in refused:
        del body[field]
        unsupported.append(field)
    return client.create_candidate(job_id, body)


def _created(answer: Any) -> mapping.SrCandidate | None:
    """The candidate a create answered with, or None when the answer does not say who."""
    if answer is None:
        return None
    try:
        return mapping.structure_candidate(answer)
    except PayloadError:
        # The person exists now: a malformed answer must not fail the push (its retry
        # would find them anyway); the look-up says who they are.
        return None


def _find(client: SmartRecruitersClient, email: str, job_id: str) -> mapping.SrCandidate | None:
    """The person with exactly this email, preferring one already on the job."""
    rows = client.search_candidates(email)
    # Full-text hits on other people are dropped before structuring: a malformed stranger's
    # record must not block this push.
    wanted = email.casefold()
    rows = [r for r in rows if isinstance(r, dict) and _raw_email(r) == wanted]
    people = [mapping.structure_candidate(row, i) for i, row in enumerate(rows)]
    matches = [p for p in people if mapping.same_email(p, email)]
    on_job = [p for p in matches if p.assignment_for(job_id) is not None]
    return next(iter(on_job or matches), None)


def _raw_email(row: dict) -> str | None:
    value = row.get("email")
    return value.strip().casefold() if isinstance(value, str) else None


def _attach(
    client: SmartRecruitersClient,
    candidate_id: str,
    attachments: tuple[Attachment, ...],
    *,
    fresh: bool,
) -> None:
    """Upload the lead's files (the first is the resume), skipping any already there."""
    if not attachments:
        return
    present: set[str] = set()
    if not fresh:
        listing = client.attachments(candidate_id)
        present = (mapping.attachment_names(listing) if listing is not None else None) or set()
    for index, attachment in enumerate(attachments):
        if attachment.filename in present:
            continue
        kind = RESUME_ATTACHMENT_TYPE if index == 0 else FALLBACK_ATTACHMENT_TYPE
        client.upload(candidate_id, attachment, kind)
        present.add(attachment.filename)


def _result(
    person: mapping.SrCandidate, job_id: str, *, existed: bool, unsupported: list[str]
) -> PushResult:
    assignment = person.assignment_for(job_id)
    status, stage = CandidateStatus.NEW, "NEW"
    if assignment is not None:
        record = f"SmartRecruiters candidate {person.id}"
        status = mapping.candidate_status(record, assignment)
        stage = assignment.subStatus or assignment.status
    return PushResult(
        candidate_id=person.id,
        application_id=mapping.application_id(person.id, job_id),
        already_existed=existed,
        unsupported=tuple(unsupported),
        status=status,
        stage=stage,
    )


@hookimpl
def atsbridge_webhook_receive(request: WebhookRequest) -> WebhookDelivery:
    """Answer the activation handshake (``X-Hook-Secret`` echoed, 200) or verify a delivery
    (``smartrecruiters-signature`` v1 over timestamp, body and event headers, fresh within
    5 minutes) and map its event.

    Returns: a ``WebhookDelivery`` keyed on ``event-id``, answered 202.
    Raises: ``WebhookRefused`` (no key set, missing/bad/stale signature), ``PayloadError``
    naming the missing header or body field. Called by: the core's ``/hooks`` receiver.
    Threads: any; pure.
    """
    return webhooks.receive(request)


@hookimpl
def atsbridge_webhook_subscribe(
    session: SmartRecruitersSession, callback_url: str
) -> WebhookSubscription:
    """Create (or reuse), activate and key a subscription for ``callback_url`` through
    ``/webhooks-api/v201907/subscriptions``.

    Returns: the signing key, the subscription id and its events. Raises: ``AtsError`` when
    the activation handshake was not answered (the receiver must be up), ``AuthError``,
    ``AtsUnavailable``. Called by: ``atsbridge webhooks setup``. Threads: the caller's.
    """
    return webhooks.subscribe(session.client, callback_url)


@hookimpl
def atsbridge_read_candidate(
    session: SmartRecruitersSession, candidate_ats_id: str
) -> tuple[Candidate, ...]:
    """The person's assignments from ``GET /candidates/{id}`` (the state a candidate or
    application event's ``Link`` names): one request, ``()`` on 404.

    Raises: as the other reads. Called by: the core's webhook processor.
    Threads: one call at a time per session.
    """
    return webhooks.read_candidate(session.client, candidate_ats_id)
