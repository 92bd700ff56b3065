"""The database tables.

Every table except ``tenants`` carries ``tenant_id`` (via ``TenantOwned``); the repository
adds ``tenant_id = :tenant`` to every ORM statement on them, so a query cannot see another
tenant's rows by accident. Rows owned by a connection cascade away with it.

Changing a table means a new Alembic revision in ``migrations/versions`` as well: a test
compares these definitions with the migrated schema on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from atsbridge.store.types import JSON, UTCDateTime

# Stable constraint names, so later revisions (and PostgreSQL) can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


def table(model: type[SQLModel]) -> sa.Table:
    """A model's Core table, for the statements services build and cache themselves."""
    return model.__table__  # type: ignore[attr-defined, no-any-return]


def _fk(target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> Any:
    return Field(  # type: ignore[call-overload]
        default=None if nullable else ...,
        foreign_key=target,
        ondelete=ondelete,
        nullable=nullable,
    )


def _time(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_type=JSON, nullable=False)


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=100, unique=True)
    created_at: datetime = _time()


class TenantOwned(SQLModel):
    """Mixin for every tenant-scoped table; the repository filters on it."""

    tenant_id: int = _fk("tenants.id")


class Connection(TenantOwned, table=True):
    """One tenant's link to one ATS. ``config`` holds secret fields as Fernet tokens."""

    __tablename__ = "connections"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "ats"),)

    id: int | None = Field(default=None, primary_key=True)
    ats: str = Field(max_length=64)
    config: dict = _json(dict)
    # Per-connection knobs the services and host read (intervals, default_country, ...).
    settings: dict = _json(dict)
    created_at: datetime = _time()
    updated_at: datetime = _time()
    last_checked_at: datetime | None = _time(nullable=True)
    last_check_error: str | None = Field(default=None)


class Job(TenantOwned, table=True):
    """The local mirror of one ATS job, as the last sync saw it."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "ats_id"),
        sa.Index(None, "tenant_id", "updated_at"),
        sa.Index(None, "tenant_id", "reference"),
        sa.Index(None, "tenant_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = _fk("connections.id")
    ats_id: str = Field(max_length=255)
    title: str
    status: str = Field(max_length=20)
    status_raw: str = Field(default="")
    reference: str | None = Field(default=None, max_length=255)
    locations: list = _json(list)
    city: str | None = None
    region: str | None = None
    country: str | None = Field(default=None, max_length=2)
    department: str | None = None
    employment_type: str | None = None
    description: str | None = None
    url: str | None = None
    created_at: datetime | None = _time(nullable=True)
    updated_at: datetime | None = _time(nullable=True)
    # Denormalised words (title, locations, reference) that the search indexes feed on.
    search_text: str = Field(default="")
    # Reference and ATS id folded to letters and digits, for substring matches.
    search_refs: str = Field(default="")
    synced_at: datetime = _time()


class JobLink(TenantOwned, table=True):
    """A product job imported from an ATS job; one-to-one in each direction per tenant."""

    __tablename__ = "job_links"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "product_job_id"),
        sa.UniqueConstraint("tenant_id", "connection_id", "ats_job_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = _fk("connections.id")
    product_job_id: str = Field(max_length=255)
    ats_job_id: str = Field(max_length=255)
    # What the job looked like at import; ATS edits later update the mirror, never this.
    snapshot: dict = _json(dict)
    state: str = Field(default="open", max_length=20)
    status_raw: str = Field(default="")
    closed_at: datetime | None = _time(nullable=True)
    created_at: datetime = _time()
    updated_at: datetime = _time()


class CntsEntry(TenantOwned, table=True):
    """One person on a product job's do-not-source list, with normalised identifiers."""

    __tablename__ = "cnts_entries"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant_id",
            "product_job_id",
            "source",
            "ats_candidate_id",
            name="uq_cnts_entries_ats_id",
        ),
        sa.Index(None, "tenant_id", "product_job_id", "email_norm"),
        sa.Index(None, "tenant_id", "product_job_id", "linkedin_norm"),
        sa.Index(None, "tenant_id", "product_job_id", "phone_norm"),
        sa.Index(None, "tenant_id", "product_job_id", "name_norm"),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_job_id: str = Field(max_length=255)
    source: str = Field(max_length=10)  # "ats" | "file"
    connection_id: int | None = _fk("connections.id", nullable=True)
    name: str | None = None
    email_norm: str | None = None
    linkedin_norm: str | None = None
    phone_norm: str | None = Field(default=None, max_length=32)
    name_norm: str | None = None
    raw: dict = _json(dict)
    company: str | None = None
    city: str | None = None
    ats_candidate_id: str | None = Field(default=None, max_length=255)
    added_at: datetime = _time()
    updated_at: datetime = _time()


class CntsKey(TenantOwned, table=True):
    """A further email or phone of a do-not-source entry, normalised.

    The entry row holds (and indexes) the first email, the LinkedIn profile and the first
    phone; a person with more emails or phones gets one row here per extra value, so the
    common person costs one row and matching probes both places.
    """

    __tablename__ = "cnts_keys"
    __table_args__ = (
        # Covering index: a batch check is index-only probes returning the entry id.
        sa.Index(None, "tenant_id", "product_job_id", "kind", "value", "entry_id"),
        sa.Index(None, "entry_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = _fk("cnts_entries.id")
    product_job_id: str = Field(max_length=255)
    kind: str = Field(max_length=10)  # "email" | "linkedin" | "phone"
    value: str


class CntsList(TenantOwned, table=True):
    """A do-not-source list created for a product job that has no ATS link
    (``cnts import --create``). A job is known when it is linked or has one of these."""

    __tablename__ = "cnts_lists"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "product_job_id"),)

    id: int | None = Field(default=None, primary_key=True)
    product_job_id: str = Field(max_length=255)
    created_at: datetime = _time()


class CntsImport(TenantOwned, table=True):
    """One file imported into a product job's list, with what it did."""

    __tablename__ = "cnts_imports"
    __table_args__ = (sa.Index(None, "tenant_id", "product_job_id", "imported_at"),)

    id: int | None = Field(default=None, primary_key=True)
    product_job_id: str = Field(max_length=255)
    file_name: str = Field(max_length=255)
    imported_at: datetime = _time()
    added: int = Field(default=0)
    updated: int = Field(default=0)
    unchanged: int = Field(default=0)
    skipped: int = Field(default=0)  # rows left out whole (nothing usable in them)
    warnings: int = Field(default=0)  # values left out of rows that were kept


class CntsImportEntry(TenantOwned, table=True):
    """Which imports list which file entry: an entry goes when its last import is removed."""

    __tablename__ = "cnts_import_entries"
    __table_args__ = (
        sa.UniqueConstraint("import_id", "entry_id"),
        sa.Index(None, "entry_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _fk("cnts_imports.id")
    entry_id: int = _fk("cnts_entries.id")


class LeadRow(TenantOwned, table=True):
    """The outbox: one lead to export, with its state machine and what the ATS answered."""

    __tablename__ = "leads"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "product_job_id", "lead_id"),
        sa.Index(None, "state", "next_attempt_at"),
        sa.Index(None, "tenant_id", "product_job_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_job_id: str = Field(max_length=255)
    lead_id: str = Field(max_length=255)
    idempotency_key: str = Field(max_length=255, unique=True)
    connection_id: int | None = _fk("connections.id", nullable=True, ondelete="SET NULL")
    ats_job_id: str | None = Field(default=None, max_length=255)
    document: dict = _json(dict)
    resume: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    resume_filename: str | None = None
    resume_content_type: str | None = Field(default=None, max_length=255)
    # pending -> exporting -> exported | failed -> dead; skipped (job closed)
    state: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = _time(nullable=True)
    # While "exporting": after this instant another worker may assume the exporter died.
    claimed_until: datetime | None = _time(nullable=True)
    last_error: str | None = None
    ats_candidate_id: str | None = Field(default=None, max_length=255)
    ats_application_id: str | None = Field(default=None, max_length=255)
    already_existed: bool = Field(default=False)
    ats_status: str | None = Field(default=None, max_length=20)
    ats_status_raw: str | None = None
    stage: str | None = None
    unsupported: list = _json(list)
    # Export even when the person is on the job's do-not-source list (--allow-excluded).
    allow_excluded: bool = Field(default=False)
    # When skipped as on that list: the match (rule, value, entry_id, source, name, added_at).
    exclusion: dict = _json(dict)
    created_at: datetime = _time()
    updated_at: datetime = _time()
    exported_at: datetime | None = _time(nullable=True)


class LeadStatusHistory(TenantOwned, table=True):
    __tablename__ = "lead_status_history"
    __table_args__ = (sa.Index(None, "lead_row_id", "observed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_row_id: int = _fk("leads.id")
    status: str = Field(max_length=20)
    stage: str | None = None
    status_raw: str | None = None
    observed_at: datetime = _time()


class SyncRun(TenantOwned, table=True):
    """One run of a sync task; ``progress`` is updated while it runs."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        sa.Index(None, "connection_id", "kind", "started_at"),
        # A run's start looks for live runs of its kind: without the status in an index that
        # read walks the connection's whole run history, which grows by a run per job a sync.
        sa.Index(None, "connection_id", "kind", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = _fk("connections.id")
    kind: str = Field(max_length=32)
    started_at: datetime = _time()
    ended_at: datetime | None = _time(nullable=True)
    status: str = Field(default="running", max_length=20)
    pages: int = Field(default=0)
    counts: dict = _json(dict)
    errors: list = _json(list)
    progress: dict = _json(dict)
    host: str | None = Field(default=None, max_length=255)


class SyncCheckpoint(TenantOwned, table=True):
    """Where a sync stopped: the ATS cursor of the next page and the high-water mark.

    ``scope`` narrows a kind (e.g. the ATS job id for candidate listing); "" when unused, so
    the unique constraint holds on every database.
    """

    __tablename__ = "sync_checkpoints"
    __table_args__ = (sa.UniqueConstraint("connection_id", "kind", "scope"),)

    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = _fk("connections.id")
    kind: str = Field(max_length=32)
    scope: str = Field(default="", max_length=255)
    cursor: str | None = None
    high_water: datetime | None = _time(nullable=True)
    run_id: int | None = _fk("sync_runs.id", nullable=True, ondelete="SET NULL")
    updated_at: datetime = _time()


class TaskLease(TenantOwned, table=True):
    """Which host runs a connection's task until when (several hosts on PostgreSQL)."""

    __tablename__ = "task_leases"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "task"),
        sa.Index(None, "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = _fk("connections.id")
    task: str = Field(max_length=32)
    holder: str | None = Field(default=None, max_length=255)
    expires_at: datetime | None = _time(nullable=True)
    last_run_at: datetime | None = _time(nullable=True)


class AtsHookEndpoint(TenantOwned, table=True):
    """The inbound ATS webhook receiver of one connection: ``POST /hooks/{ats}/{hook_id}``.

    ``hook_id`` is random (192 bits) and unique across tenants: with the ATS's signature it
    is what authenticates a delivery, so the receiver needs no API key. ``secrets`` is the
    sealed list of the connection's webhook secrets (several: Lever has one per webhook,
    SmartRecruiters keeps its old key valid a day). The counters feed ``webhooks status``
    and the polling stretch (``last_verified_at``).
    """

    __tablename__ = "ats_hook_endpoints"
    __table_args__ = (sa.UniqueConstraint("connection_id"),)

    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = _fk("connections.id")
    hook_id: str = Field(max_length=64, unique=True)
    secrets: dict = _json(dict)
    # The ATS's id of a subscription the plugin made itself (atsbridge_webhook_subscribe).
    external_id: str | None = Field(default=None, max_length=255)
    verified: int = Field(default=0)
    refused: int = Field(default=0)
    duplicates: int = Field(default=0)
    last_verified_at: datetime | None = _time(nullable=True)
    last_refused_at: datetime | None = _time(nullable=True)
    last_refusal: str | None = None
    created_at: datetime = _time()
    updated_at: datetime = _time()


class AtsHookInbox(TenantOwned, table=True):
    """One verified ATS delivery, stored before it is acknowledged, processed after.

    ``delivery_id`` (the ATS's event id) is unique per connection: a retried or replayed
    delivery is stored once. ``events`` are the parsed ``WebhookEvent`` fields (the raw
    body is not kept: it may hold personal data the targeted read fetches anyway).
    ``state``: pending -> processing -> done | failed (``next_attempt_at``) -> ... | dead;
    claims use ``store.claims`` (lease ``claimed_until``, ``attempts`` as the token).
    """

    __tablename__ = "ats_hook_inbox"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "delivery_id"),
        sa.Index(None, "state", "next_attempt_at"),
        sa.Index(None, "connection_id", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = _fk("connections.id")
    delivery_id: str = Field(max_length=255)
    events: list = _json(list)
    occurred_at: datetime | None = _time(nullable=True)
    received_at: datetime = _time()
    state: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = _time(nullable=True)
    claimed_until: datetime | None = _time(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=255)
    processed_at: datetime | None = _time(nullable=True)
    # Targeted reads (ATS hook calls) the last processing made: 1-2 per event, not a sync.
    reads: int = Field(default=0)
    last_error: str | None = None


class HostRow(SQLModel, table=True):
    """A running host daemon (``atsbridge host run``) and its last heartbeat.

    Not tenant data: the hosts sharing one database read this table to know who is alive,
    which spreads connections' tasks over them and hands a dead host's work to the others.
    """

    __tablename__ = "hosts"
    __table_args__ = (sa.Index(None, "heartbeat_at"),)

    id: str = Field(primary_key=True, max_length=255)
    # hostname:pid of the process, the same form sync runs record as their ``host``.
    process: str = Field(max_length=255)
    started_at: datetime = _time()
    heartbeat_at: datetime = _time()
    info: dict = _json(dict)


TENANT_TABLES: tuple[type[TenantOwned], ...] = (
    Connection,
    Job,
    JobLink,
    CntsEntry,
    CntsKey,
    CntsList,
    CntsImport,
    CntsImportEntry,
    LeadRow,
    LeadStatusHistory,
    SyncRun,
    SyncCheckpoint,
    TaskLease,
    AtsHookEndpoint,
    AtsHookInbox,
)


class EventRow(SQLModel, table=True):
    """One entry of the durable event log (``atsbridge.events``).

    Written in the transaction of the change it reports, without a log position: ``seq`` is
    given after the commit, in commit order, by the sequencer (``events.log``), so a reader
    paging by ``seq`` never skips an event that a slower transaction commits later. The
    tenant is kept by key, not by foreign key: the log outlives a tenant's last connection.
    """

    __tablename__ = "events"
    __table_args__ = (sa.Index(None, "tenant", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=40, unique=True)
    seq: int | None = Field(default=None, unique=True)
    tenant: str | None = Field(default=None, max_length=100)
    type: str = Field(max_length=64)
    connection_id: int | None = Field(default=None)
    # A test ping goes to this endpoint only (and never into the feed).
    endpoint_id: str | None = Field(default=None, max_length=40)
    data: dict = _json(dict)
    created_at: datetime = _time()


class WebhookEndpointRow(SQLModel, table=True):
    """A product URL that receives signed events; ``tenant`` None = every tenant."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.Index(None, "tenant"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant: str | None = Field(default=None, max_length=100)
    url: str
    # Event types delivered; empty = every type.
    event_types: list = _json(list)
    enabled: bool = Field(default=True)
    description: str = Field(default="")
    # The signing secret, sealed by the secret box.
    secret: dict = _json(dict)
    created_at: datetime = _time()
    updated_at: datetime = _time()
    last_success_at: datetime | None = _time(nullable=True)
    last_failure_at: datetime | None = _time(nullable=True)
    consecutive_failures: int = Field(default=0)
    last_error: str | None = None


class WebhookDeliveryRow(SQLModel, table=True):
    """One event to send to one endpoint, with the outbox's state machine and claim lease."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "seq"),
        sa.Index(None, "state", "next_attempt_at"),
        sa.Index(None, "endpoint_id", "state", "seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: str = Field(foreign_key="webhook_endpoints.id", ondelete="CASCADE", max_length=40)
    event_row_id: int = _fk("events.id")
    # The event's log position: deliveries of one endpoint go out in this order.
    seq: int
    # pending -> delivering -> delivered | failed (next_attempt_at) -> ... | dead
    state: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = _time(nullable=True)
    claimed_until: datetime | None = _time(nullable=True)
    # The host (``host_id`` of the deliverer) holding the claim: who sent it, for operators.
    claimed_by: str | None = Field(default=None, max_length=255)
    last_error: str | None = None
    last_status: int | None = Field(default=None)
    created_at: datetime = _time()
    delivered_at: datetime | None = _time(nullable=True)


class ApiKey(SQLModel, table=True):
    """A key of the product HTTP API (``atsbridge api-keys``): shown once, kept hashed.

    Not tenant data: a key may span several tenants (``tenants``; empty = every tenant),
    and it must outlive any one of them. ``secret_hash`` is SHA-256 over ``salt`` and the
    key's secret part; ``key_id`` is the public part that finds the row.
    """

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    key_id: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    scope: str = Field(max_length=10)  # read | write | admin
    tenants: list = _json(list)
    salt: str = Field(max_length=64)
    secret_hash: str = Field(max_length=128)
    created_at: datetime = _time()
    revoked_at: datetime | None = _time(nullable=True)


class IdempotencyRecord(SQLModel, table=True):
    """The answer to a write sent with an ``Idempotency-Key`` header, kept for replays.

    ``fingerprint`` hashes the method, path and body: the same key with another request is
    refused. ``status`` is 0 while the first request is still being answered.
    """

    __tablename__ = "api_idempotency"
    __table_args__ = (sa.UniqueConstraint("tenant", "key"), sa.Index(None, "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=100)
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    status: int = Field(default=0)
    response: dict = _json(dict)
    created_at: datetime = _time()


class ConsoleUser(SQLModel, table=True):
    """A staff user of the web console (``atsbridge users``): not tenant data.

    ``password_hash`` is an scrypt hash with its parameters and salt
    (``scrypt$n$r$p$salt$hash``, base64), so the cost can rise without a migration.
    """

    __tablename__ = "console_users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = _time()


class ConsoleSession(SQLModel, table=True):
    """A web console session, or a one-time grant that starts an embedded one.

    ``kind``: ``staff`` (a signed-in user, every tenant), ``embed`` (one tenant and the
    ``views`` listed), ``grant`` (the token of a console URL the API handed out; redeemed
    once into an ``embed`` session). Only SHA-256 of the token is kept, as for API keys: the
    token has 256 random bits, so a fast hash is enough.
    """

    __tablename__ = "console_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=10)
    user_id: int | None = _fk("console_users.id", nullable=True)
    tenant: str | None = Field(default=None, max_length=100)
    views: list = _json(list)
    # The API key's scope that granted an embedded session (staff: admin): the console
    # never lets a session do more than the key that opened it.
    scope: str = Field(max_length=10)
    csrf: str = Field(max_length=64)
    created_at: datetime = _time()
    expires_at: datetime = Field(default=None, sa_type=UTCDateTime, nullable=False, index=True)
