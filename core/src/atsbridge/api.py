"""The Python facade: every operation the CLI offers, callable in-process by the product.

    from atsbridge.api import Atsbridge

    with Atsbridge(db="postgresql+psycopg://...") as app:
        app.connections.connect("acme", "greenhouse", {"api_key": {"$env": "GH_KEY"}})
        with app.open_session("acme", "greenhouse") as session:
            page = session.call("atsbridge_search_jobs", query=JobQuery(text="engineer"))

Each area is a service attached below as a ``cached_property``; the store and the plugin
registry are opened lazily, so listing plugins never creates a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from atsbridge.events import EventLog, WebhookEndpoints
from atsbridge.plugins import AtsPlugin, PluginRegistry, PluginStatus
from atsbridge.secrets import SecretBox
from atsbridge.services.cnts import CntsService
from atsbridge.services.connections import ConnectionService
from atsbridge.services.jobs import JobService
from atsbridge.services.leads import LeadService
from atsbridge.services.sync import SyncService
from atsbridge.sessionpool import SessionPool
from atsbridge.sessions import PluginSession
from atsbridge.store import Store, utcnow
from atsbridge.webhooks import HookEndpoints

if TYPE_CHECKING:
    from atsbridge.http.keys import ApiKeyService


class Atsbridge:
    """One database (``db`` URL; None = the default SQLite file) and the installed plugins.

    ``registry`` replaces plugin discovery (tests, embedding); ``clock`` is the source of
    "now" for every service (tests inject a fixed one).
    """

    def __init__(
        self,
        db: str | None = None,
        registry: PluginRegistry | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.db = db
        self.clock = clock
        # Receives (tenant, ats, HttpEvent) for every SDK HTTP event of every session this
        # facade opens (the host's metrics); None when nobody listens.
        self.on_http_event: Callable[[str, str, Any], None] | None = None
        # Global full-pass intervals in minutes, e.g. {"jobs_full": 720} (the host's
        # --interval); a connection's own settings come first (see services.fullpass).
        self.full_pass_overrides: dict[str, float] = {}
        if registry is not None:
            self.registry = registry

    @cached_property
    def registry(self) -> PluginRegistry:
        return PluginRegistry.discover()

    @cached_property
    def store(self) -> Store:
        return Store(self.db, clock=self.clock)

    @cached_property
    def session_pool(self) -> SessionPool:
        """The open plugin sessions, one per connection, shared by this facade's tasks."""
        return SessionPool()

    @cached_property
    def secret_box(self) -> SecretBox:
        store = self.store
        return SecretBox(
            store.key_dir,
            shared_database=store.dialect == "postgresql",
            sealed_secrets_exist=self.connections.any_sealed_secrets,
        )

    # --- services: one cached_property each; add yours here ----------------------------

    @cached_property
    def connections(self) -> ConnectionService:
        return ConnectionService(self)

    @cached_property
    def sync(self) -> SyncService:
        return SyncService(self)

    @cached_property
    def cnts(self) -> CntsService:
        return CntsService(self)

    @cached_property
    def jobs(self) -> JobService:
        return JobService(self)

    @cached_property
    def leads(self) -> LeadService:
        return LeadService(self)

    @cached_property
    def events(self) -> EventLog:
        return EventLog(self.store)

    @cached_property
    def webhooks(self) -> WebhookEndpoints:
        return WebhookEndpoints(self.store, self.clock, self.secret_box)

    @cached_property
    def ats_hooks(self) -> HookEndpoints:
        """Inbound ATS webhooks: receivers per connection (``webhooks`` is the outbound)."""
        return HookEndpoints(self)

    @cached_property
    def api_keys(self) -> ApiKeyService:
        # Imported here: the HTTP package is not needed by the CLI's other commands.
        from atsbridge.http.keys import ApiKeyService

        return ApiKeyService(self)

    # --- plugins and sessions ---------------------------------------------------------------

    def plugin_statuses(self) -> list[PluginStatus]:
        return sorted(self.registry.statuses, key=lambda s: s.name)

    def plugin(self, ats: str) -> AtsPlugin:
        return self.registry.get(ats)

    @contextmanager
    def open_session(self, tenant: str, ats: str) -> Iterator[PluginSession]:
        """The connection's authenticated plugin session, shared in this process.

        Opened (credentials proven) on first use and reused by later calls, concurrent
        ones included, until a hook fails with ``AuthError`` (see ``atsbridge.sessionpool``).
        """
        with self.connections.open_session(tenant, ats) as session:
            yield session

    def close(self) -> None:
        if "session_pool" in self.__dict__:
            self.session_pool.close()
        if "store" in self.__dict__:
            self.store.close()

    def __enter__(self) -> Atsbridge:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
