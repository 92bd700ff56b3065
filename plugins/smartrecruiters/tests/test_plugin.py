"""End to end: the plugin's hooks against the sandbox, over real HTTP on loopback."""

from __future__ import annotations

import itertools
import json
import logging
import threading
from datetime import timedelta

import attrs
import pytest
from atsbridge.config import validate_config
from atsbridge.errors import AtsError, AtsUnavailable, AuthError, BadInput, ConfigError
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
from atsbridge_sdk.sandbox import Faults, json_response, route
from atsbridge_smartrecruiters import plugin
from atsbridge_smartrecruiters.sandbox import NOTES_CREATE_FIELDS, SmartRecruitersSandbox
from jsonschema import Draft202012Validator

from .conftest import OPTIONS


def open_session(box, config=None, **context):
    return plugin.atsbridge_open_session(
        config=config or box.connection_config(), context=SessionContext(**context)
    )


@pytest.fixture
def session(sandbox):
    s = open_session(sandbox)
    yield s
    s.close()


def all_jobs(session, **query):
    jobs, cursor, pages = [], None, 0
    while True:
        page = plugin.atsbridge_search_jobs(session, JobQuery(cursor=cursor, **query))
        jobs += page.items
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return jobs, pages


def all_candidates(session, job_id, **query):
    people, cursor, pages = [], None, 0
    while True:
        q = CandidateQuery(job_ats_id=job_id, cursor=cursor, **query)
        page = plugin.atsbridge_list_candidates(session, q)
        people += page.items
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return people, pages


LEAD = Lead(
    id="lead-123",
    first_name="Ada",
    last_name="Quinton",
    emails=("ada.quinton@example.org",),
    phones=("+33 6 12 34 56 78",),
    linkedin_url="https://www.linkedin.com/in/ada-quinton/",
    headline="Staff Engineer",
    location=Location(city="Paris", region="Ile-de-France", country_code="FR"),
    educations=(
        Education("Université Paris Cité", "MSc", "Computer Science", "2012-09", "2014-06"),
    ),
    experiences=(
        Experience("Globex", "Staff Engineer", "2019-01", None, True, "Payments platform"),
        Experience("Initech", "Engineer", "2015-03", "2018-12", False, None),
    ),
    tags=("sourced",),
    attachments=(Attachment("ada-cv.pdf", "application/pdf", b"%PDF-1.7 Ada's resume"),),
)


# --- describe ----------------------------------------------------------------------------------


def test_plugin_is_discovered_with_a_valid_schema(sandbox):
    registry = PluginRegistry.discover()
    info = registry.get("smartrecruiters").info
    Draft202012Validator.check_schema(info.config_schema)
    props = info.config_schema["properties"]
    assert props["api_key"]["writeOnly"] and props["client_secret"]["writeOnly"]
    assert props["base_url"]["default"] == "https://api.smartrecruiters.com"
    assert "Credential Manager" in info.setup_instructions
    assert info.rate_limit.requests_per_second <= 10 and info.rate_limit.max_concurrency <= 8
    validate_config(info.config_schema, sandbox.connection_config())
    validate_config(info.config_schema, sandbox.oauth_config())
    with pytest.raises(ConfigError, match=r"config\.client_secret: required"):
        validate_config(
            info.config_schema, {"auth_method": "oauth_client_credentials", "client_id": "x"}
        )
    with pytest.raises(ConfigError, match=r"config\.base_url"):
        validate_config(info.config_schema, {"api_key": "k", "base_url": "http://example.com"})


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({}, "config.api_key: required"),
        ({"auth_method": "oauth_client_credentials", "client_id": "c"}, "config.client_secret"),
        ({"auth_method": "basic", "api_key": "k"}, "config.auth_method"),
        ({"api_key": "k", "base_url": "http://api.example.com"}, "config.base_url: must be https"),
        ({"api_key": 5}, "config.api_key: must be a string"),
    ],
)
def test_open_session_rejects_bad_config_before_any_request(config, problem):
    with pytest.raises(ConfigError, match=problem.replace(".", r"\.")):
        plugin.atsbridge_open_session(config=config, context=SessionContext())


# --- auth ----------------------------------------------------------------------------------------


def test_bad_api_key_is_an_actionable_auth_error(sandbox):
    with pytest.raises(AuthError) as err:
        open_session(sandbox, sandbox.connection_config(valid=False))
    message = str(err.value)
    assert "API key (X-SmartToken)" in message and "Credential Manager" in message
    assert sandbox.connection_config(valid=False)["api_key"] not in message


def test_bad_oauth_secret_is_an_auth_error(sandbox):
    config = sandbox.oauth_config(valid=False)
    with pytest.raises(AuthError) as err:
        open_session(sandbox, config)
    assert "OAuth client" in str(err.value)
    assert config["client_secret"] not in str(err.value)


def test_oauth_session_works_and_refreshes_an_expired_token(sandbox):
    s = open_session(sandbox, sandbox.oauth_config())
    try:
        tokens = sandbox.requests_to("/identity/oauth/token", "POST")
        assert len(tokens) == 1
        jobs, _ = all_jobs(s, page_size=100)
        assert len(jobs) == OPTIONS.jobs
        sandbox.expire_tokens()
        jobs, _ = all_jobs(s, page_size=100)
        assert len(jobs) == OPTIONS.jobs
        assert len(sandbox.requests_to("/identity/oauth/token", "POST")) == 2
        statuses = [(r.status, r.credential) for r in sandbox.requests_to("/jobs")]
        assert statuses.count((401, "")) == 1  # the expired token, refreshed and replayed
        assert all(c.startswith("client:") for st, c in statuses if st == 200)
    finally:
        s.close()


# --- jobs ----------------------------------------------------------------------------------------


def test_jobs_page_through_everything(sandbox, session):
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
        assert job.department and job.status_raw.split("/")[0] in (
            "CREATED",
            "SOURCING",
            "INTERVIEW",
            "OFFER",
            "FILLED",
            "CANCELLED",
            "ON_HOLD",
        )
    offsets = [r.query for r in sandbox.requests_to("/jobs", "GET")][-3:]
    assert [("offset=0" in q, "offset=5" in q, "offset=10" in q) for q in offsets] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]


def test_updated_since_is_applied_by_the_api(sandbox, session):
    newest = max(f.updated_at for f in sandbox.jobs())
    sandbox.clear_log()
    page = plugin.atsbridge_search_jobs(session, JobQuery(updated_since=newest))
    assert page.items == () and page.next_cursor is None
    (request,) = sandbox.requests_to("/jobs")
    assert "updatedAfter=" in request.query
    target = sandbox.jobs()[4]
    sandbox.rename_job(target.ats_id, "Principal Lighthouse Keeper")
    page = plugin.atsbridge_search_jobs(session, JobQuery(updated_since=newest))
    assert [(j.ats_id, j.title) for j in page.items] == [
        (target.ats_id, "Principal Lighthouse Keeper")
    ]


def test_text_and_status_are_sent_to_the_api(sandbox, session):
    target = sandbox.jobs()[2]
    sandbox.rename_job(target.ats_id, "Glassblower, Murano")
    page = plugin.atsbridge_search_jobs(session, JobQuery(text="glassblower"))
    assert [j.ats_id for j in page.items] == [target.ats_id]
    sandbox.set_job_status(target.ats_id, JobStatus.ON_HOLD)
    sandbox.clear_log()
    held, _ = all_jobs(session, statuses=frozenset({JobStatus.ON_HOLD}))
    assert target.ats_id in [j.ats_id for j in held]
    assert {j.status for j in held} == {JobStatus.ON_HOLD}
    assert all("status=ON_HOLD" in r.query for r in sandbox.requests_to("/jobs"))
    # Open spans several raw statuses: no server filter, a superset comes back.
    sandbox.clear_log()
    every, _ = all_jobs(session, statuses=frozenset({JobStatus.OPEN}), page_size=100)
    assert {j.ats_id for j in every} >= {f.ats_id for f in sandbox.jobs() if f.status == "open"}
    assert all("status=" not in r.query for r in sandbox.requests_to("/jobs"))
    assert plugin.atsbridge_search_jobs(session, JobQuery(statuses=frozenset())).items == ()


# --- candidates --------------------------------------------------------------------------------


def test_candidates_complete_across_pages_every_status(sandbox, session):
    statuses = set()
    raw = set()
    for fact in sandbox.jobs():
        people, pages = all_candidates(session, fact.ats_id, page_size=2)
        expected = sandbox.pipeline(fact.ats_id)
        assert [p.ats_id for p in people] == expected
        assert pages == max(1, -(-len(expected) // 2))
        for person in people:
            assert person.job_ats_id == fact.ats_id
            assert person.application_id == f"{person.ats_id}:{fact.ats_id}"
            assert person.emails and person.first_name
            statuses.add(person.status)
            raw.add(person.status_raw)
    assert {CandidateStatus.REJECTED, CandidateStatus.HIRED, CandidateStatus.NEW} <= statuses
    assert "LEAD" in raw  # secondary assignments of sourced people
    assert sandbox.rate_limit_violations == 0


def test_candidate_status_is_the_one_on_the_asked_job(sandbox, session):
    # Seeded people with two assignments: primary on one job, secondary (LEAD) on the next.
    person = next(p for p in sandbox.people() if len(p.job_ids) == 2)
    primary, secondary = person.job_ids
    sandbox.move_candidate(primary, person.ats_id, CandidateStatus.HIRED)
    sandbox.set_candidate_raw_status(secondary, person.ats_id, "TRANSFERRED")
    on_primary = {c.ats_id: c for c in all_candidates(session, primary)[0]}
    on_secondary = {c.ats_id: c for c in all_candidates(session, secondary)[0]}
    assert on_primary[person.ats_id].status is CandidateStatus.HIRED
    assert on_secondary[person.ats_id].status is CandidateStatus.WITHDRAWN
    assert on_secondary[person.ats_id].status_raw == "TRANSFERRED"


def test_pipelines_are_whole_when_the_api_omits_secondary_assignments(sandbox, session):
    expected = {}
    for facts in sandbox.jobs():
        people, _ = all_candidates(session, facts.ats_id)
        expected[facts.ats_id] = sorted((c.ats_id, c.status) for c in people)
    sandbox.secondary_assignments = False
    for job_id, wanted in expected.items():
        people, _ = all_candidates(session, job_id)
        # Seeded secondary assignments are LEADs (new), so even their status is unchanged.
        assert sorted((c.ats_id, c.status) for c in people) == wanted
    assert any(len(p.job_ids) > 1 for p in sandbox.people())


# --- account-wide listing (Capability.ACCOUNT_CANDIDATES) -------------------------------------


def test_account_wide_listing_is_one_record_per_job_assignment(sandbox, session):
    person = next(p for p in sandbox.people() if len(p.job_ids) == 2)
    primary, secondary = person.job_ids
    sandbox.move_candidate(primary, person.ats_id, CandidateStatus.HIRED)
    loner = next(p for p in sandbox.people() if len(p.job_ids) == 1)
    sandbox.remove_candidate(loner.job_ids[0], loner.ats_id)  # now in the pool, on no job
    sandbox.clear_log()
    people, pages = all_candidates(session, None, page_size=7)
    pairs = [(c.job_ats_id, c.ats_id) for c in people]
    expected = {(job, p.ats_id) for p in sandbox.people() for job in p.job_ids}
    assert sorted(pairs) == sorted(expected)  # each application once, the pool person not
    assert all(c.ats_id != loner.ats_id for c in people)
    status = {(c.job_ats_id, c.ats_id): c for c in people}
    assert status[(primary, person.ats_id)].status is CandidateStatus.HIRED
    assert status[(secondary, person.ats_id)].status_raw == "LEAD"
    assert status[(secondary, person.ats_id)].application_id == f"{person.ats_id}:{secondary}"
    listings = sandbox.requests_to("/candidates", "GET")
    assert len(listings) == pages == -(-len(sandbox.people()) // 7)  # a page is 7 people
    assert all("jobId" not in r.query for r in listings)
    assert sandbox.rate_limit_violations == 0


def test_account_wide_listing_sends_updated_after(sandbox, session):
    people, _ = all_candidates(session, None)
    newest = max(c.updated_at for c in people)
    sandbox.clear_log()
    assert all_candidates(session, None, updated_since=newest)[0] == []
    [request] = sandbox.requests_to("/candidates", "GET")
    assert "updatedAfter=" in request.query and "jobId" not in request.query
    person = next(p for p in sandbox.people() if len(p.job_ids) == 2)
    sandbox.move_candidate(person.job_ids[1], person.ats_id, CandidateStatus.REJECTED)
    changed, _ = all_candidates(session, None, updated_since=newest)
    # The stamp is the person's: every job of the changed person comes back.
    assert sorted(c.job_ats_id for c in changed) == sorted(person.job_ids)
    assert {c.ats_id for c in changed} == {person.ats_id}
    rejected = next(c for c in changed if c.job_ats_id == person.job_ids[1])
    assert rejected.status is CandidateStatus.REJECTED


def test_account_wide_row_without_secondary_assignments_is_logged(sandbox, session, caplog):
    sandbox.secondary_assignments = False
    with caplog.at_level(logging.WARNING, logger="atsbridge.smartrecruiters"):
        people, _ = all_candidates(session, None)
    assert len(people) == len(sandbox.people())  # the primary job of each person on one
    assert "without secondaryAssignments" in caplog.text


class LinkOnlySandbox(SmartRecruitersSandbox):
    """Gives the next candidates page only in the Link header (both are documented)."""

    @route("GET", "/candidates")
    def list_candidates(self, request):
        answer = super().list_candidates(request)
        body = json.loads(answer.body)
        body.pop("nextPageId", None)
        answer.body = json.dumps(body).encode()
        return answer


def test_candidate_pages_follow_a_link_header_without_next_page_id():
    box = LinkOnlySandbox(OPTIONS).start()
    try:
        s = open_session(box)
        job = box.jobs()[0].ats_id
        people, pages = all_candidates(s, job, page_size=1)
        assert sorted(c.ats_id for c in people) == sorted(box.pipeline(job))
        assert pages == len(box.pipeline(job)) > 1
        s.close()
    finally:
        box.stop()


def test_candidates_updated_since(sandbox, session):
    job = sandbox.jobs()[3].ats_id
    people, _ = all_candidates(session, job)
    newest = max(p.updated_at for p in people)
    later, _ = all_candidates(session, job, updated_since=newest + timedelta(days=400))
    assert later == []
    mover = people[0].ats_id
    sandbox.move_candidate(job, mover, CandidateStatus.REJECTED)
    changed, _ = all_candidates(session, job, updated_since=newest)
    assert [(c.ats_id, c.status) for c in changed] == [(mover, CandidateStatus.REJECTED)]


def test_concurrent_listings_never_break_the_one_at_a_time_rule(sandbox):
    a, b = open_session(sandbox), open_session(sandbox)  # same credential, two sessions
    errors = []

    def work(s, jobs):
        try:
            for job in jobs:
                all_candidates(s, job, page_size=3)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    ids = [f.ats_id for f in sandbox.jobs()][:8]
    threads = [
        threading.Thread(target=work, args=(s, ids[i::4])) for i, s in enumerate([a, b, a, b])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a.close()
    b.close()
    assert errors == []
    assert sandbox.rate_limit_violations == 0
    listings = sandbox.requests_to("/candidates", "GET")
    assert len(listings) >= 16
    spans = sorted((r.started, r.ended) for r in listings)
    assert all(nxt[0] >= cur[1] - 0.002 for cur, nxt in itertools.pairwise(spans))


# --- job status -------------------------------------------------------------------------------


def test_job_statuses_report_closed_held_and_gone(sandbox, session):
    a, b, c, d = (f.ats_id for f in sandbox.jobs()[:4])
    sandbox.set_job_status(a, JobStatus.CLOSED)
    sandbox.set_job_raw_status(b, "CANCELLED")
    sandbox.set_job_status(c, JobStatus.ON_HOLD)
    sandbox.delete_job(d)
    states = plugin.atsbridge_job_statuses(session, [a, b, c, d, "nonexistent", a])
    got = [(s.ats_id, s.status, s.exists) for s in states]
    assert got == [
        (a, JobStatus.CLOSED, True),
        (b, JobStatus.CLOSED, True),
        (c, JobStatus.ON_HOLD, True),
        (d, JobStatus.CLOSED, False),
        ("nonexistent", JobStatus.CLOSED, False),
        (a, JobStatus.CLOSED, True),
    ]
    assert states[0].status_raw == "FILLED/NOT_PUBLISHED"
    assert len(sandbox.requests_to("/jobs/")) == 5  # one per distinct id


@pytest.mark.parametrize("refusal", [404, 405, 403])
def test_job_statuses_without_the_single_job_endpoint(sandbox, session, refusal):
    """GET /jobs/{id} is not in the API notes: statuses then come from the jobs listing."""
    a, b, c, d = (f.ats_id for f in sandbox.jobs()[:4])
    sandbox.set_job_status(a, JobStatus.CLOSED)
    sandbox.set_job_status(c, JobStatus.ON_HOLD)
    sandbox.delete_job(d)
    sandbox.unlisted_status = refusal
    b_status = next(f.status for f in sandbox.jobs() if f.ats_id == b)
    asked = [a, b, c, d, "nonexistent", a]
    states = plugin.atsbridge_job_statuses(session, asked)
    got = [(s.ats_id, s.status, s.exists) for s in states]
    assert got == [
        (a, JobStatus.CLOSED, True),
        (b, b_status, True),
        (c, JobStatus.ON_HOLD, True),
        (d, JobStatus.CLOSED, False),
        ("nonexistent", JobStatus.CLOSED, False),
        (a, JobStatus.CLOSED, True),
    ]
    record = sandbox.job_record(b)
    assert states[1].status_raw == f"{record['status']}/{record['postingStatus']}"
    # Once the listing showed the endpoint cannot help, it is not asked again.
    tried = len(sandbox.requests_to("/jobs/"))
    assert tried <= 5
    plugin.atsbridge_job_statuses(session, asked)
    assert len(sandbox.requests_to("/jobs/")) == tried


# --- lead push ---------------------------------------------------------------------------------


def test_push_lands_every_field_in_place(sandbox, session):
    job = sandbox.jobs()[0].ats_id
    result = plugin.atsbridge_push_lead(session, job, LEAD, "tenant:job:lead-123")
    assert not result.already_existed
    assert result.application_id == f"{result.candidate_id}:{job}"
    assert (result.status, result.stage) == (CandidateStatus.NEW, "NEW")
    assert set(result.unsupported) == {"headline", "source"}
    (facts,) = sandbox.people("ada.quinton@example.org")
    assert facts.ats_id == result.candidate_id and facts.job_ids == (job,)
    assert facts.resume == b"%PDF-1.7 Ada's resume"
    record = sandbox.person_record(result.candidate_id)
    assert (record["firstName"], record["lastName"]) == ("Ada", "Quinton")
    assert record["phoneNumber"] == "+33 6 12 34 56 78"
    assert record["web"] == {"linkedin": "https://www.linkedin.com/in/ada-quinton/"}
    assert record["location"] == {"city": "Paris", "region": "Ile-de-France", "countryCode": "fr"}
    assert record["education"] == [
        {
            "institution": "Université Paris Cité",
            "degree": "MSc",
            "major": "Computer Science",
            "current": False,
            "startDate": "2012-09",
            "endDate": "2014-06",
        }
    ]
    assert record["experience"] == [
        {
            "title": "Staff Engineer",
            "company": "Globex",
            "current": True,
            "startDate": "2019-01",
            "description": "Payments platform",
        },
        {
            "title": "Engineer",
            "company": "Initech",
            "current": False,
            "startDate": "2015-03",
            "endDate": "2018-12",
        },
    ]
    assert record["tags"] == ["sourced"]
    (attachment,) = record["attachments"]
    assert (attachment["name"], attachment["type"]) == ("ada-cv.pdf", "RESUME")
    assert attachment["contentType"] == "application/pdf"
    assert sandbox.attachment_bytes(attachment["id"]) == b"%PDF-1.7 Ada's resume"


def test_create_fields_beyond_the_notes_are_dropped_when_refused(sandbox, session):
    """An API taking only the notes' example fields refuses location and tags by name."""
    sandbox.create_fields = NOTES_CREATE_FIELDS
    job = sandbox.jobs()[0].ats_id
    result = plugin.atsbridge_push_lead(session, job, LEAD, "k-fields")
    assert set(result.unsupported) == {"headline", "source", "location", "tags"}
    (facts,) = sandbox.people("ada.quinton@example.org")
    record = sandbox.person_record(facts.ats_id)
    assert record["location"] == {} and record["tags"] == []
    assert record["web"] == {"linkedin": LEAD.linkedin_url} and len(record["experience"]) == 2
    assert facts.resume == LEAD.attachments[0].content
    creates = sandbox.requests_to(f"/jobs/{job}/candidates", "POST")
    assert [r.status for r in creates] == [400, 201]
    # Any other refusal is not second-guessed.
    with pytest.raises(AtsError, match="email"):
        plugin.atsbridge_push_lead(
            session, job, attrs.evolve(LEAD, emails=("not-an-address",)), "k-bad"
        )


def test_replay_creates_nothing_new(sandbox, session):
    job = sandbox.jobs()[0].ats_id
    first = plugin.atsbridge_push_lead(session, job, LEAD, "k1")
    sandbox.clear_log()
    again = plugin.atsbridge_push_lead(session, job, LEAD, "k1")
    assert again.already_existed and again.candidate_id == first.candidate_id
    assert again.application_id == first.application_id
    assert [r.method for r in sandbox.request_log] == ["GET", "GET"]  # look-up, attachments
    (facts,) = sandbox.people("ada.quinton@example.org")
    assert len(sandbox.person_record(facts.ats_id)["attachments"]) == 1


def test_existing_person_is_put_on_the_job_not_duplicated(sandbox, session):
    jobs = [f.ats_id for f in sandbox.jobs()]
    seeded = sandbox.person_record(sandbox.pipeline(jobs[0])[0])
    target = next(j for j in jobs if j not in [a["job"]["id"] for a in seeded["assignments"]])
    lead = attrs.evolve(LEAD, emails=(seeded["email"].upper(),))
    result = plugin.atsbridge_push_lead(session, target, lead, "k2")
    assert result.already_existed and result.candidate_id == seeded["id"]
    assert result.status is CandidateStatus.NEW
    (facts,) = sandbox.people(seeded["email"])
    assert target in facts.job_ids
    assert facts.resume == b"%PDF-1.7 Ada's resume"
    # An existing person's profile is not overwritten by the lead.
    assert sandbox.person_record(seeded["id"])["firstName"] == seeded["firstName"]
    assert sandbox.requests_to("/jobs/", "POST") == []


@pytest.mark.parametrize("refusal", [404, 405, 403])
def test_existing_person_without_the_assign_endpoint_fails_clearly(sandbox, session, refusal):
    """PUT /candidates/{id}/jobs/{jobId} is not in the API notes; an API without it makes
    the push fail for good with a message saying why, creating nothing."""
    person = sandbox.people()[0]
    other = next(f.ats_id for f in sandbox.jobs() if f.ats_id not in person.job_ids)
    lead = attrs.evolve(LEAD, emails=person.emails)
    sandbox.unlisted_status = refusal
    before = len(sandbox.people())
    with pytest.raises(AtsError) as err:
        plugin.atsbridge_push_lead(session, other, lead, "k-assign")
    assert not isinstance(err.value, AuthError)  # the credential is fine
    assert err.value.status_code == refusal
    assert person.ats_id in str(err.value) and "by hand" in str(err.value)
    assert len(sandbox.people()) == before
    assert sandbox.person_record(person.ats_id)["attachments"] == []


class OddListingSandbox(SmartRecruitersSandbox):
    """Lists attachments in a shape other than the one assumed."""

    @route("GET", "/candidates/{candidate_id}/attachments")
    def list_attachments(self, request):
        return json_response({"attachments": "see the UI"})


@pytest.mark.parametrize("variant", [403, 501, "shape"])
def test_files_go_up_when_the_attachment_listing_cannot_tell(variant):
    box = (OddListingSandbox if variant == "shape" else SmartRecruitersSandbox)(OPTIONS).start()
    try:
        if variant != "shape":
            box.unlisted_status = variant
        s = open_session(box)
        person = box.people()[0]
        lead = attrs.evolve(LEAD, emails=person.emails)
        result = plugin.atsbridge_push_lead(s, person.job_ids[0], lead, "k-files")
        assert result.already_existed and result.candidate_id == person.ats_id
        (attachment,) = box.person_record(person.ats_id)["attachments"]
        assert box.attachment_bytes(attachment["id"]) == LEAD.attachments[0].content
        s.close()
    finally:
        box.stop()


def test_already_on_the_job_reports_its_status(sandbox, session):
    job = sandbox.jobs()[0].ats_id
    pid = sandbox.pipeline(job)[0]
    sandbox.move_candidate(job, pid, CandidateStatus.INTERVIEWING)
    email = sandbox.person_record(pid)["email"]
    lead = Lead(id="l2", first_name="X", last_name="Y", emails=[email])
    result = plugin.atsbridge_push_lead(session, job, lead, "k3")
    assert result.already_existed and result.candidate_id == pid
    assert (result.status, result.stage) == (CandidateStatus.INTERVIEWING, "Onsite Interview")
    assert sandbox.request_log[-1].method == "GET"


def test_lead_without_email_fails_clearly_before_any_request(sandbox, session):
    sandbox.clear_log()
    with pytest.raises(BadInput, match="lead lead-123: field emails"):
        plugin.atsbridge_push_lead(
            session, sandbox.jobs()[0].ats_id, attrs.evolve(LEAD, emails=()), "k"
        )
    assert sandbox.request_log == []


def test_lost_create_and_lost_upload_responses_are_reconciled(sandbox, session):
    job = sandbox.jobs()[1].ats_id
    # The create's response is lost (the person was created), then the upload's too.
    sandbox.set_faults(Faults(lost_response_rate=1.0, methods={"POST"}, max_faults=2))
    with pytest.raises(AtsUnavailable):
        plugin.atsbridge_push_lead(session, job, LEAD, "k4")
    # The create was reconciled by the look-up; the upload is what failed.
    (facts,) = sandbox.people("ada.quinton@example.org")
    assert facts.resume == b"%PDF-1.7 Ada's resume"
    result = plugin.atsbridge_push_lead(session, job, LEAD, "k4")
    assert result.already_existed and result.candidate_id == facts.ats_id
    assert len(sandbox.people("ada.quinton@example.org")) == 1
    assert len(sandbox.person_record(facts.ats_id)["attachments"]) == 1


def test_resume_type_falls_back_when_refused(sandbox, session, monkeypatch):
    from atsbridge_smartrecruiters import sandbox as sandbox_module

    monkeypatch.setattr(sandbox_module, "ATTACHMENT_TYPES", ("GENERIC_FILE",))
    job = sandbox.jobs()[0].ats_id
    result = plugin.atsbridge_push_lead(session, job, LEAD, "k5")
    (attachment,) = sandbox.person_record(result.candidate_id)["attachments"]
    assert attachment["type"] == "GENERIC_FILE"


# --- faults, limits, secrets --------------------------------------------------------------------

SMALL = SandboxOptions(seed=11, jobs=6, candidates_per_job=4)


def _full_run(box):
    """Everything a sync does, retrying pushes the way the outbox would."""
    s = open_session(box)
    try:
        jobs, _ = all_jobs(s, page_size=4)
        pipelines = {j.ats_id: all_candidates(s, j.ats_id, page_size=3)[0] for j in jobs}
        states = plugin.atsbridge_job_statuses(s, [j.ats_id for j in jobs] + ["gone"])
        pushed = []
        for i, job in enumerate(sorted(j.ats_id for j in jobs)[:3]):
            lead = attrs.evolve(LEAD, id=f"lead-{i}", emails=(f"lead{i}@example.org",))
            for _ in range(12):
                try:
                    pushed.append(plugin.atsbridge_push_lead(s, job, lead, f"key-{i}").candidate_id)
                    break
                except AtsUnavailable:
                    continue
        people = sorted(box.people(), key=lambda p: p.ats_id)
        return (sorted(jobs, key=lambda j: j.ats_id), pipelines, states, pushed, people)
    finally:
        s.close()


def test_twenty_percent_faults_give_identical_results():
    clean = SmartRecruitersSandbox(SMALL).start()
    faulty = SmartRecruitersSandbox(SMALL).start()
    try:
        expected = _full_run(clean)
        faulty.set_faults(Faults.mixed(0.2, seed=5))
        got = _full_run(faulty)
        assert got == expected
        assert sum(1 for r in faulty.request_log if r.fault) > 5
        assert clean.rate_limit_violations == 0 and faulty.rate_limit_violations == 0
    finally:
        clean.stop()
        faulty.stop()


def test_no_secret_in_logs_or_errors(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    seen = []
    for config in (
        sandbox.connection_config(valid=False),
        sandbox.oauth_config(valid=False),
    ):
        with pytest.raises(AuthError) as err:
            open_session(sandbox, config)
        seen.append(str(err.value))
    sandbox.set_faults(Faults(error_rate=0.3, throttle_rate=0.2, retry_after="0.01", seed=3))
    for config in (sandbox.connection_config(), sandbox.oauth_config()):
        s = open_session(sandbox, config, on_event=lambda e: seen.append(repr(e)))
        all_jobs(s, page_size=4)
        seen.append(repr(s))
        s.close()
    secrets = {sandbox.api_key, sandbox.client_secret, *sandbox.tokens}
    secrets |= {r.auth_value for r in sandbox.request_log if r.auth_value}
    text = caplog.text + "\n".join(seen)
    assert "retrying" in caplog.text  # the faults did make the client log
    leaked = [s for s in secrets if s and s in text]
    assert leaked == []


class TerseSandbox(SmartRecruitersSandbox):
    """An API variant that answers creates with an empty body and cannot list attachments."""

    @route("POST", "/jobs/{job_id}/candidates")
    def create_candidate(self, request):
        answer = super().create_candidate(request)
        answer.body = b""
        return answer

    @route("GET", "/candidates/{candidate_id}/attachments")
    def list_attachments(self, request):
        return self.error(405, "method GET not allowed")


class IdlessCreateSandbox(SmartRecruitersSandbox):
    """Answers a create with JSON that does not carry the candidate's id."""

    @route("POST", "/jobs/{job_id}/candidates")
    def create_candidate(self, request):
        answer = super().create_candidate(request)
        answer.body = json.dumps({"status": "CREATED", "candidate": None}).encode()
        return answer


def test_a_create_answer_without_the_id_is_resolved_by_look_up():
    box = IdlessCreateSandbox(OPTIONS).start()
    try:
        s = open_session(box)
        result = plugin.atsbridge_push_lead(s, box.jobs()[0].ats_id, LEAD, "k8")
        (facts,) = box.people("ada.quinton@example.org")
        assert result.candidate_id == facts.ats_id and not result.already_existed
        assert facts.resume == b"%PDF-1.7 Ada's resume"
        s.close()
    finally:
        box.stop()


def test_tolerates_a_bodiless_create_and_no_attachment_listing():
    box = TerseSandbox(OPTIONS).start()
    try:
        s = open_session(box)
        job = box.jobs()[0].ats_id
        result = plugin.atsbridge_push_lead(s, job, LEAD, "k6")
        (facts,) = box.people("ada.quinton@example.org")
        assert result.candidate_id == facts.ats_id and not result.already_existed
        assert facts.resume == b"%PDF-1.7 Ada's resume"
        other = box.jobs()[1].ats_id
        again = plugin.atsbridge_push_lead(s, other, LEAD, "k7")
        assert again.already_existed and again.candidate_id == facts.ats_id
        # Unable to tell what is attached, the plugin uploads again (README, UNCONFIRMED 4).
        assert len(box.person_record(facts.ats_id)["attachments"]) == 2
        s.close()
    finally:
        box.stop()
