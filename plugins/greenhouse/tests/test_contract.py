"""The SDK's standard contract checks against the Greenhouse sandbox."""

from __future__ import annotations

import atsbridge_greenhouse.plugin
from atsbridge_sdk.contract import ContractSuite


class TestContract(ContractSuite):
    plugin = atsbridge_greenhouse.plugin
