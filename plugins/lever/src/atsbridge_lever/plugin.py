"""The Lever plugin's hook implementations (see ``atsbridge.hookspecs``)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from atsbridge.errors import AuthError, BadInput
from atsbridge.hookspecs import hookimpl
from atsbridge.model import (
    Candidate,
    CandidateQuery,
    Capability,
    Job,
    JobQuery,
    JobState,
    JobStatus,
    Lead,
    Page,
    PluginInfo,
    PushResult,
    SandboxOptions,
    SessionContext,
    WebhookDelivery,
    WebhookRequest,
)
from atsbridge_sdk.clock import SYSTEM_CLOCK, Clock
from atsbridge_sdk.http import RetryPolicy

from atsbridge_lever import __version__, mapping, unconfirmed, webhooks
from atsbridge_lever.client import MAX_PAGE, LeverClient, LeverConfig

NAME = "lever"
API_VERSION = "v1"
CAPABILITIES = frozenset(
    {
        Capability.JOBS,
        Capability.CANDIDATES,
        Capability.JOB_STATUS,
        Capability.LEAD_PUSH,
        Capability.RESUME,
        Capability.LINKEDIN,
        Capability.PHONE,
        Capability.TAGS,
        Capability.ACCOUNT_CANDIDATES,
        # Candidate events only: Lever sends no posting events, job closes stay polled.
        Capability.WEBHOOKS,
        # Not EDUCATION/EXPERIENCE: Lever has no structured fields; they go into a note.
    }
)
ALL_STATES = frozenset(mapping.POSTING_STATES)
# Candidate cursors say which of the two pipeline queries a page belongs to, or that it is
# the account-wide listing.
LIVE, ARCHIVED, ACCOUNT = "live", "archived", "account"


def _resource(name: str) -> str:
    return resources.files("atsbridge_lever").joinpath(name).read_text(encoding="utf-8")


class LeverSession:
    """What ``atsbridge_open_session`` hands back: the client plus the config it came from."""

    def __init__(self, client: LeverClient):
        self.client = client

    def __repr__(self) -> str:
        return f"<LeverSession {self.client.config.base_url}>"

    def close(self) -> None:
        self.client.close()


def open_session(
    config: dict,
    context: SessionContext | None = None,
    *,
    retry: RetryPolicy = RetryPolicy(),
    clock: Clock = SYSTEM_CLOCK,
) -> LeverSession:
    """Build a session and prove the credentials (the hook, plus test-only knobs)."""
    context = context or SessionContext()
    cfg = LeverConfig.from_dict(config)
    save = context.save_secrets

    def on_rotate(refresh_token: str) -> None:
        # Lever rotates refresh tokens: the old one is dead once a new one is issued, so it
        # must reach the stored config before anything else can fail.
        if callable(save):
            save({"refresh_token": refresh_token})

    client = LeverClient(
        cfg,
        on_rotate=on_rotate,
        on_event=context.on_event,
        rate_limit=context.rate_limit,
        retry=retry,
        clock=clock,
    )
    try:
        client.probe()
    except AuthError as exc:
        client.close()
        raise AuthError(_auth_hint(cfg, exc), status_code=exc.status_code) from None
    except BaseException:
        client.close()
        raise
    return LeverSession(client)


def _auth_hint(cfg: LeverConfig, exc: AuthError) -> str:
    if cfg.auth_method == "oauth2":
        if exc.status_code == 403 and "token endpoint" not in str(exc):
            return (
                "Lever accepted the OAuth2 token but refused to list postings: the app needs "
                f"the postings:read:admin scope ({exc})"
            )
        return (
            "Lever refused the OAuth2 credentials: check config.client_id and "
            "config.client_secret, and that config.refresh_token is the latest one (Lever "
            f"rotates it on every refresh, so an older copy no longer works) ({exc})"
        )
    if exc.status_code == 403:
        return (
            "Lever accepted the API key but refused to list postings: grant the key the "
            f"postings read permission in Settings > Integrations and API ({exc})"
        )
    return (
        "Lever rejected the API key: check config.api_key is a current key from Settings > "
        f"Integrations and API > API Credentials, and config.base_url ({exc})"
    )


def _page_size(size: int) -> int:
    return max(1, min(MAX_PAGE, int(size)))


# --- describe --------------------------------------------------------------------------


@hookimpl
def atsbridge_plugin_info() -> PluginInfo:
    return PluginInfo(
        name=NAME,
        version=__version__,
        display_name="Lever",
        capabilities=CAPABILITIES,
        config_schema=json.loads(_resource("config.schema.json")),
        setup_instructions=_resource("setup.md"),
        webhook_setup=_resource("webhook_setup.md"),
        api_version=API_VERSION,
        requires_core=">=0.1,<0.2",
        rate_limit=unconfirmed.RATE_LIMIT,
    )


@hookimpl
def atsbridge_sandbox(options: SandboxOptions) -> Any:
    from atsbridge_lever.sandbox import LeverSandbox

    return LeverSandbox(options)


# --- ATS ---------------------------------------------------------------------------------


@hookimpl
def atsbridge_open_session(config: dict, context: SessionContext) -> LeverSession:
    return open_session(config, context)


@hookimpl
def atsbridge_search_jobs(session: LeverSession, query: JobQuery) -> Page[Job]:
    states = mapping.posting_states_for(query.statuses)
    if states == []:  # only statuses Lever cannot have (on hold): nothing can match
        return Page(())
    params: dict[str, Any] = {"limit": _page_size(query.page_size)}
    if states is not None and set(states) != ALL_STATES:
        params["state"] = states
    if query.updated_since is not None:
        params["updated_at_start"] = mapping.datetime_to_ms(query.updated_since)
    # Lever's postings list has no text filter: the core filters text locally.
    items, next_token = session.client.postings(params, query.cursor)
    return Page([mapping.posting_to_job(p, i) for i, p in enumerate(items)], next_token)


def _candidate_cursor(cursor: str | None) -> tuple[str, str | None]:
    if cursor is None:
        return LIVE, None
    phase, sep, token = cursor.partition(":")
    if not sep or phase not in (LIVE, ARCHIVED):
        raise BadInput(f"cursor {cursor!r} is not a Lever candidate cursor")
    return phase, token or None


def _account_candidates(session: LeverSession, query: CandidateQuery) -> Page[Candidate]:
    """Every opportunity of the account (archived ones included), grouped by posting.

    No posting filter: Lever's ``GET /opportunities`` then lists every opportunity, live
    and archived, and ``expand=applications`` names each one's posting (notes §5).
    """
    token: str | None = None
    if query.cursor is not None:
        phase, sep, token = query.cursor.partition(":")
        if phase != ACCOUNT or not sep or not token:
            raise BadInput(f"cursor {query.cursor!r} is not a Lever account-wide cursor")
    params: dict[str, Any] = {
        "limit": _page_size(query.page_size),
        "expand": ["applications", "stage"],
    }
    if query.updated_since is not None:
        params["updated_at_start"] = mapping.datetime_to_ms(query.updated_since)
    items, next_token = session.client.opportunities(params, token)
    stages, reasons = session.client.names_for(items)
    out = mapping.account_candidates(items, stages, reasons)
    return Page(out, f"{ACCOUNT}:{next_token}" if next_token else None)


@hookimpl
def atsbridge_list_candidates(session: LeverSession, query: CandidateQuery) -> Page[Candidate]:
    if query.job_ats_id is None:
        return _account_candidates(session, query)
    # Lever lists a posting's live opportunities under posting_id and the archived ones
    # (rejected, hired) only under archived_posting_id: the pipeline is both, in turn.
    phase, token = _candidate_cursor(query.cursor)
    key = "posting_id" if phase == LIVE else "archived_posting_id"
    params: dict[str, Any] = {
        key: query.one_job(),
        "limit": _page_size(query.page_size),
        "expand": "stage",
    }
    if query.updated_since is not None:
        params["updated_at_start"] = mapping.datetime_to_ms(query.updated_since)
    items, next_token = session.client.opportunities(params, token)
    if next_token:
        next_cursor: str | None = f"{phase}:{next_token}"
    else:
        next_cursor = f"{ARCHIVED}:" if phase == LIVE else None
    stages, reasons = session.client.names_for(items)
    seen: set[str] = set()
    out = []
    for cand in mapping.opportunities_to_candidates(items, query.one_job(), stages, reasons):
        if cand.application_id not in seen:
            seen.add(cand.application_id)  # type: ignore[arg-type]
            out.append(cand)
    return Page(out, next_cursor)


@hookimpl
def atsbridge_job_statuses(session: LeverSession, job_ids: list[str]) -> list[JobState]:
    # Lever has no "postings by ids" filter; one GET per posting, each paced by the client,
    # and a scan of the postings list for any id those reads do not settle.
    postings = session.client.postings_by_id(job_ids)
    out = []
    for job_id in job_ids:
        posting = postings.get(job_id)
        if posting is None:
            out.append(JobState(job_id, JobStatus.CLOSED, "not_found", exists=False))
            continue
        job = mapping.posting_to_job(posting)
        out.append(JobState(job_id, job.status, job.status_raw))
    return out


@hookimpl
def atsbridge_push_lead(
    session: LeverSession, job_id: str, lead: Lead, idempotency_key: str
) -> PushResult:
    client = session.client
    for attachment in lead.attachments:
        if len(attachment.content) > unconfirmed.MAX_FILE_BYTES:
            raise BadInput(
                f"attachment {attachment.filename!r} is {len(attachment.content)} bytes; "
                f"Lever takes files up to {unconfirmed.MAX_FILE_BYTES // (1024 * 1024)} MB"
            )
    client.require_perform_as()  # fail on a missing perform_as before touching anything
    existing = client.opportunities_on_posting(lead.emails, job_id)
    if existing:
        opportunity = existing[0]
        # Finish what a lost response interrupted (note, resume), but only on an
        # opportunity we created: never annotate one a recruiter made.
        ours = bool(lead.source) and lead.source in (opportunity.get("sources") or [])
    else:
        # Lever files the new opportunity under the existing contact when an email matches,
        # so a person already known from another posting is not duplicated.
        opportunity = client.create_opportunity(mapping.lead_to_opportunity(lead, job_id))
        ours = True
    opp_id = mapping.req_str(opportunity, "id", "created opportunity")
    unsupported: list[str] = []
    if ours:
        unsupported = _complete(client, opp_id, lead, idempotency_key, fresh=not existing)
    stages, reasons = client.names_for([opportunity])
    cand = mapping.opportunity_to_candidate(opportunity, job_id, stages, reasons)
    return PushResult(
        candidate_id=cand.ats_id,
        application_id=cand.application_id,
        already_existed=bool(existing),
        unsupported=tuple(unsupported),
        status=cand.status,
        stage=cand.stage,
    )


def _complete(
    client: LeverClient, opp_id: str, lead: Lead, idempotency_key: str, *, fresh: bool
) -> list[str]:
    """Add the note and files an opportunity should have, skipping those already there.

    On a replay whose notes or files cannot be listed (``UNLISTED_READ_REFUSALS``), what
    may already be there is not added again; the lead fields it carries are returned as
    unsupported instead.
    """
    unsupported: list[str] = []
    note = mapping.lead_note(lead, idempotency_key)
    if note is not None:
        texts = [] if fresh else client.note_texts(opp_id)
        if texts is None:
            unsupported += [f for f in ("educations", "experiences") if getattr(lead, f)]
        elif not any(mapping.push_marker(idempotency_key) in text for text in texts):
            client.add_note(opp_id, note)
    if lead.attachments:
        present = set() if fresh else client.file_names(opp_id)
        if present is None:
            unsupported.append("attachments")
        else:
            for attachment in lead.attachments:
                if attachment.filename not in present:
                    client.upload_file(opp_id, attachment)
    return unsupported


@hookimpl
def atsbridge_webhook_receive(request: WebhookRequest) -> WebhookDelivery:
    """Verify a Lever delivery (``signature`` = HMAC-SHA256(signature token, token +
    triggeredAt), under any of the connection's tokens; triggeredAt at most an hour old)
    and turn it into a ``candidate`` event for the contact it names.

    Returns: a ``WebhookDelivery`` keyed on the event's ``token``. Raises: ``WebhookRefused``
    (no token set, missing/bad signature, stale), ``PayloadError`` naming the field.
    Called by: the core's ``/hooks`` receiver. Threads: any; pure.
    """
    return webhooks.receive(request)


@hookimpl
def atsbridge_read_candidate(session: LeverSession, candidate_ats_id: str) -> tuple[Candidate, ...]:
    """The contact's opportunities re-read (the webhook body is not signed): one
    ``GET /opportunities?contact_id=``; one ``Candidate`` per posting, ``()`` when none.

    Raises: as the other reads. Called by: the core's webhook processor.
    Threads: one call at a time per session.
    """
    return webhooks.read_candidate(session.client, candidate_ats_id)
