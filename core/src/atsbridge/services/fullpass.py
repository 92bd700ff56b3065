"""Periodic full passes: how incremental kinds also catch what "updated since" never shows.

An incremental listing only returns records whose ``updated_at`` moved, so it never shows a
deletion, a person taken out of a pipeline, or an edit the ATS made without touching
``updated_at`` (Greenhouse does not bump a job for every job-post edit). A kind that cares
runs a *full* pass (no ``updated_since``) whenever its last one is older than its full-pass
interval; ``finish`` of a full pass then reconciles (drops what it did not see).

The time a scope's last full pass *started* is kept as a ``SyncCheckpoint`` of kind
``<kind>.full`` (its ``high_water``). A pass already in progress is never replaced by a
forced full one: it is resumed, and the full pass follows on the next run. So a long full
pass that a host stops at a checkpoint (timeout, shutdown) resumes where it stopped
instead of starting over each time.

Intervals, in minutes, come from (first found): the connection's settings
``{"intervals": {"<kind>_full": 720}}``; a kind's older setting (``cnts_reconcile_hours``);
the global overrides (``app.full_pass_overrides``, which ``atsbridge host run --interval
jobs_full=720`` sets); else a day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa

from atsbridge.errors import BadInput
from atsbridge.store import SyncCheckpoint, TenantRepo
from atsbridge.store.tables import table

DEFAULT_EVERY = timedelta(days=1)
# The kinds with a periodic full pass, by the settings key of their interval.
KEYS = {"jobs_full": "jobs", "candidates_full": "candidates"}


def setting_key(kind: str) -> str:
    return f"{kind}_full"


def mark_kind(kind: str) -> str:
    return f"{kind}.full"


def interval(
    settings: Mapping[str, Any],
    kind: str,
    overrides: Mapping[str, float] | None = None,
    *,
    legacy_hours: str | None = None,
) -> timedelta:
    """How old ``kind``'s last full pass may get before its next run is a full one."""
    key = setting_key(kind)
    per_connection = settings.get("intervals")
    if isinstance(per_connection, Mapping) and per_connection.get(key) is not None:
        return timedelta(minutes=_positive(per_connection[key], f"setting intervals.{key}"))
    if legacy_hours and settings.get(legacy_hours) is not None:
        return timedelta(hours=_positive(settings[legacy_hours], f"setting {legacy_hours}"))
    if overrides and overrides.get(key) is not None:
        return timedelta(minutes=_positive(overrides[key], f"--interval {key}"))
    return DEFAULT_EVERY


def _positive(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise BadInput(f"{where} must be a positive number, not {value!r}")
    return float(value)


@attrs.frozen
class ScopeState:
    last_full: datetime | None  # start of the last completed full pass
    in_progress: bool  # a pass (of either mode) is checkpointed mid-way

    def due(self, every: timedelta, now: datetime) -> bool:
        """Whether the next run should be forced full (see the module docstring)."""
        if self.in_progress:
            return False
        return self.last_full is None or now - self.last_full >= every


def states(repo: TenantRepo, connection_id: int, kind: str) -> dict[str, ScopeState]:
    """Every scope of ``kind`` that has a checkpoint or a full-pass mark, in one query."""
    rows = repo.all(
        repo.select(SyncCheckpoint).where(
            SyncCheckpoint.connection_id == connection_id,
            SyncCheckpoint.kind.in_([kind, mark_kind(kind)]),  # type: ignore[attr-defined]
        )
    )
    marks = {r.scope: r.high_water for r in rows if r.kind != kind}
    running = {r.scope for r in rows if r.kind == kind and r.cursor is not None}
    return {
        scope: ScopeState(marks.get(scope), scope in running)
        for scope in sorted(set(marks) | {r.scope for r in rows})
    }


def state(repo: TenantRepo, connection_id: int, kind: str, scope: str = "") -> ScopeState:
    return states(repo, connection_id, kind).get(scope, ScopeState(None, False))


def record(
    repo: TenantRepo, connection_id: int, kind: str, scope: str, started_at: datetime, now: datetime
) -> None:
    """Note a completed full pass (call it in ``finish``, inside the last page's transaction)."""
    # Core statements (tenant filtered here): this runs once per job on a pipeline sync,
    # where an ORM read and flush cost as much as the job's last page of candidates.
    conn = repo.session.connection()
    key = {"tid": repo.tenant_id, "cid": connection_id, "b_kind": mark_kind(kind), "b_scope": scope}
    moved = conn.execute(_MOVE_MARK, {**key, "b_high_water": started_at, "b_now": now})
    if moved.rowcount == 0:
        conn.execute(
            _NEW_MARK,
            {
                "tenant_id": repo.tenant_id,
                "connection_id": connection_id,
                "kind": mark_kind(kind),
                "scope": scope,
                "high_water": started_at,
                "updated_at": now,
            },
        )


_MARKS = table(SyncCheckpoint)
_MOVE_MARK = (
    sa.update(_MARKS)
    .where(
        _MARKS.c.tenant_id == sa.bindparam("tid"),
        _MARKS.c.connection_id == sa.bindparam("cid"),
        _MARKS.c.kind == sa.bindparam("b_kind"),
        _MARKS.c.scope == sa.bindparam("b_scope"),
    )
    .values(high_water=sa.bindparam("b_high_water"), updated_at=sa.bindparam("b_now"))
)
_NEW_MARK = sa.insert(_MARKS)
