"""``pipeline_plan.choose_plan``: the cheaper listing per pass, from estimated requests."""

from __future__ import annotations

from atsbridge.services.pipeline_plan import ACCOUNT_SCOPE, JobFacts, choose_plan

PAGE = 100


def jobs(n: int, people: int = 80, *, covered: bool = True, due: bool = False) -> list[JobFacts]:
    return [JobFacts(f"j{i:03}", people, covered, due) for i in range(n)]


def plan(linked: list[JobFacts], **facts):
    defaults = dict(
        account_capable=True,
        account_started=True,
        account_in_progress=False,
        account_full_due=False,
        mirror_jobs=250,
        last_account_pages=200,
        page_size=PAGE,
    )
    return choose_plan(linked, **{**defaults, **facts})


def test_an_incremental_pass_reads_the_account_listing_once() -> None:
    chosen = plan(jobs(200))
    assert chosen.scopes == [(ACCOUNT_SCOPE, False)] and chosen.estimate == 1


def test_the_first_pass_is_account_wide_when_most_jobs_are_linked() -> None:
    chosen = plan(jobs(200, 0, covered=False), account_started=False, last_account_pages=None)
    assert chosen.scopes == [(ACCOUNT_SCOPE, True)]


def test_few_linked_jobs_are_listed_job_by_job() -> None:
    unknown = plan(jobs(5, 0, covered=False), account_started=False, last_account_pages=None)
    assert not unknown.account and len(unknown.per_job) == 5
    # Known sizes: 5 jobs of 80 people (5 requests) against a 200-page account listing.
    known = plan(jobs(5), account_full_due=True)
    assert not known.account and known.estimate == 5


def test_a_due_reconciliation_is_a_full_account_pass_when_that_is_cheaper() -> None:
    chosen = plan(jobs(200, 100), account_full_due=True)
    assert chosen.scopes == [(ACCOUNT_SCOPE, True)] and chosen.estimate == 200


def test_a_job_just_linked_gets_its_own_full_pass() -> None:
    chosen = plan([*jobs(199), JobFacts("new", 0, False, False)])
    assert chosen.scopes == [(ACCOUNT_SCOPE, False), ("new", True)]


def test_many_jobs_just_linked_make_the_account_pass_full_instead() -> None:
    fresh = [JobFacts(f"n{i}", 500, False, False) for i in range(50)]  # 250 pages on their own
    chosen = plan([*jobs(150), *fresh])
    assert chosen.scopes == [(ACCOUNT_SCOPE, True)]


def test_a_stopped_account_pass_is_resumed_not_restarted() -> None:
    chosen = plan(jobs(200), account_in_progress=True, account_full_due=True)
    assert chosen.scopes == [(ACCOUNT_SCOPE, False)]


def test_a_plugin_without_the_account_listing_is_walked_job_by_job() -> None:
    chosen = plan(jobs(3, due=True), account_capable=False)
    assert chosen.scopes == [("j000", True), ("j001", True), ("j002", True)]


def test_the_mode_weighs_the_incremental_passes_until_the_next_full_one() -> None:
    # 80 jobs of 80 people: a full pass costs 81 pages account-wide, 80 per job; the 7
    # incremental walks until the next cost 7 account-wide, 560 per job.
    chosen = plan(jobs(80), last_account_pages=81, mirror_jobs=100)
    assert chosen.scopes == [(ACCOUNT_SCOPE, False)]
