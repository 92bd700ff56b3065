"""The injected clock of the event tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SteppingClock:
    """A clock that moves only when told to (``advance``), one tick per reading besides."""

    def __init__(self, start: datetime = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta
