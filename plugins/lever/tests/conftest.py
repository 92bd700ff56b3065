from __future__ import annotations

import httpx
import pytest
from atsbridge.model import SandboxOptions
from atsbridge_lever.sandbox import LeverSandbox

# Small on purpose: 12 postings x 4 candidates, paged in fives, runs in seconds.
OPTIONS = SandboxOptions(seed=7, jobs=12, candidates_per_job=4)


@pytest.fixture
def sandbox():
    sb = LeverSandbox(OPTIONS)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def api(sandbox):
    """A plain httpx client authenticated like the real thing (key as Basic user)."""
    config = sandbox.connection_config()
    with httpx.Client(base_url=config["base_url"], auth=(config["api_key"], "")) as client:
        yield client
