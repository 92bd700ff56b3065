"""The account-wide pipeline listing (#15) and requisition dates for recency (#18 item 4)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest
from atsbridge.api import Atsbridge
from atsbridge.errors import PayloadError
from atsbridge.model import CandidateQuery, CandidateStatus, Capability, JobQuery, Lead
from atsbridge.plugins import PluginRegistry
from atsbridge_workday import assumptions, mapping, plugin
from atsbridge_workday.sandbox import WorkdaySandbox
from atsbridge_workday.soap import wd

from .conftest import FAST, SMALL, fast_client  # type: ignore[import-not-found]


def account(client, **query):
    out, cursor, pages = [], None, 0
    while True:
        page = client.list_candidates(CandidateQuery(None, cursor=cursor, **query))
        out.extend(page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return out, pages


def applications(sb: WorkdaySandbox) -> set[tuple[str, str]]:
    return {(a.req_id, p.candidate_id) for p in sb.store.values() for a in p.applications}


def test_the_capability_is_declared():
    assert Capability.ACCOUNT_CANDIDATES in plugin.atsbridge_plugin_info().capabilities


def test_account_wide_lists_every_application_on_its_requisition(sandbox, client):
    # A second application of one person (on another requisition): listed on each.
    jobs = [f.ats_id for f in sandbox.jobs()]
    person = sandbox.person(sandbox.pipeline(jobs[0])[0])
    lead = Lead(id="l-two", first_name="X", last_name="Y", emails=(person.emails[0],))
    client.push_lead(jobs[1], lead)
    sandbox.move_candidate(jobs[1], person.candidate_id, CandidateStatus.INTERVIEWING)
    sandbox.clear_log()
    sandbox.operations.clear()
    people, pages = account(client, page_size=7)
    assert sorted((c.job_ats_id, c.ats_id) for c in people) == sorted(applications(sandbox))
    assert pages == -(-len(sandbox.store) // 7)  # a page is 7 people, not 7 applications
    assert sandbox.operations == ["Get_Candidates_Request"] * pages  # nothing per person
    mine = {c.job_ats_id: c for c in people if c.ats_id == person.candidate_id}
    assert set(mine) == {jobs[0], jobs[1]}
    assert mine[jobs[1]].status is CandidateStatus.INTERVIEWING
    stored = {a.req_id: a for a in sandbox.person(person.candidate_id).applications}
    assert mine[jobs[0]].application_id == stored[jobs[0]].application_id
    assert mine[jobs[1]].application_id == stored[jobs[1]].application_id


def test_account_wide_incremental_uses_the_transaction_log(sandbox, client):
    people, _ = account(client)
    since = max(c.updated_at for c in people) + timedelta(seconds=1)
    sandbox.clear_log()
    assert account(client, updated_since=since) == ([], 1)
    assert len(sandbox.request_log) == 1
    job = sandbox.jobs()[2].ats_id
    mover = sandbox.pipeline(job)[0]
    sandbox.move_candidate(job, mover, CandidateStatus.REJECTED)
    changed, _ = account(client, updated_since=since)
    assert [(c.job_ats_id, c.ats_id, c.status) for c in changed] == [
        (job, mover, CandidateStatus.REJECTED)
    ]


def test_account_wide_resolves_requisitions_named_by_wid_only(sandbox, client):
    expected = sorted(applications(sandbox))
    sandbox.application_requisition_ids = ("WID",)
    sandbox.operations.clear()
    people, pages = account(client, page_size=10)
    assert sorted((c.job_ats_id, c.ats_id) for c in people) == expected
    # One Get_Job_Requisitions per page for the WIDs it met first; none once all are known.
    lookups = sandbox.operations.count("Get_Job_Requisitions_Request")
    assert 1 <= lookups <= pages
    sandbox.operations.clear()
    again, _ = account(client, page_size=10)
    assert sorted((c.job_ats_id, c.ats_id) for c in again) == expected
    assert "Get_Job_Requisitions_Request" not in sandbox.operations


def test_account_wide_at_the_real_rate_limit_gets_no_429():
    options = attrs.evolve(SMALL, rate_limited=True)
    with WorkdaySandbox(options) as sb:
        client = fast_client(sb, rate_limit=assumptions.RATE_LIMIT)
        try:
            people, pages = account(client, page_size=2)
        finally:
            client.close()
        assert pages > 10 and len(people) == len(applications(sb))
        assert sb.rate_limit_violations == 0


# --- requisition dates ------------------------------------------------------------------------


def test_jobs_carry_the_recruiting_start_date(sandbox, client):
    jobs = {j.ats_id: j for j in client.search_jobs(JobQuery(page_size=100)).items}
    eight_behind = timezone(timedelta(hours=-8))
    for req in sandbox.requisitions.values():
        job = jobs[req.req_id]
        assert req.recruiting_start is not None
        opened = datetime.combine(req.recruiting_start, datetime.min.time(), eight_behind)
        assert job.created_at == opened
        assert job.updated_at is None  # requisition data has no update time
    sandbox.set_recruiting_start(req.req_id, None)
    undated = client.search_jobs(JobQuery(page_size=100)).items
    assert next(j for j in undated if j.ats_id == req.req_id).created_at is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-10-01", datetime(2026, 10, 1, tzinfo=UTC)),
        ("2026-10-01Z", datetime(2026, 10, 1, tzinfo=UTC)),
        ("2026-10-01+02:00", datetime(2026, 10, 1, tzinfo=timezone(timedelta(hours=2)))),
        ("2026-10-01T09:30:00-07:00", datetime(2026, 10, 1, 16, 30, tzinfo=UTC)),
    ],
)
def test_recruiting_start_date_spellings(raw, expected):
    el = _requisition(raw)
    assert mapping.parse_requisition(el).created_at == expected


def test_a_malformed_recruiting_start_date_names_the_field():
    with pytest.raises(PayloadError, match=r"R-1.*Recruiting_Start_Date"):
        mapping.parse_requisition(_requisition("01/10/2026"))


def _requisition(opened: str) -> ET.Element:
    el = ET.Element(wd("Job_Requisition"))
    ref = ET.SubElement(el, wd("Job_Requisition_Reference"))
    ET.SubElement(ref, wd("ID"), {wd("type"): "Job_Requisition_ID"}).text = "R-1"
    data = ET.SubElement(el, wd("Job_Requisition_Data"))
    status = ET.SubElement(data, wd("Job_Requisition_Status_Reference"))
    ET.SubElement(status, wd("ID"), {wd("type"): "Job_Requisition_Status_ID"}).text = "Open"
    detail = ET.SubElement(data, wd("Job_Requisition_Detail_Data"))
    ET.SubElement(detail, wd("Job_Posting_Title")).text = "Picker"
    ET.SubElement(detail, wd("Recruiting_Start_Date")).text = opened
    return el


def test_search_most_recent_first_follows_the_requisition_dates(tmp_path: Path):
    registry = PluginRegistry.discover()
    wd_plugin = registry.get("workday")
    wd_plugin.info = attrs.evolve(wd_plugin.info, rate_limit=FAST)
    with WorkdaySandbox(SMALL) as sb:
        reqs = sorted(sb.requisitions)
        # The lowest references (last in reference order) opened most recently.
        for n, req_id in enumerate(reqs):
            sb.set_recruiting_start(req_id, date(2026, 11, 30) - timedelta(days=n))
        with Atsbridge(db=f"sqlite:///{tmp_path / 'w.db'}", registry=registry) as app:
            try:
                app.connections.connect("acme", "workday", sb.connection_config())
                app.jobs.sync("acme", "workday")
                found = app.jobs.search("acme", limit=len(reqs)).items
            finally:
                app.session_pool.close()
        assert [j.ats_id for j in found] == reqs
