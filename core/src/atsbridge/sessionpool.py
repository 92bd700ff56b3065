"""One authenticated plugin session per connection and process, shared by its tasks.

Opening a plugin session proves the credentials with a request, and each session paces
itself (the SDK client's rate limiter lives in it). A host that opened one per task spent a
request per task run on proofs, and two tasks of one connection paced separately could
together exceed the ATS's limit. So ``Atsbridge.open_session`` leases the connection's
pooled session instead: the first lease opens (and proves) it, later leases reuse it, even
several at once from the host's worker threads (the SDK client is thread-safe and paces
every request of the session through one limiter).

A pooled session is dropped, and the next lease opens and proves a new one, when:

* a hook call through it raised ``AuthError`` (expired or revoked credentials), so the
  credentials are proven again only after an auth failure;
* the connection's stored config changed (reconnected, edited), seen as a new fingerprint;
* the connection was removed, or the facade is closed (``close``).

A dropped session still in use is closed when its last lease ends.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs

__all__ = ["PooledSession", "SessionPool", "fingerprint"]

PoolKey = tuple[str, str, int]  # tenant, ats, connection id


def fingerprint(stored_config: dict) -> str:
    """A stable digest of a connection's stored (sealed) config: a change means reopen."""
    text = json.dumps(stored_config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@attrs.define(eq=False)
class PooledSession:
    """A plugin session in the pool and how many leases hold it."""

    key: PoolKey
    fingerprint: str
    session: Any
    close_session: Callable[[Any], None]
    leases: int = 0
    dropped: bool = False


class SessionPool:
    """The open plugin sessions of one facade, by connection (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[PoolKey, PooledSession] = {}
        self._opening: dict[PoolKey, threading.Lock] = {}
        self.opened = 0  # sessions opened (credentials proven) so far, for tests and metrics

    @contextmanager
    def lease(
        self,
        key: PoolKey,
        config_fingerprint: str,
        open_session: Callable[[], tuple[Any, str]],
        close_session: Callable[[Any], None],
    ) -> Iterator[PooledSession]:
        """The connection's pooled session, opened with ``open_session()`` when none fits.

        ``open_session`` returns the session and the fingerprint of the config it holds,
        which differs from ``config_fingerprint`` when opening rotated a secret.
        """
        entry = self._acquire(key, config_fingerprint, open_session, close_session)
        try:
            yield entry
        finally:
            self._release(entry)

    def _acquire(
        self,
        key: PoolKey,
        config_fingerprint: str,
        open_session: Callable[[], tuple[Any, str]],
        close_session: Callable[[Any], None],
    ) -> PooledSession:
        with self._lock:
            opening = self._opening.setdefault(key, threading.Lock())
        # One opener per connection at a time: tasks starting together share one proof.
        with opening:
            with self._lock:
                entry = self._sessions.get(key)
                if entry is not None and entry.fingerprint == config_fingerprint:
                    entry.leases += 1
                    return entry
            stale = self._pop(key)
            if stale is not None:
                self._close_if_idle(stale)
            # Proves the credentials; raises when they fail.
            session, opened_fingerprint = open_session()
            entry = PooledSession(key, opened_fingerprint, session, close_session, leases=1)
            with self._lock:
                self.opened += 1
                self._sessions[key] = entry
            return entry

    def _release(self, entry: PooledSession) -> None:
        with self._lock:
            entry.leases -= 1
        self._close_if_idle(entry)

    def _pop(self, key: PoolKey) -> PooledSession | None:
        with self._lock:
            entry = self._sessions.pop(key, None)
            if entry is not None:
                entry.dropped = True
            return entry

    def _close_if_idle(self, entry: PooledSession) -> None:
        with self._lock:
            if not entry.dropped or entry.leases > 0 or entry.session is None:
                return
            session, entry.session = entry.session, None
        entry.close_session(session)

    def drop(self, entry: PooledSession) -> None:
        """Stop handing ``entry`` out (its credentials failed); closed when its leases end."""
        with self._lock:
            if self._sessions.get(entry.key) is entry:
                del self._sessions[entry.key]
            entry.dropped = True
        self._close_if_idle(entry)

    def drop_connection(self, tenant: str, ats: str) -> None:
        """Drop every pooled session of ``tenant``/``ats`` (the connection was removed)."""
        with self._lock:
            keys = [k for k in self._sessions if k[:2] == (tenant, ats)]
        for key in keys:
            entry = self._pop(key)
            if entry is not None:
                self._close_if_idle(entry)

    def close(self) -> None:
        """Close every idle session; sessions in use close when their last lease ends."""
        with self._lock:
            keys = list(self._sessions)
        for key in keys:
            entry = self._pop(key)
            if entry is not None:
                self._close_if_idle(entry)
