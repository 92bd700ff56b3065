"""Console sessions: staff sign-in, and embedded sessions opened from a one-time URL.

The product asks the API (``POST /v1/tenants/{tenant}/console-sessions``) for a console
URL for one tenant and some views; the URL carries a grant token that lives a couple of
minutes and is redeemed once, into a session cookie bound to that tenant, those views and
the key's scope. Tokens are random (256 bits) and only their SHA-256 is stored, so the
rows are safe to read and every server behind a load balancer answers any session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import attrs
from sqlmodel import col, delete, select

from atsbridge.errors import BadInput
from atsbridge.http.keys import SCOPES, scope_allows
from atsbridge.services.base import Service
from atsbridge.services.connections import check_tenant_key
from atsbridge.store.tables import ConsoleSession, ConsoleUser

__all__ = [
    "EMBED_TTL",
    "GRANT_TTL",
    "STAFF_TTL",
    "VIEWS",
    "ConsoleSessionService",
    "Viewer",
]

# The console's views an embedded session may be limited to.
VIEWS = ("connections", "jobs", "runs")
STAFF_TTL = timedelta(hours=12)
EMBED_TTL = timedelta(hours=1)
GRANT_TTL = timedelta(minutes=2)
GRANT_TTL_MAX = timedelta(minutes=15)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@attrs.frozen
class Viewer:
    """Who a console request is answered for."""

    kind: str  # staff | embed
    username: str | None
    tenant: str | None  # None: every tenant (staff)
    views: frozenset[str]
    scope: str
    csrf: str

    def sees(self, tenant: str) -> bool:
        return self.tenant is None or self.tenant == tenant

    def shows(self, view: str) -> bool:
        return view in self.views

    def allows(self, need: str) -> bool:
        return scope_allows(self.scope, need)


@attrs.frozen
class Grant:
    url: str
    token: str
    tenant: str
    views: tuple[str, ...]
    scope: str
    expires_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "tenant": self.tenant,
            "views": list(self.views),
            "scope": self.scope,
            "expires_at": self.expires_at.isoformat(),
        }


class ConsoleSessionService(Service):
    """Console sessions in the store (no server keeps any of its own)."""

    def _new(
        self,
        kind: str,
        ttl: timedelta,
        *,
        user_id: int | None = None,
        tenant: str | None = None,
        views: list[str] | None = None,
        scope: str = "admin",
    ) -> tuple[str, ConsoleSession]:
        token = secrets.token_urlsafe(32)
        now = self.now()
        row = ConsoleSession(
            token_hash=_digest(token),
            kind=kind,
            user_id=user_id,
            tenant=tenant,
            views=list(views or VIEWS),
            scope=scope,
            csrf=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + ttl,
        )
        with self.store.system_session() as session:
            # Expired rows go as new ones come: the table stays the size of live sessions.
            session.exec(delete(ConsoleSession).where(col(ConsoleSession.expires_at) < now))  # type: ignore[call-overload]
            session.add(row)
        return token, row

    def start_staff(self, user_id: int) -> str:
        """A staff session's cookie token for a signed-in user."""
        return self._new("staff", STAFF_TTL, user_id=user_id)[0]

    def grant(
        self, tenant: str, views: list[str], scope: str, *, ttl_seconds: int | None = None
    ) -> Grant:
        """A one-time console URL for ``tenant`` limited to ``views`` and ``scope``."""
        check_tenant_key(tenant)
        wanted = list(dict.fromkeys(views or VIEWS))
        unknown = [v for v in wanted if v not in VIEWS]
        if unknown:
            raise BadInput(f"views: unknown view {unknown[0]!r} (known: {', '.join(VIEWS)})")
        if scope not in SCOPES:
            raise BadInput(f"scope: must be one of {', '.join(SCOPES)}")
        ttl = GRANT_TTL if ttl_seconds is None else timedelta(seconds=ttl_seconds)
        if not timedelta(seconds=10) <= ttl <= GRANT_TTL_MAX:
            raise BadInput(f"ttl_seconds: must be 10 to {int(GRANT_TTL_MAX.total_seconds())}")
        token, row = self._new("grant", ttl, tenant=tenant, views=wanted, scope=scope)
        return Grant(
            url=f"/console/embed/{token}",
            token=token,
            tenant=tenant,
            views=tuple(wanted),
            scope=scope,
            expires_at=row.expires_at,
        )

    def redeem(self, grant_token: str) -> tuple[str, Viewer] | None:
        """Trade a live grant for an embedded session (once); None when unknown or used."""
        now = self.now()
        with self.store.system_session() as session:
            row = session.exec(
                select(ConsoleSession).where(
                    ConsoleSession.token_hash == _digest(grant_token),
                    ConsoleSession.kind == "grant",
                )
            ).first()
            if row is None or row.expires_at <= now:
                return None
            tenant, views, scope = row.tenant, list(row.views), row.scope
            session.delete(row)
        token, new = self._new("embed", EMBED_TTL, tenant=tenant, views=views, scope=scope)
        return token, self._viewer(new, None)

    def lookup(self, token: str | None) -> Viewer | None:
        """The live session of a cookie token; None when absent, unknown or expired."""
        if not token or len(token) > 100:
            return None
        with self.store.system_session() as session:
            found = session.exec(
                select(ConsoleSession, ConsoleUser.username)
                .join(ConsoleUser, isouter=True)
                .where(
                    ConsoleSession.token_hash == _digest(token),
                    col(ConsoleSession.kind).in_(("staff", "embed")),
                )
            ).first()
            if found is None:
                return None
            row, username = found
            if row.expires_at <= self.now():
                return None
            return self._viewer(row, username)

    def end(self, token: str | None) -> None:
        if not token:
            return
        with self.store.system_session() as session:
            session.exec(
                delete(ConsoleSession).where(col(ConsoleSession.token_hash) == _digest(token))  # type: ignore[call-overload]
            )

    @staticmethod
    def _viewer(row: ConsoleSession, username: str | None) -> Viewer:
        return Viewer(
            kind=row.kind,
            username=username,
            tenant=row.tenant,
            views=frozenset(row.views),
            scope=row.scope,
            csrf=row.csrf,
        )
