"""The contract kit catches real bugs: each broken variant of the example plugin fails the
check meant for it, with a message that says what is wrong."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Any

import attrs
import pytest
from atsbridge.model import Capability, Page, RateLimit
from atsbridge_sdk.contract import Harness, run_checks
from atsbridge_sdk.contract.example import plugin as example
from atsbridge_sdk.contract.example import sandbox as example_sandbox
from atsbridge_sdk.contract.example.client import ExampleSession

log = logging.getLogger("atsbridge_broken_example")


class Delegating:
    """Every hook goes to the example plugin; each subclass breaks one thing."""

    session_class: type[ExampleSession] = ExampleSession

    def atsbridge_plugin_info(self) -> Any:
        return example.atsbridge_plugin_info()

    def atsbridge_sandbox(self, options: Any) -> Any:
        return example.atsbridge_sandbox(options=options)

    def atsbridge_open_session(self, config: dict, context: Any) -> Any:
        session = self.session_class(config, context)
        session.check()
        return session

    def atsbridge_search_jobs(self, session: Any, query: Any) -> Any:
        return example.atsbridge_search_jobs(session=session, query=query)

    def atsbridge_list_candidates(self, session: Any, query: Any) -> Any:
        return example.atsbridge_list_candidates(session=session, query=query)

    def atsbridge_job_statuses(self, session: Any, job_ids: list[str]) -> Any:
        return example.atsbridge_job_statuses(session=session, job_ids=job_ids)

    def atsbridge_push_lead(self, session: Any, job_id: str, lead: Any, idempotency_key: str):
        return example.atsbridge_push_lead(
            session=session, job_id=job_id, lead=lead, idempotency_key=idempotency_key
        )


class IgnoresUpdatedSince(Delegating):
    """Forgets to send updated_since to the ATS (a full sync every time)."""

    def atsbridge_search_jobs(self, session, query):
        return super().atsbridge_search_jobs(session, attrs.evolve(query, updated_since=None))

    def atsbridge_list_candidates(self, session, query):
        return super().atsbridge_list_candidates(session, attrs.evolve(query, updated_since=None))


class DropsLastPage(Delegating):
    """An off-by-one stop condition: ends when the *next* page would be the last one."""

    def _stop_early(self, fetch, query):
        page = fetch(query)
        if page.next_cursor is not None:
            following = fetch(attrs.evolve(query, cursor=page.next_cursor))
            if following.next_cursor is None:
                return Page(page.items, None)
        return page

    def atsbridge_search_jobs(self, session, query):
        return self._stop_early(
            lambda q: super(DropsLastPage, self).atsbridge_search_jobs(session, q), query
        )

    def atsbridge_list_candidates(self, session, query):
        return self._stop_early(
            lambda q: super(DropsLastPage, self).atsbridge_list_candidates(session, q), query
        )


class NamesTheWrongJob(Delegating):
    """The account-wide listing stamps every candidate of a page with the first one's job."""

    def atsbridge_list_candidates(self, session, query):
        page = super().atsbridge_list_candidates(session, query)
        if query.job_ats_id is not None or not page.items:
            return page
        job = page.items[0].job_ats_id
        return Page([attrs.evolve(c, job_ats_id=job) for c in page.items], page.next_cursor)


class RepeatsAcrossPages(Delegating):
    """An off-by-one page boundary: each account-wide page ends with the next one's first."""

    def atsbridge_list_candidates(self, session, query):
        page = super().atsbridge_list_candidates(session, query)
        if query.job_ats_id is not None or page.next_cursor is None:
            return page
        following = super().atsbridge_list_candidates(
            session, attrs.evolve(query, cursor=page.next_cursor)
        )
        return Page([*page.items, *following.items[:1]], page.next_cursor)


class ProbesBeforeIncrementalListing(Delegating):
    """Proves its credentials again before each incremental listing: two requests, not one."""

    def atsbridge_list_candidates(self, session, query):
        if query.updated_since is not None and query.cursor is None:
            session.check()
        return super().atsbridge_list_candidates(session, query)


class WithoutAccountListing(Delegating):
    """Does not declare the account-wide listing: its checks do not apply."""

    def atsbridge_plugin_info(self):
        info = super().atsbridge_plugin_info()
        return attrs.evolve(info, capabilities=info.capabilities - {Capability.ACCOUNT_CANDIDATES})


class _NoLookupSession(ExampleSession):
    def find_candidate(self, lead, idempotency_key):
        return None  # never looks for what a previous attempt created


class DuplicatesOnReplay(Delegating):
    session_class = _NoLookupSession


class _HastySession(ExampleSession):
    def __init__(self, config, context):
        super().__init__(config, context)
        send = self.http.request

        def hasty(method, url, *, accept=(), **kw):
            # Retries 429 on its own, at once, instead of letting the client honour Retry-After.
            for _ in range(10):
                response = send(method, url, accept=(*accept, 429), **kw)
                if response.status_code != 429:
                    break
            return response

        self.http.request = hasty  # type: ignore[method-assign]


class IgnoresRetryAfter(Delegating):
    session_class = _HastySession


class _GreedySession(ExampleSession):
    def __init__(self, config, context):
        # Declares far more than the ATS allows, so pacing never holds a request back.
        greedy = RateLimit(requests_per_second=1000, burst=1000, max_concurrency=4)
        super().__init__(config, attrs.evolve(context, rate_limit=context.rate_limit or greedy))


class IgnoresTheRateLimit(Delegating):
    session_class = _GreedySession


class LogsItsToken(Delegating):
    def atsbridge_open_session(self, config, context):
        log.debug("opening session with config %s", config)
        return super().atsbridge_open_session(config, context)


class _StatusBlindSandbox(example_sandbox.ExampleSandbox):
    """Puts every added person in the pipeline as new, whatever their status."""

    def add_candidate(self, job_id, person):
        return super().add_candidate(job_id, attrs.evolve(person, status="new"))


class SandboxIgnoresAddedStatus(Delegating):
    """Its sandbox's control methods drop what they are given (here: the status)."""

    def atsbridge_sandbox(self, options):
        return _StatusBlindSandbox(options)


class _NoControlSandbox(example_sandbox.ExampleSandbox):
    def control(self, request):  # shadows the SDK's control API: /_sandbox/ is the ATS's 404
        return None


class SandboxWithoutControlApi(Delegating):
    """Its sandbox does not serve the HTTP control API."""

    def atsbridge_sandbox(self, options):
        return _NoControlSandbox(options)


BROKEN = {
    "ignores updated_since": (
        IgnoresUpdatedSince,
        [
            "job_search_updated_since",
            "candidates_updated_since",
            "account_candidates_updated_since",
            "account_candidates_no_change",
        ],
        "updated_since must be sent to the ATS",
    ),
    "drops the last page": (
        DropsLastPage,
        ["job_search_pages", "candidates_pipeline", "account_candidates_pages"],
        "missed",
    ),
    "names the wrong job": (
        NamesTheWrongJob,
        ["account_candidates_pages"],
        "names the wrong job",
    ),
    "repeats across pages": (
        RepeatsAcrossPages,
        ["account_candidates_pages"],
        "repeated applications across pages",
    ),
    "probes before an incremental listing": (
        ProbesBeforeIncrementalListing,
        ["account_candidates_no_change"],
        "expected 1 (one request per ATS listing read)",
    ),
    "duplicates on replay": (
        DuplicatesOnReplay,
        ["lead_push_idempotent", "lead_push_lost_response"],
        "expected exactly 1",
    ),
    "ignores Retry-After": (
        IgnoresRetryAfter,
        ["retry_after"],
        "it must wait the time the ATS asks for",
    ),
    "ignores the rate limit": (
        IgnoresTheRateLimit,
        ["rate_limit"],
        "exceeded the sandbox's rate limit",
    ),
    "ignores an added person's status in its sandbox": (
        SandboxIgnoresAddedStatus,
        ["sandbox_control"],
        "after add and move the plugin lists",
    ),
    "serves no control API": (
        SandboxWithoutControlApi,
        ["sandbox_control"],
        "control API GET /: HTTP 404, expected 200",
    ),
    "logs its token": (
        LogsItsToken,
        ["no_secrets"],
        "config field 'api_key' appears in a log record",
    ),
}


@pytest.mark.parametrize("bug", BROKEN)
def test_each_broken_plugin_is_caught_with_a_readable_failure(bug):
    plugin_class, checks, phrase = BROKEN[bug]
    results = run_checks(Harness(plugin_class()), checks)
    for name in checks:
        message = results[name]
        assert message is not None, f"check {name} did not catch a plugin that {bug}"
        assert phrase in message, f"{name} caught it but said: {message}"
        assert "\n" not in message and len(message) < 400


def test_the_token_is_masked_in_the_failure_message():
    message = run_checks(Harness(LogsItsToken()), ["no_secrets"])["no_secrets"]
    assert message is not None
    assert "<SECRET>" in message and "exk_live_" not in message.replace("exk_live_0", "")


def test_the_delegating_base_itself_passes_the_checks_the_bugs_break():
    names = sorted({name for _, checks, _ in BROKEN.values() for name in checks})
    assert run_checks(Harness(Delegating()), names) == dict.fromkeys(names)


def test_account_checks_do_not_apply_without_the_capability(pytester):
    names = ["account_candidates_pages", "account_candidates_updated_since"]
    assert run_checks(Harness(WithoutAccountListing()), [*names, "job_status"]) == {
        "job_status": None
    }
    pytester.makepyfile(
        test_plain=textwrap.dedent(
            """
            from atsbridge_sdk.contract import ContractSuite
            from test_contract_catches_bugs import WithoutAccountListing

            class TestContract(ContractSuite):
                plugin = WithoutAccountListing()
            """
        )
    )
    pytester.syspathinsert(str(Path(__file__).parent))
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "account", "-rs")
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["*does not declare Capability.ACCOUNT_CANDIDATES*"])


def test_contract_suite_reports_a_bug_through_pytest(pytester):
    pytester.makepyfile(
        test_broken=textwrap.dedent(
            """
            import attrs
            from atsbridge_sdk.contract import ContractSuite
            from atsbridge_sdk.contract.example import plugin as example

            class Plugin:
                def __getattr__(self, name):
                    return getattr(example, name)

                def atsbridge_search_jobs(self, session, query):
                    query = attrs.evolve(query, updated_since=None)
                    return example.atsbridge_search_jobs(session=session, query=query)

            class TestContract(ContractSuite):
                plugin = Plugin()
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "job_search")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*test_job_search_honours_updated_since*", "*updated_since must be sent to the ATS*"]
    )
