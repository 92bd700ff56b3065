"""The targeted reads behind each webhook event: one job or one person, never a sync.

Each read goes through the connection's pooled session and then applies what it learnt
with the very code the polling syncs use, so an event and a poll can never disagree:

* ``job``: ``atsbridge_job_statuses`` for that one job, applied by ``LinksKind`` (mirror
  status, close/reopen of the linked product job, ``job.closed``/``job.reopened``/
  ``job.deleted`` events). A job neither mirrored nor linked costs no request: nothing
  here follows it (new jobs reach the mirror with its next listing).
* ``candidate``: ``atsbridge_read_candidate``, then, per application on an open linked
  job, the do-not-source rows of ``CandidatesKind`` (insert or rewrite), and the status
  flow-back of exported leads (``leads.record_candidates``: ``candidate.status_changed``).
  Entries of that person on this connection's linked jobs the read no longer shows are
  removed (the application was withdrawn from that job or deleted).
* ``candidate_deleted``: that person's pipeline entries (``source = ats``) on this
  connection's jobs go; file entries never do.
* ``candidate_merged``: the disappearing person's entries go, the survivor is read.

A read of a connection with no linked job and no exported lead is skipped: nothing here
would use it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from atsbridge.errors import PayloadError
from atsbridge.events import hooks, records
from atsbridge.model import Candidate, JobState, WebhookEvent, WebhookEventKind
from atsbridge.services.cnts import CandidatesKind
from atsbridge.services.jobs import LinksKind
from atsbridge.services.leads import EXPORTED, StatusChanges, record_candidates
from atsbridge.services.sync import FetchedPage
from atsbridge.sessions import PluginSession
from atsbridge.store import TenantRepo
from atsbridge.store.tables import CntsEntry, JobLink, LeadRow, table
from atsbridge.store.tables import Job as JobRow

if TYPE_CHECKING:
    from atsbridge.api import Atsbridge

__all__ = ["ReadOutcome", "apply_events"]

log = logging.getLogger(__name__)

E = table(CntsEntry)
L = table(JobLink)
J = table(JobRow)
LR = table(LeadRow)
CHANGE = "webhook"  # donotsource.updated's ``change`` for an entry a webhook moved


@attrs.define
class ReadOutcome:
    """What processing one delivery's events did (``reads`` = ATS hook calls made)."""

    reads: int = 0
    jobs_changed: int = 0
    entries: dict[str, int] = attrs.Factory(lambda: {"added": 0, "updated": 0, "removed": 0})
    leads_moved: int = 0


def _plan(events: Iterable[WebhookEvent]) -> list[tuple[str, str]]:
    """The reads to make, in order, each once: ("job", id), ("person", id), ("forget", id)."""
    steps: list[tuple[str, str]] = []
    for event in events:
        kind = WebhookEventKind(event.kind)
        if kind is WebhookEventKind.JOB and event.job_ats_id:
            steps.append(("job", event.job_ats_id))
        elif kind is WebhookEventKind.CANDIDATE and event.candidate_ats_id:
            steps.append(("person", event.candidate_ats_id))
        elif kind is WebhookEventKind.CANDIDATE_DELETED and event.candidate_ats_id:
            steps.append(("forget", event.candidate_ats_id))
        elif kind is WebhookEventKind.CANDIDATE_MERGED and event.candidate_ats_id:
            steps.append(("forget", event.candidate_ats_id))
            if event.merged_into:
                steps.append(("person", event.merged_into))
    # The same read twice in one delivery (an ATS batching updates) is made once, at its
    # last position: what it reads is the state now either way.
    last = {step: i for i, step in enumerate(steps)}
    return [step for i, step in enumerate(steps) if last[step] == i]


def apply_events(
    app: Atsbridge, session: PluginSession, events: Sequence[WebhookEvent]
) -> ReadOutcome:
    """Make each event's targeted read and apply it; raises what the reads raise (the
    delivery is then retried: every step is idempotent)."""
    outcome = ReadOutcome()
    for what, ats_id in _plan(events):
        if what == "job":
            _job(app, session, ats_id, outcome)
        elif what == "person":
            _person(app, session, ats_id, outcome)
        else:
            _forget(app, session, ats_id, outcome)
    return outcome


# --- job -------------------------------------------------------------------------------------


def _job(app: Atsbridge, session: PluginSession, ats_id: str, outcome: ReadOutcome) -> None:
    with app.store.tenant(session.tenant) as repo:
        db = repo.session.connection()
        known = db.execute(
            sa.union_all(
                sa.select(L.c.id).where(
                    L.c.tenant_id == repo.tenant_id,
                    L.c.connection_id == session.connection_id,
                    L.c.ats_job_id == ats_id,
                ),
                sa.select(J.c.id).where(
                    J.c.tenant_id == repo.tenant_id,
                    J.c.connection_id == session.connection_id,
                    J.c.ats_id == ats_id,
                ),
            ).limit(1)
        ).first()
    if known is None:
        return
    result = session.call("atsbridge_job_statuses", job_ids=[ats_id])
    outcome.reads += 1
    states = [s for s in (result or ()) if isinstance(s, JobState) and s.ats_id == ats_id]
    if not isinstance(result, list | tuple) or not states:
        raise PayloadError("job_statuses", "ats_id", f"no state reported for {ats_id}")
    kind = LinksKind(app, session)
    now = app.clock()
    with app.store.tenant(session.tenant, immediate=True) as repo:
        applied = kind.apply(repo, session.connection_id, "", FetchedPage(states[:1], None), now)
    kind.after_commit()
    outcome.jobs_changed += applied.updated + applied.removed


# --- people ----------------------------------------------------------------------------------


def _links(repo: TenantRepo, connection_id: int) -> dict[str, tuple[str, str]]:
    """ATS job id -> (product job id, link state) of the connection's links."""
    rows = repo.session.connection().execute(
        sa.select(L.c.ats_job_id, L.c.product_job_id, L.c.state).where(
            L.c.tenant_id == repo.tenant_id, L.c.connection_id == connection_id
        )
    )
    return {ats_job: (product, state) for ats_job, product, state in rows}


def _has_leads(repo: TenantRepo, connection_id: int) -> bool:
    found = repo.session.connection().execute(
        sa.select(LR.c.id)
        .where(
            LR.c.tenant_id == repo.tenant_id,
            LR.c.connection_id == connection_id,
            LR.c.state == EXPORTED,
        )
        .limit(1)
    )
    return found.first() is not None


def _person(app: Atsbridge, session: PluginSession, ats_id: str, outcome: ReadOutcome) -> None:
    with app.store.tenant(session.tenant) as repo:
        links = _links(repo, session.connection_id)
        if not links and not _has_leads(repo, session.connection_id):
            return
    result = session.call("atsbridge_read_candidate", candidate_ats_id=ats_id)
    outcome.reads += 1
    if not isinstance(result, list | tuple) or not all(isinstance(c, Candidate) for c in result):
        raise PayloadError("read_candidate", "return value", "expected a tuple of Candidate")
    by_job: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in result:
        if candidate.ats_id != ats_id:
            raise PayloadError(
                "read_candidate", "ats_id", f"asked for {ats_id}, got {candidate.ats_id}"
            )
        if candidate.job_ats_id:
            by_job[candidate.job_ats_id].append(candidate)
    kind = CandidatesKind(default_country=session.settings.get("default_country"))
    changes = StatusChanges()
    events: list[dict[str, Any]] = []
    now = app.clock()
    with app.store.tenant(session.tenant, immediate=True) as repo:
        links = _links(repo, session.connection_id)
        kind.open_jobs = {job: p for job, (p, state) in links.items() if state != "closed"}
        counts: dict[str, dict[str, int]] = defaultdict(lambda: {"added": 0, "updated": 0})
        for job, people in by_job.items():
            moved = record_candidates(repo, session.connection_id, job, people, now)
            changes.events.extend(moved.events)
            changes.changed += moved.changed
            product = kind.open_jobs.get(job)
            if product is None:
                continue
            applied = kind.apply(repo, session.connection_id, job, FetchedPage(people, None), now)
            counts[product]["added"] += applied.added
            counts[product]["updated"] += applied.updated
        # Open linked jobs the person is no longer on: their entries go.
        stale = [p for job, p in kind.open_jobs.items() if job not in by_job]
        removed = _remove_entries(repo, ats_id, stale)
        for product, number in removed.items():
            counts[product]["removed"] = number
        for product, numbers in sorted(counts.items()):
            events.extend(_updated(repo, session.connection_id, product, numbers, now))
            for key in ("added", "updated", "removed"):
                outcome.entries[key] += numbers.get(key, 0)
    outcome.leads_moved += changes.changed
    hooks.fire(app.registry, events)
    changes.fire(app.registry)


def _forget(app: Atsbridge, session: PluginSession, ats_id: str, outcome: ReadOutcome) -> None:
    now = app.clock()
    with app.store.tenant(session.tenant, immediate=True) as repo:
        products = [p for p, _ in _links(repo, session.connection_id).values()]
        removed = _remove_entries(repo, ats_id, products)
        events = [
            e
            for product, number in sorted(removed.items())
            for e in _updated(repo, session.connection_id, product, {"removed": number}, now)
        ]
    outcome.entries["removed"] += sum(removed.values())
    hooks.fire(app.registry, events)


def _remove_entries(repo: TenantRepo, ats_id: str, products: Sequence[str]) -> dict[str, int]:
    """Delete the pipeline entries of person ``ats_id`` on ``products``; counts per job."""
    if not products:
        return {}
    where = (
        E.c.tenant_id == repo.tenant_id,
        E.c.source == "ats",
        E.c.ats_candidate_id == ats_id,
        E.c.product_job_id.in_(sorted(set(products))),
    )
    db = repo.session.connection()
    found: dict[str, int] = defaultdict(int)
    for (product,) in db.execute(sa.select(E.c.product_job_id).where(*where)):
        found[product] += 1
    if found:
        db.execute(sa.delete(E).where(*where))
    return dict(found)


def _updated(
    repo: TenantRepo, connection_id: int, product: str, counts: dict[str, int], now: datetime
) -> list[dict[str, Any]]:
    if not any(counts.get(k) for k in ("added", "updated", "removed")):
        return []
    return [
        records.donotsource_updated(
            repo,
            product_job_id=product,
            source="ats",
            change=CHANGE,
            counts=counts,
            now=now,
            connection_id=connection_id,
        )
    ]
