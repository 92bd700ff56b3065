"""The account-wide pipeline listing (``GET /v3/applications`` without ``job_ids``)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from urllib.parse import parse_qs

from atsbridge.model import CandidateQuery, CandidateStatus, Capability, SandboxOptions
from atsbridge_greenhouse import mapping as m
from atsbridge_greenhouse import plugin


def _account(session, **kw) -> tuple[list, int]:
    out, cursor, pages = [], None, 0
    while True:
        page = plugin.atsbridge_list_candidates(
            session=session, query=CandidateQuery(job_ats_id=None, cursor=cursor, **kw)
        )
        out.extend(page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return out, pages


def _applications(sandbox) -> set[tuple[str, str]]:
    return {(j.ats_id, c) for j in sandbox.jobs() for c in sandbox.pipeline(j.ats_id)}


def _queries(sandbox, path: str) -> list[dict[str, list[str]]]:
    return [parse_qs(r.query) for r in sandbox.requests_to(path, "GET")]


def test_declares_the_account_wide_listing():
    assert Capability.ACCOUNT_CANDIDATES in plugin.atsbridge_plugin_info().capabilities


def test_account_wide_lists_every_application_with_its_job_in_one_listing(sandbox, session):
    job = sorted(sandbox.jobs(), key=lambda j: j.ats_id)[0]
    hired = sandbox.pipeline(job.ats_id)[0]
    sandbox.move_candidate(job.ats_id, hired, CandidateStatus.HIRED)
    sandbox.clear_log()
    people, pages = _account(session, page_size=20)
    pairs = Counter((c.job_ats_id, c.ats_id) for c in people)
    assert set(pairs) == _applications(sandbox) and max(pairs.values()) == 1
    assert {(c.job_ats_id, c.ats_id): c.status for c in people}[
        (job.ats_id, hired)
    ] == CandidateStatus.HIRED
    listings = _queries(sandbox, "/v3/applications")
    # One page of the account's people (48 of them, 500 a page) before the applications.
    assert len(listings) == pages - 1 == -(-len(people) // 20)
    assert "job_ids" not in listings[0] and listings[0]["per_page"] == ["20"]
    assert all(set(q) == {"cursor"} for q in listings[1:])  # the cursor travels alone


def test_a_full_account_pass_lists_people_500_a_page_and_reads_none_by_ids(make_sandbox, connect):
    # 30 jobs of 20: 600 people, two pages of people, 600 applications 100 a page.
    sandbox = make_sandbox(SandboxOptions(seed=3, jobs=30, candidates_per_job=20))
    session = connect(sandbox)
    sandbox.clear_log()
    people, pages = _account(session, page_size=100)
    assert len(people) == len(sandbox.applications) == 600
    assert all(c.emails and c.first_name for c in people)  # every row has its person
    reads = _queries(sandbox, "/v3/candidates")
    assert reads[0] == {"per_page": ["500"]} and set(reads[1]) == {"cursor"}
    assert len(reads) == 2  # no GET /v3/candidates?ids=: the pass listed everyone
    assert len(_queries(sandbox, "/v3/applications")) == 6
    assert pages == 8 == len(sandbox.request_log)  # one request a page, nothing else


def test_a_stopped_full_pass_resumes_in_another_session_reading_by_ids(make_sandbox, connect):
    sandbox = make_sandbox(SandboxOptions(seed=3, jobs=30, candidates_per_job=20))
    first = plugin.atsbridge_list_candidates(
        session=connect(sandbox), query=CandidateQuery(job_ats_id=None)
    )
    assert first.items == () and first.next_cursor is not None
    # A fresh process resumes from the checkpointed cursor: what the first one listed is
    # not in this one's memory, so it reads those people by ids, and misses nobody.
    other = connect(sandbox)
    out, cursor = [], first.next_cursor
    while cursor is not None:
        page = plugin.atsbridge_list_candidates(
            session=other, query=CandidateQuery(job_ats_id=None, cursor=cursor)
        )
        out.extend(page.items)
        cursor = page.next_cursor
    assert len(out) == 600 and all(c.emails for c in out)


def test_an_unchanged_repeat_reads_no_person_a_moved_one_is_read(sandbox, session):
    people, _ = _account(session)
    newest = max(c.updated_at for c in people)
    # The overlap window: the newest applications come back unchanged.
    overlap = newest - timedelta(minutes=5)
    sandbox.clear_log()
    repeat, _ = _account(session, updated_since=overlap)
    assert repeat and all(c.emails for c in repeat)
    assert [r.path for r in sandbox.request_log] == ["/v3/applications"]
    job = sorted(sandbox.jobs(), key=lambda j: j.ats_id)[2]
    moved = sandbox.pipeline(job.ats_id)[0]
    sandbox.move_candidate(job.ats_id, moved, CandidateStatus.INTERVIEWING)
    sandbox.clear_log()
    again, _ = _account(session, updated_since=overlap)
    assert (job.ats_id, moved) in {(c.job_ats_id, c.ats_id) for c in again}
    # Activity since it was returned: its person is read again, by ids, alone.
    (read,) = _queries(sandbox, "/v3/candidates")
    assert read["ids"] == [moved]


def test_account_wide_incremental_sends_last_activity_at(sandbox, session):
    people, _ = _account(session)
    newest = max(c.updated_at for c in people)
    job = sorted(sandbox.jobs(), key=lambda j: j.ats_id)[1]
    moved = sandbox.pipeline(job.ats_id)[0]
    sandbox.move_candidate(job.ats_id, moved, CandidateStatus.INTERVIEWING)
    sandbox.clear_log()
    changed, pages = _account(session, updated_since=newest + timedelta(milliseconds=1))
    assert [(c.job_ats_id, c.ats_id) for c in changed] == [(job.ats_id, moved)]
    assert pages == 1
    (listing,) = _queries(sandbox, "/v3/applications")
    assert listing["last_activity_at"][0].startswith("gte|")
    assert "job_ids" not in listing


def test_stage_names_for_many_jobs_come_in_one_batched_read(make_sandbox, connect):
    sandbox = make_sandbox(stage_names_on_rows=False)
    session = connect(sandbox)
    sandbox.clear_log()
    people, _ = _account(session, page_size=500)
    expected = {
        str(a["id"]): sandbox.stages[a["job_interview_stage_id"]]["name"]
        for a in sandbox.applications.values()
        if a["job_interview_stage_id"]
    }
    assert len(expected) > 1
    assert {c.application_id: c.stage for c in people if c.application_id in expected} == expected
    (stages,) = _queries(sandbox, "/v3/job_interview_stages")
    asked = set(stages["job_ids"][0].split(","))
    assert asked <= {j.ats_id for j in sandbox.jobs()} and len(asked) > 1


def test_prospect_on_several_jobs_is_listed_under_each():
    app = m.structure_list(
        [{"id": 5, "candidate_id": 9, "job_id": None, "job_ids": [11, 12, 11], "prospect": True}],
        m.GhApplication,
        "application",
    )[0]
    assert m.jobs_of(app) == [11, 12]
    no_job = m.GhApplication(id=6, candidate_id=9, prospect=True)
    assert m.jobs_of(no_job) == []
