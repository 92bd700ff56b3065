"""Mapping from docs-shaped Harvest v3 payloads (ATS-API-NOTES section 1), plus fuzzing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from atsbridge.errors import BadInput, PayloadError
from atsbridge.model import (
    CandidateStatus,
    Education,
    Experience,
    JobStatus,
    Lead,
    Location,
)
from atsbridge_greenhouse import mapping as m
from hypothesis import given, settings
from hypothesis import strategies as st

JOB = {
    "id": 4471002,
    "name": "Backend Engineer, Payments",
    "requisition_id": "ENG-2291",
    "status": "open",
    "confidential": False,
    "department_id": 88013,
    "office_ids": [51207],
    "opened_at": "2026-09-02T15:04:11.000Z",
    "closed_at": None,
    "created_at": "2026-08-30T10:12:45.000Z",
    "updated_at": "2026-11-20T08:41:09.000Z",
    "custom_fields": {},
}
OFFICE = {"id": 51207, "name": "Paris", "location": {"name": "Paris, Île-de-France, France"}}
POST = {
    "id": 7001,
    "job_id": 4471002,
    "title": "Backend Engineer",
    "live": True,
    "active": True,
    "internal": False,
    "content": "<p>Payments platform</p>",
}
APPLICATION = {
    "id": 90211873,
    "candidate_id": 70334512,
    "job_id": 4471002,
    "prospect": False,
    "status": "in_process",
    "stage_id": 55120443,
    "stage_name": "Phone Screen",
    "job_interview_stage_id": 3390120,
    "updated_at": "2026-11-19T17:22:40.000Z",
    "last_activity_at": "2026-11-19T17:22:40.000Z",
    "rejected_at": None,
    "rejection_reason_id": None,
    "source_id": 12,
    "recruiter_id": 31007,
    "custom_fields": {},
}
CANDIDATE = {
    "id": 70334512,
    "first_name": "Priya",
    "last_name": "Raman",
    "company": "Northwind Ltd",
    "title": "Data Engineer",
    "email_addresses": [{"value": "priya.raman@example.org", "type": "personal"}],
    "phone_numbers": [{"value": "+44 20 7946 0123", "type": "mobile"}],
    "social_media_addresses": [
        {"value": "https://github.com/priya"},
        {"value": "https://www.linkedin.com/in/priya-raman-demo"},
    ],
    "tags": ["sourced"],
    "updated_at": "2026-11-19T17:22:40.000Z",
}


def test_job_maps_every_documented_field():
    gh = m.structure(JOB, m.GhJob, "greenhouse job")
    offices = {51207: m.structure(OFFICE, m.GhOffice, "office")}
    post = m.structure(POST, m.GhJobPost, "post")
    job = m.job_from(gh, offices, post)
    assert job.ats_id == "4471002"
    assert job.title == "Backend Engineer, Payments"
    assert job.status is JobStatus.OPEN and job.status_raw == "open"
    assert job.reference == "ENG-2291"
    assert job.locations == (
        Location("Paris", "Île-de-France", "FR", "Paris, Île-de-France, France"),
    )
    assert job.description == "<p>Payments platform</p>"
    assert job.updated_at == datetime(2026, 11, 20, 8, 41, 9, tzinfo=UTC)
    assert job.created_at == datetime(2026, 8, 30, 10, 12, 45, tzinfo=UTC)


def test_job_with_nulls_and_unknown_office():
    payload = {**JOB, "requisition_id": None, "office_ids": None, "updated_at": None}
    job = m.job_from(m.structure(payload, m.GhJob, "j"))
    assert job.reference is None and job.locations == () and job.updated_at is None
    job = m.job_from(m.structure(JOB, m.GhJob, "j"), offices={})
    assert job.locations == ()


@pytest.mark.parametrize(
    ("raw", "status"),
    [("open", JobStatus.OPEN), ("closed", JobStatus.CLOSED), ("draft", JobStatus.DRAFT)],
)
def test_job_statuses(raw, status):
    job = m.job_from(m.structure({**JOB, "status": raw}, m.GhJob, "j"))
    assert job.status is status and job.status_raw == raw


def test_unknown_job_status_names_record_and_field():
    with pytest.raises(PayloadError) as info:
        m.job_from(m.structure({**JOB, "status": "archived"}, m.GhJob, "j"))
    assert info.value.record == "greenhouse job 4471002" and info.value.field == "status"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Paris, Île-de-France, France", Location("Paris", "Île-de-France", "FR")),
        ("Leeds, England, United Kingdom", Location("Leeds", "England", "GB")),
        ("San Francisco, CA", Location("San Francisco", "CA", "US")),
        ("Berlin, Germany", Location("Berlin", None, "DE")),
        ("Japan", Location(None, None, "JP")),
        ("New York, New York, United States", Location("New York", "New York", "US")),
        ("Bangkok Thailand", Location()),
        ("Remote, United States", Location()),
        ("Springfield, Atlantis", Location()),
    ],
)
def test_location_parsing_keeps_raw(text, expected):
    loc = m.parse_location(text)
    assert loc is not None
    assert (loc.city, loc.region, loc.country_code) == (
        expected.city,
        expected.region,
        expected.country_code,
    )
    assert loc.raw == text


def test_office_without_location_text_uses_its_name():
    office = m.structure(
        {"id": 145, "name": "Remote Locations", "location": {"name": None}}, m.GhOffice, "o"
    )
    assert m.office_location(office) == Location(raw="Remote Locations")
    assert m.parse_location("  ") is None


def test_pick_job_post_prefers_live_external():
    internal = m.GhJobPost(1, live=True, active=True, internal=True, content="internal")
    external = m.GhJobPost(2, live=True, active=True, internal=False, content="external")
    stale = m.GhJobPost(3, live=False, active=False, internal=False, content="old")
    assert m.pick_job_post([internal, stale, external]) is external
    assert m.pick_job_post([]) is None


def test_candidate_from_application_and_person():
    app = m.structure(APPLICATION, m.GhApplication, "a")
    person = m.structure(CANDIDATE, m.GhCandidate, "c")
    cand = m.candidate_from(app, person, "4471002")
    assert cand.ats_id == "70334512" and cand.application_id == "90211873"
    assert cand.job_ats_id == "4471002"
    assert cand.status is CandidateStatus.INTERVIEWING
    assert cand.stage == "Phone Screen" and cand.status_raw == "in_process"
    assert cand.emails == ("priya.raman@example.org",)
    assert cand.phones == ("+44 20 7946 0123",)
    assert cand.linkedin_url == "https://www.linkedin.com/in/priya-raman-demo"
    assert cand.company == "Northwind Ltd"
    assert cand.updated_at == datetime(2026, 11, 19, 17, 22, 40, tzinfo=UTC)


def test_candidate_without_person_details_or_stage_name():
    app = m.structure(
        {**APPLICATION, "stage_name": None, "job_id": None}, m.GhApplication, "application"
    )
    cand = m.candidate_from(app, None, "4471002", stage="Offer")
    assert cand.stage == "Offer" and cand.status is CandidateStatus.OFFERED
    assert cand.first_name is None and cand.emails == () and cand.job_ats_id == "4471002"


@pytest.mark.parametrize(
    ("status", "prospect", "stage", "expected"),
    [
        ("in_process", False, "Application Review", CandidateStatus.IN_REVIEW),
        ("in_process", False, "Preliminary Phone Screen", CandidateStatus.INTERVIEWING),
        ("in_process", False, "Face to Face", CandidateStatus.INTERVIEWING),
        ("in_process", False, "Offer", CandidateStatus.OFFERED),
        ("in_process", False, "Hiring Manager Review", CandidateStatus.IN_REVIEW),
        ("in_process", False, None, CandidateStatus.NEW),
        ("in_process", True, "Contacted", CandidateStatus.NEW),
        ("active", False, "Offer", CandidateStatus.OFFERED),
        ("rejected", False, "Phone Screen", CandidateStatus.REJECTED),
        ("hired", False, "Offer", CandidateStatus.HIRED),
        ("converted", True, None, CandidateStatus.WITHDRAWN),
    ],
)
def test_application_status_mapping(status, prospect, stage, expected):
    app = m.GhApplication(1, 2, status, prospect=prospect, stage_name=stage)
    assert m.application_status(app, stage) is expected


def test_unknown_application_status_is_a_payload_error():
    with pytest.raises(PayloadError) as info:
        m.application_status(m.GhApplication(5, 2, "teleported"), None)
    assert info.value.field == "status" and "application 5" in info.value.record


LEAD = Lead(
    id="lead-123",
    first_name="Ada",
    last_name="Quinton",
    emails=("ada@example.org",),
    phones=("+33 6 12 34 56 78",),
    linkedin_url="https://www.linkedin.com/in/ada-quinton/",
    headline="Staff Engineer",
    location=Location("Paris", "Ile-de-France", "FR"),
    educations=(
        Education("Université Paris Cité", "MSc", "Computer Science", "2012-09", "2014-06"),
    ),
    experiences=(
        Experience("Initech", "Engineer", "2015", "2018-12"),
        Experience("Globex", "Staff Engineer", "2019-01", None, True, "Payments platform"),
    ),
    tags=("sourced",),
)


def test_candidate_body_follows_the_documented_create_shape():
    body, unsupported = m.candidate_body(LEAD, 4471002, 12)
    assert body == {
        "first_name": "Ada",
        "last_name": "Quinton",
        "company": "Globex",
        "title": "Staff Engineer",
        "email_addresses": [{"value": "ada@example.org", "type": "personal"}],
        "phone_numbers": [{"value": "+33 6 12 34 56 78", "type": "mobile"}],
        "social_media_addresses": [{"value": "https://www.linkedin.com/in/ada-quinton/"}],
        "application": {"job_id": 4471002, "source_id": 12},
    }
    assert unsupported == ["location", "tags"]
    minimal = Lead(id="x", first_name="A", last_name="B", source="")
    body, unsupported = m.candidate_body(minimal, 1, None)
    assert body == {"first_name": "A", "last_name": "B", "application": {"job_id": 1}}
    assert unsupported == []
    _, unsupported = m.candidate_body(Lead(id="x", first_name="A", last_name="B"), 1, None)
    assert unsupported == ["source"]


def test_employment_and_education_bodies():
    current = m.employment_body(70, LEAD.experiences[1], 1)
    assert current == {
        "candidate_id": 70,
        "company_name": "Globex",
        "title": "Staff Engineer",
        "start_date": "2019-01-01T00:00:00.000Z",
        "end_date": None,
    }
    past = m.employment_body(70, LEAD.experiences[0], 0)
    assert past["start_date"] == "2015-01-01T00:00:00.000Z"
    assert past["end_date"] == "2018-12-01T00:00:00.000Z"
    edu = m.education_body(70, LEAD.educations[0], 0, 501, 601, None)
    assert edu == {
        "candidate_id": 70,
        "school_name_custom_field_option_id": 501,
        "degree_custom_field_option_id": 601,
        "start_date": "2012-09-01T00:00:00.000Z",
        "end_date": "2014-06-01T00:00:00.000Z",
    }


@pytest.mark.parametrize("bad", ["2014-13", "14-06", "2014/06", "2014-02-30"])
def test_bad_lead_dates_name_the_field(bad):
    with pytest.raises(BadInput, match=r"educations\[0\]\.end"):
        m.lead_date(bad, "educations[0].end")


def test_timestamps_and_filters():
    when = datetime(2026, 11, 1, 9, 30, 0, 123456, tzinfo=UTC)
    assert m.updated_filter(when) == "gte|2026-11-01T09:30:00.123Z"
    assert m.format_timestamp(datetime(2026, 1, 2)) == "2026-01-02T00:00:00.000Z"
    assert m.normalize_name("  Université  Paris-Cité ") == "universite paris cite"


def test_list_response_must_be_an_array():
    with pytest.raises(PayloadError, match="expected a JSON array"):
        m.structure_list({"jobs": []}, m.GhJob, "job")
    with pytest.raises(PayloadError) as info:
        m.structure_list([JOB, {**JOB, "id": 9, "office_ids": [1, "x"]}], m.GhJob, "job")
    assert info.value.record == "greenhouse job 9" and info.value.field == "office_ids[1]"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"id": "4471002"}, "id"),
        ({"name": None}, "name"),
        ({"office_ids": "51207"}, "office_ids"),
        ({"office_ids": [True]}, "office_ids[0]"),
        ({"updated_at": "last tuesday"}, "updated_at"),
        ({"created_at": 1763200000}, "created_at"),
    ],
)
def test_malformed_job_names_field(patch, field):
    with pytest.raises(PayloadError) as info:
        m.structure({**JOB, **patch}, m.GhJob, "greenhouse job 4471002")
    assert info.value.field == field


def test_fields_not_read_may_have_any_type_and_values_may_be_null():
    """An API's own typing of fields the mapping does not use must not break a sync."""
    job = {**JOB, "confidential": "no", "department_id": "88013", "opened_at": 1759312800}
    assert m.job_from(m.structure(job, m.GhJob, "j")) == m.job_from(m.structure(JOB, m.GhJob, "j"))
    app = {**APPLICATION, "stage_id": "55120443", "source_id": {"id": 12}, "rejected_at": 0}
    person = {
        **CANDIDATE,
        "title": ["Data Engineer"],
        "tags": [{"id": 1, "name": "sourced"}],
        "updated_at": None,
        "email_addresses": [{"value": None, "type": "personal"}, *CANDIDATE["email_addresses"]],
        "phone_numbers": [{"value": "+44 20 7946 0123", "type": None}],
        "social_media_addresses": [{"value": None}, {"value": "https://linkedin.com/in/p"}],
    }
    cand = m.candidate_from(
        m.structure(app, m.GhApplication, "a"), m.structure(person, m.GhCandidate, "c"), "1"
    )
    assert cand.emails == ("priya.raman@example.org",) and cand.phones == ("+44 20 7946 0123",)
    assert cand.linkedin_url == "https://linkedin.com/in/p" and cand.stage == "Phone Screen"
    post = m.structure({**POST, "title": {"en": "Backend"}}, m.GhJobPost, "p")
    assert post.content == POST["content"]
    stage = {"id": 1, "name": "Offer", "job_id": "4471002", "sort_order": "1"}
    assert m.structure(stage, m.GhStage, "s").name == "Offer"
    attachment = {"type": {"name": "resume"}, "application_id": "9", "url": "https://x"}
    assert m.structure(attachment, m.GhAttachment, "f").filename is None


def test_missing_required_field_is_named():
    payload = {k: v for k, v in APPLICATION.items() if k != "candidate_id"}
    with pytest.raises(PayloadError) as info:
        m.structure(payload, m.GhApplication, "greenhouse application 1")
    assert info.value.field == "candidate_id"


# --- fuzzing: whatever Greenhouse sends, the mapping either works or raises PayloadError ---

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def _mutations(base: dict) -> st.SearchStrategy[dict]:
    keys = st.sampled_from(sorted(base))
    return st.dictionaries(keys, json_values, max_size=4).map(lambda patch: {**base, **patch})


def _drops(base: dict) -> st.SearchStrategy[dict]:
    return st.sets(st.sampled_from(sorted(base))).map(
        lambda gone: {k: v for k, v in base.items() if k not in gone}
    )


@settings(max_examples=150, deadline=None)
@given(st.one_of(_mutations(JOB), _drops(JOB), json_values))
def test_fuzz_jobs(payload):
    try:
        job = m.job_from(m.structure(payload, m.GhJob, "greenhouse job"))
    except PayloadError as exc:
        assert exc.record and exc.field
    else:
        assert job.ats_id and isinstance(job.title, str)


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(_mutations(APPLICATION), _drops(APPLICATION), json_values),
    st.one_of(_mutations(CANDIDATE), _drops(CANDIDATE), json_values),
)
def test_fuzz_pipeline(app_payload, person_payload):
    try:
        app = m.structure(app_payload, m.GhApplication, "greenhouse application")
        person = m.structure(person_payload, m.GhCandidate, "greenhouse candidate")
        cand = m.candidate_from(app, person, "4471002")
    except PayloadError as exc:
        assert exc.record and exc.field
    else:
        assert cand.ats_id and isinstance(cand.status, CandidateStatus)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(_mutations(OFFICE), json_values), max_size=3))
def test_fuzz_office_lists(payload):
    try:
        offices = m.structure_list(payload, m.GhOffice, "office")
    except PayloadError as exc:
        assert exc.record.startswith("greenhouse office") and exc.field
    else:
        for office in offices:
            m.office_location(office)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_location_text(text):
    loc = m.parse_location(text)
    if loc is not None:
        assert loc.raw == " ".join(text.split())
