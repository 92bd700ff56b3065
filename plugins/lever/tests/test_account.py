"""The account-wide pipeline listing and confidential postings, through the fake Lever."""

from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest
from atsbridge.errors import BadInput, PayloadError
from atsbridge.model import CandidateQuery, CandidateStatus, JobQuery, SessionContext
from atsbridge_lever import mapping, plugin
from atsbridge_lever.sandbox import LeverSandbox
from atsbridge_sdk.sandbox.seed import BASE_TIME, make_person

from .conftest import OPTIONS

CONFIDENTIAL_EVERY = 3  # postings 2, 5, 8, 11 of the 12 seeded are confidential


def _open(sandbox: LeverSandbox) -> plugin.LeverSession:
    return plugin.open_session(sandbox.connection_config(), SessionContext())


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


def _job_pipeline(session, job_id: str) -> set[str]:
    out, cursor = set(), None
    while True:
        page = plugin.atsbridge_list_candidates(
            session=session, query=CandidateQuery(job_ats_id=job_id, cursor=cursor)
        )
        out |= {c.ats_id for c in page.items}
        cursor = page.next_cursor
        if cursor is None:
            return out


def _all_jobs(session) -> set[str]:
    out, cursor = set(), None
    while True:
        page = plugin.atsbridge_search_jobs(session=session, query=JobQuery(cursor=cursor))
        out |= {j.ats_id for j in page.items}
        cursor = page.next_cursor
        if cursor is None:
            return out


def _queries(sandbox: LeverSandbox, path: str) -> list[dict[str, list[str]]]:
    return [parse_qs(r.query) for r in sandbox.requests_to(f"/v1{path}", "GET")]


def _applications(sandbox: LeverSandbox) -> set[tuple[str, str]]:
    return {(j.ats_id, c) for j in sandbox.jobs() for c in sandbox.pipeline(j.ats_id)}


@pytest.fixture
def confidential_sandbox():
    sb = LeverSandbox(OPTIONS, confidential_every=CONFIDENTIAL_EVERY).start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def restricted_sandbox():
    """Confidential postings, and a key without the permission to see them."""
    sb = LeverSandbox(
        OPTIONS, confidential_every=CONFIDENTIAL_EVERY, confidential_access=False
    ).start()
    try:
        yield sb
    finally:
        sb.stop()


def _confidential_jobs(sandbox: LeverSandbox) -> set[str]:
    return {p["id"] for p in sandbox.postings.values() if p["confidentiality"] == "confidential"}


# -- account-wide listing -----------------------------------------------------------------


def test_account_wide_lists_every_opportunity_under_its_posting_archived_included(sandbox):
    jobs = sorted(sandbox.jobs(), key=lambda j: j.ats_id)
    archived = sandbox.pipeline(jobs[0].ats_id)[0]
    sandbox.move_candidate(jobs[0].ats_id, archived, CandidateStatus.REJECTED)
    session = _open(sandbox)
    try:
        sandbox.clear_log()
        people, pages = _account(session, page_size=10)
    finally:
        session.close()
    pairs = Counter((c.job_ats_id, c.ats_id) for c in people)
    assert set(pairs) == _applications(sandbox) and max(pairs.values()) == 1
    assert pages == -(-len(people) // 10)
    status = {(c.job_ats_id, c.ats_id): c.status for c in people}
    assert status[(jobs[0].ats_id, archived)] == CandidateStatus.REJECTED
    # One listing, no posting filter: applications expanded to name their postings.
    queries = _queries(sandbox, "/opportunities")
    assert len(queries) == pages
    first = queries[0]
    assert sorted(first["expand"]) == ["applications", "stage"]
    assert "posting_id" not in first and "archived_posting_id" not in first
    assert first["confidentiality"] == ["all"]


def test_account_wide_leaves_out_general_leads_and_sends_updated_since(sandbox):
    session = _open(sandbox)
    try:
        people, _ = _account(session, updated_since=datetime(2999, 1, 1, tzinfo=UTC))
        assert people == []
        job = sandbox.jobs()[1].ats_id
        added = sandbox.add_candidate(job, make_person(random.Random(3), 9001, BASE_TIME))
        # The same person also as a general lead: an opportunity on no posting.
        with sandbox.lock:
            sandbox._new_opportunity(
                added,
                None,
                stage="lead-new",
                archived=None,
                origin="sourced",
                when=sandbox._now_ms(),
            )
        stamp = sandbox.opportunities_of(added)[0]["updatedAt"]
        people, pages = _account(session, updated_since=datetime.fromtimestamp(stamp / 1000, UTC))
    finally:
        session.close()
    assert pages == 1
    assert {(c.job_ats_id, c.ats_id) for c in people} == {(job, added)}
    assert _queries(sandbox, "/opportunities")[-1]["updated_at_start"] == [str(stamp)]


def test_account_wide_cursor_is_its_own(sandbox):
    session = _open(sandbox)
    try:
        with pytest.raises(BadInput, match="account-wide cursor"):
            plugin.atsbridge_list_candidates(
                session=session, query=CandidateQuery(job_ats_id=None, cursor="live:abc")
            )
    finally:
        session.close()


def test_unexpanded_applications_are_a_payload_error():
    opp = {"id": "o1", "contact": "c1", "applications": ["a1"]}
    with pytest.raises(PayloadError, match=r"applications\[0\]"):
        mapping.account_candidates([opp], {}, {})


def test_each_application_posting_gives_one_candidate():
    opp = {
        "id": "o1",
        "contact": "c1",
        "stage": {"id": "offer", "text": "Offer"},
        "applications": [{"posting": "p1"}, {"posting": None}, {"posting": "p2"}],
    }
    people = mapping.account_candidates([opp], {}, {})
    assert [(c.job_ats_id, c.ats_id, c.application_id) for c in people] == [
        ("p1", "c1", "o1"),
        ("p2", "c1", "o1"),
    ]


# -- confidential postings (issue #18 item 5) ------------------------------------------------


def test_the_sandbox_hides_confidential_records_unless_asked_and_allowed(
    confidential_sandbox, restricted_sandbox
):
    import httpx

    hidden = _confidential_jobs(confidential_sandbox)
    assert hidden and len(hidden) < len(confidential_sandbox.postings)
    for sb, allowed in ((confidential_sandbox, True), (restricted_sandbox, False)):
        config = sb.connection_config()
        with httpx.Client(base_url=config["base_url"], auth=(config["api_key"], "")) as api:
            default = api.get("/postings").json()["data"]
            assert {p["confidentiality"] for p in default} == {"non-confidential"}
            asked = api.get("/postings", params={"confidentiality": "all"})
            confidential_id = sorted(_confidential_jobs(sb))[0]
            single = api.get(f"/postings/{confidential_id}")
            opps = api.get("/opportunities", params={"confidentiality": "confidential"})
            if allowed:
                assert {p["id"] for p in asked.json()["data"]} == set(sb.postings)
                assert single.status_code == 200
                assert opps.status_code == 200 and opps.json()["data"]
                assert {o["confidentiality"] for o in opps.json()["data"]} == {"confidential"}
            else:
                assert asked.status_code == 403 and opps.status_code == 403
                assert "confidential" in asked.json()["message"]
                assert single.status_code == 404
            assert api.get("/postings", params={"confidentiality": "secret"}).status_code == 400


def test_a_key_allowed_confidential_data_syncs_confidential_postings(confidential_sandbox):
    sb = confidential_sandbox
    hidden = _confidential_jobs(sb)
    session = _open(sb)
    try:
        assert _all_jobs(session) == set(sb.postings)
        job = sorted(hidden)[0]
        assert _job_pipeline(session, job) == set(sb.pipeline(job))
        people, _ = _account(session)
        statuses = plugin.atsbridge_job_statuses(session=session, job_ids=sorted(hidden))
    finally:
        session.close()
    assert {(c.job_ats_id, c.ats_id) for c in people} == _applications(sb)
    assert all(s.exists for s in statuses)


def test_a_key_without_confidential_access_is_warned_not_silently_partial(
    restricted_sandbox, caplog
):
    sb = restricted_sandbox
    hidden = _confidential_jobs(sb)
    with caplog.at_level(logging.WARNING, logger="atsbridge.lever"):
        session = _open(sb)
    try:
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "confidential postings and their candidates are NOT synced" in warnings[0]
        assert "access to confidential data" in warnings[0]
        assert sb.api_key not in warnings[0]
        jobs = _all_jobs(session)
        people, _ = _account(session)
    finally:
        session.close()
    # The rest of the account still syncs, without asking for what the key may not see.
    assert jobs == set(sb.postings) - hidden
    assert {c.job_ats_id for c in people} == {j for j in jobs if sb.pipeline(j)}
    refused = [q for q in _queries(sb, "/postings") if q.get("confidentiality")]
    assert len(refused) == 1  # only the probe asked for all


def test_setup_steps_name_the_confidential_permission():
    info = plugin.atsbridge_plugin_info()
    assert "confidential data" in info.setup_instructions
    assert plugin.Capability.ACCOUNT_CANDIDATES in info.capabilities
