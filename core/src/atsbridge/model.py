"""The data that crosses the plugin contract.

Every class here is a frozen attrs class: plugins build them from ATS payloads, the core
stores and serves them. Unified enums sit beside the ATS's own raw value (``status_raw``,
``stage``) so nothing the ATS said is lost in translation.
"""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs

T = TypeVar("T")


class JobStatus(str, enum.Enum):  # noqa: UP042 (str() stays the member name)
    """Unified job status. ``closed`` covers filled, cancelled, archived and deleted jobs."""

    OPEN = "open"
    CLOSED = "closed"
    DRAFT = "draft"
    ON_HOLD = "on_hold"


class CandidateStatus(str, enum.Enum):  # noqa: UP042 (str() stays the member name)
    """Unified status of a person in one job's pipeline (the funnel's columns)."""

    NEW = "new"
    IN_REVIEW = "in_review"
    INTERVIEWING = "interviewing"
    OFFERED = "offered"
    HIRED = "hired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Capability(str, enum.Enum):  # noqa: UP042 (str() stays the member name)
    """What a plugin can do; lead-field capabilities say what the ATS accepts on push."""

    JOBS = "jobs"
    CANDIDATES = "candidates"
    JOB_STATUS = "job_status"
    LEAD_PUSH = "lead_push"
    RESUME = "resume"
    EDUCATION = "education"
    EXPERIENCE = "experience"
    LINKEDIN = "linkedin"
    PHONE = "phone"
    TAGS = "tags"
    # The plugin answers a ``CandidateQuery`` that names no job: one listing of every
    # application in the account (changed since ``updated_since``), each with its job.
    ACCOUNT_CANDIDATES = "account_candidates"
    # The plugin verifies and parses the ATS's pushed deliveries (``atsbridge_webhook_receive``),
    # so a connection can get a ``/hooks`` receiver and poll less while deliveries arrive.
    WEBHOOKS = "webhooks"


def _tuple(value: object) -> tuple:  # converter: accept any iterable, store immutably
    return tuple(value) if value is not None else ()  # type: ignore[arg-type, call-overload]


def _capabilities(value: Iterable[Capability]) -> frozenset[Capability]:
    return frozenset(value)


@attrs.frozen
class RateLimit:
    """An ATS's published limits, which the SDK client paces itself to."""

    requests_per_second: float = 10.0
    burst: int = 10
    max_concurrency: int = 4


@attrs.frozen
class PluginInfo:
    """What a host needs to know about a plugin before using it."""

    name: str
    version: str
    display_name: str
    capabilities: frozenset[Capability] = attrs.field(converter=_capabilities)
    config_schema: dict
    setup_instructions: str
    api_version: str = ""
    requires_core: str = ">=0.1"
    rate_limit: RateLimit = RateLimit()
    # Markdown for the customer's ATS admin: where to register the receiver URL, which
    # events to tick, where the secret goes. Shown by ``atsbridge webhooks setup``; empty for
    # a plugin without ``Capability.WEBHOOKS`` or one that subscribes itself.
    webhook_setup: str = ""


@attrs.frozen
class Location:
    """A job or person's place. ``raw`` keeps the ATS's own text when it was free text."""

    city: str | None = None
    region: str | None = None
    country_code: str | None = None
    raw: str | None = None

    def words(self) -> str:
        return " ".join(p for p in (self.city, self.region, self.country_code, self.raw) if p)


@attrs.frozen
class Job:
    """One ATS job (requisition, posting) as the ATS describes it."""

    ats_id: str
    title: str
    status: JobStatus
    status_raw: str
    reference: str | None = None
    locations: tuple[Location, ...] = attrs.field(default=(), converter=_tuple)
    department: str | None = None
    employment_type: str | None = None
    description: str | None = None
    url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen
class JobQuery:
    """Ask for one page of jobs. ``cursor`` is the plugin's own token from the previous page."""

    text: str | None = None
    updated_since: datetime | None = None
    statuses: frozenset[JobStatus] | None = None
    cursor: str | None = None
    page_size: int = 100
    # The core's stored copy of jobs, offered on incremental syncs to plugins that spend extra
    # requests per job (descriptions, offices): ``mirrored(ats_ids)`` returns ``{ats_id: Job}``
    # for those the mirror holds. A plugin may reuse a copy's fields instead of fetching them
    # again when the ATS reports the job unchanged (same ``updated_at``). None: no copy is
    # offered (first and ``--full`` passes, ad-hoc searches), so fetch everything.
    mirrored: Callable[[Sequence[str]], Mapping[str, Job]] | None = attrs.field(
        default=None, eq=False, repr=False
    )


# A candidate crosses a process boundary (pipe to the storing worker) hundreds of thousands
# of times per pipeline sync, so it pickles compactly: as a call of the class with its field
# values in order, instead of attrs' slots state (a dict per object, rebuilt attribute by
# attribute). The converters run again on unpickling, which is safe: they return an
# already-converted value unchanged (``tuple(t) is t`` for a tuple).
@attrs.frozen(getstate_setstate=False)
class Candidate:
    """A person in one job's pipeline, with where they stand in it."""

    ats_id: str
    job_ats_id: str
    status: CandidateStatus
    stage: str | None = None
    status_raw: str | None = None
    application_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    emails: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    phones: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    linkedin_url: str | None = None
    company: str | None = None
    city: str | None = None
    updated_at: datetime | None = None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def __reduce_ex__(self, protocol: Any) -> tuple[type[Candidate], tuple[Any, ...]]:
        return Candidate, _candidate_values(self)


# Every field, in ``__init__``'s positional order (all are init, none keyword-only).
_candidate_values = operator.attrgetter(*(a.name for a in attrs.fields(Candidate)))


@attrs.frozen
class CandidateQuery:
    """Ask for one page of one job's pipeline, or of the whole account's.

    ``job_ats_id=None`` asks for every application in the account, each ``Candidate``
    carrying its own ``job_ats_id``; only plugins that declare
    ``Capability.ACCOUNT_CANDIDATES`` are asked that.
    """

    job_ats_id: str | None
    updated_since: datetime | None = None
    cursor: str | None = None
    page_size: int = 100

    def one_job(self) -> str:
        """The job asked for, for a plugin that lists job by job only.

        Raises ``ValueError`` for an account-wide query: the core asks those only of plugins
        declaring ``Capability.ACCOUNT_CANDIDATES``, so reaching this is a core bug.
        """
        if self.job_ats_id is None:
            raise ValueError("this plugin lists candidates job by job; the query names no job")
        return self.job_ats_id


@attrs.frozen
class Page(Generic[T]):
    """One page of results. ``next_cursor`` is None on the last page.

    ``total`` is how many items the whole listing holds when the ATS says so (a
    ``totalFound``), for progress; None when it does not.
    """

    items: tuple[T, ...] = attrs.field(converter=_tuple)
    next_cursor: str | None = None
    total: int | None = None


@attrs.frozen
class JobState:
    """A job's status now, as the job status hook reports it."""

    ats_id: str
    status: JobStatus
    status_raw: str
    exists: bool = True


@attrs.frozen
class Education:
    school: str
    degree: str | None = None
    field: str | None = None
    start: str | None = None
    end: str | None = None


@attrs.frozen
class Experience:
    company: str
    title: str | None = None
    start: str | None = None
    end: str | None = None
    current: bool = False
    description: str | None = None


# Characters never sent in a file name: controls (NUL, CR/LF: header injection in a
# multipart part), the Unicode line separators, and bidirectional overrides (an
# "exe.pdf" that reads as "fdp.exe").
_UNSAFE_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe_filename(name: str) -> str:
    """``name`` as it may be sent to an ATS: its last path part only (no ``../``), no
    control or direction characters, no leading dots, at most 255 characters with its
    extension kept; "resume" when nothing is left."""
    base = re.split(r"[/\\]", str(name))[-1]
    base = _UNSAFE_NAME.sub("", base).strip().lstrip(".").strip()
    stem, dot, ext = base.rpartition(".")
    if not stem:  # no extension (or only one)
        stem, dot, ext = base, "", ""
    if len(ext) > 16:
        stem, dot, ext = base, "", ""
    stem = stem[: 255 - len(dot) - len(ext)].rstrip(". ")
    return f"{stem or 'resume'}{dot}{ext}"


@attrs.frozen
class Attachment:
    # Sanitised here, so that every way a lead is made (CLI, API, a stored lead) sends
    # the same safe name.
    filename: str = attrs.field(converter=safe_filename)
    content_type: str
    content: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")


@attrs.frozen
class Lead:
    """The product's lead, as published in the lead document's JSON Schema."""

    id: str
    first_name: str
    last_name: str
    emails: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    phones: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    linkedin_url: str | None = None
    headline: str | None = None
    location: Location | None = None
    educations: tuple[Education, ...] = attrs.field(default=(), converter=_tuple)
    experiences: tuple[Experience, ...] = attrs.field(default=(), converter=_tuple)
    source: str = "atsbridge"
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    attachments: tuple[Attachment, ...] = attrs.field(default=(), converter=_tuple)


@attrs.frozen
class PushResult:
    """What a lead push did in the ATS.

    ``already_existed`` is true when the idempotency key or an existing person (found by
    email) meant nothing new was created. ``unsupported`` names lead fields the ATS could not
    take, so the export result reports them instead of dropping them silently.
    """

    candidate_id: str
    application_id: str | None = None
    already_existed: bool = False
    unsupported: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    status: CandidateStatus = CandidateStatus.NEW
    stage: str | None = None


@attrs.frozen
class SandboxOptions:
    """How to seed a plugin's fake ATS; the same seed always gives the same data."""

    seed: int = 1
    jobs: int = 30
    candidates_per_job: int = 5
    port: int = 0
    rate_limited: bool = True


@attrs.define
class SessionContext:
    """What the host lends a plugin session.

    ``save_secrets`` writes rotated credentials (a new OAuth2 refresh token) back to the
    connection's encrypted config; ``on_event`` receives the SDK client's HTTP events
    (request, response, retry, rate-limit wait) for metrics and progress.
    """

    connection_label: str = ""
    save_secrets: Callable[[dict[str, str]], None] | None = None
    on_event: Callable[[Any], None] | None = None  # receives atsbridge_sdk.http.HttpEvent
    rate_limit: RateLimit | None = None


# Inbound ATS webhooks (``atsbridge_webhook_receive`` & co.).


def _headers(value: Mapping[str, str]) -> Mapping[str, str]:
    # Copied so a caller's later mutation cannot change a frozen request.
    return dict(value)


@attrs.frozen
class WebhookRequest:
    """One HTTP delivery as the ``/hooks`` receiver got it, for the plugin to verify.

    ``headers`` has lower-cased names; ``body`` is the exact raw body (signatures cover
    bytes, not a re-serialisation); ``received_at`` is aware UTC (freshness windows);
    ``secrets`` are the connection's webhook secrets, decrypted, possibly several (Lever has
    one signature token per webhook, SmartRecruiters keeps the old key valid 24 h), ``()``
    when none is set.
    """

    headers: Mapping[str, str] = attrs.field(converter=_headers)
    body: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    received_at: datetime
    secrets: tuple[str, ...] = attrs.field(default=(), converter=_tuple, repr=False)


class WebhookEventKind(str, enum.Enum):  # noqa: UP042 (str() stays the member name)
    """What one pushed event asks the core to re-read."""

    JOB = "job"  # a job was created/updated/deleted: re-read its status
    # A candidate or application changed (new application, stage move, hire, reject,
    # unreject): re-read that person.
    CANDIDATE = "candidate"
    CANDIDATE_DELETED = "candidate_deleted"
    # ``candidate_ats_id`` is the person who disappears, ``merged_into`` the survivor.
    CANDIDATE_MERGED = "candidate_merged"


@attrs.frozen
class WebhookEvent:
    """One change a delivery announces; the core re-reads the ATS instead of trusting it.

    ``candidate_ats_id`` is in the same id space as ``Candidate.ats_id``.
    """

    kind: WebhookEventKind
    job_ats_id: str | None = None
    candidate_ats_id: str | None = None
    application_id: str | None = None
    merged_into: str | None = None


@attrs.frozen
class WebhookDelivery:
    """A verified delivery, parsed: what to store in the inbox and how to answer.

    ``delivery_id`` is the dedupe key, stable across the ATS's retries
    (``Greenhouse-Event-ID``, Lever's token, SmartRecruiters' event id). ``events`` is
    ``()`` for a ping or handshake. ``response_status`` and ``response_headers`` are what
    the receiver answers (SmartRecruiters: 202, and ``X-Hook-Secret`` echoed on activation).
    """

    delivery_id: str
    events: tuple[WebhookEvent, ...] = attrs.field(default=(), converter=_tuple)
    occurred_at: datetime | None = None
    response_status: int = 200
    response_headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)


@attrs.frozen
class WebhookSubscription:
    """What a plugin that subscribes itself through the ATS's API set up.

    ``secret`` verifies later deliveries (stored encrypted, shown once); ``external_id`` is
    the ATS's id of the subscription; ``events`` the event names subscribed to.
    """

    secret: str = attrs.field(repr=False)
    external_id: str
    events: tuple[str, ...] = attrs.field(default=(), converter=_tuple)


# Event payloads for the observer hooks (atsbridge_job_closed & co.).


@attrs.frozen
class JobClosed:
    tenant: str
    ats: str
    ats_job_id: str
    product_job_id: str
    status_raw: str


@attrs.frozen
class JobReopened:
    tenant: str
    ats: str
    ats_job_id: str
    product_job_id: str
    status_raw: str


@attrs.frozen
class LeadExported:
    tenant: str
    ats: str
    product_job_id: str
    lead_id: str
    result: PushResult


@attrs.frozen
class CandidateStatusChanged:
    tenant: str
    ats: str
    product_job_id: str
    lead_id: str
    candidate_id: str
    old_status: CandidateStatus | None
    new_status: CandidateStatus
    stage: str | None


@attrs.frozen(hash=False)
class LoggedEvent:
    """One domain event of the durable log, as the feed and the webhooks carry it.

    ``id`` is the event's stable id (``evt_...``, the deliveries' ``webhook-id``);
    ``type`` one of ``atsbridge.events.types.DOMAIN_TYPES``; ``created_at`` ISO 8601 UTC;
    ``data`` the type's JSON payload (see the README's event list).
    """

    id: str
    type: str
    tenant: str | None
    created_at: str
    data: dict[str, Any]
