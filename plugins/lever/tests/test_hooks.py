"""End to end: the plugin's hooks against the fake Lever, over real HTTP."""

from __future__ import annotations

import logging
from datetime import timedelta

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
from atsbridge_lever import plugin
from atsbridge_lever.sandbox import LeverSandbox
from atsbridge_sdk.http import RetryPolicy
from atsbridge_sdk.sandbox import Faults

FAST_RETRY = RetryPolicy(max_attempts=8, base_delay=0.02, max_delay=0.3, total_budget=30)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8


def open_session(sandbox, context=None, **config_overrides):
    config = {**sandbox.connection_config(), **config_overrides}
    return plugin.open_session(config, context or SessionContext(), retry=FAST_RETRY)


@pytest.fixture
def session(sandbox):
    s = open_session(sandbox)
    try:
        yield s
    finally:
        s.close()


def all_jobs(session, **query):
    out, cursor, pages = [], None, 0
    while True:
        page = plugin.atsbridge_search_jobs(session, JobQuery(cursor=cursor, **query))
        out.extend(page.items)
        pages += 1
        if page.next_cursor is None:
            return out, pages
        cursor = page.next_cursor


def pipeline(session, job_id, **query):
    out, cursor = [], None
    while True:
        q = CandidateQuery(job_ats_id=job_id, cursor=cursor, page_size=3, **query)
        page = plugin.atsbridge_list_candidates(session, q)
        out.extend(page.items)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def make_lead(n: int = 1, **overrides) -> Lead:
    fields = dict(
        id=f"lead-{n}",
        first_name="Ada",
        last_name=f"Quinton{n}",
        emails=[f"ada.quinton.{n}@example.org"],
        phones=["+33 6 12 34 56 78"],
        linkedin_url=f"https://www.linkedin.com/in/ada-quinton-{n}/",
        headline="Staff Engineer",
        location=Location(city="Paris", region="Ile-de-France", country_code="FR"),
        educations=[Education("Université Paris Cité", "MSc", "Computer Science", "2012", "2014")],
        experiences=[Experience("Globex", "Staff Engineer", "2019-01", None, True, "Payments")],
        source="atsbridge",
        tags=["sourced", "backend"],
        attachments=[Attachment("ada-cv.pdf", "application/pdf", PDF)],
    )
    fields.update(overrides)
    return Lead(**fields)  # type: ignore[arg-type]


def open_job(sandbox) -> str:
    return next(j.ats_id for j in sandbox.jobs() if j.status is JobStatus.OPEN)


# --- describe ---------------------------------------------------------------------------


def test_plugin_is_discovered_and_describes_itself(sandbox):
    registry = PluginRegistry.discover()
    status = next(s for s in registry.statuses if s.name == "lever")
    assert status.ok, status.error
    info = plugin.atsbridge_plugin_info()
    assert info.name == "lever" and info.api_version == "v1"
    assert "Generate New Key" in info.setup_instructions
    assert info.rate_limit.requests_per_second < 10 and info.rate_limit.burst <= 20
    # The sandbox's config is a valid config for the schema, both auth methods.
    for method in ("api_key", "oauth2"):
        validate_config(info.config_schema, sandbox.connection_config(auth_method=method))
    schema = info.config_schema
    assert all(schema["properties"][k]["writeOnly"] for k in ("api_key", "client_secret"))
    assert schema["properties"]["base_url"]["default"] == "https://api.lever.co/v1"


def test_schema_requires_the_chosen_methods_fields():
    schema = plugin.atsbridge_plugin_info().config_schema
    with pytest.raises(ConfigError) as err:
        validate_config(schema, {"auth_method": "oauth2", "client_id": "c"})
    assert "config.client_secret: required" in err.value.problems
    with pytest.raises(ConfigError) as err:
        validate_config(schema, {"perform_as": "u"})
    assert "config.api_key: required" in err.value.problems
    with pytest.raises(ConfigError):
        validate_config(schema, {"api_key": "k", "base_url": "http://api.lever.co/v1"})
    validate_config(schema, {"api_key": "k", "base_url": "https://api.sandbox.lever.co/v1"})


# --- auth ---------------------------------------------------------------------------------


def test_bad_api_key_is_auth_error_naming_the_field(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    bad = sandbox.connection_config(valid=False)
    with pytest.raises(AuthError) as err:
        plugin.atsbridge_open_session(bad, SessionContext())
    assert "config.api_key" in str(err.value) and err.value.status_code == 401
    assert bad["api_key"] not in str(err.value)
    assert bad["api_key"] not in caplog.text and sandbox.api_key not in caplog.text


def test_missing_key_is_config_error(sandbox):
    with pytest.raises(ConfigError, match=r"config\.api_key: required"):
        plugin.atsbridge_open_session({"perform_as": "u"}, SessionContext())


def test_oauth_refresh_token_rotation_is_saved(sandbox):
    saved: list[dict] = []
    context = SessionContext(save_secrets=saved.append)
    config = sandbox.connection_config(auth_method="oauth2")
    session = plugin.atsbridge_open_session(config, context)
    try:
        assert saved == [{"refresh_token": sandbox.refresh_token}]
        sandbox.revoke_access_tokens()  # an hour later: the next call refreshes again
        assert plugin.atsbridge_job_statuses(session, ["nope"])[0].exists is False
        assert len(saved) == 2 and saved[-1] == {"refresh_token": sandbox.refresh_token}
    finally:
        session.close()
    # The refresh token we started with was rotated away: it no longer works.
    with pytest.raises(AuthError, match="refresh_token"):
        plugin.atsbridge_open_session(config, SessionContext())
    latest = {**config, **saved[-1]}
    plugin.atsbridge_open_session(latest, SessionContext()).close()


def test_oauth_bad_secret_is_auth_error(sandbox):
    config = sandbox.connection_config(auth_method="oauth2", valid=False)
    with pytest.raises(AuthError, match="client_secret"):
        plugin.atsbridge_open_session(config, SessionContext())


# --- jobs ---------------------------------------------------------------------------------


def test_jobs_page_through_everything_matching_the_sandbox(sandbox, session):
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
    assert sandbox.rate_limit_violations == 0


def test_updated_since_is_applied_by_lever(sandbox, session):
    newest = max(f.updated_at for f in sandbox.jobs())
    sandbox.clear_log()
    jobs, _ = all_jobs(session, updated_since=newest + timedelta(milliseconds=1))
    assert jobs == []
    assert len(sandbox.requests_to("/v1/postings")) == 1  # a no-change run is one request
    target = sandbox.jobs()[3].ats_id
    sandbox.rename_job(target, "Principal Lever Wrangler")
    jobs, _ = all_jobs(session, updated_since=newest + timedelta(milliseconds=1))
    assert [(j.ats_id, j.title) for j in jobs] == [(target, "Principal Lever Wrangler")]
    assert "updated_at_start=" in sandbox.requests_to("/v1/postings")[-1].query


def test_status_filter_goes_to_lever(sandbox, session):
    closed = {f.ats_id for f in sandbox.jobs() if f.status is JobStatus.CLOSED}
    sandbox.close_job(open_job(sandbox))
    closed = {f.ats_id for f in sandbox.jobs() if f.status is JobStatus.CLOSED}
    jobs, _ = all_jobs(session, statuses=frozenset({JobStatus.CLOSED}))
    assert {j.ats_id for j in jobs} == closed
    assert "state=closed" in sandbox.requests_to("/v1/postings")[-1].query
    sandbox.clear_log()
    assert all_jobs(session, statuses=frozenset({JobStatus.ON_HOLD}))[0] == []
    assert sandbox.requests_to("/v1/postings") == []


def test_text_search_returns_a_superset_holding_the_match(sandbox, session):
    target = sandbox.jobs()[5]
    jobs, _ = all_jobs(session, text=target.title)
    assert target.ats_id in {j.ats_id for j in jobs}


# --- candidates --------------------------------------------------------------------------


def test_pipeline_complete_across_pages_and_both_queries(sandbox, session):
    statuses = set()
    for fact in sandbox.jobs():
        cands = pipeline(session, fact.ats_id)
        assert sorted(c.ats_id for c in cands) == sandbox.pipeline(fact.ats_id)
        assert all(c.application_id and c.job_ats_id == fact.ats_id for c in cands)
        statuses |= {c.status for c in cands}
    assert {CandidateStatus.HIRED, CandidateStatus.REJECTED} <= statuses
    assert sandbox.rate_limit_violations == 0


def test_every_unified_status_round_trips(sandbox, session):
    job = open_job(sandbox)
    people = sandbox.pipeline(job)
    targets = [
        CandidateStatus.HIRED,
        CandidateStatus.REJECTED,
        CandidateStatus.WITHDRAWN,
        CandidateStatus.OFFERED,
    ]
    for person, status in zip(people, targets, strict=False):
        sandbox.move_candidate(job, person, status)
    got = {c.ats_id: c for c in pipeline(session, job)}
    for person, status in zip(people, targets, strict=False):
        assert got[person].status is status, got[person]
    assert got[people[0]].status_raw == "Hired"
    for status in (CandidateStatus.NEW, CandidateStatus.IN_REVIEW, CandidateStatus.INTERVIEWING):
        sandbox.move_candidate(job, people[0], status)
        assert {c.ats_id: c for c in pipeline(session, job)}[people[0]].status is status


def test_candidates_updated_since(sandbox, session):
    job = open_job(sandbox)
    newest = max(o["updatedAt"] for o in sandbox.opportunities.values())
    from datetime import UTC, datetime

    since = datetime.fromtimestamp((newest + 1) / 1000, tz=UTC)
    assert pipeline(session, job, updated_since=since) == []
    person = sandbox.pipeline(job)[1]
    sandbox.move_candidate(job, person, CandidateStatus.REJECTED)
    got = pipeline(session, job, updated_since=since)
    assert [(c.ats_id, c.status) for c in got] == [(person, CandidateStatus.REJECTED)]


def test_bad_candidate_cursor_is_bad_input(session, sandbox):
    with pytest.raises(BadInput, match="cursor"):
        plugin.atsbridge_list_candidates(
            session, CandidateQuery(job_ats_id=open_job(sandbox), cursor="garbage")
        )


# --- job status --------------------------------------------------------------------------


def test_job_statuses(sandbox, session):
    job = open_job(sandbox)
    sandbox.close_job(job)
    draft = next(j.ats_id for j in sandbox.jobs() if j.ats_id != job)
    sandbox.set_posting_state(draft, "rejected")
    states = plugin.atsbridge_job_statuses(session, [job, draft, "gone-posting/../x"])
    by_id = {s.ats_id: s for s in states}
    assert (by_id[job].status, by_id[job].status_raw) == (JobStatus.CLOSED, "closed")
    assert by_id[draft].status is JobStatus.DRAFT
    assert by_id["gone-posting/../x"].exists is False
    assert by_id["gone-posting/../x"].status is JobStatus.CLOSED


@pytest.fixture
def notes_only():
    """A Lever built from the notes alone: no single-record reads, POST-only notes/files."""
    sb = LeverSandbox(SandboxOptions(seed=7, jobs=12, candidates_per_job=4), unlisted_reads=False)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


def test_job_statuses_without_the_single_posting_read(notes_only):
    sandbox = notes_only
    session = open_session(sandbox)
    try:
        job = open_job(sandbox)
        sandbox.close_job(job)
        draft = next(j.ats_id for j in sandbox.jobs() if j.ats_id != job)
        sandbox.set_posting_state(draft, "rejected")
        asked = [j.ats_id for j in sandbox.jobs()] + ["gone-posting"]
        states = {s.ats_id: s for s in plugin.atsbridge_job_statuses(session, asked)}
        assert (states[job].status, states[job].status_raw) == (JobStatus.CLOSED, "closed")
        assert states[draft].status is JobStatus.DRAFT
        expected = {j.ats_id: j.status for j in sandbox.jobs()}
        assert {k: s.status for k, s in states.items() if s.exists} == expected
        assert states["gone-posting"].exists is False
        # The single read proved absent: the next call only scans the list.
        sandbox.clear_log()
        again = plugin.atsbridge_job_statuses(session, [job, "gone-posting"])
        assert [(s.status, s.exists) for s in again] == [
            (JobStatus.CLOSED, True),
            (JobStatus.CLOSED, False),
        ]
        assert {r.path for r in sandbox.request_log} == {"/v1/postings"}
    finally:
        session.close()


# --- lead push ----------------------------------------------------------------------------


def test_push_puts_every_field_in_its_place(sandbox, session):
    job = open_job(sandbox)
    lead = make_lead()
    result = plugin.atsbridge_push_lead(session, job, lead, "t1/job/lead-1")
    assert not result.already_existed and result.unsupported == ()
    assert (result.status, result.stage) == (CandidateStatus.NEW, "New lead")
    [person] = sandbox.people(email=lead.emails[0])
    assert person.ats_id == result.candidate_id
    assert (person.first_name, person.last_name) == ("Ada", "Quinton1")
    assert person.job_ids == (job,)
    assert person.linkedin_url == lead.linkedin_url
    assert person.phones == ("+33 6 12 34 56 78",)
    assert person.resume == PDF
    [opp] = sandbox.opportunities_of(result.candidate_id)
    assert opp["id"] == result.application_id
    assert opp["headline"] == "Staff Engineer"
    assert opp["location"] == "Paris, Ile-de-France, FR"
    assert opp["tags"] == ["sourced", "backend"] and opp["sources"] == ["atsbridge"]
    assert opp["origin"] == "sourced" and opp["owner"] == sandbox.user_id
    [note] = sandbox.notes_of(opp["id"])
    assert "- Staff Engineer at Globex (2019-01 – present): Payments" in note["fields"][0]["value"]
    assert "MSc, Computer Science — Université Paris Cité (2012 – 2014)" in note["text"]
    [(file, data)] = sandbox.files_of(opp["id"])
    assert (file["name"], data) == ("ada-cv.pdf", PDF)
    assert sandbox.requests_to("/v1/opportunities", "POST")[0].query.startswith("perform_as=")


def test_replay_creates_nothing_new(sandbox, session):
    job = open_job(sandbox)
    first = plugin.atsbridge_push_lead(session, job, make_lead(), "k")
    again = plugin.atsbridge_push_lead(session, job, make_lead(), "k")
    assert again.already_existed
    assert (again.candidate_id, again.application_id) == (first.candidate_id, first.application_id)
    [opp] = sandbox.opportunities_of(first.candidate_id)
    assert len(sandbox.notes_of(opp["id"])) == 1 and len(sandbox.files_of(opp["id"])) == 1


def test_existing_person_gets_an_application_not_a_duplicate(sandbox, session):
    jobs = [j.ats_id for j in sandbox.jobs() if j.status is JobStatus.OPEN][:2]
    first = plugin.atsbridge_push_lead(session, jobs[0], make_lead(), "a")
    second = plugin.atsbridge_push_lead(session, jobs[1], make_lead(), "b")
    assert not second.already_existed
    assert second.candidate_id == first.candidate_id
    assert second.application_id != first.application_id
    [person] = sandbox.people(email=make_lead().emails[0])
    assert person.job_ids == tuple(sorted(jobs))


def test_archived_application_counts_as_existing(sandbox, session):
    job = open_job(sandbox)
    first = plugin.atsbridge_push_lead(session, job, make_lead(), "k")
    sandbox.move_candidate(job, first.candidate_id, CandidateStatus.REJECTED)
    again = plugin.atsbridge_push_lead(session, job, make_lead(), "k2")
    assert again.already_existed and again.status is CandidateStatus.REJECTED
    assert len(sandbox.opportunities_of(first.candidate_id)) == 1


def test_recruiters_own_opportunity_is_not_annotated(sandbox, session):
    opp = next(o for o in sandbox.opportunities.values() if o["archived"] is None)
    job = sandbox.opportunity_posting[opp["id"]]
    email = sandbox.contacts[opp["contact"]]["emails"][0]
    result = plugin.atsbridge_push_lead(session, job, make_lead(emails=[email]), "k")
    assert result.already_existed
    assert (result.candidate_id, result.application_id) == (opp["contact"], opp["id"])
    assert sandbox.notes_of(opp["id"]) == [] and sandbox.files_of(opp["id"]) == []


def _lose_response_once(sandbox, method: str, path_suffix: str) -> None:
    original = sandbox.process
    state = {"lost": False}

    def process(request, entry):
        response = original(request, entry)
        if not state["lost"] and request.method == method and request.path.endswith(path_suffix):
            state["lost"] = True
            return None  # the write happened; the client never hears of it
        return response

    sandbox.process = process


@pytest.mark.parametrize("suffix", ["/opportunities", "/notes", "/files"])
def test_lost_response_then_replay_is_exactly_once(sandbox, session, suffix):
    job = open_job(sandbox)
    _lose_response_once(sandbox, "POST", suffix)
    with pytest.raises(AtsUnavailable):
        plugin.atsbridge_push_lead(session, job, make_lead(), "key-1")
    result = plugin.atsbridge_push_lead(session, job, make_lead(), "key-1")
    assert result.already_existed
    [person] = sandbox.people(email=make_lead().emails[0])
    [opp] = sandbox.opportunities_of(person.ats_id)
    assert len(sandbox.notes_of(opp["id"])) == 1
    assert [f["name"] for f, _ in sandbox.files_of(opp["id"])] == ["ada-cv.pdf"]
    assert person.resume == PDF


def test_push_without_perform_as_fails_before_any_write(sandbox):
    session = open_session(sandbox, perform_as=None)
    try:
        sandbox.clear_log()
        with pytest.raises(ConfigError, match="perform_as"):
            plugin.atsbridge_push_lead(session, open_job(sandbox), make_lead(), "k")
        assert sandbox.request_log == []
    finally:
        session.close()


def test_oversized_resume_is_refused_before_any_write(sandbox, session):
    big = Attachment("huge.pdf", "application/pdf", b"0" * (30 * 1024 * 1024 + 1))
    sandbox.clear_log()
    with pytest.raises(BadInput, match="30 MB"):
        plugin.atsbridge_push_lead(session, open_job(sandbox), make_lead(attachments=[big]), "k")
    assert sandbox.request_log == []


def test_pushing_in_a_row_stays_under_the_create_cap(sandbox, session):
    job = open_job(sandbox)
    for n in range(4):
        lead = make_lead(n, educations=[], experiences=[], attachments=[])
        plugin.atsbridge_push_lead(session, job, lead, f"k{n}")
    assert sandbox.rate_limit_violations == 0


def test_lead_without_emails_is_created(sandbox, session):
    lead = make_lead(emails=[], attachments=[])
    result = plugin.atsbridge_push_lead(session, open_job(sandbox), lead, "k")
    assert not result.already_existed
    assert sandbox.opportunities_of(result.candidate_id)[0]["emails"] == []


# --- faults -------------------------------------------------------------------------------


def _run_everything(sandbox, session) -> dict:
    jobs, _ = all_jobs(session, page_size=5)
    ids = sorted(j.ats_id for j in jobs)
    candidates = {job: sorted(pipeline(session, job), key=lambda c: c.ats_id) for job in ids[:4]}
    statuses = sorted(plugin.atsbridge_job_statuses(session, [*ids[:3], "missing"]), key=str)
    pushes = []
    target = open_job(sandbox)
    for n in range(3):
        for _attempt in range(20):  # what the outbox does: try again with the same key
            try:
                result = plugin.atsbridge_push_lead(session, target, make_lead(n), f"key-{n}")
                break
            except (AtsUnavailable, AtsError):
                continue
        else:
            pytest.fail("push never went through")
        pushes.append((result.candidate_id, result.application_id, result.status, result.stage))
    return {
        "jobs": sorted(jobs, key=lambda j: j.ats_id),
        "candidates": candidates,
        "statuses": statuses,
        "pushes": pushes,
    }


@pytest.mark.slow
def test_twenty_percent_faults_change_nothing(caplog):
    caplog.set_level(logging.DEBUG)
    options = SandboxOptions(seed=11, jobs=12, candidates_per_job=4)
    results, stores = [], []
    for faults in (None, Faults.mixed(0.2, seed=5)):
        sandbox = LeverSandbox(options)
        sandbox.start()
        try:
            session = open_session(sandbox)
            try:
                if faults:
                    sandbox.set_faults(faults)
                results.append(_run_everything(sandbox, session))
            finally:
                session.close()
            sandbox.set_faults(Faults())
            people = [sandbox.people(email=make_lead(n).emails[0]) for n in range(3)]
            assert all(len(p) == 1 for p in people)  # exactly one person per lead
            opps = [sandbox.opportunities_of(p[0].ats_id) for p in people]
            assert all(len(o) == 1 for o in opps)
            stores.append(
                [
                    (
                        len(sandbox.notes_of(o[0]["id"])),
                        [d for _, d in sandbox.files_of(o[0]["id"])],
                    )
                    for o in opps
                ]
            )
            assert sandbox.rate_limit_violations == 0
            if faults:
                faulted = sum(1 for r in sandbox.request_log if r.fault)
                assert faulted >= 0.1 * len(sandbox.request_log), (
                    faulted,
                    len(sandbox.request_log),
                )
            assert sandbox.api_key not in caplog.text
        finally:
            sandbox.stop()
    assert results[0] == results[1]
    assert stores[0] == stores[1] == [(1, [PDF])] * 3


@pytest.mark.parametrize("suffix", [None, "/opportunities", "/notes", "/files"])
def test_replay_without_notes_and_files_lists_duplicates_nothing(notes_only, suffix):
    """The notes list only POST for notes and files: a replay cannot see what landed.

    It then adds no note or file it cannot rule out, and reports what they carry.
    """
    sandbox = notes_only
    session = open_session(sandbox)
    try:
        job = open_job(sandbox)
        if suffix is not None:
            _lose_response_once(sandbox, "POST", suffix)
            with pytest.raises(AtsUnavailable):
                plugin.atsbridge_push_lead(session, job, make_lead(), "key-1")
        else:
            first = plugin.atsbridge_push_lead(session, job, make_lead(), "key-1")
            assert first.unsupported == ()  # a first push needs no listing
        result = plugin.atsbridge_push_lead(session, job, make_lead(), "key-1")
        assert result.already_existed
        assert result.unsupported == ("educations", "experiences", "attachments")
        [person] = sandbox.people(email=make_lead().emails[0])
        [opp] = sandbox.opportunities_of(person.ats_id)
        assert len(sandbox.notes_of(opp["id"])) <= 1
        assert len(sandbox.files_of(opp["id"])) <= 1
    finally:
        session.close()
