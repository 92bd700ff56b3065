"""Time as a dependency, so pacing and backoff are tested without sleeping."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...
    def now(self) -> datetime: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when slept on or advanced; records every sleep."""

    def __init__(self, start: float = 1_000.0, wall: datetime | None = None):
        self._t = start
        self._wall0 = wall or datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
        self._start = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._t += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += seconds

    def now(self) -> datetime:
        from datetime import timedelta

        with self._lock:
            return self._wall0 + timedelta(seconds=self._t - self._start)


SYSTEM_CLOCK = SystemClock()
