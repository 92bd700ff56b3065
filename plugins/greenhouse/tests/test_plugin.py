"""End to end: the plugin's hooks against the Greenhouse sandbox over real HTTP."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from atsbridge.config import validate_config
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
from atsbridge.plugins import PluginRegistry
from atsbridge_greenhouse import plugin
from atsbridge_greenhouse.sandbox import BASIC_USER_ID, NOTES_ADMIN_SCOPES
from atsbridge_sdk.sandbox import Faults, make_person

T = TypeVar("T")


def persist(call: Callable[[], T], attempts: int = 40) -> T:
    """Call again after AtsUnavailable, as the core's resumable sync and outbox do."""
    for _ in range(attempts - 1):
        try:
            return call()
        except AtsUnavailable:
            continue
    return call()


def all_jobs(session, **query) -> tuple[list, int]:
    jobs, cursor, pages = [], None, 0
    while True:
        page = persist(
            lambda c=cursor: plugin.atsbridge_search_jobs(session, JobQuery(cursor=c, **query))
        )
        jobs += page.items
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return jobs, pages


def all_candidates(session, job_id: str, **query) -> list:
    out, cursor = [], None
    while True:
        page = persist(
            lambda c=cursor: plugin.atsbridge_list_candidates(
                session, CandidateQuery(job_ats_id=job_id, cursor=c, **query)
            )
        )
        out += page.items
        cursor = page.next_cursor
        if cursor is None:
            return out


LEAD = Lead(
    id="lead-123",
    first_name="Ada",
    last_name="Quinton",
    emails=("ada.quinton@example.org",),
    phones=("+33 6 12 34 56 78",),
    linkedin_url="https://www.linkedin.com/in/ada-quinton/",
    headline="Staff Engineer",
    location=Location("Paris", "Ile-de-France", "FR"),
    educations=(
        Education("Université Paris Cité", "MSc", "Computer Science", "2012-09", "2014-06"),
    ),
    experiences=(
        Experience("Globex", "Staff Engineer", "2019-01", None, True, "Payments platform"),
        Experience("Initech", "Engineer", "2015-03", "2018-12"),
    ),
    source="atsbridge",
    tags=("sourced",),
    attachments=(Attachment("ada-cv.pdf", "application/pdf", b"%PDF-1.7\n\x00\xffresume"),),
)


def open_job(sandbox) -> str:
    return next(j.ats_id for j in sandbox.jobs() if j.status is JobStatus.OPEN)


# --- describe ------------------------------------------------------------------------------


def test_plugin_is_discovered_and_describes_itself():
    registry = PluginRegistry.discover()
    status = next(s for s in registry.statuses if s.name == "greenhouse")
    assert status.ok, status.error
    info = registry.get("greenhouse").info
    assert info.api_version == "Harvest v3"
    assert info.config_schema["properties"]["client_secret"]["writeOnly"] is True
    assert "Site Admin" in info.setup_instructions
    assert info.rate_limit.requests_per_second * 10 + info.rate_limit.burst <= 50


def test_config_schema_accepts_sandbox_config_and_refuses_plain_http(sandbox):
    schema = plugin.atsbridge_plugin_info().config_schema
    config = validate_config(schema, sandbox.connection_config())
    assert config["base_url"] == f"{sandbox.url}/v3"
    defaults = validate_config(schema, {"client_id": "a", "client_secret": "b", "user_id": 1})
    assert defaults["base_url"] == "https://harvest.greenhouse.io/v3"
    assert defaults["token_url"] == "https://auth.greenhouse.io/token"
    with pytest.raises(ConfigError, match=r"config\.base_url"):
        validate_config(schema, {**sandbox.connection_config(), "base_url": "http://example.com"})
    with pytest.raises(ConfigError, match=r"config\.user_id"):
        validate_config(schema, {**sandbox.connection_config(), "user_id": "admin"})


def test_sandbox_hook_gives_an_unstarted_sandbox_with_the_real_window():
    sb = plugin.atsbridge_sandbox(SandboxOptions(seed=1, jobs=3, candidates_per_job=1))
    assert sb.rate_limit.limit == 50 and sb.rate_limit.seconds == 10.0
    assert sb._server is None


# --- auth ----------------------------------------------------------------------------------


def test_bad_credentials_raise_an_actionable_auth_error(sandbox, connect):
    bad = sandbox.connection_config(valid=False)
    with pytest.raises(AuthError) as info:
        connect(sandbox, client_secret=bad["client_secret"])
    assert "client_secret" in str(info.value) and bad["client_secret"] not in str(info.value)
    with pytest.raises(AuthError, match="Site Admin"):
        connect(sandbox, user_id=BASIC_USER_ID)


def test_token_refreshed_on_401_and_ahead_of_expiry(make_sandbox, connect):
    sb = make_sandbox(token_ttl=1.0)  # the client refreshes ahead (half the life here)
    session = connect(sb)
    grants = sb.token_grants
    time.sleep(0.6)
    plugin.atsbridge_job_statuses(session, [open_job(sb)])
    assert sb.token_grants == grants + 1
    assert not [r for r in sb.request_log if r.status == 401]
    sb.token_ttl = 3600
    plugin.atsbridge_job_statuses(session, [open_job(sb)])
    sb.expire_tokens()
    grants = sb.token_grants
    assert plugin.atsbridge_job_statuses(session, [open_job(sb)])[0].exists
    assert sb.token_grants == grants + 1
    tail = [(r.method, r.path, r.status) for r in sb.request_log][-3:]
    assert tail == [("GET", "/v3/jobs", 401), ("POST", "/token", 200), ("GET", "/v3/jobs", 200)]


# --- jobs ----------------------------------------------------------------------------------


def test_jobs_page_completely_and_follow_ups_carry_only_the_cursor(sandbox, session):
    sandbox.clear_log()
    jobs, pages = all_jobs(session, page_size=5)
    assert pages == 3
    facts = {f.ats_id: f for f in sandbox.jobs()}
    assert sorted(j.ats_id for j in jobs) == sorted(facts)
    for job in jobs:
        fact = facts[job.ats_id]
        assert (job.title, job.reference, job.status) == (fact.title, fact.reference, fact.status)
        assert job.locations[0].city == fact.city
        assert job.locations[0].country_code == fact.country_code
        assert job.updated_at == fact.updated_at
        assert job.description and fact.city in job.description
    listing = [r for r in sandbox.requests_to("/v3/jobs")]
    assert listing[0].query == "per_page=5"
    assert all(r.query.startswith("cursor=") and "&" not in r.query for r in listing[1:])
    assert sandbox.rate_limit_violations == 0


def test_updated_since_is_applied_by_greenhouse(sandbox, session):
    newest = max(f.updated_at for f in sandbox.jobs())
    sandbox.clear_log()
    page = plugin.atsbridge_search_jobs(
        session, JobQuery(updated_since=newest + timedelta(seconds=1))
    )
    assert page.items == () and page.next_cursor is None
    assert len(sandbox.request_log) == 1  # a no-change incremental run is one request
    assert "updated_at=gte%7C" in sandbox.request_log[0].query
    target = sandbox.jobs()[3].ats_id
    sandbox.rename_job(target, "Harbour Pilot, Logistics")
    changed, _ = all_jobs(session, updated_since=newest + timedelta(seconds=1))
    assert [(j.ats_id, j.title) for j in changed] == [(target, "Harbour Pilot, Logistics")]


def test_status_filter_goes_to_greenhouse_and_text_search_is_a_superset(sandbox, session):
    sandbox.clear_log()
    closed, _ = all_jobs(session, statuses=frozenset({JobStatus.CLOSED}))
    assert {j.status for j in closed} <= {JobStatus.CLOSED}
    assert sorted(j.ats_id for j in closed) == sorted(
        f.ats_id for f in sandbox.jobs() if f.status is JobStatus.CLOSED
    )
    assert "status=closed" in sandbox.requests_to("/v3/jobs")[0].query
    several, _ = all_jobs(session, statuses=frozenset({JobStatus.OPEN, JobStatus.DRAFT}))
    assert len(several) == 12  # Greenhouse filters one status: superset, core filters again
    title = sandbox.jobs()[5].title
    found, _ = all_jobs(session, text=title.split(",")[0])
    assert title in {j.title for j in found}


def test_job_statuses_report_closed_and_unknown_jobs(sandbox, session):
    facts = sandbox.jobs()
    target = open_job(sandbox)
    sandbox.close_job(target)
    asked = [f.ats_id for f in facts] + [str(9_000_000 + i) for i in range(45)] + ["not-an-id"]
    sandbox.clear_log()
    states = {s.ats_id: s for s in plugin.atsbridge_job_statuses(session, asked)}
    assert set(states) == set(asked)
    assert states[target].status is JobStatus.CLOSED and states[target].exists
    assert states[target].status_raw == "closed"
    assert not states["9000001"].exists and states["9000001"].status is JobStatus.CLOSED
    assert not states["not-an-id"].exists
    calls = sandbox.requests_to("/v3/jobs")
    assert len(calls) == 2  # 57 numeric ids in chunks of at most 50


# --- pipeline ------------------------------------------------------------------------------


def test_candidates_page_completely_with_every_status(sandbox, session):
    job = open_job(sandbox)
    people = sandbox.pipeline(job)
    statuses = list(CandidateStatus)
    for i, status in enumerate(statuses):
        if i < len(people):
            sandbox.move_candidate(job, people[i], status)
        else:
            person = make_person(random.Random(i), 900 + i, datetime(2026, 10, 1, tzinfo=UTC))
            sandbox.move_candidate(job, sandbox.add_candidate(job, person), status)
    got = all_candidates(session, job, page_size=3)
    assert sorted(c.ats_id for c in got) == sandbox.pipeline(job)
    assert {c.status for c in got} == set(CandidateStatus)
    for cand in got:
        assert cand.job_ats_id == job and cand.application_id and cand.emails
        person = sandbox.people(email=cand.emails[0])[0]
        assert person.ats_id == cand.ats_id and cand.linkedin_url == person.linkedin_url
        assert cand.first_name == person.first_name and cand.phones == person.phones
    by_status = {c.status: c for c in got}
    assert by_status[CandidateStatus.OFFERED].stage == "Offer"
    assert by_status[CandidateStatus.REJECTED].status_raw == "rejected"
    assert by_status[CandidateStatus.NEW].status_raw == "in_process"  # a prospect
    assert by_status[CandidateStatus.WITHDRAWN].status_raw == "converted"
    assert sandbox.rate_limit_violations == 0


def test_stage_names_come_from_interview_stages_when_rows_lack_them(make_sandbox, connect):
    sb = make_sandbox(stage_names_on_rows=False)
    session = connect(sb)
    job = open_job(sb)
    person = sb.pipeline(job)[0]
    sb.move_candidate(job, person, CandidateStatus.INTERVIEWING)
    got = {c.ats_id: c for c in all_candidates(session, job)}
    assert got[person].stage == "Phone Screen"
    assert got[person].status is CandidateStatus.INTERVIEWING
    assert len(sb.requests_to("/v3/job_interview_stages")) == 1


def test_candidates_updated_since(sandbox, session):
    job = open_job(sandbox)
    everyone = all_candidates(session, job)
    since = max(c.updated_at for c in everyone) + timedelta(milliseconds=1)
    sandbox.clear_log()
    assert all_candidates(session, job, updated_since=since) == []
    assert len(sandbox.request_log) == 1
    mover = everyone[0].ats_id
    sandbox.move_candidate(job, mover, CandidateStatus.HIRED)
    changed = all_candidates(session, job, updated_since=since)
    assert [(c.ats_id, c.status) for c in changed] == [(mover, CandidateStatus.HIRED)]


# --- lead push -----------------------------------------------------------------------------


def stored(sandbox, email: str) -> dict:
    """Everything the sandbox holds for the person with ``email``."""
    (person,) = sandbox.people(email=email)
    cid = int(person.ats_id)
    apps = [a for a in sandbox.applications.values() if a["candidate_id"] == cid]
    return {
        "candidate": sandbox.candidates[cid],
        "applications": apps,
        "educations": [e for e in sandbox.educations.values() if e["candidate_id"] == cid],
        "employments": [e for e in sandbox.employments.values() if e["candidate_id"] == cid],
        "attachments": [a for a in sandbox.attachments.values() if a["_candidate"] == cid],
        "facts": person,
    }


def option_id(sandbox, key: str, name: str) -> int:
    return next(o["id"] for o in sandbox.field_options[key].values() if o["name"] == name)


def test_push_lands_every_field_in_its_place(sandbox, connect):
    session = connect(sandbox, source_id=12)
    job = open_job(sandbox)
    result = plugin.atsbridge_push_lead(session, job, LEAD, "tenant:job:lead-123")
    assert not result.already_existed
    assert result.status is CandidateStatus.IN_REVIEW and result.stage == "Application Review"
    assert set(result.unsupported) == {"location", "tags", "experiences[0].description"}
    s = stored(sandbox, "ada.quinton@example.org")
    cand = s["candidate"]
    assert str(cand["id"]) == result.candidate_id
    assert (cand["first_name"], cand["last_name"]) == ("Ada", "Quinton")
    assert cand["company"] == "Globex" and cand["title"] == "Staff Engineer"
    assert cand["email_addresses"] == [{"value": "ada.quinton@example.org", "type": "personal"}]
    assert cand["phone_numbers"] == [{"value": "+33 6 12 34 56 78", "type": "mobile"}]
    assert cand["social_media_addresses"] == [{"value": "https://www.linkedin.com/in/ada-quinton/"}]
    (app,) = s["applications"]
    assert str(app["id"]) == result.application_id
    assert str(app["job_id"]) == job and app["source_id"] == 12 and app["prospect"] is False
    (edu,) = s["educations"]
    assert edu["school_name_custom_field_option_id"] == option_id(
        sandbox, "school_name", "Université Paris Cité"
    )
    assert edu["degree_custom_field_option_id"] == option_id(sandbox, "degree", "Master's Degree")
    assert edu["discipline_custom_field_option_id"] == option_id(
        sandbox, "discipline", "Computer Science"
    )
    assert (edu["start_date"], edu["end_date"]) == (
        "2012-09-01T00:00:00.000Z",
        "2014-06-01T00:00:00.000Z",
    )
    jobs = {e["company_name"]: e for e in s["employments"]}
    assert jobs["Globex"]["title"] == "Staff Engineer" and jobs["Globex"]["end_date"] is None
    assert jobs["Initech"]["start_date"] == "2015-03-01T00:00:00.000Z"
    assert jobs["Initech"]["end_date"] == "2018-12-01T00:00:00.000Z"
    (attachment,) = s["attachments"]
    assert attachment["type"] == "resume" and attachment["filename"] == "ada-cv.pdf"
    assert attachment["application_id"] == app["id"]
    assert s["facts"].resume == LEAD.attachments[0].content
    assert sandbox.rate_limit_violations == 0


def test_unmatched_school_and_degree_are_reported(sandbox, session):
    lead = Lead(
        id="l2",
        first_name="Bo",
        last_name="Li",
        emails=("bo.li@example.org",),
        educations=(
            Education("Hogwarts", "MSc"),
            Education("University of Leeds", "Wizardry", "Potions"),
        ),
        experiences=(Experience("Acme", None, "2020"),),
        source="",
    )
    result = plugin.atsbridge_push_lead(session, open_job(sandbox), lead, "k")
    assert set(result.unsupported) == {
        "educations[0]",
        "educations[1].degree",
        "educations[1].field",
        "experiences[0]",
    }
    s = stored(sandbox, "bo.li@example.org")
    (edu,) = s["educations"]
    assert edu["school_name_custom_field_option_id"] == option_id(
        sandbox, "school_name", "University of Leeds"
    )
    assert (
        "degree_custom_field_option_id" not in edu or edu["degree_custom_field_option_id"] is None
    )
    assert s["employments"] == []


def test_existing_person_gets_an_application_not_a_duplicate(sandbox, session):
    person = sandbox.people()[0]
    other_job = next(
        j.ats_id
        for j in sandbox.jobs()
        if j.status is JobStatus.OPEN and j.ats_id not in person.job_ids
    )
    lead = Lead(id="l3", first_name="X", last_name="Y", emails=(person.emails[0],))
    before = len(sandbox.candidates)
    result = plugin.atsbridge_push_lead(session, other_job, lead, "k3")
    assert result.already_existed and result.candidate_id == person.ats_id
    assert len(sandbox.candidates) == before
    assert other_job in sandbox.people(email=person.emails[0])[0].job_ids
    again = plugin.atsbridge_push_lead(session, person.job_ids[0], lead, "k4")
    assert again.already_existed and again.candidate_id == person.ats_id


def counts(sandbox) -> tuple[int, ...]:
    return tuple(
        len(store)
        for store in (
            sandbox.candidates,
            sandbox.applications,
            sandbox.educations,
            sandbox.employments,
            sandbox.attachments,
        )
    )


def test_replay_with_the_same_key_creates_nothing(sandbox, session):
    job = open_job(sandbox)
    first = plugin.atsbridge_push_lead(session, job, LEAD, "key-1")
    snapshot = counts(sandbox)
    replay = plugin.atsbridge_push_lead(session, job, LEAD, "key-1")
    assert counts(sandbox) == snapshot
    assert replay.already_existed
    assert (replay.candidate_id, replay.application_id) == (
        first.candidate_id,
        first.application_id,
    )


def test_lost_create_response_then_replay_creates_one_of_everything(sandbox, session):
    job = open_job(sandbox)
    sandbox.set_faults(Faults(lost_response_rate=1.0, methods={"POST"}, max_faults=1))
    with pytest.raises(AtsUnavailable):
        plugin.atsbridge_push_lead(session, job, LEAD, "key-lost")
    assert len(sandbox.people(email="ada.quinton@example.org")) == 1  # it did land
    result = plugin.atsbridge_push_lead(session, job, LEAD, "key-lost")
    assert result.already_existed
    s = stored(sandbox, "ada.quinton@example.org")
    assert [len(s[k]) for k in ("applications", "educations", "employments", "attachments")] == [
        1,
        1,
        2,
        1,
    ]


# --- faults, limits, logs ------------------------------------------------------------------


def run_everything(sandbox, session) -> dict:
    jobs, _ = all_jobs(session, page_size=5)
    open_jobs = sorted(j.ats_id for j in jobs if j.status is JobStatus.OPEN)[:3]
    pipelines = {
        job: sorted(
            (c.ats_id, c.status, c.stage) for c in all_candidates(session, job, page_size=3)
        )
        for job in open_jobs
    }
    states = persist(lambda: plugin.atsbridge_job_statuses(session, [j.ats_id for j in jobs]))
    pushes = []
    for job in open_jobs[:2]:
        result = persist(lambda j=job: plugin.atsbridge_push_lead(session, j, LEAD, f"k-{j}"))
        pushes.append((result.unsupported, result.stage))
    person = stored(sandbox, "ada.quinton@example.org")
    return {
        "jobs": sorted((j.ats_id, j.title, j.status, j.locations, j.description) for j in jobs),
        "pipelines": pipelines,
        "states": sorted((s.ats_id, s.status, s.exists) for s in states),
        "pushes": pushes,
        "person": (
            len(person["applications"]),
            len(person["educations"]),
            len(person["employments"]),
            [a["_bytes"] for a in person["attachments"]],
        ),
        "counts": counts(sandbox),
    }


def test_twenty_percent_faults_give_identical_results(make_sandbox, connect, seed=1):
    calm = make_sandbox()
    baseline = run_everything(calm, connect(calm))
    stormy = make_sandbox()
    session = connect(stormy)
    stormy.set_faults(Faults.mixed(0.2, seed=seed))
    assert run_everything(stormy, session) == baseline
    assert sum(1 for r in stormy.request_log if r.fault) > 5
    assert stormy.rate_limit_violations == 0


def test_client_pacing_never_trips_the_real_window(make_sandbox):
    # The real pacing (4.6 req/s, burst 4) against the real window (50 per 10 s), compressed:
    # a burst of 4 then steady pacing must never exceed the window in any 10 s.
    sb = make_sandbox(window=None)
    rate = plugin.atsbridge_plugin_info().rate_limit
    window = sb.rate_limit
    assert rate.burst + rate.requests_per_second * window.seconds <= window.limit


def test_no_secret_in_logs(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    config = sandbox.connection_config()
    context = SessionContext(rate_limit=plugin.atsbridge_plugin_info().rate_limit)
    session = plugin.atsbridge_open_session(config=config, context=context)
    try:
        sandbox.set_faults(Faults(error_rate=1.0, max_faults=2, retry_after="0"))
        plugin.atsbridge_job_statuses(session, [open_job(sandbox)])
        with pytest.raises(AuthError) as info:
            plugin.atsbridge_open_session(
                config=sandbox.connection_config(valid=False), context=context
            )
    finally:
        session.close()
    text = caplog.text + str(info.value)
    assert "retrying" in caplog.text
    assert config["client_secret"] not in text
    for token in sandbox.tokens:
        assert token not in text
    assert config["client_secret"] not in repr(session) and config["client_secret"] not in repr(
        session.auth
    )


def test_cursor_is_only_followed_on_the_configured_host(sandbox, session):
    page = plugin.atsbridge_search_jobs(session, JobQuery(page_size=2))
    assert page.next_cursor and page.next_cursor.startswith(sandbox.url + "/v3/jobs?cursor=")
    again = plugin.atsbridge_search_jobs(session, JobQuery(cursor=page.next_cursor))
    assert len(again.items) == 2
    # A link written with the public host is re-based: same page, and nothing is sent
    # anywhere but the configured host (the public host is unreachable from tests).
    public = page.next_cursor.replace(sandbox.url, "https://harvest.greenhouse.io")
    rebased = plugin.atsbridge_search_jobs(session, JobQuery(cursor=public))
    assert [j.ats_id for j in rebased.items] == [j.ats_id for j in again.items]
    with pytest.raises(AtsError, match="not a v3 API URL"):
        plugin.atsbridge_search_jobs(session, JobQuery(cursor="/v1/jobs?page=2"))


# --- an API built from the notes alone -------------------------------------------------------


def test_reads_the_notes_do_not_list_degrade_when_missing(make_sandbox, connect):
    """No /v3/offices (404), and the educations/employments paths take POST only (405).

    Jobs then come without locations (offices asked once per session), a first push lands
    every part, and a replay cannot see what landed, so it adds no education/employment twice.
    """
    sandbox = make_sandbox(unlisted_reads=False)
    session = connect(sandbox)
    jobs, _ = all_jobs(session, page_size=5)
    assert jobs and all(j.locations == () for j in jobs)
    assert any(j.description for j in jobs)  # job posts are listed in the notes: still read
    assert len(sandbox.requests_to("/v3/offices")) == 1
    job = open_job(sandbox)
    first = plugin.atsbridge_push_lead(session, job, LEAD, "k-unlisted")
    s = stored(sandbox, "ada.quinton@example.org")
    assert [len(s[k]) for k in ("educations", "employments", "attachments")] == [1, 2, 1]
    snapshot = counts(sandbox)
    replay = plugin.atsbridge_push_lead(session, job, LEAD, "k-unlisted")
    assert replay.already_existed and replay.application_id == first.application_id
    assert counts(sandbox) == snapshot
    assert {r.status for r in sandbox.requests_to("/v3/candidate_e", "GET")} == {405}


def test_a_credential_with_only_the_notes_admin_scopes_syncs_and_pushes(make_sandbox, connect):
    """The notes' admin steps grant no attachments, custom field options or offices list.

    Those reads are then refused (403): jobs come without locations, educations cannot be
    matched to options (reported), a new application still gets its resume, and a replay,
    which cannot see the application's files, reports the attachments instead of adding
    them blind.
    """
    sandbox = make_sandbox(scopes=NOTES_ADMIN_SCOPES)
    session = connect(sandbox, source_id=12)
    jobs, _ = all_jobs(session, page_size=5)
    assert jobs and all(j.locations == () for j in jobs)
    job = open_job(sandbox)
    assert all_candidates(session, job)
    first = plugin.atsbridge_push_lead(session, job, LEAD, "k-scopes")
    assert set(first.unsupported) == {
        "location",
        "tags",
        "experiences[0].description",
        "educations[0]",
    }
    s = stored(sandbox, "ada.quinton@example.org")
    assert [len(s[k]) for k in ("educations", "employments", "attachments")] == [0, 2, 1]
    snapshot = counts(sandbox)
    replay = plugin.atsbridge_push_lead(session, job, LEAD, "k-scopes")
    assert replay.already_existed and "attachments" in replay.unsupported
    assert counts(sandbox) == snapshot
    refused = {r.path for r in sandbox.request_log if r.status == 403}
    assert refused == {"/v3/offices", "/v3/custom_field_options", "/v3/attachments"} | {
        "/v3/candidate_employments"
    }


def test_an_api_that_omits_nulls_and_answers_creates_with_ids_only(make_sandbox, connect):
    """Notes 1.7 show created records as ``{"id": …, …}``: an API may send just the id."""
    plain, sparse = make_sandbox(), make_sandbox(sparse=True)
    sessions = [connect(plain), connect(sparse, source_id=12)]
    job = open_job(sparse)

    def read(session):
        jobs, _ = all_jobs(session, page_size=5)
        return sorted(jobs, key=lambda j: j.ats_id), all_candidates(session, job)

    assert read(sessions[0]) == read(sessions[1])  # absent nulls read as nulls
    session = sessions[1]
    first = plugin.atsbridge_push_lead(session, job, LEAD, "k-sparse")
    (app,) = stored(sparse, "ada.quinton@example.org")["applications"]
    assert not first.already_existed and first.application_id == str(app["id"])
    assert first.candidate_id == str(app["candidate_id"])
    person = sparse.people()[0]
    other_job = next(
        j.ats_id
        for j in sparse.jobs()
        if j.status is JobStatus.OPEN and j.ats_id not in person.job_ids
    )
    lead = Lead(id="l-sparse", first_name="X", last_name="Y", emails=(person.emails[0],))
    added = plugin.atsbridge_push_lead(session, other_job, lead, "k-sparse-2")
    assert added.already_existed and added.candidate_id == person.ats_id
    new_app = sparse._application_of(other_job, person.ats_id)
    assert added.application_id == str(new_app["id"])
