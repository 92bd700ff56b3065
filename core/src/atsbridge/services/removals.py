"""A full pass that would remove most of a mirror or list keeps the rows until it is confirmed.

A full pass removes whatever it did not see. An odd answer from the ATS (an empty list
where a paged object was expected, a SOAP body the plugin did not recognise) can read as
"nothing there", and would then delete every mirrored job, with their links and
do-not-source lists. So when a full pass would remove more than half of what a scope holds
(and at least ``MIN_GUARDED`` rows), ``finish`` keeps the rows and records a warning in the
run instead, unless either

- the operator confirmed removals for this sync (``atsbridge sync --confirm-removals``,
  which sets ``CONFIRM_SETTING`` for the process and the worker processes it starts), or
- the previous full pass of the same scope was held for exactly the same rows (a second
  agreeing pass: the ATS really did drop them).

A held pass also drops the scope's full-pass mark (``fullpass``), so the next scheduled run
is a full pass again: the second pass that can agree. The held rows are remembered as a
digest of their keys in a ``SyncCheckpoint`` of kind ``<kind>.held``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from atsbridge.services import fullpass
from atsbridge.store import SyncCheckpoint, TenantRepo

__all__ = ["CONFIRM_SETTING", "MIN_GUARDED", "confirmed", "hold", "is_confirmed"]

CONFIRM_SETTING = "ATSBRIDGE_CONFIRM_REMOVALS"
# Below this many removals a full pass always applies: small mirrors change by half easily.
MIN_GUARDED = 10


def is_confirmed() -> bool:
    return os.environ.get(CONFIRM_SETTING, "").strip().lower() in ("1", "true", "yes")


@contextmanager
def confirmed(enabled: bool = True) -> Iterator[None]:
    """Within the block, full passes remove what they did not see however much that is."""
    if not enabled:
        yield
        return
    before = os.environ.get(CONFIRM_SETTING)
    os.environ[CONFIRM_SETTING] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CONFIRM_SETTING, None)
        else:
            os.environ[CONFIRM_SETTING] = before


def hold(
    repo: TenantRepo,
    connection_id: int,
    kind: str,
    scope: str,
    *,
    total: int,
    gone: Iterable[str],
    what: str,
    now: datetime,
) -> str | None:
    """The warning when the removal of ``gone`` (of ``total`` rows) is held, else None.

    None means: remove them. Call it in ``finish`` before removing anything; when it returns
    a warning, remove nothing and do not record the full pass.
    """
    keys = sorted(set(gone))
    mark = repo.first(
        repo.select(SyncCheckpoint).where(
            SyncCheckpoint.connection_id == connection_id,
            SyncCheckpoint.kind == _held_kind(kind),
            SyncCheckpoint.scope == scope,
        )
    )
    if len(keys) < MIN_GUARDED or len(keys) * 2 <= total:
        if mark is not None:
            repo.delete(mark)
        return None
    digest = hashlib.sha256("\n".join(keys).encode("utf-8", "surrogatepass")).hexdigest()
    if is_confirmed() or (mark is not None and mark.cursor == digest):
        if mark is not None:
            repo.delete(mark)
        return None
    if mark is None:
        repo.add(
            SyncCheckpoint(
                connection_id=connection_id,
                kind=_held_kind(kind),
                scope=scope,
                cursor=digest,
                high_water=now,
                updated_at=now,
            )
        )
    else:
        mark.cursor, mark.high_water, mark.updated_at = digest, now, now
    # Forget the last full pass too, so the next run is the full pass that can agree.
    last_full = repo.first(
        repo.select(SyncCheckpoint).where(
            SyncCheckpoint.connection_id == connection_id,
            SyncCheckpoint.kind == fullpass.mark_kind(kind),
            SyncCheckpoint.scope == scope,
        )
    )
    if last_full is not None:
        repo.delete(last_full)
    return (
        f"warning: this full pass would remove {len(keys)} of {total} {what}; they are kept "
        "(an odd answer from the ATS can look like an empty one). The next full pass removes "
        "them if it agrees, or run `atsbridge sync --full --confirm-removals`"
    )


def _held_kind(kind: str) -> str:
    return f"{kind}.held"
