"""Fixtures for the hostile-input tests: an app over ``db_url`` with the pipeline fake
ATS of tests/cntsfake.py, and the CLI invoked on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.plugins import PluginRegistry
from click.testing import CliRunner, Result
from cntsfake import Clock, PipelineAts


@pytest.fixture
def app(db_url: str) -> Iterator[Atsbridge]:
    pipe = PipelineAts(Clock())
    registry = PluginRegistry()
    registry.register(pipe, pipe.name)
    assert registry.statuses[-1].ok, registry.statuses[-1].error
    with Atsbridge(db=db_url, registry=registry) as a:
        yield a


@pytest.fixture
def run(app: Atsbridge):
    """Invoke the CLI on ``app``: ``run("cnts", "list", ...)`` -> click's Result."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), obj=CliState(app=app))

    return invoke
