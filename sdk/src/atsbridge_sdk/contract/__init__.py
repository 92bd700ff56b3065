"""Contract test kit: the standard checks every ATS plugin must pass against its sandbox.

``ContractSuite`` is the pytest entry point; ``Harness`` and ``checks`` let tools (and the
kit's own tests) run single checks and read their failure messages.
"""

from atsbridge_sdk.contract.checks import ALL_CHECKS, run_checks
from atsbridge_sdk.contract.harness import (
    ContractFailure,
    Harness,
    NotApplicable,
    job_matches_text,
)
from atsbridge_sdk.contract.suite import ContractSuite

__all__ = [
    "ALL_CHECKS",
    "ContractFailure",
    "ContractSuite",
    "Harness",
    "NotApplicable",
    "job_matches_text",
    "run_checks",
]
