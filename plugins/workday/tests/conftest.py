from __future__ import annotations

import pytest
from atsbridge.model import RateLimit, SandboxOptions
from atsbridge_sdk.http import RetryPolicy
from atsbridge_workday.client import WorkdayClient, open_client
from atsbridge_workday.sandbox import WorkdaySandbox

SMALL = SandboxOptions(seed=7, jobs=12, candidates_per_job=4, rate_limited=False)
# The sandbox's rate limit is off in these fixtures, so the client may go fast; the
# rate-limit test runs with both at their real settings.
FAST = RateLimit(requests_per_second=1000.0, burst=100, max_concurrency=2)
QUICK_RETRY = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05, total_budget=30)


@pytest.fixture(params=["notes", "wsdl"])
def sandbox(request):
    sb = WorkdaySandbox(SMALL, shape=request.param)
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def notes_sandbox():
    sb = WorkdaySandbox(SMALL)
    sb.start()
    yield sb
    sb.stop()


def fast_client(sandbox: WorkdaySandbox, **kw) -> WorkdayClient:
    kw.setdefault("rate_limit", FAST)
    kw.setdefault("retry", QUICK_RETRY)
    config = kw.pop("config", None) or sandbox.connection_config()
    return open_client(config, **kw)


@pytest.fixture
def client(sandbox):
    c = fast_client(sandbox)
    yield c
    c.close()
