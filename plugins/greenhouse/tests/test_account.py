"""The account-wide pipeline listing (``GET /v3/applications`` without ``job_ids``)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from urllib.parse import parse_qs

from atsbridge.model import CandidateQuery, CandidateStatus, Capability
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
    assert len(listings) == pages == -(-len(people) // 20)
    assert "job_ids" not in listings[0] and listings[0]["per_page"] == ["20"]
    assert all(set(q) == {"cursor"} for q in listings[1:])  # the cursor travels alone


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
