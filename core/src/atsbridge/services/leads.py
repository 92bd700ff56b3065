"""Lead export: the durable outbox, exactly-once push, and status flow-back (the funnel).

Outbox. ``enqueue`` validates the lead document and commits one ``leads`` row before it
returns; ``push`` does that and then tries to export the lead at once. Whatever is not
exported then is exported by ``drain``, which the host calls every minute and right after
an enqueue. A row moves::

    pending -> exporting -> exported
                         -> failed (next_attempt_at = now + backoff) -> exporting ...
                         -> dead (after ``max_attempts``, or at once when the ATS refused)
    pending -> skipped   (the product job's link is closed or gone, or the person is on the
                          job's do-not-source list from a file: see ``_exclusion``)

Exactly once. The idempotency key is derived from tenant + product job + lead id, and the
outbox's unique (tenant, product job, lead id) makes a second enqueue report "already
queued" instead of adding a row. A drain *claims* a row with one atomic ``UPDATE ... WHERE
state ... RETURNING`` (on PostgreSQL the row is picked with ``FOR UPDATE SKIP LOCKED``; on
SQLite the claim runs under ``BEGIN IMMEDIATE``), so two drains never push the same lead at
once. The claim bumps ``attempts``, which doubles as the claim's token: the result is only
written if the row is still ``exporting`` with that attempt number. A process killed while
pushing leaves the row ``exporting`` until ``claimed_until``; the next drain then claims it
again and the plugin's look-up-before-create (by email) finds what the lost attempt made,
so the replay creates nothing twice.

Flow-back. Exported leads move with the pipeline walk of the do-not-source lists
(``atsbridge.services.cnts``): each page it stores also goes to ``record_candidates``, in
the page's transaction, which matches people by candidate id or application id and records
a history row and fires ``atsbridge_candidate_status_changed`` when a status or stage moved.
``sync_statuses`` (the hourly ``statuses`` task) runs that same walk, on the same
checkpoints (account-wide, or the jobs with exported leads), never a walk of its own: a
move is read once, by whichever task runs first, and the other pays one request per
listing to find nothing new.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from atsbridge import leaddoc, storable
from atsbridge.errors import (
    AtsbridgeError,
    AtsError,
    AtsUnavailable,
    AuthError,
    BadInput,
    Conflict,
    NotFound,
    PayloadError,
)
from atsbridge.events import hooks, record_event
from atsbridge.events.types import (
    CANDIDATE_STATUS_CHANGED,
    LEAD_EXPORTED,
    LEAD_FAILED,
    LEAD_SKIPPED,
)
from atsbridge.model import (
    Attachment,
    Candidate,
    CandidateStatus,
    Lead,
    PushResult,
)
from atsbridge.plugins import PluginRegistry
from atsbridge.services import lead_orphans
from atsbridge.services.base import Service
from atsbridge.services.sync import (
    KindSpec,
    ProgressCallback,
    RunReport,
    register_kind,
)
from atsbridge.sessions import PluginSession
from atsbridge.store import Connection, JobLink, LeadRow, LeadStatusHistory, SyncRun, TenantRepo
from atsbridge.store.claims import backoff, claim_one
from atsbridge.store.tables import table

if TYPE_CHECKING:
    from atsbridge.api import Atsbridge

log = logging.getLogger(__name__)

PENDING = "pending"
EXPORTING = "exporting"
EXPORTED = "exported"
FAILED = "failed"
DEAD = "dead"
SKIPPED = "skipped"
STATES = (PENDING, EXPORTING, EXPORTED, FAILED, DEAD, SKIPPED)
JOB_CLOSED = "job closed"
JOB_UNLINKED = "job no longer linked"
EXCLUDED = "on the job's do-not-source list"

DRAIN_KIND = "leads"
STATUS_KIND = "statuses"

L = table(LeadRow)


@attrs.frozen
class OutboxPolicy:
    """How the outbox retries. ``jitter`` spreads retries of leads that failed together."""

    max_attempts: int = 8
    backoff_base: timedelta = timedelta(minutes=1)
    backoff_max: timedelta = timedelta(hours=1)
    jitter: float = 0.2
    # How long a claim protects a row being pushed; past it, the pusher is presumed dead.
    lease: timedelta = timedelta(minutes=10)

    def delay(self, key: str, attempt: int) -> timedelta:
        """Wait before attempt ``attempt + 1`` (``store.claims.backoff``)."""
        return backoff(
            key, attempt, base=self.backoff_base, cap=self.backoff_max, jitter=self.jitter
        )


def idempotency_key(tenant: str, product_job_id: str, lead_id: str) -> str:
    """The key a plugin gets for a lead: stable across retries, processes and hosts."""
    digest = hashlib.sha256(f"{tenant}\x00{product_job_id}\x00{lead_id}".encode()).hexdigest()
    return f"atsb-{digest[:40]}"


# --- views ------------------------------------------------------------------------------------


def error_code(exc: BaseException) -> str:
    """The stable code of an export failure, as the HTTP API's problems spell it."""
    for cls, code in (
        (AuthError, "ats.auth_failed"),
        (AtsError, "ats.refused"),
        (AtsUnavailable, "ats.unavailable"),
        (PayloadError, "ats.bad_payload"),
    ):
        if isinstance(exc, cls):
            return code
    return "ats.failed"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@attrs.frozen
class LeadView:
    """One outbox row as ``leads list`` and the API show it."""

    product_job_id: str
    lead_id: str
    name: str
    email: str | None
    ats: str | None
    ats_job_id: str | None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None  # for "skipped": the reason ("job closed")
    # For a lead skipped as on the job's do-not-source list: the rule and entry that matched
    # (rule, value, entry_id, source, name, added_at); None otherwise.
    excluded_by: dict[str, Any] | None
    allow_excluded: bool  # exported even when on the do-not-source list
    candidate_id: str | None
    application_id: str | None
    already_existed: bool
    unsupported: list[str]
    status: str | None  # unified CandidateStatus value, once exported
    stage: str | None
    status_raw: str | None
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    exported_at: datetime | None

    @property
    def reason(self) -> str | None:
        return self.last_error if self.state in (SKIPPED, FAILED, DEAD) else None

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        for key in ("next_attempt_at", "created_at", "updated_at", "exported_at"):
            out[key] = _iso(getattr(self, key))
        out["reason"] = self.reason
        return out


@attrs.frozen
class PushOutcome:
    """What ``push``/``enqueue`` did: the row now, and whether it was there already."""

    lead: LeadView
    already_queued: bool
    deferred: str | None = None  # why the immediate export did not happen (ATS down...)

    def to_json(self) -> dict[str, Any]:
        return {
            "already_queued": self.already_queued,
            "deferred": self.deferred,
            **self.lead.to_json(),
        }


@attrs.define
class DrainReport:
    """What one drain did, summed over the connections it visited."""

    claimed: int = 0
    exported: int = 0
    already_existed: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    taken_over: int = 0
    errors: list[str] = attrs.Factory(list)  # connection-level (could not open a session...)

    def add(self, other: DrainReport) -> None:
        for field in attrs.fields(DrainReport):
            if field.name == "errors":
                self.errors.extend(other.errors)
            else:
                setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in attrs.asdict(self).items() if k != "errors"}

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Funnel:
    """Counts per unified status of a product job's exported leads, and per outbox state."""

    product_job_id: str
    statuses: dict[str, int]
    states: dict[str, int]

    @property
    def exported(self) -> int:
        return self.states.get(EXPORTED, 0)

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


# --- status flow-back -------------------------------------------------------------------------


@attrs.define
class StatusChanges:
    """Status changes recorded in one transaction; ``fire`` them after it commits.

    ``events`` are the logged ``candidate.status_changed`` events (public JSON, plain
    data: a worker process sends them to its parent as they are).
    """

    events: list[dict[str, Any]] = attrs.Factory(list)
    matched: int = 0
    changed: int = 0

    def fire(self, registry: PluginRegistry) -> None:
        events, self.events = self.events, []
        # Each observer on its own; a failing one is logged and undoes nothing.
        hooks.fire(registry, events)


_STAGE_SEPARATORS = re.compile(r"[\W_]+")


def _same_stage(a: str | None, b: str | None) -> bool:
    """One stage however it is spelled: case, spaces, underscores and punctuation aside."""
    if a is None or b is None:
        return a == b
    return _STAGE_SEPARATORS.sub(" ", a).strip().casefold() == (
        _STAGE_SEPARATORS.sub(" ", b).strip().casefold()
    )


def record_candidates(
    repo: TenantRepo,
    connection_id: int,
    ats_job_id: str,
    candidates: Iterable[Candidate],
    now: datetime,
) -> StatusChanges:
    """Update exported leads of ATS job ``ats_job_id`` from a page of its pipeline.

    Call it inside the transaction that stores the page (the do-not-source sync does), then
    ``fire`` the result after the commit. People are matched by candidate id or application
    id; a status or stage that moved gets a history row and an event.
    """
    changes = StatusChanges()
    by_candidate: dict[str, Candidate] = {}
    by_application: dict[str, Candidate] = {}
    for candidate in candidates:
        if not isinstance(candidate, Candidate):
            continue
        by_candidate[candidate.ats_id] = candidate
        if candidate.application_id:
            by_application[candidate.application_id] = candidate
    if not by_candidate:
        return changes
    rows: list[LeadRow] = repo.all(
        select(LeadRow)
        .where(
            LeadRow.connection_id == connection_id,
            LeadRow.ats_job_id == ats_job_id,
            LeadRow.state == EXPORTED,
            sa.or_(
                col(LeadRow.ats_candidate_id).in_(list(by_candidate)),
                col(LeadRow.ats_application_id).in_(list(by_application) or [""]),
            ),
        )
        # The status sync and the do-not-source sync may see the same move at once (two
        # hosts on PostgreSQL): the second waits and compares with what the first wrote,
        # so the event fires once (locked in id order: no deadlock between the two).
        # SQLite's writers are serialised already.
        .order_by(col(LeadRow.id))
        .with_for_update()
    )
    if not rows:
        return changes
    connection = repo.get(Connection, connection_id)
    ats = connection.ats if connection is not None else "?"
    for row in rows:
        # The application is the more precise match: one person may apply to several jobs.
        found = by_application.get(row.ats_application_id or "") or by_candidate.get(
            row.ats_candidate_id or ""
        )
        if found is None:
            continue
        candidate = found
        changes.matched += 1
        status = CandidateStatus(candidate.status).value
        if row.ats_status == status and _same_stage(row.stage, candidate.stage):
            # Nothing moved; keep the listing's spelling of the stage (a push may have
            # answered the stage's id where the listing gives its name: REVIEW, Review).
            row.stage = candidate.stage
            if row.ats_status_raw != candidate.status_raw:
                row.ats_status_raw = candidate.status_raw
            continue
        old = row.ats_status
        row.ats_status, row.stage = status, candidate.stage
        row.ats_status_raw = candidate.status_raw
        row.updated_at = now
        assert row.id is not None
        repo.add(
            LeadStatusHistory(
                lead_row_id=row.id,
                status=status,
                stage=candidate.stage,
                status_raw=candidate.status_raw,
                observed_at=now,
            )
        )
        changes.changed += 1
        changes.events.append(
            record_event(
                repo,
                tenant=repo.tenant_key,
                type=CANDIDATE_STATUS_CHANGED,
                data={
                    "ats": ats,
                    "product_job_id": row.product_job_id,
                    "lead_id": row.lead_id,
                    "candidate_id": row.ats_candidate_id or candidate.ats_id,
                    "application_id": row.ats_application_id,
                    "old_status": CandidateStatus(old).value if old else None,
                    "new_status": status,
                    "stage": candidate.stage,
                    "status_raw": candidate.status_raw,
                },
                connection_id=connection_id,
                now=now,
            )
        )
    return changes


# --- the outbox ------------------------------------------------------------------------------


@attrs.frozen
class _Claim:
    row_id: int
    attempts: int
    key: str
    product_job_id: str
    lead_id: str
    ats_job_id: str
    lead: Lead


def _view(row: LeadRow, ats: str | None) -> LeadView:
    doc = row.document or {}
    emails = doc.get("emails") or []
    return LeadView(
        product_job_id=row.product_job_id,
        lead_id=row.lead_id,
        name=" ".join(p for p in (doc.get("first_name"), doc.get("last_name")) if p),
        email=emails[0] if emails else None,
        ats=ats,
        ats_job_id=row.ats_job_id,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.state in (PENDING, FAILED) else None,
        last_error=row.last_error,
        excluded_by=(row.exclusion or None) if row.state == SKIPPED else None,
        allow_excluded=row.allow_excluded,
        candidate_id=row.ats_candidate_id,
        application_id=row.ats_application_id,
        already_existed=row.already_existed,
        unsupported=list(row.unsupported or []),
        status=row.ats_status,
        stage=row.stage,
        status_raw=row.ats_status_raw,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
        exported_at=row.exported_at,
    )


def _exclusion(repo: TenantRepo, row: LeadRow) -> dict[str, Any]:
    """The do-not-source file entry the lead's person matches ({} when none), as stored.

    Only entries from the customer's own files count: a person found in the ATS pipeline
    is exported as before (the plugin finds them, attaches them, creates no duplicate).
    """
    from atsbridge.services.cnts import file_exclusion

    match = file_exclusion(
        repo.session.connection(), repo.tenant_id, row.product_job_id, _person(row.document)
    )
    return match.to_json() if match is not None else {}


def _person(document: dict[str, Any]) -> Any:
    from atsbridge.services.cnts import Person

    experiences = document.get("experiences") or []
    current = [e for e in experiences if e.get("current")] or experiences
    location = document.get("location") or {}
    name = " ".join(p for p in (document.get("first_name"), document.get("last_name")) if p)
    return Person(
        emails=tuple(document.get("emails") or ()),
        linkedin=document.get("linkedin_url"),
        phones=tuple(document.get("phones") or ()),
        name=name or None,
        company=current[0].get("company") if current else None,
        city=location.get("city"),
    )


def _excluded_reason(exclusion: dict[str, Any]) -> str:
    who = exclusion.get("name") or exclusion.get("value")
    return (
        f"{EXCLUDED}: {exclusion['rule']} matches entry {exclusion['entry_id']} ({who}); "
        "export it anyway with --allow-excluded"
    )


def _check_result(result: Any) -> PushResult:
    if not isinstance(result, PushResult):
        raise PayloadError("push_lead", "return value", "expected a PushResult")
    if not isinstance(result.candidate_id, str) or not result.candidate_id:
        raise PayloadError("push_lead", "candidate_id", "is empty")
    try:
        CandidateStatus(result.status)
    except ValueError:
        raise PayloadError("push_lead", "status", "is not a CandidateStatus") from None
    return result


def _permanent(exc: AtsbridgeError) -> bool:
    """True when trying again cannot help: the ATS refused the lead itself."""
    if isinstance(exc, AuthError):
        return False  # credentials can be fixed; the lead is fine
    return isinstance(exc, AtsError | BadInput)


def _one_line(message: str, limit: int = 1000) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LeadService(Service):
    """``app.leads``: enqueue/push, drain, retry, list, funnel and status sync."""

    def __init__(self, app: Atsbridge, policy: OutboxPolicy | None = None):
        super().__init__(app)
        self.policy = policy or OutboxPolicy()

    # --- schema and enqueue ------------------------------------------------------------------

    @staticmethod
    def schema() -> dict[str, Any]:
        return leaddoc.schema()

    def enqueue(
        self,
        tenant: str,
        product_job_id: str,
        document: Any,
        resume: Attachment | None = None,
        *,
        allow_excluded: bool = False,
    ) -> PushOutcome:
        """Validate and durably queue a lead (committed on return); no ATS request.

        A lead whose person is on the job's do-not-source list (from a file) is skipped at
        export, with the rule and entry that matched, unless ``allow_excluded``.
        """
        product_job_id = product_job_id.strip()
        if not product_job_id:
            raise BadInput("PRODUCT_JOB_ID: must not be empty")
        if reason := storable.text_problem(product_job_id, max_length=storable.MAX_ID):
            raise BadInput(f"PRODUCT_JOB_ID: {reason}")
        stored, lead = leaddoc.validate(document, resume)
        attachment = lead.attachments[0] if lead.attachments else None
        key = idempotency_key(tenant, product_job_id, lead.id)
        now = self.now()
        try:
            with self.store.tenant(tenant, immediate=True) as repo:
                existing = self._row(repo, product_job_id, lead.id)
                if existing is not None and lead_orphans.is_orphan(existing):
                    # Left waiting by a disconnect: pushed again, it goes where its job is
                    # linked now (or is told to wait for the job's import).
                    lead_orphans.adopt_row(existing, self._link(repo, product_job_id), now)
                    return PushOutcome(self._view(repo, existing), already_queued=False)
                if existing is not None:
                    return PushOutcome(self._view(repo, existing), already_queued=True)
                link = self._link(repo, product_job_id)
                closed = link.state == "closed"
                row = repo.add(
                    LeadRow(
                        product_job_id=product_job_id,
                        lead_id=lead.id,
                        idempotency_key=key,
                        connection_id=link.connection_id,
                        ats_job_id=link.ats_job_id,
                        document=stored,
                        resume=attachment.content if attachment else None,
                        resume_filename=attachment.filename if attachment else None,
                        resume_content_type=attachment.content_type if attachment else None,
                        allow_excluded=allow_excluded,
                        state=SKIPPED if closed else PENDING,
                        last_error=JOB_CLOSED if closed else None,
                        next_attempt_at=None if closed else now,
                        created_at=now,
                        updated_at=now,
                    )
                )
                repo.flush()
                return PushOutcome(self._view(repo, row), already_queued=False)
        except IntegrityError:
            # A concurrent enqueue of the same lead won the insert: report its row.
            with self.store.tenant(tenant) as repo:
                existing = self._row(repo, product_job_id, lead.id)
                if existing is None:
                    raise
                return PushOutcome(self._view(repo, existing), already_queued=True)

    def push(
        self,
        tenant: str,
        product_job_id: str,
        document: Any,
        resume: Attachment | None = None,
        *,
        export: bool = True,
        allow_excluded: bool = False,
    ) -> PushOutcome:
        """Enqueue a lead, then export it right away when the ATS can be reached."""
        outcome = self.enqueue(
            tenant, product_job_id, document, resume, allow_excluded=allow_excluded
        )
        product = outcome.lead.product_job_id
        if not export or outcome.lead.state not in (PENDING, FAILED) or outcome.already_queued:
            return outcome
        deferred = None
        try:
            with self.app.open_session(tenant, str(outcome.lead.ats)) as session:
                report = self.drain_session(session, lead_ids=[outcome.lead.lead_id])
                if report.claimed == 0:
                    deferred = "another worker is exporting it"
        except AtsbridgeError as exc:
            deferred = _one_line(str(exc))
        return PushOutcome(self.get(tenant, product, outcome.lead.lead_id), False, deferred)

    # --- drain ---------------------------------------------------------------------------------

    def drain(
        self, tenant: str | None = None, ats: str | None = None, *, limit: int | None = None
    ) -> DrainReport:
        """Export every lead that is due, connection by connection (the host's minute task).

        A connection that cannot be opened (ATS down, credentials rejected) is reported in
        ``errors`` and its leads stay queued without spending an attempt.
        """
        report = DrainReport()
        for tenant_key, ats_name in self._due_connections(tenant, ats):
            try:
                with self.app.open_session(tenant_key, ats_name) as session:
                    report.add(self.drain_session(session, limit=limit))
            except AtsbridgeError as exc:
                report.errors.append(f"{tenant_key}/{ats_name}: {_one_line(str(exc))}")
        return report

    def _due_connections(self, tenant: str | None, ats: str | None) -> list[tuple[str, str]]:
        from atsbridge.store import Tenant

        now = self.now()
        due = sa.or_(
            sa.and_(col(LeadRow.state).in_([PENDING, FAILED]), col(LeadRow.next_attempt_at) <= now),
            sa.and_(col(LeadRow.state) == EXPORTING, col(LeadRow.claimed_until) <= now),
        )
        with self.store.system_session() as session:
            statement = (
                select(Tenant.key, Connection.ats)
                .join(Connection, col(Connection.tenant_id) == Tenant.id)
                .join(LeadRow, col(LeadRow.connection_id) == Connection.id)
                .where(due)
                .distinct()
            )
            if tenant is not None:
                statement = statement.where(Tenant.key == tenant)
            if ats is not None:
                statement = statement.where(Connection.ats == ats)
            return sorted((str(t), str(a)) for t, a in session.exec(statement))

    def drain_session(
        self,
        session: PluginSession,
        *,
        limit: int | None = None,
        lead_ids: Sequence[str] | None = None,
    ) -> DrainReport:
        """Export due leads of one open session's connection, one claim at a time."""
        report = DrainReport()
        while limit is None or report.claimed < limit:
            claim = self._claim(session, lead_ids, report)
            if claim is None:
                break
            report.claimed += 1
            if isinstance(claim, dict):  # skipped at claim time: its lead.skipped event
                report.skipped += 1
                hooks.fire(self.registry, [claim])
                continue
            try:
                result = _check_result(
                    session.call(
                        "atsbridge_push_lead",
                        job_id=claim.ats_job_id,
                        lead=claim.lead,
                        idempotency_key=claim.key,
                    )
                )
            except AtsbridgeError as exc:
                self._record_failure(session, claim, exc, report)
                if isinstance(exc, AuthError | AtsUnavailable):
                    # The connection, not the lead, is the problem: do not burn the others'
                    # attempts on it; they stay due for the next drain.
                    report.errors.append(f"{session.label}: {_one_line(str(exc))}")
                    break
                continue
            self._record_success(session, claim, result, report)
        return report

    def _claim(
        self, session: PluginSession, lead_ids: Sequence[str] | None, report: DrainReport
    ) -> _Claim | dict[str, Any] | None:
        now = self.now()
        with self.store.tenant(session.tenant, immediate=True) as repo:
            due = sa.or_(
                sa.and_(L.c.state.in_([PENDING, FAILED]), L.c.next_attempt_at <= now),
                sa.and_(L.c.state == EXPORTING, L.c.claimed_until <= now),
            )
            pick = sa.select(L.c.id).where(
                L.c.tenant_id == repo.tenant_id, L.c.connection_id == session.connection_id, due
            )
            if lead_ids is not None:
                pick = pick.where(L.c.lead_id.in_(list(lead_ids)))
            claimed = claim_one(
                repo.session.connection(),
                L,
                pick=pick.order_by(L.c.next_attempt_at, L.c.id),
                due=due,
                values={
                    "state": EXPORTING,
                    "attempts": L.c.attempts + 1,
                    "claimed_until": now + self.policy.lease,
                    "updated_at": now,
                },
                returning=(L.c.id, L.c.attempts),
            )
            if claimed is None:
                return None
            row = repo.get(LeadRow, claimed.id)
            assert row is not None
            link = repo.first(select(JobLink).where(JobLink.product_job_id == row.product_job_id))
            exclusion: dict[str, Any] = {}
            if link is None or link.connection_id != session.connection_id:
                reason = JOB_UNLINKED
            elif link.state == "closed":
                reason = JOB_CLOSED
            elif not row.allow_excluded and (exclusion := _exclusion(repo, row)):
                reason = _excluded_reason(exclusion)
            else:
                row.ats_job_id = link.ats_job_id
                resume = None
                if row.resume is not None:
                    resume = Attachment(
                        filename=row.resume_filename or "resume",
                        content_type=row.resume_content_type or "application/octet-stream",
                        content=row.resume,
                    )
                return _Claim(
                    row_id=claimed.id,
                    attempts=claimed.attempts,
                    key=row.idempotency_key,
                    product_job_id=row.product_job_id,
                    lead_id=row.lead_id,
                    ats_job_id=link.ats_job_id,
                    lead=leaddoc.to_lead(row.document, resume),
                )
            # The one place a claimed lead is skipped (job closed or unlinked, or the person on
            # the job's do-not-source list); its lead.skipped event commits with it.
            # Not pushed, so this claim was no attempt.
            row.state, row.last_error, row.exclusion = SKIPPED, reason, exclusion
            row.attempts, row.claimed_until, row.next_attempt_at = claimed.attempts - 1, None, None
            return record_event(
                repo,
                tenant=session.tenant,
                type=LEAD_SKIPPED,
                data={
                    "ats": session.ats,
                    "product_job_id": row.product_job_id,
                    "lead_id": row.lead_id,
                    "reason": reason,
                    "excluded_by": exclusion or None,
                },
                connection_id=session.connection_id,
                now=now,
            )

    def _owned(self, repo: TenantRepo, claim: _Claim) -> LeadRow | None:
        """The claimed row, if this claim still owns it (not taken over after its lease)."""
        return repo.first(
            select(LeadRow)
            .where(
                LeadRow.id == claim.row_id,
                LeadRow.state == EXPORTING,
                LeadRow.attempts == claim.attempts,
            )
            .with_for_update()
        )

    def _record_success(
        self, session: PluginSession, claim: _Claim, result: PushResult, report: DrainReport
    ) -> None:
        now = self.now()
        status = CandidateStatus(result.status).value
        with self.store.tenant(session.tenant, immediate=True) as repo:
            row = self._owned(repo, claim)
            if row is None:
                report.taken_over += 1
                return
            row.state = EXPORTED
            row.ats_candidate_id = result.candidate_id
            row.ats_application_id = result.application_id
            row.already_existed = result.already_existed
            row.unsupported = list(result.unsupported)
            row.ats_status, row.stage = status, result.stage
            row.claimed_until = row.next_attempt_at = None
            row.last_error = None
            row.exported_at = row.updated_at = now
            repo.add(
                LeadStatusHistory(
                    lead_row_id=claim.row_id, status=status, stage=result.stage, observed_at=now
                )
            )
            exported = record_event(
                repo,
                tenant=session.tenant,
                type=LEAD_EXPORTED,
                data={
                    "ats": session.ats,
                    "product_job_id": claim.product_job_id,
                    "lead_id": claim.lead_id,
                    "candidate_id": result.candidate_id,
                    "application_id": result.application_id,
                    "already_existed": result.already_existed,
                    "unsupported": list(result.unsupported),
                    "status": status,
                    "stage": result.stage,
                },
                connection_id=session.connection_id,
            )
        report.exported += 1
        report.already_existed += int(result.already_existed)
        # The plugins' hook gets the logged event (an observer's bug is logged, not raised).
        hooks.fire(self.registry, [exported])

    def _record_failure(
        self, session: PluginSession, claim: _Claim, exc: AtsbridgeError, report: DrainReport
    ) -> None:
        now = self.now()
        message = _one_line(f"{type(exc).__name__}: {exc}")
        with self.store.tenant(session.tenant, immediate=True) as repo:
            row = self._owned(repo, claim)
            if row is None:
                report.taken_over += 1
                return
            row.last_error = message
            row.claimed_until = None
            row.updated_at = now
            if _permanent(exc) or claim.attempts >= self.policy.max_attempts:
                row.state, row.next_attempt_at = DEAD, None
                report.dead += 1
            else:
                row.state = FAILED
                row.next_attempt_at = now + self.policy.delay(claim.key, claim.attempts)
                report.failed += 1
            failed = record_event(
                repo,
                tenant=session.tenant,
                type=LEAD_FAILED,
                data={
                    "ats": session.ats,
                    "product_job_id": claim.product_job_id,
                    "lead_id": claim.lead_id,
                    "attempt": claim.attempts,
                    "error": message,
                    "error_code": error_code(exc),
                    # dead: no more attempts (the ATS refused it, or attempts ran out)
                    "dead": row.state == DEAD,
                    "next_attempt_at": row.next_attempt_at,
                },
                connection_id=session.connection_id,
                now=now,
            )
        hooks.fire(self.registry, [failed])
        log.warning("lead %s export attempt %d failed: %s", claim.lead_id, claim.attempts, message)

    # --- retry -------------------------------------------------------------------------------

    def retry(
        self,
        tenant: str,
        lead_id: str | None = None,
        *,
        all_dead: bool = False,
        product_job_id: str | None = None,
        allow_excluded: bool = False,
    ) -> list[LeadView]:
        """Queue dead (or failed, or skipped) leads again with a fresh set of attempts.

        ``lead_id`` names one lead (in every product job, unless ``product_job_id``);
        ``all_dead`` takes every dead lead. The last error stays until the next outcome.
        ``allow_excluded`` lets a lead skipped as on the do-not-source list be exported.
        """
        if (lead_id is None) == (not all_dead):
            raise BadInput("retry: give a LEAD_ID or --all-dead (not both)")
        now = self.now()
        with self.store.tenant(tenant, immediate=True) as repo:
            statement = select(LeadRow)
            if product_job_id is not None:
                statement = statement.where(LeadRow.product_job_id == product_job_id)
            if lead_id is not None:
                rows = repo.all(statement.where(LeadRow.lead_id == lead_id))
                if not rows:
                    raise NotFound(f"no lead {lead_id!r} in tenant {tenant!r}'s outbox")
                stuck = [
                    r
                    for r in rows
                    if r.state in (EXPORTED, EXPORTING, PENDING) and not lead_orphans.is_orphan(r)
                ]
                if len(stuck) == len(rows):
                    raise Conflict(
                        f"lead {lead_id!r} is {stuck[0].state}: only failed, dead or skipped "
                        "leads can be retried"
                    )
                rows = [r for r in rows if r not in stuck]
            else:
                rows = repo.all(statement.where(LeadRow.state == DEAD).order_by(col(LeadRow.id)))
            names = {c.id: c.ats for c in repo.connections()}
            out = []
            for row in rows:
                if row.connection_id is None and row.state in lead_orphans.WAITING:
                    # Its connection was disconnected: it goes where its job is linked now.
                    link = repo.first(
                        select(JobLink).where(JobLink.product_job_id == row.product_job_id)
                    )
                    if link is None:
                        raise Conflict(
                            f"lead {row.lead_id!r} waits for product job "
                            f"{row.product_job_id!r} to be imported again (its connection "
                            "was disconnected): `atsbridge jobs import` it first"
                        )
                    lead_orphans.adopt_row(row, link, now)
                if allow_excluded:
                    row.allow_excluded = True
                row.state, row.attempts = PENDING, 0
                row.next_attempt_at, row.claimed_until, row.updated_at = now, None, now
                out.append(_view(row, names.get(row.connection_id or -1)))
            return out

    # --- reading -------------------------------------------------------------------------------

    def get(self, tenant: str, product_job_id: str, lead_id: str) -> LeadView:
        with self.store.tenant(tenant) as repo:
            row = self._row(repo, product_job_id, lead_id)
            if row is None:
                raise NotFound(f"no lead {lead_id!r} for product job {product_job_id!r}")
            return self._view(repo, row)

    def list(
        self, tenant: str, product_job_id: str | None = None, *, state: str | None = None
    ) -> builtins.list[LeadView]:
        """Outbox rows of a tenant (or one product job), oldest first."""
        if state is not None and state not in STATES:
            raise BadInput(f"--state: unknown state {state!r} (one of {', '.join(STATES)})")
        with self.store.tenant(tenant) as repo:
            statement = select(LeadRow)
            if product_job_id is not None:
                statement = statement.where(LeadRow.product_job_id == product_job_id)
            if state is not None:
                statement = statement.where(LeadRow.state == state)
            rows = repo.all(statement.order_by(col(LeadRow.created_at), col(LeadRow.id)))
            names = {c.id: c.ats for c in repo.connections()}
            return [_view(r, names.get(r.connection_id or -1)) for r in rows]

    def history(
        self, tenant: str, product_job_id: str, lead_id: str
    ) -> builtins.list[dict[str, Any]]:
        """Every status observed for an exported lead, oldest first."""
        with self.store.tenant(tenant) as repo:
            row = self._row(repo, product_job_id, lead_id)
            if row is None:
                raise NotFound(f"no lead {lead_id!r} for product job {product_job_id!r}")
            entries = repo.all(
                select(LeadStatusHistory)
                .where(LeadStatusHistory.lead_row_id == row.id)
                .order_by(col(LeadStatusHistory.observed_at), col(LeadStatusHistory.id))
            )
            return [
                {
                    "status": e.status,
                    "stage": e.stage,
                    "status_raw": e.status_raw,
                    "observed_at": e.observed_at.isoformat(),
                }
                for e in entries
            ]

    def funnel(self, tenant: str, product_job_id: str) -> Funnel:
        """Per-status counts of a product job's exported leads (every status, zeros kept)."""
        with self.store.tenant(tenant) as repo:
            states = Counter(
                dict(
                    repo.all(
                        select(LeadRow.state, sa.func.count())
                        .where(LeadRow.product_job_id == product_job_id)
                        .group_by(LeadRow.state)
                    )
                )
            )
            if not states:
                self._link(repo, product_job_id)  # NotFound when the job is not linked either
            statuses = Counter(
                dict(
                    repo.all(
                        select(LeadRow.ats_status, sa.func.count())
                        .where(LeadRow.product_job_id == product_job_id, LeadRow.state == EXPORTED)
                        .group_by(LeadRow.ats_status)
                    )
                )
            )
        return Funnel(
            product_job_id=product_job_id,
            statuses={s.value: int(statuses.get(s.value, 0)) for s in CandidateStatus},
            states={s: int(states.get(s, 0)) for s in STATES},
        )

    # --- status flow-back ----------------------------------------------------------------------

    def sync_statuses(
        self, tenant: str | None = None, ats: str | None = None
    ) -> builtins.list[RunReport]:
        """Refresh exported leads' ATS status on every connection (the host's hourly task)."""
        reports: builtins.list[RunReport] = []
        for tenant_key, ats_name in self._exported_connections(tenant, ats):
            try:
                with self.app.open_session(tenant_key, ats_name) as session:
                    reports.extend(self.sync_statuses_session(session))
            except AtsbridgeError as exc:
                log.warning("status sync of %s/%s failed: %s", tenant_key, ats_name, exc)
        return reports

    def _exported_connections(
        self, tenant: str | None, ats: str | None
    ) -> builtins.list[tuple[str, str]]:
        from atsbridge.store import Tenant

        with self.store.system_session() as session:
            statement = (
                select(Tenant.key, Connection.ats)
                .join(Connection, col(Connection.tenant_id) == Tenant.id)
                .join(LeadRow, col(LeadRow.connection_id) == Connection.id)
                .where(LeadRow.state == EXPORTED)
                .distinct()
            )
            if tenant is not None:
                statement = statement.where(Tenant.key == tenant)
            if ats is not None:
                statement = statement.where(Connection.ats == ats)
            return sorted((str(t), str(a)) for t, a in session.exec(statement))

    def sync_statuses_session(
        self,
        session: PluginSession,
        *,
        full: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[RunReport]:
        """Move exported leads from the pipeline walk the do-not-source lists also use.

        Not a walk of its own (#15 item 2): the ``candidates`` kind's walk, on its own
        checkpoints, limited to the jobs with exported leads when it lists job by job, and
        never forcing a due full pass. Whichever of the two tasks runs first reads a change;
        the other then finds nothing new (one request per listing).
        """
        with self.store.tenant(session.tenant) as repo:
            scopes = sorted(
                set(
                    repo.all(
                        select(LeadRow.ats_job_id).where(
                            LeadRow.connection_id == session.connection_id,
                            LeadRow.state == EXPORTED,
                            col(LeadRow.ats_job_id).is_not(None),
                        )
                    )
                )
            )
        if not scopes:
            return []
        from atsbridge.services.cnts import sync_candidates  # cnts imports this module

        return sync_candidates(
            self.app,
            session,
            full=full,
            on_progress=on_progress,
            reconcile=False,
            only_jobs=[str(scope) for scope in scopes],
        )

    def observe_candidates(
        self, tenant: str, ats: str, ats_job_id: str, candidates: Iterable[Candidate]
    ) -> StatusChanges:
        """Apply a pipeline page fetched elsewhere (no request) in its own transaction."""
        with self.store.tenant(tenant) as repo:
            connection = repo.require_connection(ats)
            assert connection.id is not None
            changes = record_candidates(repo, connection.id, ats_job_id, candidates, self.now())
        changes.fire(self.registry)
        return changes

    # --- helpers -------------------------------------------------------------------------------

    def _row(self, repo: TenantRepo, product_job_id: str, lead_id: str) -> LeadRow | None:
        return repo.first(
            select(LeadRow).where(
                LeadRow.product_job_id == product_job_id, LeadRow.lead_id == lead_id
            )
        )

    def _link(self, repo: TenantRepo, product_job_id: str) -> JobLink:
        link = repo.first(select(JobLink).where(JobLink.product_job_id == product_job_id))
        if link is None:
            raise NotFound(
                f"product job {product_job_id!r} is not linked to an ATS job in tenant "
                f"{repo.tenant_key!r} (import it first: `atsbridge jobs import`)"
            )
        return link

    def _view(self, repo: TenantRepo, row: LeadRow) -> LeadView:
        connection = repo.get(Connection, row.connection_id) if row.connection_id else None
        return _view(row, connection.ats if connection else None)


# --- sync kinds: `atsbridge sync TENANT ATS --leads|--statuses` and the host ------------------


def _run_drain(
    app: Atsbridge, session: PluginSession, *, full: bool, on_progress: ProgressCallback | None
) -> list[RunReport]:
    now = app.clock()
    with app.store.tenant(session.tenant) as repo:
        run = repo.add(
            SyncRun(
                connection_id=session.connection_id,
                kind=DRAIN_KIND,
                started_at=now,
                status="running",
                progress={"scope": "", "phase": "draining"},
                # The process, as every sync runner records it: a host taking over from a
                # dead one retires that process's runs, this one included.
                host=app.sync.runner().holder,
            )
        )
        repo.flush()
        run_id = run.id
    assert run_id is not None
    status, errors = "succeeded", []
    try:
        report = app.leads.drain_session(session)
        errors = report.errors
    except BaseException as exc:
        status = "failed" if isinstance(exc, Exception) else "interrupted"
        errors = [_one_line(str(exc))]
        report = DrainReport()
        raise
    finally:
        with app.store.tenant(session.tenant) as repo:
            row = repo.get(SyncRun, run_id)
            assert row is not None
            row.status = "failed" if status == "succeeded" and errors else status
            row.ended_at = app.clock()
            row.counts = report.counts()
            row.errors = errors[-100:]
            row.progress = {"scope": "", "phase": "done"}
            final = RunReport.from_row(session.tenant, session.ats, row)
    if on_progress:
        on_progress(final)
    return [final]


def _run_statuses(
    app: Atsbridge, session: PluginSession, *, full: bool, on_progress: ProgressCallback | None
) -> list[RunReport]:
    return app.leads.sync_statuses_session(session, full=full, on_progress=on_progress)


register_kind(
    KindSpec(DRAIN_KIND, "--leads", "export queued leads now (the outbox drain)", _run_drain, 40)
)
register_kind(
    KindSpec(
        STATUS_KIND,
        "--statuses",
        "refresh exported leads' ATS status (funnel) from the jobs' pipelines",
        _run_statuses,
        50,
    )
)
