"""Mapping from documentation-shaped SmartRecruiters payloads, plus fuzzing of the mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from atsbridge.errors import BadInput, PayloadError
from atsbridge.model import (
    Attachment,
    CandidateStatus,
    Education,
    Experience,
    JobStatus,
    Lead,
    Location,
)
from atsbridge_smartrecruiters import mapping
from hypothesis import given, settings
from hypothesis import strategies as st

JOBS_PAGE = {
    "limit": 100,
    "offset": 0,
    "totalFound": 2,
    "content": [
        {
            "id": "2f6c1d84-7a3e-4c55-b9e0-51d7a8c3e912",
            "title": "Store Manager – Leeds",
            "refNumber": "REF-4410-LDS",
            "createdOn": "2026-10-02T09:15:27.114Z",
            "updatedOn": "2026-11-25T16:02:51.903Z",
            "department": {"id": "771204", "label": "Retail"},
            "location": {
                "city": "Leeds",
                "region": "England",
                "regionCode": "eng",
                "country": "United Kingdom",
                "countryCode": "gb",
            },
            "status": "SOURCING",
            "postingStatus": "PUBLIC",
        },
        {  # optional fields absent or null, plus fields we do not read
            "id": "9a0b7c11-2222-4d3e-8f00-aa11bb22cc33",
            "title": "Warehouse Lead",
            "refNumber": None,
            "createdOn": "2026-10-05T10:00:00.000Z",
            "updatedOn": None,
            "department": None,
            "location": {"city": None, "countryCode": None, "remote": True},
            "status": "CREATED",
            "industry": {"id": "x", "label": "Logistics"},
        },
    ],
}

CANDIDATES_PAGE = {
    "limit": 100,
    "totalFound": 2,
    "nextPageId": "c2t5Ln0xQm9v",
    "content": [
        {
            "id": "b41e0c2a-9d7f-4a6b-8e35-0f9c2d1a7e64",
            "firstName": "Tomasz",
            "lastName": "Wójcik",
            "email": "tomasz.wojcik@example.pl",
            "createdOn": "2026-11-10T11:20:00.000Z",
            "updatedOn": "2026-11-24T09:05:13.000Z",
            "primaryAssignment": {
                "job": {"id": "2f6c1d84-7a3e-4c55-b9e0-51d7a8c3e912"},
                "status": "IN_REVIEW",
                "subStatus": "Hiring Manager Review",
            },
            "secondaryAssignments": [],
        },
        {  # on this job through a secondary assignment; LinkedIn spelled the newer way
            "id": "0c0ffee0-1111-4aaa-8bbb-123456789abc",
            "firstName": "Ana",
            "lastName": "Souza",
            "email": "ana.souza@example.com",
            "phoneNumber": "+351 912 345 678",
            "web": {"linkedIn": "https://www.linkedin.com/in/ana-souza-demo"},
            "location": {"city": "Lisbon", "countryCode": "pt"},
            "updatedOn": "2026-11-20T08:00:00.000+01:00",
            "primaryAssignment": {"job": {"id": "another-job"}, "status": "HIRED"},
            "secondaryAssignments": [
                {"job": {"id": "2f6c1d84-7a3e-4c55-b9e0-51d7a8c3e912"}, "status": "TRANSFERRED"}
            ],
        },
    ],
}
JOB = "2f6c1d84-7a3e-4c55-b9e0-51d7a8c3e912"


def test_job_from_docs_payload():
    job = mapping.parse_job(JOBS_PAGE["content"][0])
    assert job.ats_id == JOB
    assert job.title == "Store Manager – Leeds"
    assert job.reference == "REF-4410-LDS"
    assert job.status is JobStatus.OPEN
    assert job.status_raw == "SOURCING/PUBLIC"
    assert job.department == "Retail"
    (loc,) = job.locations
    assert (loc.city, loc.region, loc.country_code) == ("Leeds", "England", "GB")
    assert job.updated_at == datetime(2026, 11, 25, 16, 2, 51, 903000, tzinfo=UTC)


def test_job_with_null_and_absent_optionals():
    job = mapping.parse_job(JOBS_PAGE["content"][1])
    assert job.status is JobStatus.DRAFT  # CREATED: not yet sourcing
    assert job.status_raw == "CREATED"
    assert job.reference is None and job.department is None and job.updated_at is None
    assert job.locations == ()


def test_fields_never_read_may_have_any_shape():
    job = {
        **JOBS_PAGE["content"][0],
        "department": {"id": 771204, "label": "Retail"},
        "location": {"city": "Leeds", "countryCode": "gb", "regionCode": None, "lat": 53.8},
        "typeOfEmployment": {"id": 1, "label": "Full-time"},
    }
    parsed = mapping.parse_job(job)
    assert parsed.department == "Retail" and parsed.locations[0].city == "Leeds"
    row = {
        **CANDIDATES_PAGE["content"][1],
        "createdOn": 1763110000000,
        "location": {"city": "Lisbon", "country": {"code": "pt"}, "lat": 38.7},
    }
    assert mapping.parse_candidate(row, JOB).city == "Lisbon"


@pytest.mark.parametrize(
    ("raw", "unified"),
    [
        ("CREATED", JobStatus.DRAFT),
        ("SOURCING", JobStatus.OPEN),
        ("INTERVIEW", JobStatus.OPEN),
        ("OFFER", JobStatus.OPEN),
        ("FILLED", JobStatus.CLOSED),
        ("CANCELLED", JobStatus.CLOSED),
        ("ON_HOLD", JobStatus.ON_HOLD),
    ],
)
def test_every_job_status(raw, unified):
    state = mapping.parse_job_state({"id": "j", "title": "t", "status": raw})
    assert (state.status, state.status_raw, state.exists) == (unified, raw, True)


def test_status_filter_values():
    assert mapping.job_statuses_for(frozenset({JobStatus.CLOSED})) == ["CANCELLED", "FILLED"]
    assert mapping.job_statuses_for(frozenset({JobStatus.ON_HOLD})) == ["ON_HOLD"]


def test_missing_job_state():
    state = mapping.missing_job_state("gone")
    assert (state.exists, state.status) == (False, JobStatus.CLOSED)


def test_candidates_from_docs_payload():
    rows = mapping.page_content(CANDIDATES_PAGE, "candidates")
    first, second = (mapping.parse_candidate(r, JOB, i) for i, r in enumerate(rows))
    assert first.ats_id == "b41e0c2a-9d7f-4a6b-8e35-0f9c2d1a7e64"
    assert first.application_id == f"{first.ats_id}:{JOB}"
    assert first.status is CandidateStatus.IN_REVIEW
    assert (first.status_raw, first.stage) == ("IN_REVIEW", "Hiring Manager Review")
    assert first.emails == ("tomasz.wojcik@example.pl",)
    assert first.phones == () and first.linkedin_url is None
    # The status is the one on *this* job, not the primary assignment's.
    assert second.status is CandidateStatus.WITHDRAWN
    assert (second.status_raw, second.stage) == ("TRANSFERRED", "TRANSFERRED")
    assert second.linkedin_url == "https://www.linkedin.com/in/ana-souza-demo"
    assert second.phones == ("+351 912 345 678",) and second.city == "Lisbon"
    assert second.updated_at == datetime(2026, 11, 20, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "unified"),
    [
        ("LEAD", CandidateStatus.NEW),
        ("NEW", CandidateStatus.NEW),
        ("IN_REVIEW", CandidateStatus.IN_REVIEW),
        ("INTERVIEW", CandidateStatus.INTERVIEWING),
        ("OFFERED", CandidateStatus.OFFERED),
        ("HIRED", CandidateStatus.HIRED),
        ("REJECTED", CandidateStatus.REJECTED),
        ("WITHDRAWN", CandidateStatus.WITHDRAWN),
        ("TRANSFERRED", CandidateStatus.WITHDRAWN),
    ],
)
def test_every_candidate_status(raw, unified):
    row = {"id": "c", "primaryAssignment": {"job": {"id": "j"}, "status": raw}}
    assert mapping.parse_candidate(row, "j").status is unified


@pytest.mark.parametrize(
    "assignments",
    [
        {"primaryAssignment": {"job": {"id": "another-job"}, "status": "HIRED"}},
        {"primaryAssignment": None, "secondaryAssignments": None},
        {},  # both left out
    ],
)
def test_listed_row_without_assignment_on_the_job_is_kept_as_new(assignments, caplog):
    """An API may omit secondaryAssignments: the row stays, with the status unknown (new)."""
    row = {
        k: v
        for k, v in CANDIDATES_PAGE["content"][0].items()
        if k not in ("primaryAssignment", "secondaryAssignments")
    }
    candidate = mapping.parse_candidate({**row, **assignments}, JOB)
    assert candidate.status is CandidateStatus.NEW  # not the other job's HIRED
    assert (candidate.stage, candidate.status_raw) == (None, None)
    assert candidate.application_id == f"{candidate.ats_id}:{JOB}"
    assert candidate.emails == ("tomasz.wojcik@example.pl",)
    assert "b41e0c2a" in caplog.text and JOB in caplog.text


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"title": 42}, "title"),
        ({"title": None}, "title"),
        ({"location": "Leeds"}, "location"),
        ({"location": {"countryCode": ["gb"]}}, "location.countryCode"),
        ({"department": {"label": {"en": "Retail"}}}, "department.label"),
        ({"updatedOn": "yesterday"}, "updatedOn"),
        ({"status": "ARCHIVED"}, "status"),
        ({"status": None}, "status"),
    ],
)
def test_malformed_job_names_record_and_field(patch, field):
    raw = {**JOBS_PAGE["content"][0], **patch}
    with pytest.raises(PayloadError) as err:
        mapping.parse_job(raw)
    assert err.value.field == field
    assert err.value.record == f"SmartRecruiters job {JOB}"


def test_job_missing_required_field():
    raw = {k: v for k, v in JOBS_PAGE["content"][0].items() if k != "title"}
    with pytest.raises(PayloadError, match="title: required field missing"):
        mapping.parse_job(raw)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"secondaryAssignments": "LEAD"}, "secondaryAssignments"),
        ({"secondaryAssignments": [{"status": "NEW"}]}, "secondaryAssignments[0].job"),
        ({"primaryAssignment": {"job": {"id": JOB}, "status": "ZOMBIE"}}, "status"),
        ({"web": {"linkedin": 7}}, "web.linkedin"),
        ({"email": True}, "email"),
    ],
)
def test_malformed_candidate_names_field(patch, field):
    raw = {**CANDIDATES_PAGE["content"][0], **patch}
    with pytest.raises(PayloadError) as err:
        mapping.parse_candidate(raw, JOB)
    assert err.value.field == field


def test_page_content_shapes():
    assert mapping.page_content({"content": None}, "x") == []
    with pytest.raises(PayloadError, match="content"):
        mapping.page_content({"content": {"a": 1}}, "jobs page")
    with pytest.raises(PayloadError, match=r"\(body\)"):
        mapping.page_content([], "jobs page")


def test_attachment_names():
    items = [{"id": "a1", "name": "cv.pdf", "type": "RESUME"}, {"id": "a2", "name": None}]
    assert mapping.attachment_names({"content": items, "totalFound": 2}) == {"cv.pdf"}
    assert mapping.attachment_names(items) == {"cv.pdf"}  # a bare list
    assert mapping.attachment_names({"content": []}) == set()
    # The listing is not in the API notes: another shape means "cannot tell", not an error.
    for odd in ({"content": ["cv.pdf"]}, {"data": items}, "cv.pdf", {"content": None}):
        assert mapping.attachment_names(odd) is None


def test_format_since():
    paris = timezone(timedelta(hours=1))
    when = datetime(2026, 11, 1, 1, 30, 5, 123456, tzinfo=paris)
    assert mapping.format_since(when) == "2026-11-01T00:30:05.123Z"
    assert mapping.format_since(datetime(2026, 1, 2)) == "2026-01-02T00:00:00.000Z"


# --- lead -> create body --------------------------------------------------------------------

FULL_LEAD = Lead(
    id="lead-123",
    first_name="Ada",
    last_name="Quinton",
    emails=("ada@example.org", "ada.q@example.net"),
    phones=("+33 6 12 34 56 78", "+33 1 00 00 00 00"),
    linkedin_url="https://www.linkedin.com/in/ada-quinton/",
    headline="Staff Engineer",
    location=Location(city="Paris", region="Ile-de-France", country_code="FR"),
    educations=(
        Education(
            school="Université Paris Cité",
            degree="MSc",
            field="Computer Science",
            start="2012-09",
            end="2014-06",
        ),
    ),
    experiences=(
        Experience(
            company="Globex",
            title="Staff Engineer",
            start="2019-01",
            current=True,
            description="Payments platform",
        ),
    ),
    tags=("sourced",),
    attachments=(Attachment("cv.pdf", "application/pdf", b"%PDF-1.7"),),
)


def test_candidate_body_carries_every_structured_field():
    body, unsupported = mapping.candidate_body(FULL_LEAD)
    assert body == {
        "firstName": "Ada",
        "lastName": "Quinton",
        "email": "ada@example.org",
        "phoneNumber": "+33 6 12 34 56 78",
        "web": {"linkedin": "https://www.linkedin.com/in/ada-quinton/"},
        "location": {"city": "Paris", "region": "Ile-de-France", "countryCode": "fr"},
        "education": [
            {
                "institution": "Université Paris Cité",
                "degree": "MSc",
                "major": "Computer Science",
                "current": False,
                "startDate": "2012-09",
                "endDate": "2014-06",
            }
        ],
        "experience": [
            {
                "title": "Staff Engineer",
                "company": "Globex",
                "current": True,
                "startDate": "2019-01",
                "description": "Payments platform",
            }
        ],
        "tags": ["sourced"],
    }
    assert unsupported == ["emails[1:]", "phones[1:]", "headline", "source"]


def test_minimal_lead_body():
    lead = Lead(id="l", first_name="Mei", last_name="Chen", emails=["mei@example.org"], source="")
    body, unsupported = mapping.candidate_body(lead)
    assert body == {"firstName": "Mei", "lastName": "Chen", "email": "mei@example.org"}
    assert unsupported == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"emails": ()}, "emails"),
        ({"emails": ("  ",)}, "emails"),
        ({"first_name": " "}, "first_name"),
        ({"last_name": ""}, "last_name"),
    ],
)
def test_lead_missing_required_field_is_a_clear_error(changes, field):
    import attrs

    lead = attrs.evolve(FULL_LEAD, **changes)
    with pytest.raises(BadInput, match=f"lead lead-123: field {field}:"):
        mapping.candidate_body(lead)


# --- fuzzing: anything odd is a PayloadError, never another exception -----------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["SOURCING", "FILLED", "NEW", "LEAD", "2026-11-01T00:00:00Z", JOB]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
job_keys = ["id", "title", "status", "refNumber", "postingStatus", "createdOn", "updatedOn"]
job_keys += ["department", "location", "typeOfEmployment"]
cand_keys = ["id", "firstName", "lastName", "email", "phoneNumber", "web", "location"]
cand_keys += ["updatedOn", "primaryAssignment", "secondaryAssignments"]


def _mutations(base: dict, keys: list[str]):
    return st.dictionaries(st.sampled_from(keys), json_value, max_size=4).map(
        lambda patch: {**base, **patch}
    )


@settings(max_examples=150, deadline=None)
@given(st.one_of(json_value, _mutations(JOBS_PAGE["content"][0], job_keys)))
def test_fuzz_job_mapping_only_raises_payload_error(raw):
    try:
        job = mapping.parse_job(raw)
    except PayloadError as exc:
        assert exc.record.startswith("SmartRecruiters job") and exc.field
    else:
        assert isinstance(job.ats_id, str) and isinstance(job.title, str)


@settings(max_examples=150, deadline=None)
@given(st.one_of(json_value, _mutations(CANDIDATES_PAGE["content"][1], cand_keys)))
def test_fuzz_candidate_mapping_only_raises_payload_error(raw):
    try:
        cand = mapping.parse_candidate(raw, JOB)
    except PayloadError as exc:
        assert exc.record.startswith("SmartRecruiters candidate") and exc.field
    else:
        assert isinstance(cand.ats_id, str)
        assert all(isinstance(e, str) for e in cand.emails)


@settings(max_examples=100, deadline=None)
@given(json_value)
def test_fuzz_page_envelope(body):
    try:
        content = mapping.page_content(body, "jobs page")
    except PayloadError:
        return
    assert isinstance(content, list)
