"""Request and response bodies of the /v1 API (pydantic models, hence the OpenAPI schemas).

Responses allow extra properties: a service may add a field before this module names it,
and a client must ignore what it does not know. Requests forbid them, so a typo is an
``input.invalid`` naming the field instead of being silently ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "CheckRequest",
    "CheckResponse",
    "ConnectRequest",
    "Connection",
    "EntryPage",
    "Event",
    "EventPage",
    "FormulaCell",
    "Funnel",
    "ImportReport",
    "ImportResult",
    "Job",
    "JobPage",
    "Lead",
    "LeadPage",
    "LinkPage",
    "LinkRequest",
    "Plugin",
    "PluginDetail",
    "Problem",
    "PushResponse",
    "Run",
    "RunPage",
    "SyncRequest",
    "SyncStarted",
    "Text",
    "Webhook",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookHealth",
    "WebhookPage",
    "WebhookUpdate",
    "check_text",
]


def check_text(value: str) -> str:
    """Refuse what no store keeps as text (NUL, lone surrogates, other C0 controls)."""
    for ch in value:
        if ch == "\x00" or "\ud800" <= ch <= "\udfff" or (ch < " " and ch not in "\t\n\r"):
            raise ValueError("contains a control character or an unpaired surrogate")
    return value


Text = Annotated[str, AfterValidator(check_text)]


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldError(_Out):
    field: str = Field(description="Dotted path of the offending input, e.g. body.config.api_key")
    message: str


class Problem(_Out):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable code, e.g. input.invalid")
    request_id: str = Field(description="Also in the X-Request-ID header and the server log")
    errors: list[FieldError] | None = None


# --- plugins -------------------------------------------------------------------------------


class Plugin(_Out):
    name: str
    display_name: str | None
    version: str | None
    api_version: str | None
    capabilities: list[str]
    status: str = Field(description="ok | failed")
    reason: str | None


class RateLimit(_Out):
    requests_per_second: float
    burst: int
    max_concurrency: int


class PluginDetail(_Out):
    name: str
    display_name: str
    version: str
    api_version: str
    capabilities: list[str]
    requires_core: str
    config_schema: dict[str, Any] = Field(description="JSON Schema (2020-12) of the config")
    setup_instructions: str = Field(description="Markdown for the customer's ATS admin")
    rate_limit: RateLimit


class PluginPage(_Out):
    items: list[Plugin]


# --- connections ---------------------------------------------------------------------------


class ConnectRequest(_In):
    config: dict[str, Any] = Field(
        description="The plugin's config (see its config_schema). Secrets are sent in clear "
        "over TLS and stored encrypted; $env/$file references are refused here."
    )
    test: bool = Field(True, description="Authenticate against the ATS before storing")


class Connection(_Out):
    tenant: str
    ats: str
    config: dict[str, Any] = Field(description="Secret fields masked")
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    last_checked_at: datetime | None
    last_check_error: str | None


class ConnectionPage(_Out):
    items: list[Connection]
    next_cursor: str | None


class SyncRequest(_In):
    kinds: list[Annotated[Text, Field(max_length=32)]] | None = Field(
        None, max_length=10, description="Sync kinds (jobs, links, candidates, statuses, leads)"
    )
    full: bool = False


class Run(_Out):
    id: int
    tenant: str
    ats: str
    kind: str
    scope: str
    status: str = Field(description="running | succeeded | failed | interrupted")
    started_at: datetime
    ended_at: datetime | None
    pages: int
    counts: dict[str, int]
    errors: list[str]
    progress: dict[str, Any]


class SyncStarted(_Out):
    finished: bool = Field(description="True when the sync ended before this answer")
    runs: list[Run] = Field(description="The runs begun so far; poll them for progress")
    error: Problem | None = None


class RunPage(_Out):
    items: list[Run]
    next_cursor: str | None


# --- jobs and links ------------------------------------------------------------------------


class Job(_Out):
    ats: str
    ats_id: str
    title: str
    status: str
    status_raw: str
    reference: str | None
    location: str | None
    locations: list[dict[str, Any]]
    department: str | None
    employment_type: str | None
    url: str | None
    created_at: datetime | None
    updated_at: datetime | None
    match: str | None = Field(description="Which rule matched the query (None without one)")
    linked_to: str | None = Field(description="The product job it is imported as, if any")


class JobPage(_Out):
    items: list[Job]
    next_cursor: str | None


class LinkRequest(_In):
    ats: Annotated[Text, Field(min_length=1, max_length=64)]
    ats_job_id: Annotated[Text, Field(min_length=1, max_length=255)]


class ImportResult(_Out):
    tenant: str
    ats: str
    ats_job_id: str
    product_job_id: str
    state: str
    prefilled: dict[str, Any] = Field(description="The product job's fields, from the ATS job")
    missing: list[str] = Field(description="Fields the ATS job did not fill")
    created: bool = Field(description="False when the same link already existed")


class Link(_Out):
    product_job_id: str
    ats: str
    ats_job_id: str
    state: str
    status_raw: str
    title: str
    current_title: str | None
    in_mirror: bool
    mirror_synced_at: datetime | None
    closed_at: datetime | None
    imported_at: datetime
    updated_at: datetime
    snapshot: dict[str, Any]


class LinkPage(_Out):
    items: list[Link]
    next_cursor: str | None


# --- do-not-source -------------------------------------------------------------------------


class Entry(_Out):
    id: int
    source: str
    name: str | None
    emails: list[str]
    linkedin: str | None
    phones: list[str]
    company: str | None
    city: str | None
    added_at: datetime
    updated_at: datetime
    ats_candidate_id: str | None


class EntryPage(_Out):
    items: list[Entry]
    total: int
    next_cursor: str | None


_Short = Annotated[Text, Field(max_length=1000)]


class PersonIn(_In):
    emails: list[_Short] = Field(default_factory=list, max_length=20)
    linkedin: _Short | None = None
    phones: list[_Short] = Field(default_factory=list, max_length=20)
    name: _Short | None = None
    company: _Short | None = None
    city: _Short | None = None


class CheckRequest(_In):
    people: list[PersonIn] = Field(min_length=1, max_length=1000)
    default_country: Annotated[Text, Field(min_length=2, max_length=2)] | None = None


class Match(_Out):
    rule: str
    value: str
    entry_id: int
    source: str
    name: str | None
    added_at: datetime
    ats_candidate_id: str | None


class CheckResult(_Out):
    excluded: bool
    rule: str | None = Field(description="The strongest rule that matched")
    matches: list[Match]
    problems: list[str] = Field(description="Input values that could not be read")


class CheckResponse(_Out):
    results: list[CheckResult] = Field(description="One per person, in order")


class RowProblem(_Out):
    row: int
    reason: str


class RowWarning(_Out):
    row: int
    column: str | None
    reason: str


class FormulaCell(_Out):
    row: int
    column: str


class ImportReport(_Out):
    import_id: int | None = Field(description="The recorded import (None for a dry run)")
    dry_run: bool
    added: int
    updated: int
    unchanged: int
    duplicates_in_file: int
    skipped: int
    problems: list[RowProblem] = Field(description="Rows skipped: nothing usable left")
    warnings: list[RowWarning] = Field(description="Fields dropped from rows that were kept")
    columns: dict[str, str]
    ignored_columns: list[str]
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    formula_cells: list[FormulaCell] = Field(
        default_factory=list,
        description="Stored values that start like a spreadsheet formula (=, +, -, @): "
        "a spreadsheet opening an export of them would run them",
    )


class ImportRecord(_Out):
    id: int
    file_name: str
    imported_at: datetime
    added: int
    updated: int
    unchanged: int
    skipped: int
    warnings: int
    entries: int = Field(description="Entries this import lists now")


class ImportList(_Out):
    items: list[ImportRecord]


class RemoveReport(_Out):
    removed: int
    kept: int = Field(description="Entries kept because another import lists them too")


# --- leads ---------------------------------------------------------------------------------


class Lead(_Out):
    product_job_id: str
    lead_id: str
    name: str
    email: str | None
    ats: str | None
    ats_job_id: str | None
    state: str = Field(description="pending | exporting | exported | failed | dead | skipped")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    reason: str | None
    candidate_id: str | None
    application_id: str | None
    already_existed: bool
    unsupported: list[str]
    status: str | None
    stage: str | None
    status_raw: str | None
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    exported_at: datetime | None


class PushResponse(Lead):
    already_queued: bool
    deferred: str | None = Field(description="Why the immediate export did not happen")


class LeadPage(_Out):
    items: list[Lead]
    next_cursor: str | None


class Funnel(_Out):
    product_job_id: str
    statuses: dict[str, int]
    states: dict[str, int]


# --- events and webhooks -------------------------------------------------------------------


class Event(_Out):
    id: str
    type: str
    tenant: str
    created_at: datetime
    data: dict[str, Any]


class EventPage(_Out):
    items: list[Event]
    next_cursor: str | None = Field(description="Pass as after= to read on; None: no more now")


class WebhookCreate(_In):
    url: Annotated[Text, Field(min_length=1, max_length=2000)]
    tenant: Annotated[Text, Field(min_length=1, max_length=100)] | None = Field(
        None, description="Deliver this tenant's events; omitted = every tenant (admin key)"
    )
    event_types: list[Annotated[Text, Field(max_length=64)]] | None = Field(
        None, max_length=50, description="Only these types; omitted = all"
    )
    description: Annotated[Text, Field(max_length=500)] = ""


class WebhookUpdate(_In):
    url: Annotated[Text, Field(min_length=1, max_length=2000)] | None = None
    event_types: list[Annotated[Text, Field(max_length=64)]] | None = Field(None, max_length=50)
    enabled: bool | None = None
    description: Annotated[Text, Field(max_length=500)] | None = None


class Webhook(_Out):
    id: str
    tenant: str | None
    url: str
    event_types: list[str] | None
    enabled: bool
    description: str
    created_at: datetime
    updated_at: datetime


class WebhookCreated(Webhook):
    secret: str = Field(description="Signing secret (whsec_...), shown only in this answer")


class WebhookPage(_Out):
    items: list[Webhook]


class WebhookHealth(_Out):
    last_success_at: datetime | None
    last_failure_at: datetime | None
    consecutive_failures: int
    backlog: int
    last_error: str | None


class PingResult(_Out):
    event_id: str


class ReplayRequest(_In):
    after: Annotated[Text, Field(max_length=200)] | None = Field(
        None, description="Re-send events after this cursor (None: from the start)"
    )


class ReplayResult(_Out):
    queued: int
