"""The SDK's standard contract checks against the Greenhouse sandbox."""

from __future__ import annotations

import atsbridge_greenhouse.plugin
from atsbridge_sdk.contract import ContractSuite


class TestContract(ContractSuite):
    plugin = atsbridge_greenhouse.plugin
    # The rate-limit check pages jobs one per page against the real window (50 requests per
    # 10 s). Each page costs two requests here (the jobs and their job posts), so 30 pages
    # already make 60+ requests, past the window, at half the default run time.
    rate_limit_requests = 30
