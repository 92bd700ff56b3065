"""The SDK's standard contract suite, run against the Lever plugin and its sandbox."""

import atsbridge_lever.plugin
from atsbridge_sdk.contract import ContractSuite


class TestContract(ContractSuite):
    plugin = atsbridge_lever.plugin
