"""Fixtures for the host tests: a stub plugin app over ``db_url`` and a settable clock."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge

# Appended, not put first: tests/leads imports its helpers as ``conftest``, and this
# directory ahead of it on sys.path would hand it this file when both run in one session.
sys.path.append(str(Path(__file__).resolve().parent))

from hoststub import StubAts, stub_registry


class SetClock:
    """Stands still until a test moves it: lease expiry happens exactly when told."""

    def __init__(self, start: datetime = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> SetClock:
    return SetClock()


@pytest.fixture
def stub() -> Iterator[StubAts]:
    stub = StubAts()
    yield stub
    stub.release.set()


@pytest.fixture
def app(db_url: str, stub: StubAts) -> Iterator[Atsbridge]:
    with Atsbridge(db=db_url, registry=stub_registry(stub)) as app:
        yield app


@pytest.fixture
def sqlite_app(tmp_path: Path, stub: StubAts) -> Iterator[Atsbridge]:
    with Atsbridge(db=f"sqlite:///{tmp_path / 'host.db'}", registry=stub_registry(stub)) as app:
        yield app
