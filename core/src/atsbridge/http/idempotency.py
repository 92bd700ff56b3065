"""``Idempotency-Key`` on writes: the same key and request get the first answer again.

The first request with a key inserts a row (unique per tenant and key) before doing the
work and stores its answer after; a replay with the same method, path and body (compared
as canonical JSON) gets that stored answer, status included. The same key with another
request is ``idempotency.mismatch`` (422); a replay while the first is still being answered
is ``idempotency.in_progress`` (409). A failed attempt stores nothing, so a retry after an
ATS outage runs again. Rows live in the store, so every server behind a load balancer
answers a replay alike; they are kept for ``RETENTION``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from atsbridge.api import Atsbridge
from atsbridge.http.problems import ApiProblem
from atsbridge.store.tables import IdempotencyRecord, table

__all__ = ["RETENTION", "check_key", "fingerprint", "run_once"]

RETENTION = timedelta(hours=24)
# A first attempt that never stored its answer (its server died) stops blocking replays.
ABANDONED = timedelta(minutes=10)
_T = table(IdempotencyRecord)


def check_key(key: str) -> str:
    if not 1 <= len(key) <= 255 or not key.isprintable() or not key.isascii():
        raise ApiProblem(
            422,
            "input.invalid",
            "header.Idempotency-Key: must be 1 to 255 printable ASCII characters",
            errors=[{"field": "header.Idempotency-Key", "message": "1 to 255 printable ASCII"}],
        )
    return key


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def run_once(
    app: Atsbridge,
    tenant: str,
    key: str,
    print_: str,
    call: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any], bool]:
    """(status, body, replayed): ``call``'s answer, or the stored answer of the first call."""
    now = app.clock()
    store = app.store
    try:
        with store.engine.begin() as conn:
            conn.execute(sa.delete(_T).where(_T.c.created_at < now - RETENTION))
            conn.execute(
                sa.insert(_T).values(
                    tenant=tenant,
                    key=key,
                    fingerprint=print_,
                    status=0,
                    response={},
                    created_at=now,
                )
            )
    except IntegrityError:
        with store.engine.begin() as conn:
            row = conn.execute(
                sa.select(
                    _T.c.id, _T.c.fingerprint, _T.c.status, _T.c.response, _T.c.created_at
                ).where(_T.c.tenant == tenant, _T.c.key == key)
            ).first()
        if row is None:  # expired between the two statements: treat as new
            return run_once(app, tenant, key, print_, call)
        if row.fingerprint != print_:
            raise ApiProblem(
                422,
                "idempotency.mismatch",
                "this Idempotency-Key was used with another request; use a new key",
            ) from None
        if row.status == 0:
            if row.created_at > now - ABANDONED:
                raise ApiProblem(
                    409,
                    "idempotency.in_progress",
                    "a request with this Idempotency-Key is still being answered; retry",
                    headers={"Retry-After": "1"},
                ) from None
            with store.engine.begin() as conn:
                conn.execute(sa.delete(_T).where(_T.c.id == row.id, _T.c.status == 0))
            return run_once(app, tenant, key, print_, call)
        return int(row.status), dict(row.response), True
    try:
        status, body = call()
    except BaseException:
        with store.engine.begin() as conn:
            conn.execute(sa.delete(_T).where(_T.c.tenant == tenant, _T.c.key == key))
        raise
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(_T)
            .where(_T.c.tenant == tenant, _T.c.key == key)
            .values(status=status, response=body)
        )
    return status, body, False
