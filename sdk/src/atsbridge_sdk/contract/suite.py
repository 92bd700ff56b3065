"""``ContractSuite``: the standard contract checks as a pytest test class.

A plugin enables every check with::

    from atsbridge_sdk.contract import ContractSuite
    import atsbridge_myats.plugin

    class TestContract(ContractSuite):
        plugin = atsbridge_myats.plugin

Class attributes tune the run (sandbox size, page size, fault rate); see ``ContractSuite``.
"""

from __future__ import annotations

from typing import Any

import pytest
from atsbridge.model import SandboxOptions

from atsbridge_sdk.contract import account, checks, control
from atsbridge_sdk.contract.harness import SMALL_WORLD, Harness, NotApplicable


class ContractSuite:
    """Base class: subclass it in a ``test_*.py`` file and set ``plugin``."""

    plugin: Any = None
    #: The world each check's fresh sandbox is seeded with. Small keeps the kit fast; the kit
    #: needs more jobs and more candidates per job than ``page_size``.
    sandbox_options: SandboxOptions = SMALL_WORLD
    page_size: int = 3
    fault_rate: float = 0.2
    fault_seed: int = 5
    retry_after_seconds: float = 0.3
    #: Requests the rate-limit check makes; None = enough to go past the sandbox's burst.
    rate_limit_requests: int | None = None
    #: An id the ATS does not know, for the "deleted job" case; None if no id is safe to send.
    unknown_job_id: str | None = "987654321"

    @pytest.fixture
    def contract(self) -> Harness:
        if self.plugin is None:
            pytest.fail(f"{type(self).__name__}: set `plugin = <your plugin module>`")
        return Harness(
            plugin=self.plugin,
            options=self.sandbox_options,
            page_size=self.page_size,
            fault_rate=self.fault_rate,
            fault_seed=self.fault_seed,
            retry_after_seconds=self.retry_after_seconds,
            rate_limit_requests=self.rate_limit_requests,
            unknown_job_id=self.unknown_job_id,
        )

    def test_plugin_info_schema_and_setup(self, contract: Harness) -> None:
        checks.check_plugin_info(contract)

    def test_bad_credentials_fail_auth_clearly(self, contract: Harness) -> None:
        checks.check_bad_credentials(contract)

    def test_job_search_pages_through_every_job(self, contract: Harness) -> None:
        checks.check_job_search_pages_through_everything(contract)

    def test_job_search_finds_by_title_city_and_reference(self, contract: Harness) -> None:
        checks.check_job_search_finds_by_text(contract)

    def test_job_search_honours_updated_since(self, contract: Harness) -> None:
        checks.check_job_search_honours_updated_since(contract)

    def test_job_status_reports_closed_jobs(self, contract: Harness) -> None:
        checks.check_job_status_reports_closed_jobs(contract)

    def test_candidate_listing_returns_the_whole_pipeline(self, contract: Harness) -> None:
        checks.check_candidate_listing_returns_the_whole_pipeline(contract)

    def test_candidate_listing_honours_updated_since(self, contract: Harness) -> None:
        checks.check_candidate_listing_honours_updated_since(contract)

    def test_lead_push_is_idempotent(self, contract: Harness) -> None:
        checks.check_lead_push_is_idempotent(contract)

    def test_lead_push_replay_after_lost_response(self, contract: Harness) -> None:
        checks.check_lead_push_replay_after_lost_response(contract)

    def test_results_identical_under_faults(self, contract: Harness) -> None:
        checks.check_results_identical_under_faults(contract)

    def test_rate_limit_never_exceeded(self, contract: Harness) -> None:
        checks.check_rate_limit_never_exceeded(contract)

    def test_retry_after_is_honoured(self, contract: Harness) -> None:
        checks.check_retry_after_is_honoured(contract)

    def test_no_secret_in_logs_or_errors(self, contract: Harness) -> None:
        checks.check_no_secret_in_logs_or_errors(contract)

    def test_sandbox_control_api_over_http(self, contract: Harness) -> None:
        control.check_sandbox_control_api(contract)

    # -- only for plugins declaring Capability.ACCOUNT_CANDIDATES -----------------------------

    def _account(self, check: Any, contract: Harness) -> None:
        try:
            check(contract)
        except NotApplicable as exc:
            pytest.skip(str(exc))

    def test_account_listing_returns_every_application(self, contract: Harness) -> None:
        self._account(account.check_account_listing_returns_every_application, contract)

    def test_account_listing_honours_updated_since(self, contract: Harness) -> None:
        self._account(account.check_account_listing_honours_updated_since, contract)

    def test_account_listing_no_change_costs_one_request(self, contract: Harness) -> None:
        self._account(account.check_account_listing_no_change_costs_one_request, contract)
