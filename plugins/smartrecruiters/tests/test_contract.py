"""The SDK's standard contract checks, against this plugin's sandbox."""

import atsbridge_smartrecruiters.plugin
from atsbridge_sdk.contract import ContractSuite


class TestContract(ContractSuite):
    plugin = atsbridge_smartrecruiters.plugin
    # Job ids are UUIDs here; a well-formed one the sandbox never issued is a deleted job.
    unknown_job_id = "00000000-0000-4000-8000-000000000000"
