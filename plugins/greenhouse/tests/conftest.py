"""Fixtures: small seeded Greenhouse sandboxes and plugin sessions against them.

Sandboxes enforce a time-scaled copy of the real window (50 requests per 0.5 s instead of
per 10 s) and sessions pace to the same scale (80 req/s with a burst of 5 instead of 4 req/s),
so the pacing arithmetic is exercised for real while the tests stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from atsbridge.model import RateLimit, SandboxOptions, SessionContext
from atsbridge_greenhouse import plugin
from atsbridge_greenhouse.client import GreenhouseClient
from atsbridge_greenhouse.sandbox import GreenhouseSandbox
from atsbridge_sdk.sandbox import WindowLimit

FAST_WINDOW = WindowLimit(limit=50, seconds=0.5)
FAST_RATE = RateLimit(requests_per_second=80.0, burst=5, max_concurrency=2)
SMALL = SandboxOptions(seed=7, jobs=12, candidates_per_job=4)


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., GreenhouseSandbox]]:
    started: list[GreenhouseSandbox] = []

    def make(options: SandboxOptions = SMALL, **kw: Any) -> GreenhouseSandbox:
        kw.setdefault("window", FAST_WINDOW)
        sb = GreenhouseSandbox(options, **kw).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


@pytest.fixture
def connect() -> Iterator[Callable[..., GreenhouseClient]]:
    opened: list[GreenhouseClient] = []

    def open_(sandbox: GreenhouseSandbox, **config: Any) -> GreenhouseClient:
        cfg = {**sandbox.connection_config(), **config}
        context = SessionContext(rate_limit=FAST_RATE)
        client = plugin.atsbridge_open_session(config=cfg, context=context)
        opened.append(client)
        return client

    yield open_
    for client in opened:
        client.close()


@pytest.fixture
def sandbox(make_sandbox) -> GreenhouseSandbox:
    return make_sandbox()


@pytest.fixture
def session(sandbox, connect) -> GreenhouseClient:
    return connect(sandbox)
