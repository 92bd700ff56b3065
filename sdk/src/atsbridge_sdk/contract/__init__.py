"""Contract test kit: the standard checks every ATS plugin must pass against its sandbox.

``ContractSuite`` is the pytest entry point; ``Harness`` and ``checks`` let tools (and the
kit's own tests) run single checks and read their failure messages.

``ContractSuite`` is imported on first use: it needs pytest, which only the SDK's ``test``
extra installs, and importing this package (the scaffold reads the reference example below
it) must work with the runtime dependencies alone.
"""

from typing import TYPE_CHECKING, Any

from atsbridge_sdk.contract.checks import ALL_CHECKS, run_checks
from atsbridge_sdk.contract.harness import (
    ContractFailure,
    Harness,
    NotApplicable,
    job_matches_text,
)

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name == "ContractSuite":
        from atsbridge_sdk.contract.suite import ContractSuite

        return ContractSuite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
