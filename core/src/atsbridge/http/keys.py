"""API keys of the product HTTP API: create (shown once), list, revoke, authenticate.

A key reads ``atsb_<key id>_<secret>``. The key id (public, 12 hex digits) finds the row;
the secret (32 random bytes, base64url) is never stored: the row keeps a random salt and
SHA-256(salt + secret). A fast hash is enough here, unlike for passwords: the secret has 256
bits of entropy, so there is nothing to guess, and every request pays the check.

A key has a scope (``read`` < ``write`` < ``admin``) and optionally a set of tenants; a key
without tenants sees every tenant. Nothing is cached in the process: a revoked key is
refused by every server at once (one indexed read per request).
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlmodel import col, select

from atsbridge.errors import BadInput, NotFound
from atsbridge.services.base import Service
from atsbridge.services.connections import check_tenant_key
from atsbridge.store.tables import ApiKey, table

__all__ = ["PREFIX", "SCOPES", "ApiKeyService", "ApiKeyView", "Principal", "scope_allows"]

PREFIX = "atsb"
SCOPES = ("read", "write", "admin")
_KEY_RE = re.compile(r"^atsb_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_NAME_MAX = 100
_T = table(ApiKey)
_BY_KEY_ID = sa.select(_T.c.id, _T.c.scope, _T.c.tenants, _T.c.salt, _T.c.secret_hash).where(
    _T.c.key_id == sa.bindparam("key_id"), _T.c.revoked_at.is_(None)
)


def scope_allows(have: str, need: str) -> bool:
    """True when a key of scope ``have`` may do what needs scope ``need``."""
    return SCOPES.index(have) >= SCOPES.index(need)


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


@attrs.frozen
class ApiKeyView:
    """A stored key as ``api-keys list`` shows it (never the secret)."""

    key_id: str
    name: str
    scope: str
    tenants: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "scope": self.scope,
            "tenants": list(self.tenants),
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@attrs.frozen
class Principal:
    """Who sent a request: the key's id, scope and tenants (None = every tenant)."""

    key_id: str
    scope: str
    tenants: frozenset[str] | None

    def sees(self, tenant: str) -> bool:
        return self.tenants is None or tenant in self.tenants

    def allows(self, need: str) -> bool:
        return scope_allows(self.scope, need)


def _view(row: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        key_id=row.key_id,
        name=row.name,
        scope=row.scope,
        tenants=tuple(row.tenants),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class ApiKeyService(Service):
    """``app.api_keys``: the keys the HTTP API accepts."""

    def create(
        self, name: str, *, scope: str = "read", tenants: builtins.list[str] | None = None
    ) -> tuple[ApiKeyView, str]:
        """Store a new key; returns its view and the full key, which is never shown again.

        Raises ``BadInput`` for an empty or over-long name, an unknown scope or an invalid
        tenant key. Tenants need not exist yet (a key may be made before the connection).
        """
        name = name.strip()
        if not name or len(name) > _NAME_MAX or not name.isprintable():
            raise BadInput(f"--name: must be 1 to {_NAME_MAX} printable characters")
        if scope not in SCOPES:
            raise BadInput(f"--scope: must be one of {', '.join(SCOPES)}, not {scope!r}")
        wanted = sorted({check_tenant_key(t) for t in tenants or []})
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        with self.store.system_session() as session:
            row = ApiKey(
                key_id=key_id,
                name=name,
                scope=scope,
                tenants=wanted,
                salt=salt,
                secret_hash=_digest(salt, secret),
                created_at=self.now(),
            )
            session.add(row)
            session.flush()
            view = _view(row)
        return view, f"{PREFIX}_{key_id}_{secret}"

    def list(self, *, include_revoked: bool = False) -> builtins.list[ApiKeyView]:
        """Every key, oldest first; revoked ones only when asked."""
        with self.store.system_session() as session:
            statement = select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id))
            if not include_revoked:
                statement = statement.where(col(ApiKey.revoked_at).is_(None))
            return [_view(r) for r in session.exec(statement)]

    def revoke(self, key_id: str) -> ApiKeyView:
        """Refuse the key from now on (``key_id`` or the full key). NotFound when unknown."""
        match = _KEY_RE.match(key_id)
        wanted = match.group(1) if match else key_id.strip()
        with self.store.system_session() as session:
            row = session.exec(select(ApiKey).where(ApiKey.key_id == wanted)).first()
            if row is None:
                raise NotFound(f"no API key {wanted!r}")
            if row.revoked_at is None:
                row.revoked_at = self.now()
            return _view(row)

    def authenticate(self, key: str) -> Principal | None:
        """The principal of a live key; None for a malformed, unknown or revoked one."""
        match = _KEY_RE.match(key)
        if match is None:
            return None
        key_id, secret = match.groups()
        with self.store.engine.connect() as conn:
            row = conn.execute(_BY_KEY_ID, {"key_id": key_id}).first()
        if row is None or not hmac.compare_digest(_digest(row.salt, secret), row.secret_hash):
            return None
        tenants = frozenset(row.tenants) if row.tenants else None
        return Principal(key_id=key_id, scope=row.scope, tenants=tenants)
