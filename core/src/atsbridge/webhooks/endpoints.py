"""Per-connection receivers of inbound ATS webhooks: set up, looked up, counted, reported.

One connection has at most one receiver, at ``/hooks/{ats}/{hook_id}``. The hook id is
random and unique across tenants, and together with the ATS's signature it authenticates a
delivery, so the receiver takes no API key. The webhook secrets are sealed by the secret
box like connection credentials, shown once (on setup) and never logged: every decrypted
secret and hook id is registered with the log redactor.

Where the secret comes from depends on the ATS:

* given (``secrets``): an ATS that issues its own (Lever's signature token per webhook);
* subscribed: a plugin implementing ``atsbridge_webhook_subscribe`` (SmartRecruiters)
  registers the URL itself and returns the key;
* otherwise generated here, for the admin to paste into the ATS (Greenhouse's secret key,
  Workday's bearer secret).

A new secret keeps the previous one valid beside it (the ATS may still sign with it for a
while: SmartRecruiters keeps the old key a day, an admin updates the ATS after setup).
"""

from __future__ import annotations

import logging
import secrets as random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import attrs
import sqlalchemy as sa

from atsbridge import storable
from atsbridge.errors import BadInput, PluginFailed
from atsbridge.model import Capability, WebhookSubscription
from atsbridge.secrets import REDACTOR
from atsbridge.services.base import Service
from atsbridge.store.tables import AtsHookEndpoint, AtsHookInbox, Connection, Tenant, table

__all__ = [
    "HEALTHY_WITHIN",
    "PUBLIC_URL_SETTING",
    "HookEndpoints",
    "HookStatus",
    "Receiver",
    "SetupResult",
    "hook_path",
]

log = logging.getLogger(__name__)

H = table(AtsHookEndpoint)
I = table(AtsHookInbox)  # noqa: E741 (the inbox, as D/W are the deliveries/endpoints)
C = table(Connection)
T = table(Tenant)

PUBLIC_URL_SETTING = "ATSBRIDGE_PUBLIC_URL"
HOOK_ID_BYTES = 24  # 192 random bits, URL-safe
SECRET_BYTES = 32
MAX_SECRETS = 8  # Lever: one signature token per webhook (a handful of event types)
MAX_SECRET_LENGTH = 512
# Verified deliveries this recent make a connection's webhooks "healthy" (polling stretches).
HEALTHY_WITHIN = timedelta(hours=2)


def hook_path(ats: str, hook_id: str) -> str:
    return f"/hooks/{ats}/{hook_id}"


def _public_base(base_url: str | None) -> str:
    import os

    value = (base_url or os.environ.get(PUBLIC_URL_SETTING, "")).strip()
    if not value:
        raise BadInput(
            f"--public-url: required: the base URL the ATS reaches this server at "
            f"(or set {PUBLIC_URL_SETTING}), e.g. https://atsbridge.example.com"
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput("--public-url: must be an http(s) URL such as https://atsbridge.example.com")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise BadInput("--public-url: must not carry credentials, a query or a fragment")
    return value.rstrip("/")


@attrs.frozen
class Receiver:
    """What the ``/hooks`` route needs to verify and store one delivery."""

    tenant: str
    tenant_id: int
    ats: str
    connection_id: int
    endpoint_id: int
    secrets: tuple[str, ...] = attrs.field(repr=False)


@attrs.frozen
class SetupResult:
    """``webhooks setup``'s answer. ``secret`` is shown this once (None when it was given,
    or when the ATS holds it after subscribing)."""

    tenant: str
    ats: str
    url: str
    hook_id: str
    created: bool
    secret: str | None = attrs.field(repr=False)
    secrets_stored: int
    steps: str
    subscribed: bool
    external_id: str | None
    events: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "ats": self.ats,
            "url": self.url,
            "created": self.created,
            "secret": self.secret,
            "secrets_stored": self.secrets_stored,
            "steps": self.steps,
            "subscribed": self.subscribed,
            "external_id": self.external_id,
            "events": list(self.events),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@attrs.frozen
class HookStatus:
    """One connection's inbound webhooks, for ``webhooks status`` and the polling stretch."""

    tenant: str
    ats: str
    path: str = attrs.field(repr=False)
    created_at: datetime
    last_delivery_at: datetime | None
    last_verified_at: datetime | None
    verified: int
    refused: int
    duplicates: int
    last_refused_at: datetime | None
    last_refusal: str | None
    backlog: int
    dead: int
    oldest_pending_at: datetime | None
    healthy: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "ats": self.ats,
            "created_at": _iso(self.created_at),
            "last_delivery_at": _iso(self.last_delivery_at),
            "last_verified_at": _iso(self.last_verified_at),
            "verified": self.verified,
            "refused": self.refused,
            "duplicates": self.duplicates,
            "last_refused_at": _iso(self.last_refused_at),
            "last_refusal": self.last_refusal,
            "backlog": self.backlog,
            "dead": self.dead,
            "oldest_pending_at": _iso(self.oldest_pending_at),
            "healthy": self.healthy,
        }


def _check_secrets(given: Sequence[str]) -> list[str]:
    out: list[str] = []
    for value in given:
        if not isinstance(value, str) or not value.strip():
            raise BadInput("--secret: must not be empty")
        value = value.strip()
        if len(value) > MAX_SECRET_LENGTH or storable.text_problem(value):
            raise BadInput(f"--secret: must be printable text of at most {MAX_SECRET_LENGTH} chars")
        if value not in out:
            out.append(value)
    if len(out) > MAX_SECRETS:
        raise BadInput(f"--secret: at most {MAX_SECRETS} secrets")
    return out


class HookEndpoints(Service):
    """``app.ats_hooks``: the receivers of inbound ATS webhooks, one per connection."""

    # --- setup ------------------------------------------------------------------------------

    def setup(
        self,
        tenant: str,
        ats: str,
        *,
        base_url: str | None = None,
        secrets: Sequence[str] = (),
    ) -> SetupResult:
        """Make (or keep) the connection's receiver and give it a secret; see the module.

        Raises ``NotFound`` for an unknown connection, ``BadInput`` for a plugin that does
        not receive webhooks or a bad ``base_url``/secret, and what the plugin's subscribe
        hook raises.
        """
        base = _public_base(base_url)
        given = _check_secrets(secrets)
        plugin = self.app.plugin(ats)
        if Capability.WEBHOOKS not in plugin.info.capabilities:
            raise BadInput(
                f"the {ats} plugin receives no webhooks (its ATS is polled only); see its README"
            )
        hook_id, created, old = self._ensure(tenant, ats)
        url = base + hook_path(ats, hook_id)
        subscription: WebhookSubscription | None = None
        shown: str | None = None
        if given:
            new = given
        elif hasattr(plugin.module, "atsbridge_webhook_subscribe"):
            # The receiver is committed first: the ATS calls it back during activation.
            with self.app.open_session(tenant, ats) as session:
                result = session.call("atsbridge_webhook_subscribe", callback_url=url)
            if not isinstance(result, WebhookSubscription) or not result.secret:
                raise PluginFailed(
                    f"{ats} plugin failed in atsbridge_webhook_subscribe: "
                    "expected a WebhookSubscription with a secret"
                )
            subscription = result
            new = [result.secret, *old[:1]]
        else:
            shown = random.token_urlsafe(SECRET_BYTES)
            new = [shown, *old[:1]]
        for value in new:
            REDACTOR.register(value)
        new = list(dict.fromkeys(new))[:MAX_SECRETS]
        now = self.now()
        with self.store.tenant(tenant, immediate=True) as repo:
            conn = repo.require_connection(ats)
            repo.session.connection().execute(
                sa.update(H)
                .where(H.c.tenant_id == repo.tenant_id, H.c.connection_id == conn.id)
                .values(
                    secrets=self.app.secret_box.encrypt(new),
                    external_id=subscription.external_id if subscription else H.c.external_id,
                    updated_at=now,
                )
            )
        return SetupResult(
            tenant=tenant,
            ats=ats,
            url=url,
            hook_id=hook_id,
            created=created,
            secret=shown,
            secrets_stored=len(new),
            steps=plugin.info.webhook_setup,
            subscribed=subscription is not None,
            external_id=subscription.external_id if subscription else None,
            events=subscription.events if subscription else (),
        )

    def _ensure(self, tenant: str, ats: str) -> tuple[str, bool, list[str]]:
        """The receiver's hook id (made now when missing), whether it was made, its secrets."""
        now = self.now()
        with self.store.tenant(tenant, immediate=True) as repo:
            conn = repo.require_connection(ats)
            db = repo.session.connection()
            row = db.execute(
                sa.select(H.c.hook_id, H.c.secrets).where(
                    H.c.tenant_id == repo.tenant_id, H.c.connection_id == conn.id
                )
            ).first()
            if row is not None:
                return row.hook_id, False, self._open(row.secrets)
            hook_id = random.token_urlsafe(HOOK_ID_BYTES)
            db.execute(
                sa.insert(H).values(
                    tenant_id=repo.tenant_id,
                    connection_id=conn.id,
                    hook_id=hook_id,
                    secrets=self.app.secret_box.encrypt([]),
                    verified=0,
                    refused=0,
                    duplicates=0,
                    created_at=now,
                    updated_at=now,
                )
            )
        REDACTOR.register(hook_id)
        return hook_id, True, []

    def _open(self, sealed: dict) -> list[str]:
        values = [str(v) for v in (self.app.secret_box.decrypt(sealed) or [])]
        for value in values:
            REDACTOR.register(value)
        return values

    # --- the receiver's side ------------------------------------------------------------

    def receiver(self, ats: str, hook_id: str) -> Receiver | None:
        """The receiver at ``/hooks/{ats}/{hook_id}``, secrets decrypted; None if none is."""
        if not hook_id or len(hook_id) > 64:
            return None
        statement = (
            sa.select(H.c.id, H.c.tenant_id, H.c.connection_id, H.c.secrets, T.c.key, C.c.ats)
            .join(C, C.c.id == H.c.connection_id)
            .join(T, T.c.id == H.c.tenant_id)
            .where(H.c.hook_id == hook_id)
        )
        with self.store.engine.connect() as db:
            row = db.execute(statement).first()
        if row is None or row.ats != ats:
            return None
        REDACTOR.register(hook_id)
        return Receiver(
            tenant=row.key,
            tenant_id=row.tenant_id,
            ats=row.ats,
            connection_id=row.connection_id,
            endpoint_id=row.id,
            secrets=tuple(self._open(row.secrets)),
        )

    def count_refusal(self, receiver: Receiver, reason: str) -> None:
        """A delivery failed verification: counted (and its reason kept), nothing stored."""
        line = " ".join(REDACTOR.redact(reason).split())[:300]
        with self.store.system_session(immediate=True) as session:
            session.connection().execute(
                sa.update(H)
                .where(H.c.id == receiver.endpoint_id)
                .values(refused=H.c.refused + 1, last_refused_at=self.now(), last_refusal=line)
            )
        log.warning("refused a %s webhook delivery for %s: %s", receiver.ats, receiver.tenant, line)

    # --- status -------------------------------------------------------------------------

    def status(self, tenant: str | None = None, ats: str | None = None) -> list[HookStatus]:
        """Every receiver (of ``tenant``, of ``ats``), with its inbox's backlog."""
        now = self.now()
        last = (
            sa.select(sa.func.max(I.c.received_at))
            .where(I.c.connection_id == H.c.connection_id)
            .scalar_subquery()
        )
        open_states = ("pending", "processing", "failed")
        backlog = (
            sa.select(sa.func.count())
            .where(I.c.connection_id == H.c.connection_id, I.c.state.in_(open_states))
            .scalar_subquery()
        )
        dead = (
            sa.select(sa.func.count())
            .where(I.c.connection_id == H.c.connection_id, I.c.state == "dead")
            .scalar_subquery()
        )
        oldest = (
            sa.select(sa.func.min(I.c.received_at))
            .where(I.c.connection_id == H.c.connection_id, I.c.state.in_(open_states))
            .scalar_subquery()
        )
        statement = (
            sa.select(H, T.c.key, C.c.ats, last, backlog, dead, oldest)
            .join(C, C.c.id == H.c.connection_id)
            .join(T, T.c.id == H.c.tenant_id)
            .order_by(T.c.key, C.c.ats)
        )
        if tenant is not None:
            statement = statement.where(T.c.key == tenant)
        if ats is not None:
            statement = statement.where(C.c.ats == ats)
        with self.store.engine.connect() as db:
            rows = db.execute(statement).all()
        if tenant is not None and not rows:
            with self.store.tenant(tenant) as repo:  # NotFound for an unknown tenant
                if ats is not None:
                    repo.require_connection(ats)
        out = []
        for row in rows:
            values = row._mapping
            verified_at = values["last_verified_at"]
            out.append(
                HookStatus(
                    tenant=values["key"],
                    ats=values["ats"],
                    path=hook_path(values["ats"], values["hook_id"]),
                    created_at=values["created_at"],
                    last_delivery_at=_utc(row[-4]),
                    last_verified_at=verified_at,
                    verified=values["verified"],
                    refused=values["refused"],
                    duplicates=values["duplicates"],
                    last_refused_at=values["last_refused_at"],
                    last_refusal=values["last_refusal"],
                    backlog=int(row[-3] or 0),
                    dead=int(row[-2] or 0),
                    oldest_pending_at=_utc(row[-1]),
                    healthy=verified_at is not None and now - verified_at <= HEALTHY_WITHIN,
                )
            )
        return out

    def last_verified(self, connection_id: int) -> datetime | None:
        """When the connection's receiver last stored a verified delivery (None: never)."""
        with self.store.engine.connect() as db:
            value = db.execute(
                sa.select(H.c.last_verified_at).where(H.c.connection_id == connection_id)
            ).scalar()
        return value if isinstance(value, datetime) else None


def _utc(value: Any) -> datetime | None:
    # Aggregates (max/min) come back without the column type's processing on SQLite.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None
