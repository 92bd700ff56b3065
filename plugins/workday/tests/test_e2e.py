"""End to end through the plugin's hooks against the sandbox (both element-name shapes)."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import attrs
import pytest
from atsbridge.errors import AtsError, AtsUnavailable, AuthError, ConfigError
from atsbridge.model import (
    Attachment,
    CandidateQuery,
    CandidateStatus,
    Education,
    Experience,
    JobQuery,
    JobStatus,
    Lead,
    Location,
    SandboxOptions,
    SessionContext,
)
from atsbridge_sdk.sandbox import Faults, make_person
from atsbridge_workday import assumptions, plugin
from atsbridge_workday.sandbox import WorkdaySandbox

from .conftest import FAST, fast_client  # type: ignore[import-not-found]

SOAP_PATH = "/ccx/service/"


def open_session(sb, **config_changes):
    config = {**sb.connection_config(), **config_changes}
    return plugin.atsbridge_open_session(config=config, context=SessionContext(rate_limit=FAST))


def all_jobs(session, **query):
    jobs, cursor, pages = [], None, 0
    while True:
        page = plugin.atsbridge_search_jobs(session=session, query=JobQuery(cursor=cursor, **query))
        jobs.extend(page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return jobs, pages


def pipeline(session, job_id, **query):
    out, cursor = [], None
    while True:
        page = plugin.atsbridge_list_candidates(
            session=session, query=CandidateQuery(job_id, cursor=cursor, **query)
        )
        out.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return out


def soap_requests(sb):
    return [r for r in sb.request_log if r.path.startswith(SOAP_PATH)]


def test_plugin_info_and_schema():
    info = plugin.atsbridge_plugin_info()
    assert info.name == "workday" and info.rate_limit == assumptions.RATE_LIMIT
    props = info.config_schema["properties"]
    assert {k for k, v in props.items() if v.get("writeOnly")} == {
        "password",
        "client_secret",
        "refresh_token",
    }
    assert "Integration System User" in info.setup_instructions


def test_jobs_page_completely_and_match_the_ats(sandbox):
    session = open_session(sandbox)
    jobs, pages = all_jobs(session, page_size=5)
    assert pages == 3
    facts = {f.ats_id: f for f in sandbox.jobs()}
    assert sorted(j.ats_id for j in jobs) == sorted(facts)
    for job in jobs:
        fact = facts[job.ats_id]
        assert (job.title, job.reference, job.status) == (fact.title, fact.reference, fact.status)
        assert job.locations[0].city == fact.city
        assert job.locations[0].country_code == fact.country_code
    session.close()


def test_updated_since_is_applied_by_workday(sandbox):
    session = open_session(sandbox)
    latest = max(f.updated_at for f in sandbox.jobs())
    sandbox.clear_log()
    jobs, pages = all_jobs(session, updated_since=latest + timedelta(seconds=1))
    assert (jobs, pages, len(soap_requests(sandbox))) == ([], 1, 1)  # no change: one call
    target = sandbox.jobs()[3].ats_id
    sandbox.rename_job(target, "Principal Forklift Whisperer")
    jobs, _ = all_jobs(session, updated_since=latest + timedelta(seconds=1))
    assert [(j.ats_id, j.title) for j in jobs] == [(target, "Principal Forklift Whisperer")]


def test_incremental_paging_keeps_one_window(sandbox):
    session = open_session(sandbox)
    oldest = min(f.updated_at for f in sandbox.jobs())
    query = JobQuery(updated_since=oldest, page_size=4)
    first = plugin.atsbridge_search_jobs(session=session, query=query)
    page_no, _, through = first.next_cursor.partition("@")
    assert page_no == "2" and through  # the window's end travels in the cursor
    # A change after the window opened belongs to the next run, not to page 2 or 3 of this
    # one: paging stays consistent (no job shifts between pages).
    renamed = max(f.ats_id for f in sandbox.jobs())  # sorted last: on the last page
    sandbox.rename_job(renamed, "Renamed during the run")
    seen, cursor = list(first.items), first.next_cursor
    while cursor:
        page = plugin.atsbridge_search_jobs(
            session=session, query=attrs.evolve(query, cursor=cursor)
        )
        if page.next_cursor:
            assert page.next_cursor.endswith("@" + through)
        seen.extend(page.items)
        cursor = page.next_cursor
    assert renamed not in {j.ats_id for j in seen}
    assert len(seen) == len({j.ats_id for j in seen}) == 11


@pytest.mark.parametrize("page_size", [4, 5, 12, 50])
def test_paging_without_totals_or_empty_results(sandbox, page_size):
    """Response_Results without Total_Pages, and none at all on an empty result."""
    sandbox.total_pages = False
    sandbox.results_when_empty = False
    session = open_session(sandbox)
    jobs, pages = all_jobs(session, page_size=page_size)
    assert sorted(j.ats_id for j in jobs) == sorted(f.ats_id for f in sandbox.jobs())
    assert pages == len(jobs) // page_size + 1  # a full last page costs one empty request
    for fact in sandbox.jobs()[:3]:
        people = pipeline(session, fact.ats_id, page_size=2)
        assert sorted(c.ats_id for c in people) == sorted(sandbox.pipeline(fact.ats_id))
    latest = max(f.updated_at for f in sandbox.jobs())
    sandbox.clear_log()
    jobs, pages = all_jobs(session, updated_since=latest + timedelta(seconds=1))
    assert (jobs, pages, len(soap_requests(sandbox))) == ([], 1, 1)
    session.close()


def test_status_and_text_filters_return_a_superset(sandbox):
    session = open_session(sandbox)
    opened, _ = all_jobs(session, statuses=frozenset({JobStatus.OPEN}))
    assert opened and {j.status for j in opened} == {JobStatus.OPEN}
    assert len(opened) == sum(f.status == JobStatus.OPEN for f in sandbox.jobs())
    closed, _ = all_jobs(session, statuses=frozenset({JobStatus.CLOSED}))
    expected_closed = {f.ats_id for f in sandbox.jobs() if f.status == JobStatus.CLOSED}
    assert expected_closed <= {j.ats_id for j in closed}
    title = sandbox.jobs()[5].title
    found, _ = all_jobs(session, text=title.split(",")[0])
    assert sandbox.jobs()[5].ats_id in {j.ats_id for j in found}


def test_candidates_complete_across_pages_with_every_status(sandbox):
    session = open_session(sandbox)
    statuses = set()
    for fact in sandbox.jobs():
        people = pipeline(session, fact.ats_id, page_size=3)
        assert sorted(c.ats_id for c in people) == sorted(sandbox.pipeline(fact.ats_id))
        for cand in people:
            stored = sandbox.person(cand.ats_id)
            (app,) = [a for a in stored.applications if a.req_id == fact.ats_id]
            assert cand.application_id == app.application_id
            assert cand.emails == tuple(stored.emails) and cand.linkedin_url
            assert cand.status_raw == (app.disposition or app.stage)
            statuses.add(cand.status)
    assert {CandidateStatus.REJECTED, CandidateStatus.HIRED} <= statuses


def test_applications_naming_their_requisition_by_wid_only(sandbox):
    """The wd:type of a nested reference may differ from the id we list by."""
    session = open_session(sandbox)
    expected = {f.ats_id: pipeline(session, f.ats_id) for f in sandbox.jobs()}
    sandbox.application_requisition_ids = ("WID",)
    sandbox.clear_log()
    for job_id, wanted in expected.items():
        assert pipeline(session, job_id) == wanted
    # One look-up of each requisition's other ids, then remembered.
    assert len(soap_requests(sandbox)) == 2 * len(expected)
    # A replay is still recognised as the person already on the requisition.
    job = sandbox.jobs()[0].ats_id
    person = sandbox.person(sandbox.pipeline(job)[0])
    lead = Lead(id="l-wid", first_name="X", last_name="Y", emails=(person.emails[0],))
    result = plugin.atsbridge_push_lead(session, job, lead, "k-wid")
    assert result.already_existed and result.candidate_id == person.candidate_id
    assert "Put_Candidate_Request" not in sandbox.operations
    session.close()


def test_candidates_updated_since(sandbox):
    session = open_session(sandbox)
    job = sandbox.jobs()[0].ats_id
    latest = max(sandbox.person(c).updated_at for c in sandbox.pipeline(job))
    since = latest + timedelta(seconds=1)
    assert pipeline(session, job, updated_since=since) == []
    mover = sandbox.pipeline(job)[0]
    sandbox.move_candidate(job, mover, CandidateStatus.REJECTED)
    newcomer = sandbox.add_candidate(job, make_person(random.Random(5), 999, latest))
    changed = pipeline(session, job, updated_since=since)
    assert {c.ats_id: c.status for c in changed}[mover] == CandidateStatus.REJECTED
    assert {c.ats_id for c in changed} == {mover, newcomer}


def test_job_statuses_closed_and_unknown(sandbox, monkeypatch):
    monkeypatch.setattr(assumptions, "STATUS_BATCH", 3)
    session = open_session(sandbox)
    facts = sandbox.jobs()
    target = next(f.ats_id for f in facts if f.status == JobStatus.OPEN)
    sandbox.close_job(target)
    ids = [f.ats_id for f in facts] + ["GONE-1"]
    sandbox.clear_log()
    states = {s.ats_id: s for s in plugin.atsbridge_job_statuses(session=session, job_ids=ids)}
    assert len(soap_requests(sandbox)) == 5  # 13 ids in batches of 3
    assert (states[target].status, states[target].status_raw) == (JobStatus.CLOSED, "Closed")
    assert (states["GONE-1"].exists, states["GONE-1"].status) == (False, JobStatus.CLOSED)
    for fact in facts:
        if fact.ats_id != target:
            assert states[fact.ats_id].status == fact.status


def test_job_statuses_when_the_tenant_faults_on_unknown_ids(notes_sandbox, monkeypatch):
    monkeypatch.setattr(assumptions, "SKIP_NON_EXISTING", False)
    session = open_session(notes_sandbox)
    known = notes_sandbox.jobs()[0].ats_id
    states = plugin.atsbridge_job_statuses(session=session, job_ids=["GONE-1", known, "GONE-2"])
    assert {s.ats_id: s.exists for s in states} == {"GONE-1": False, known: True, "GONE-2": False}


LEAD = Lead(
    id="lead-42",
    first_name="Ada",
    last_name="Quinton",
    emails=("ada.q@example.org",),
    phones=("+33 6 12 34 56 78",),
    linkedin_url="https://www.linkedin.com/in/ada-quinton/",
    headline="Staff Engineer",
    location=Location(city="Paris", country_code="FR"),
    educations=(Education("Université Paris Cité", "MSc", "CS", "2012-09", "2014-06"),),
    experiences=(
        Experience("Globex", "Staff Engineer", "2019-01", None, True),
        Experience("Initech", "Engineer", "2015-03", "2018-12"),
    ),
    tags=("sourced",),
    attachments=(Attachment("ada.pdf", "application/pdf", bytes(range(256)) * 4),),
)


def open_job(sb):
    return next(f.ats_id for f in sb.jobs() if f.status == JobStatus.OPEN)


def test_push_lead_lands_every_field(sandbox):
    session = open_session(sandbox)
    job = open_job(sandbox)
    result = plugin.atsbridge_push_lead(session=session, job_id=job, lead=LEAD, idempotency_key="k")
    assert not result.already_existed and result.status == CandidateStatus.NEW
    person = sandbox.person(result.candidate_id)
    assert (person.first_name, person.last_name) == ("Ada", "Quinton")
    assert person.emails == ["ada.q@example.org"] and person.phones == ["+33 6 12 34 56 78"]
    assert person.linkedin_url == LEAD.linkedin_url
    assert [(a.req_id, a.stage) for a in person.applications] == [(job, "Review")]
    assert person.experiences == [
        {
            "Company_Name": "Globex",
            "Title": "Staff Engineer",
            "Start_Year": "2019",
            "Currently_Work_Here": "true",
        },
        {
            "Company_Name": "Initech",
            "Title": "Engineer",
            "Start_Year": "2015",
            "End_Year": "2018",
            "Currently_Work_Here": "false",
        },
    ]
    assert person.educations == [
        {
            "School_Name": "Université Paris Cité",
            "First_Year_Attended": "2012",
            "Last_Year_Attended": "2014",
        }
    ]
    assert person.attachments == [("ada.pdf", bytes(range(256)) * 4)]
    assert set(result.unsupported) == {
        "headline",
        "location",
        "source",
        "tags",
        "educations[0].degree",
        "educations[0].field",
    }
    listed = {c.ats_id: c for c in pipeline(session, job)}[result.candidate_id]
    assert listed.application_id == result.application_id and listed.company == "Globex"


def test_push_attaches_to_an_existing_person_found_by_email(sandbox):
    session = open_session(sandbox)
    jobs = [f.ats_id for f in sandbox.jobs() if f.status == JobStatus.OPEN]
    existing_id = sandbox.pipeline(jobs[0])[0]
    stored = sandbox.person(existing_id)
    lead = Lead(id="l2", first_name="Someone", last_name="Else", emails=(stored.emails[0].upper(),))
    before = len(sandbox.people())
    result = plugin.atsbridge_push_lead(
        session=session, job_id=jobs[1], lead=lead, idempotency_key="k2"
    )
    assert result.candidate_id == existing_id and result.already_existed
    assert len(sandbox.people()) == before
    assert jobs[1] in {a.req_id for a in sandbox.person(existing_id).applications}
    assert sandbox.person(existing_id).first_name == stored.first_name  # not renamed


def test_replay_after_lost_response_creates_nothing(notes_sandbox):
    sb = notes_sandbox
    session = open_session(sb)
    job = open_job(sb)
    roll = sb._roll_fault
    sent = []

    def lose_the_put(method):
        sent.append(method)
        return "lost_response" if len(sent) == 2 else roll(method)  # lookup, then the put

    sb._roll_fault = lose_the_put  # type: ignore[method-assign]
    with pytest.raises(AtsUnavailable):
        plugin.atsbridge_push_lead(session=session, job_id=job, lead=LEAD, idempotency_key="k")
    assert len(sb.people(email="ada.q@example.org")) == 1  # the write did happen
    again = plugin.atsbridge_push_lead(session=session, job_id=job, lead=LEAD, idempotency_key="k")
    assert again.already_existed
    (person,) = sb.people(email="ada.q@example.org")
    assert again.candidate_id == person.ats_id and person.job_ids == (job,)
    third = plugin.atsbridge_push_lead(session=session, job_id=job, lead=LEAD, idempotency_key="k")
    assert (third.candidate_id, third.application_id) == (again.candidate_id, again.application_id)
    assert third.unsupported == again.unsupported


def test_push_to_closed_requisition_is_a_clear_refusal(notes_sandbox):
    session = open_session(notes_sandbox)
    closed = next(f.ats_id for f in notes_sandbox.jobs() if f.status == JobStatus.CLOSED)
    with pytest.raises(AtsError, match=r"not open .*\(at /wd:Put_Candidate_Request"):
        plugin.atsbridge_push_lead(session=session, job_id=closed, lead=LEAD, idempotency_key="k")


def run_everything(client, sb, job_ids):
    jobs, cursor = [], None
    while True:
        page = client.search_jobs(JobQuery(cursor=cursor, page_size=2))
        jobs.extend(page.items)
        if not (cursor := page.next_cursor):
            break
    people = {}
    for job in job_ids:
        out, cursor = [], None
        while True:
            page = client.list_candidates(CandidateQuery(job, cursor=cursor, page_size=2))
            out.extend(page.items)
            if not (cursor := page.next_cursor):
                break
        people[job] = sorted(out, key=lambda c: c.ats_id)
    states = sorted(client.job_statuses([*job_ids, "GONE-1"]), key=lambda s: s.ats_id)
    return sorted(jobs, key=lambda j: j.ats_id), people, states


def push_until_done(client, job, lead):
    for _ in range(20):  # what the core's outbox does: try again later, same lead
        try:
            return client.push_lead(job, lead)
        except AtsUnavailable:
            continue
    raise AssertionError("push never succeeded")


def test_twenty_percent_faults_give_identical_results(caplog):
    options = SandboxOptions(seed=11, jobs=12, candidates_per_job=4, rate_limited=False)
    clean, faulty = WorkdaySandbox(options), WorkdaySandbox(options, shape="wsdl")
    with clean, faulty:
        job_ids = [f.ats_id for f in clean.jobs()]
        expected = run_everything(fast_client(clean), clean, job_ids)
        faulty.set_faults(Faults.mixed(0.2, seed=5))
        client = fast_client(faulty)
        with caplog.at_level(logging.DEBUG):
            assert run_everything(client, faulty, job_ids) == expected
            job = open_job(faulty)
            first = push_until_done(client, job, LEAD)
            second = push_until_done(client, job, LEAD)
        assert sum(1 for r in faulty.request_log if r.fault) >= 5
        assert first.candidate_id == second.candidate_id and second.already_existed
        (person,) = faulty.people(email="ada.q@example.org")
        assert person.job_ids == (job,) and person.resume == LEAD.attachments[0].content
    assert "retrying" in caplog.text
    assert "sandbox-isu-password" not in caplog.text


def test_no_rate_limit_violation_at_the_declared_limit():
    sb = WorkdaySandbox(SandboxOptions(seed=2, jobs=6, candidates_per_job=2))
    with sb:
        session = plugin.atsbridge_open_session(
            config=sb.connection_config(), context=SessionContext()
        )
        all_jobs(session, page_size=1)
        for fact in sb.jobs()[:4]:
            pipeline(session, fact.ats_id, page_size=1)
        assert len(sb.request_log) >= 14
        assert sb.rate_limit_violations == 0


def test_bad_credentials_are_auth_errors(notes_sandbox):
    sb = notes_sandbox
    with pytest.raises(AuthError, match="invalid username or password"):
        open_session(sb, password="wrong")
    with pytest.raises(AuthError, match="refresh token is invalid"):
        plugin.atsbridge_open_session(
            config=sb.connection_config(auth="oauth", valid=False), context=SessionContext()
        )
    with pytest.raises(ConfigError, match=r"config\.api_version"):
        open_session(sb, api_version="latest")


def test_oauth_session_and_rotation(notes_sandbox, caplog):
    sb = notes_sandbox
    sb.rotate_refresh_tokens = True
    saved = []
    context = SessionContext(save_secrets=saved.append, rate_limit=FAST)
    config = sb.connection_config(auth="oauth")
    with caplog.at_level(logging.DEBUG):
        session = plugin.atsbridge_open_session(config=config, context=context)
        jobs, _ = all_jobs(session)
    assert len(jobs) == 12
    assert (
        saved == [{"refresh_token": sb.refresh_token}]
        and sb.refresh_token != config["refresh_token"]
    )
    for secret in (config["client_secret"], config["refresh_token"], sb.refresh_token):
        assert secret not in caplog.text
    assert all(r.credential == "oauth:sandbox-client" for r in soap_requests(sb))


def _puts(sb) -> int:
    return sb.operations.count("Put_Candidate_Request")


def test_push_uses_the_stage_ids_the_tenant_answers_with(notes_sandbox):
    sb = notes_sandbox
    sb.stage_required = True  # a version that wants a stage on every new application
    session = open_session(sb)
    job = open_job(sb)
    plugin.atsbridge_list_candidates(session=session, query=CandidateQuery(job))
    assert session.initial_stage() == "Review"  # learned, not the constant REVIEW
    lead = attrs.evolve(LEAD, id="lead-learned", emails=("learned@example.org",))
    result = plugin.atsbridge_push_lead(session=session, job_id=job, lead=lead, idempotency_key="k")
    assert result.stage == "Review" and result.status == CandidateStatus.NEW
    assert _puts(sb) == 1
    assert [a.stage for a in sb.person(result.candidate_id).applications] == ["Review"]


def test_a_refused_stage_id_is_retried_once_without_it(notes_sandbox, caplog):
    sb = notes_sandbox
    session = open_session(sb, initial_stage="REVIEW")  # spelled otherwise in this tenant
    job = open_job(sb)
    with caplog.at_level(logging.WARNING, logger="atsbridge.workday"):
        result = plugin.atsbridge_push_lead(
            session=session, job_id=job, lead=LEAD, idempotency_key="k"
        )
    assert _puts(sb) == 2  # refused with REVIEW, then accepted without a stage
    assert result.stage == "REVIEW" and result.status == CandidateStatus.NEW
    assert [a.stage for a in sb.person(result.candidate_id).applications] == ["Review"]
    assert "refused Recruiting_Stage_ID 'REVIEW'" in caplog.text
    # A tenant that requires a stage and refuses the one given: one retry, then the error.
    sb.stage_required = True
    other = attrs.evolve(LEAD, id="lead-2", emails=("other@example.org",))
    with pytest.raises(AtsError, match="Stage_Reference"):
        plugin.atsbridge_push_lead(session=session, job_id=job, lead=other, idempotency_key="j")
    assert _puts(sb) == 4
