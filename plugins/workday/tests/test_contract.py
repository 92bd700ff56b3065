"""The SDK's standard contract checks against the Workday sandbox."""

from __future__ import annotations

import atsbridge_workday.plugin
from atsbridge_sdk.contract import ContractSuite


class TestContract(ContractSuite):
    plugin = atsbridge_workday.plugin
    # Requisition ids look like "ENG-1007"; an id of that shape nobody holds.
    unknown_job_id = "NONE-0000001"
