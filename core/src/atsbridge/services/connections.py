"""Connections: validate, test, store (secrets sealed), list (masked), check, remove.

``$env``/``$file`` references in a submitted config are resolved only as far as the
operator's settings allow (``atsbridge.references``). Interfaces that accept configs from
outside the operator's trust (the product HTTP API) pass ``allow_references=False`` to
``validate`` and ``connect``: any reference is then refused whatever the settings say.

Re-connecting merges the given config into the stored one (``replace=False``), so a partial
config changes only the fields it names; ``changes`` on the returned view says what moved,
secrets shown as changed or not, never by value.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import attrs
import sqlalchemy as sa
from sqlmodel import select

from atsbridge import jsontext
from atsbridge.config import validate_config
from atsbridge.errors import AtsbridgeError, AuthError, BadInput, ConfigError
from atsbridge.events import hooks, records
from atsbridge.model import SessionContext
from atsbridge.plugins import AtsPlugin
from atsbridge.references import ReferencePolicy
from atsbridge.secrets import (
    MASK,
    REDACTOR,
    dotted,
    get_path,
    has_sealed,
    mask,
    register_secrets,
    resolve_references,
    seal,
    secret_paths,
    set_path,
    unseal,
)
from atsbridge.services import lead_orphans
from atsbridge.services.base import Service
from atsbridge.sessionpool import PooledSession, fingerprint
from atsbridge.sessions import PluginSession, call_hook
from atsbridge.store import Connection, Job, JobLink, SyncRun, Tenant
from atsbridge.store.tables import CntsEntry

# What a disconnect deletes with the connection (foreign keys ON DELETE CASCADE), by label.
log = logging.getLogger(__name__)

_REMOVED_WITH_CONNECTION = (
    ("mirrored jobs", Job),
    ("imported job links", JobLink),
    ("do-not-source entries from the ATS", CntsEntry),
    ("sync runs", SyncRun),
)

_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


def check_tenant_key(key: str) -> str:
    if not _TENANT_RE.match(key):
        raise BadInput(
            f"TENANT: {key!r} is not a valid tenant key "
            "(1-100 letters, digits, '.', '_', '-', '@'; starting with a letter or digit)"
        )
    return key


@attrs.frozen
class ConfigChange:
    """One config field a connect changed: ``path`` dotted, values masked when secret."""

    path: str
    action: str  # "added" | "changed" | "removed"
    old: Any = None
    new: Any = None
    secret: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.path, "action": self.action, "secret": self.secret}
        if not self.secret:
            out |= {"old": self.old, "new": self.new}
        return out

    def describe(self) -> str:
        if self.secret:
            return f"{self.path}: {self.action} (secret)"
        if self.action == "added":
            return f"{self.path}: set to {json.dumps(self.new, ensure_ascii=False)}"
        if self.action == "removed":
            return f"{self.path}: removed (was {json.dumps(self.old, ensure_ascii=False)})"
        old, new = (json.dumps(v, ensure_ascii=False) for v in (self.old, self.new))
        return f"{self.path}: {old} -> {new}"


def _is_leaf(value: Any) -> bool:
    # A {"$env": ...} / {"$file": ...} reference is one value, not a section to merge into.
    return not isinstance(value, dict) or any(str(k).startswith("$") for k in value)


def _has_reference(config: Any) -> bool:
    if isinstance(config, dict):
        if any(str(k).startswith("$") for k in config):
            return True
        return any(_has_reference(v) for v in config.values())
    if isinstance(config, list):
        return any(_has_reference(v) for v in config)
    return False


def merge_config(stored: dict, given: dict) -> dict:
    """``given`` over ``stored``: fields ``given`` names win, sections merge, the rest stays."""
    out = copy.deepcopy(stored)
    for key, value in given.items():
        current = out.get(key)
        if not _is_leaf(value) and current is not None and not _is_leaf(current):
            out[key] = merge_config(current, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _leaves(config: dict, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for key, value in config.items():
        path = (*prefix, str(key))
        if _is_leaf(value):
            out[path] = value
        else:
            out |= _leaves(value, path)
    return out


def config_changes(old: dict | None, new: dict, schema: dict) -> tuple[ConfigChange, ...]:
    """What differs between two plain configs, field by field (secrets not by value)."""
    secret = set(secret_paths(schema))
    before, after = _leaves(old or {}), _leaves(new)
    changes = []
    for path in sorted(before.keys() | after.keys()):
        is_secret = path in secret
        if path not in before:
            changes.append(ConfigChange(dotted(path), "added", None, after[path], is_secret))
        elif path not in after:
            changes.append(ConfigChange(dotted(path), "removed", before[path], None, is_secret))
        elif before[path] != after[path]:
            changes.append(
                ConfigChange(dotted(path), "changed", before[path], after[path], is_secret)
            )
    return tuple(changes)


def _targets(config: dict) -> dict[str, str]:
    """Where a config sends its credentials: each URL or host field's ``host:port``."""
    out: dict[str, str] = {}
    for path, value in _leaves(config).items():
        name = path[-1]
        if not isinstance(value, str):
            continue
        if name == "host":
            out[dotted(path)] = value.lower()
        elif name == "base_url" or name.endswith("_url"):
            try:
                parts = urlsplit(value)
                out[dotted(path)] = f"{(parts.hostname or '').lower()}:{parts.port or ''}"
            except ValueError:
                out[dotted(path)] = value
    return out


def _refuse_secrets_for_new_host(
    schema: dict, previous: dict, validated: dict, submitted: Any, replace: bool
) -> None:
    """A stored secret is never sent to a host other than the one it was given for.

    Re-connecting with a changed ``base_url`` (or host, or token URL) and a secret left out
    or given as the mask would otherwise hand the stored secret to the new host, which may
    be anyone's. Such a secret must be typed again.
    """
    before, after = _targets(previous), _targets(validated)
    moved = sorted(f for f in before.keys() | after.keys() if before.get(f) != after.get(f))
    if not moved:
        return
    given = submitted if isinstance(submitted, dict) else {}
    problems = []
    for path in secret_paths(schema):
        value = get_path(given, path)
        reused = value == MASK or (value is None and not replace)
        if reused and get_path(previous, path) is not None:
            problems.append(
                f"config.{dotted(path)}: must be given again because config."
                f"{moved[0]} changed (the stored secret is not sent to a new host)"
            )
    if problems:
        raise ConfigError(problems)


@attrs.frozen
class ConnectionView:
    """A stored connection as shown to people and the product: secrets masked."""

    tenant: str
    ats: str
    config: dict
    settings: dict
    created_at: datetime
    updated_at: datetime
    last_checked_at: datetime | None
    last_check_error: str | None
    # Set by connect only: what it changed (empty for a first connect's view as well).
    changes: tuple[ConfigChange, ...] = ()
    created: bool = False

    def to_json(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "tenant": self.tenant,
            "ats": self.ats,
            "config": self.config,
            "settings": self.settings,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "last_checked_at": iso(self.last_checked_at),
            "last_check_error": self.last_check_error,
        }


class ConnectionService(Service):
    def _view(self, tenant: str, row: Connection) -> ConnectionView:
        schema = self._schema_or_none(row.ats)
        return ConnectionView(
            tenant=tenant,
            ats=row.ats,
            config=mask(row.config, schema),
            settings=dict(row.settings),
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_checked_at=row.last_checked_at,
            last_check_error=row.last_check_error,
        )

    def _schema_or_none(self, ats: str) -> dict | None:
        plugin = self.registry.plugins.get(ats)
        return plugin.info.config_schema if plugin else None

    def reference_policy(self, *, allow_references: bool = True) -> ReferencePolicy:
        """The operator's reference settings, or refuse-all when ``allow_references`` is False.

        atsbridge's own key file and SQLite database are never readable through ``$file``.
        """
        if not allow_references:
            return ReferencePolicy.refuse_all("through this interface")
        protected = [self.app.secret_box.key_file]
        db = self.store.sqlite_file
        if db is not None:
            suffixes = ("", "-wal", "-shm", "-journal")
            protected += [db.with_name(db.name + suffix) for suffix in suffixes]
        return ReferencePolicy.from_settings(protected=protected)

    def validate(self, ats: str, config: Any, *, allow_references: bool = True) -> dict:
        """The config with defaults applied, or ``ConfigError`` listing every problem.

        ``allow_references=False`` refuses every ``$env``/``$file`` reference (the HTTP API).
        """
        jsontext.check_depth(config, "config")
        plugin = self.registry.get(ats)
        policy = self.reference_policy(allow_references=allow_references)
        return validate_config(plugin.info.config_schema, config, references=policy)

    def connect(
        self,
        tenant: str,
        ats: str,
        config: Any,
        *,
        check: bool = True,
        allow_references: bool = True,
        replace: bool = False,
    ) -> ConnectionView:
        """Validate, test (unless ``check=False``) and store; an existing one is updated.

        Updating merges ``config`` into the stored config: fields it leaves out keep their
        stored values (``replace=True`` stores ``config`` alone); the view's ``changes``
        lists what changed. Secret fields given as the mask (as ``connections --json``
        shows them) keep the stored value, so a shown config can be edited and fed back.
        ``allow_references``
        False (the product HTTP API) refuses every ``$env``/``$file`` reference with a
        ``ConfigError``, whatever the operator's reference settings allow.
        """
        check_tenant_key(tenant)
        jsontext.check_depth(config, "config")  # every reader below recurses
        plugin = self.registry.get(ats)
        schema = plugin.info.config_schema
        submitted = config
        config = self._keep_masked_secrets(tenant, ats, schema, config)
        stored = self._stored_config(tenant, ats)
        previous = unseal(stored, self.app.secret_box) if stored is not None else None
        # References already stored were accepted when stored; the refusal of references
        # (allow_references=False) is about the ones this call submits.
        submitted_refs = _has_reference(config)
        if previous is not None and not replace and isinstance(config, dict):
            config = merge_config(previous, config)
        policy = self.reference_policy(allow_references=allow_references or not submitted_refs)
        validated = validate_config(schema, config, references=policy)
        if previous is not None:
            _refuse_secrets_for_new_host(schema, previous, validated, submitted, replace)
        register_secrets(validated, schema)
        rotated: dict[str, Any] = {}
        if check:
            resolved = resolve_references(validated, policy=policy)
            with self._session(plugin, tenant, ats, resolved, rotated):
                pass
        for path, value in rotated.items():
            # Rotated during the test (e.g. a refresh token): the new value is the live one.
            set_path(validated, tuple(path.split(".")), value)
        sealed = seal(validated, schema, self.app.secret_box)
        now = self.now()
        # immediate: a host may be writing to the same SQLite file (see Store.tenant).
        with self.store.tenant(tenant, create=True, immediate=True) as repo:
            row = repo.connection(ats)
            created = row is None
            if row is None:
                row = repo.add(Connection(ats=ats, created_at=now, updated_at=now))
            row.config = sealed
            row.updated_at = now
            if check:
                row.last_checked_at, row.last_check_error = now, None
            repo.flush()
            view = self._view(tenant, row)
        changes = config_changes(previous, validated, schema)
        return attrs.evolve(view, changes=changes, created=created)

    def _keep_masked_secrets(self, tenant: str, ats: str, schema: dict, config: Any) -> Any:
        if not isinstance(config, dict):
            return config
        masked = [p for p in secret_paths(schema) if get_path(config, p) == MASK]
        if not masked:
            return config
        stored = self._stored_config(tenant, ats)
        problems = [
            f"config.{dotted(p)}: is the mask {MASK} but no secret is stored for it"
            for p in masked
            if stored is None or get_path(stored, p) is None
        ]
        if problems:
            raise ConfigError(problems)
        assert stored is not None
        plain = unseal(stored, self.app.secret_box)
        out = dict(config)
        for p in masked:
            set_path(out, p, get_path(plain, p))
        return out

    def _stored_config(self, tenant: str, ats: str) -> dict | None:
        try:
            with self.store.tenant(tenant) as repo:
                row = repo.connection(ats)
                return dict(row.config) if row else None
        except BadInput:
            return None

    def list(self, tenant: str | None = None) -> list[ConnectionView]:
        """Every connection (of ``tenant`` when given), secrets masked."""
        if tenant is not None:
            try:
                with self.store.tenant(tenant) as repo:
                    return [self._view(tenant, row) for row in repo.connections()]
            except BadInput:
                return []
        # The all-tenants listing is an operator's view, hence the system session.
        with self.store.system_session() as session:
            statement = (
                select(Tenant.key, Connection)
                .join(Tenant, Tenant.id == Connection.tenant_id)  # type: ignore[arg-type]
                .order_by(Tenant.key, Connection.ats)
            )
            rows = session.exec(statement).all()
            return [self._view(key, row) for key, row in rows]

    def any_sealed_secrets(self) -> bool:
        """Whether any tenant's stored config holds a value sealed with the secret key."""
        with self.store.system_session() as session:
            configs = session.exec(select(Connection.config)).all()
        return any(has_sealed(config) for config in configs)

    def get(self, tenant: str, ats: str) -> ConnectionView:
        with self.store.tenant(tenant) as repo:
            return self._view(tenant, repo.require_connection(ats))

    def check(self, tenant: str, ats: str) -> ConnectionView:
        """Authenticate with the stored config; records the outcome, raises on failure."""
        error: AtsbridgeError | None = None
        try:
            with self.open_session(tenant, ats, fresh=True):
                pass
        except BadInput:
            raise
        except AtsbridgeError as exc:
            error = exc
        event = None
        with self.store.tenant(tenant, immediate=True) as repo:
            row = repo.require_connection(ats)
            row.last_checked_at = self.now()
            row.last_check_error = REDACTOR.redact(str(error)) if error else None
            view = self._view(tenant, row)
            if isinstance(error, AuthError):
                assert row.id is not None
                event = records.credentials_failing(
                    repo,
                    ats=ats,
                    connection_id=row.id,
                    during="check",
                    error=str(error),
                    now=self.now(),
                )
        if event is not None:
            hooks.fire(self.registry, [event])
        if error is not None:
            raise error
        return view

    def _credentials_failing(self, tenant: str, ats: str, error: AuthError) -> None:
        """Log that opening a session (for a sync, a drain...) was refused its credentials."""
        try:
            with self.store.tenant(tenant, immediate=True) as repo:
                row = repo.require_connection(ats)
                assert row.id is not None
                event = records.credentials_failing(
                    repo,
                    ats=ats,
                    connection_id=row.id,
                    during="session",
                    error=str(error),
                    now=self.now(),
                )
        except Exception:  # the caller raises the AuthError itself; never hide it
            log.exception("could not log the credentials failure of %s/%s", tenant, ats)
            return
        hooks.fire(self.registry, [event])

    def removal(self, tenant: str, ats: str) -> dict[str, int]:
        """What ``disconnect`` would delete: row counts by what they are, for a confirmation."""
        with self.store.tenant(tenant) as repo:
            row = repo.require_connection(ats)
            counts = {}
            for label, model in _REMOVED_WITH_CONNECTION:
                statement = (
                    select(sa.func.count()).select_from(model).where(model.connection_id == row.id)  # type: ignore[attr-defined]
                )
                counts[label] = int(repo.session.exec(statement).one())
            return counts

    def queued_leads(self, tenant: str, ats: str) -> int:
        """Leads the connection still has to export: a disconnect fails them (see
        ``lead_orphans``) until their job is imported again after a reconnect."""
        with self.store.tenant(tenant) as repo:
            row = repo.require_connection(ats)
            assert row.id is not None
            return lead_orphans.waiting(repo, row.id)

    def disconnect(self, tenant: str, ats: str) -> dict[str, int]:
        """Remove the connection and everything synced through it (mirror, runs, links).

        The tenant itself stays, with its other connections and what is not the ATS's
        (leads, file-imported do-not-source entries): a reconnect finds them again. Leads
        still waiting to be exported are marked failed with the reason (``lead_orphans``)
        and adopted again when their job is re-imported. Returns what was deleted
        (``removal``'s counts).
        """
        counts = self.removal(tenant, ats)
        with self.store.tenant(tenant, immediate=True) as repo:
            row = repo.require_connection(ats)
            assert row.id is not None
            # Before the delete nulls their connection: failed with a reason, not stranded.
            lead_orphans.fail_for_disconnect(repo, row.id, self.now())
            repo.delete(row)
            repo.flush()
        self.app.session_pool.drop_connection(tenant, ats)
        return counts

    def change_settings(
        self, tenant: str, ats: str, set_items: Iterable[str] = (), unset: Iterable[str] = ()
    ) -> ConnectionView:
        """Set ``KEY=VALUE`` items and remove ``unset`` keys, each checked against the known
        settings (``services.connection_settings``); BadInput names a bad one."""
        from atsbridge.services import connection_settings

        with self.store.tenant(tenant, immediate=True) as repo:
            row = repo.require_connection(ats)
            changed = connection_settings.apply(row.settings, set_items, unset)
            if changed != row.settings:
                row.settings = changed
                row.updated_at = self.now()
            return self._view(tenant, row)

    def update_settings(self, tenant: str, ats: str, **settings: Any) -> ConnectionView:
        """Merge per-connection settings (intervals, default_country...); None removes one."""
        with self.store.tenant(tenant, immediate=True) as repo:
            row = repo.require_connection(ats)
            merged = {**row.settings, **settings}
            row.settings = {k: v for k, v in merged.items() if v is not None}
            row.updated_at = self.now()
            return self._view(tenant, row)

    @contextmanager
    def open_session(
        self, tenant: str, ats: str, *, fresh: bool = False
    ) -> Iterator[PluginSession]:
        """The plugin session of a stored connection: the pooled one (see ``sessionpool``).

        The first use in this process opens it (the plugin proves the credentials); later
        uses share it, until a hook fails with ``AuthError`` or the stored config changes.
        ``fresh=True`` opens (and proves) a session of its own, closed on exit: what
        ``check`` wants. The config is decrypted and its references resolved only when a
        session opens; rotated secrets the plugin hands to ``context.save_secrets`` are
        sealed straight back into the store.
        """
        plugin = self.registry.get(ats)
        with self.store.tenant(tenant) as repo:
            row = repo.require_connection(ats)
            stored, connection_id, settings = dict(row.config), row.id, dict(row.settings)
        assert connection_id is not None
        policy = self.reference_policy()

        def session_for(raw: Any, on_auth_error: Any = None) -> PluginSession:
            return PluginSession(
                tenant=tenant,
                ats=ats,
                connection_id=connection_id,
                settings=settings,
                plugin=plugin,
                session=raw,
                on_auth_error=on_auth_error,
            )

        if fresh:
            config = resolve_references(unseal(stored, self.app.secret_box), policy=policy)
            with self._session(plugin, tenant, ats, config, None) as session:
                yield session_for(session)
            return
        pool = self.app.session_pool
        pooled: list[PooledSession] = []
        latest = [stored]

        def rotated(new_config: dict) -> None:
            # The pooled session already holds the rotated secret: its own write must not
            # read as a changed config that needs a new session.
            latest[0] = new_config
            if pooled:
                pooled[0].fingerprint = fingerprint(new_config)

        def open_raw() -> tuple[Any, str]:
            config = resolve_references(unseal(stored, self.app.secret_box), policy=policy)
            try:
                raw = self._open(plugin, tenant, ats, config, None, rotated)
            except AuthError as exc:
                self._credentials_failing(tenant, ats, exc)
                raise
            return raw, fingerprint(latest[0])

        def close_raw(raw: Any) -> None:
            PluginSession(tenant, ats, 0, {}, plugin, raw).close()

        key = (tenant, ats, connection_id)
        with pool.lease(key, fingerprint(stored), open_raw, close_raw) as entry:
            pooled.append(entry)
            yield session_for(entry.session, lambda: pool.drop(entry))

    @contextmanager
    def _session(
        self,
        plugin: AtsPlugin,
        tenant: str,
        ats: str,
        config: dict,
        rotated: dict[str, Any] | None,
    ) -> Iterator[Any]:
        session = self._open(plugin, tenant, ats, config, rotated)
        holder = PluginSession(tenant, ats, 0, {}, plugin, session)
        try:
            yield session
        finally:
            holder.close()

    def _open(
        self,
        plugin: AtsPlugin,
        tenant: str,
        ats: str,
        config: dict,
        rotated: dict[str, Any] | None,
        on_stored: Callable[[dict], None] | None = None,
    ) -> Any:
        """Open (and prove) a plugin session; ``on_stored`` gets a rotated stored config."""
        schema = plugin.info.config_schema
        allowed = {dotted(p) for p in secret_paths(schema)}

        def save_secrets(values: dict[str, Any]) -> None:
            unknown = sorted(set(values) - allowed)
            if unknown:
                raise ValueError(f"save_secrets: not secret fields of {ats}: {unknown}")
            REDACTOR.register_all(list(values.values()))
            if rotated is not None:
                rotated.update(values)
            else:
                stored = self._store_rotated(tenant, ats, values)
                if on_stored is not None:
                    on_stored(stored)

        listener = getattr(self.app, "on_http_event", None)
        context = SessionContext(
            connection_label=f"{tenant}/{ats}",
            save_secrets=save_secrets,
            on_event=(lambda event: listener(tenant, ats, event)) if listener else None,
            rate_limit=plugin.info.rate_limit,
        )
        return call_hook(plugin, "atsbridge_open_session", config=config, context=context)

    def _store_rotated(self, tenant: str, ats: str, values: dict[str, Any]) -> dict:
        box = self.app.secret_box
        with self.store.tenant(tenant, immediate=True) as repo:
            row = repo.require_connection(ats)
            config = copy.deepcopy(row.config)
            for path, value in values.items():
                set_path(config, tuple(path.split(".")), box.encrypt(value))
            row.config = config
            row.updated_at = self.now()
            return dict(config)
