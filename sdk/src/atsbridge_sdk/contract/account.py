"""Contract checks of the account-wide candidate listing (``Capability.ACCOUNT_CANDIDATES``).

A plugin declaring the capability answers ``CandidateQuery(job_ats_id=None)`` with every
application in the account, each ``Candidate`` naming its own job. The checks compare what
the plugin lists with the sandbox's pipelines (``Sandbox.jobs()`` and ``pipeline()``), so
they hold for any ATS. A plugin without the capability gets ``NotApplicable``.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

from atsbridge.model import Candidate, CandidateStatus, JobStatus

from atsbridge_sdk.contract.harness import (
    Harness,
    NotApplicable,
    fail,
    few,
    open_jobs,
    require_stamps_apart,
)
from atsbridge_sdk.sandbox.base import Sandbox
from atsbridge_sdk.sandbox.seed import BASE_TIME, make_person

__all__ = [
    "check_account_listing_honours_updated_since",
    "check_account_listing_no_change_costs_one_request",
    "check_account_listing_returns_every_application",
]

Pair = tuple[str, str]  # (job_ats_id, candidate ats_id): one application


def _require_capability(h: Harness) -> None:
    if not h.account_wide():
        raise NotApplicable("the plugin does not declare Capability.ACCOUNT_CANDIDATES")


def _applications(sandbox: Sandbox) -> set[Pair]:
    """Every application the sandbox holds, as (job, candidate) pairs."""
    return {(j.ats_id, c) for j in sandbox.jobs() for c in sandbox.pipeline(j.ats_id)}


def _pairs(people: list[Candidate]) -> Counter[Pair]:
    return Counter((c.job_ats_id, c.ats_id) for c in people)


def _stamps(people: list[Candidate]) -> dict[Pair, datetime]:
    missing = [c.ats_id for c in people if c.updated_at is None]
    if missing:
        raise fail(
            f"account-wide list_candidates gave candidates {few(missing)} no updated_at: it "
            "must report it so incremental sync can be checked"
        )
    return {(c.job_ats_id, c.ats_id): c.updated_at for c in people}  # type: ignore[misc]


def _sharing_stamps(changed: set[Pair], stamps: dict[Pair, datetime]) -> set[Pair]:
    """Other applications of a changed person that carry that person's very stamp.

    An ATS that stamps people, not applications (SmartRecruiters' ``updatedOn`` is the
    candidate's), cannot say which of a changed person's jobs changed: its incremental
    listing rightly returns all of them. An application of the person with a stamp of
    its own (an older one) is still held to the rule.
    """
    by_person = {cid: stamps[(job, cid)] for job, cid in changed if (job, cid) in stamps}
    return {
        (job, cid)
        for (job, cid), when in stamps.items()
        if (job, cid) not in changed and by_person.get(cid) == when
    }


def _describe(pairs: set[Pair]) -> str:
    return few(f"{cid} on job {job}" for job, cid in pairs)


def check_account_listing_returns_every_application(h: Harness) -> None:
    """Every application in the account (closed jobs' too), across pages, once, right job."""
    _require_capability(h)
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        closed, other = open_jobs(sandbox, 2)
        rejected = sandbox.pipeline(closed.ats_id)[0]
        hired = sandbox.pipeline(other.ats_id)[0]
        sandbox.move_candidate(closed.ats_id, rejected, CandidateStatus.REJECTED)
        sandbox.move_candidate(other.ats_id, hired, CandidateStatus.HIRED)
        sandbox.set_job_status(closed.ats_id, JobStatus.CLOSED)
        expected = _applications(sandbox)
        if len(expected) <= h.page_size:
            raise fail(f"the sandbox holds {len(expected)} applications; seed more than page_size")
        people, pages = h.all_account_candidates(session)
        counts = _pairs(people)
        dupes = {p for p, n in counts.items() if n > 1}
        if dupes:
            raise fail(
                f"the account-wide list_candidates repeated applications across pages: "
                f"{_describe(dupes)}"
            )
        listed = set(counts)
        missing = expected - listed
        wrong_job = {
            (job, cid)
            for job, cid in listed - expected
            if any(c == cid for _, c in missing)  # the person is there, on another job
        }
        if wrong_job:
            raise fail(
                f"the account-wide list_candidates names the wrong job: {_describe(wrong_job)}, "
                "each Candidate must carry the job of its application"
            )
        if missing:
            raise fail(
                f"paging through the account-wide list_candidates (page_size={h.page_size}, "
                f"{pages} pages) missed {len(missing)} of {len(expected)} applications: "
                f"{_describe(missing)}"
            )
        if listed - expected:
            raise fail(
                f"the account-wide list_candidates returned applications the sandbox does not "
                f"hold: {_describe(listed - expected)}"
            )
        if pages < 2:
            raise fail("the account-wide list_candidates ignored CandidateQuery.page_size")
        status = {(c.job_ats_id, c.ats_id): c.status for c in people}
        for pair, want in (
            ((closed.ats_id, rejected), CandidateStatus.REJECTED),
            ((other.ats_id, hired), CandidateStatus.HIRED),
        ):
            if status[pair] != want:
                raise fail(
                    f"candidate {pair[1]} on job {pair[0]} was moved to {want.value} in the "
                    f"sandbox but the account-wide listing says {status[pair].value}"
                )


def _change_two(h: Harness, sandbox: Sandbox) -> set[Pair]:
    """Move one candidate and add one, on two jobs; return the changed applications."""
    first, second = open_jobs(sandbox, 2)
    moved = sandbox.pipeline(first.ats_id)[0]
    sandbox.move_candidate(first.ats_id, moved, CandidateStatus.INTERVIEWING)
    person = make_person(random.Random(h.options.seed), 990_002, BASE_TIME)
    added = sandbox.add_candidate(second.ats_id, person)
    return {(first.ats_id, moved), (second.ats_id, added)}


def check_account_listing_honours_updated_since(h: Harness) -> None:
    """``updated_since`` returns only the applications changed since then, in one page."""
    _require_capability(h)
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        changed = _change_two(h, sandbox)
        after, _ = h.all_account_candidates(session)
        stamps = _stamps(after)
        if changed - set(stamps):
            raise fail(
                f"the account-wide list_candidates does not list the changed applications "
                f"{_describe(changed - set(stamps))}"
            )
        since = min(stamps[p] for p in changed) - timedelta(seconds=1)
        shared = _sharing_stamps(changed, stamps)
        require_stamps_apart(
            since, [t for p, t in stamps.items() if p not in changed and p not in shared]
        )
        sandbox.clear_log()
        listed, _ = h.all_account_candidates(session, updated_since=since)
        requests = len(sandbox.request_log)
        pairs = set(_pairs(listed)) - shared
        if changed - pairs:
            raise fail(
                f"the account-wide list_candidates(updated_since={since.isoformat()}) missed "
                f"changed applications {_describe(changed - pairs)}"
            )
        if pairs - changed:
            raise fail(
                f"the account-wide list_candidates(updated_since={since.isoformat()}) returned "
                f"{len(pairs - changed)} applications not changed since then "
                f"({_describe(pairs - changed)}): updated_since must be sent to the ATS"
            )
        if requests > 3:
            raise fail(
                f"an account-wide incremental listing of 2 changed applications made "
                f"{requests} requests; expected one page (at most 3 requests)"
            )


def check_account_listing_no_change_costs_one_request(h: Harness) -> None:
    """An incremental account-wide listing after the last change: nothing, in one request."""
    _require_capability(h)
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        _change_two(h, sandbox)
        people, _ = h.all_account_candidates(session)
        quiet_since = max(_stamps(people).values()) + timedelta(seconds=1)
        sandbox.clear_log()
        listed, _ = h.all_account_candidates(session, updated_since=quiet_since)
        if listed:
            raise fail(
                f"the account-wide list_candidates(updated_since={quiet_since.isoformat()}) "
                f"after the last change returned {_describe(set(_pairs(listed)))}: "
                "updated_since must be sent to the ATS"
            )
        made = len(sandbox.request_log)
        if made != 1:
            raise fail(
                f"an account-wide listing with nothing changed made {made} requests; "
                "expected 1 (one request per ATS listing read)"
            )
