"""Fixtures for the do-not-source tests (helpers live in tests/cntsfake.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.plugins import PluginRegistry
from atsbridge.services.cnts import CntsService
from click.testing import CliRunner, Result
from cntsfake import Clock, PipelineAts


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pipe(clock: Clock) -> PipelineAts:
    return PipelineAts(clock)


@pytest.fixture
def app(db_url: str, pipe: PipelineAts, clock: Clock) -> Iterator[Atsbridge]:
    registry = PluginRegistry()
    registry.register(pipe, pipe.name)
    assert registry.statuses[-1].ok, registry.statuses[-1].error
    with Atsbridge(db=db_url, registry=registry, clock=clock) as a:
        yield a


@pytest.fixture
def cnts(app: Atsbridge) -> CntsService:
    return app.cnts


@pytest.fixture
def run(app: Atsbridge):
    """Invoke the CLI on ``app``: ``run("cnts", "list", ...)`` -> click's Result."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), obj=CliState(app=app))

    return invoke
