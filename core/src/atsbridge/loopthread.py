"""A database-driven worker loop on a thread of its own, stoppable between rounds.

The outbound event deliverer and the inbound ATS webhook processor both keep all their
state in the database (claimed with a lease), so the thread holds nothing but itself; this
is the one place that starts, watches and stops such a loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["LoopThread"]


class LoopThread:
    """Runs ``target(stop_event, app, host_id=, interval=, policy=)`` on a daemon thread.

    ``wake`` is called on ``stop`` too, for a loop that sleeps on its own nudge rather than
    on the stop event, so it notices the stop at once instead of after its interval.
    """

    def __init__(
        self,
        target: Callable[..., Any],
        app: Any,
        *,
        name: str,
        host_id: str | None = None,
        interval: float = 1.0,
        policy: Any = None,
        wake: Callable[[], None] | None = None,
    ):
        self.app = app
        self.host_id = host_id
        self.interval = interval
        self.policy = policy
        self._target = target
        self._name = name
        self._wake = wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._target,
            args=(self._stop, self.app),
            kwargs={"host_id": self.host_id, "interval": self.interval, "policy": self.policy},
            name=self._name,
            daemon=True,
        )
        self._thread.start()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop after the round in flight; False when it still ran after ``timeout`` (its
        lease then lets another process take the claimed work again)."""
        self._stop.set()
        if self._wake is not None:
            self._wake()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
