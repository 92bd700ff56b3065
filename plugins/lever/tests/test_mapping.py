"""Mapping from Lever-documented payload shapes (ATS-API-NOTES §2) to the core model."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from atsbridge.errors import PayloadError
from atsbridge.model import (
    CandidateStatus,
    Education,
    Experience,
    JobStatus,
    Lead,
    Location,
)
from atsbridge_lever import mapping
from hypothesis import given, settings
from hypothesis import strategies as st

# One realistic document per endpoint, written from the notes (values invented).
POSTINGS_PAGE = {
    "data": [
        {
            "id": "5b0e7c2a-91d4-4f6e-a3c8-2f1e6d9b7a40",
            "text": "Senior Product Designer",
            "state": "published",
            "categories": {
                "team": "Design",
                "department": "Product",
                "location": "Berlin",
                "commitment": "Full-time",
                "allLocations": ["Berlin", "Hamburg, Germany"],
            },
            "country": "DE",
            "workplaceType": "hybrid",
            "reqCode": "DSN-104",
            "requisitionCodes": ["DSN-104"],
            "content": {"description": "Design things", "descriptionHtml": "<p>Design</p>"},
            "urls": {"show": "https://jobs.lever.co/acme/5b0e7c2a"},
            "createdAt": 1759312800000,
            "updatedAt": 1763630400000,
        },
        {
            "id": "9d1f0a2b-0000-4000-8000-000000000002",
            "text": "Warehouse Lead",
            "state": "pending",
            "categories": {"team": "Ops", "location": None},
            "country": None,
            "reqCode": None,
            "requisitionCodes": ["OPS-7"],
            "createdAt": 1759312800000,
            "updatedAt": None,
        },
    ],
    "hasNext": True,
    "next": "0.1763630400000.5b0e7c2a",
}

OPPORTUNITIES_PAGE = {
    "data": [
        {
            "id": "0c4be1d7-6f2a-4b3e-9d10-8a5c2e7f4b11",
            "name": "Jonas Keller",
            "contact": "e2a9d0f1",
            "headline": "Figma, Canva",
            "stage": {"id": "a7f3c2b8", "text": "Phone Screen"},
            "stageChanges": [
                {"toStageId": "a7f3c2b8", "toStageIndex": 2, "updatedAt": 1763110000000}
            ],
            "location": "Berlin, Germany",
            "emails": ["jonas.keller@example.net"],
            "phones": [{"type": "mobile", "value": "+49 30 1234567"}],
            "links": ["https://github.com/jk", "https://www.linkedin.com/in/jonas-keller-demo"],
            "archived": None,
            "createdAt": 1762900000000,
            "updatedAt": 1763110000000,
        },
        {
            "id": "opp-archived-1",
            "name": "Mei",
            "contact": "c-2",
            "stage": "offer",
            "emails": [],
            "phones": [],
            "links": [],
            "archived": {"reason": "r-hired", "archivedAt": 1763200000000},
            "createdAt": 1762900000000,
            "updatedAt": 1763200000000,
        },
    ],
    "hasNext": False,
}

STAGES = {"data": [{"id": "offer", "text": "Offer"}, {"id": "a7f3c2b8", "text": "Phone Screen"}]}
ARCHIVE_REASONS = {
    "data": [
        {"id": "r-hired", "text": "Hired", "type": "hired"},
        {"id": "r-fit", "text": "Not a fit", "type": "non-hired"},
        {"id": "r-wd", "text": "Withdrew", "type": "non-hired"},
    ]
}


def test_posting_maps_every_documented_field():
    job = mapping.posting_to_job(POSTINGS_PAGE["data"][0])
    assert job.ats_id == "5b0e7c2a-91d4-4f6e-a3c8-2f1e6d9b7a40"
    assert job.title == "Senior Product Designer"
    assert (job.status, job.status_raw) == (JobStatus.OPEN, "published")
    assert job.reference == "DSN-104"
    assert job.locations == (
        Location(city="Berlin", country_code="DE", raw="Berlin"),
        Location(city="Hamburg", raw="Hamburg, Germany"),
    )
    assert job.department == "Product"
    assert job.employment_type == "Full-time"
    assert job.description == "<p>Design</p>"
    assert job.url == "https://jobs.lever.co/acme/5b0e7c2a"
    assert job.created_at == datetime(2025, 10, 1, 10, 0, tzinfo=UTC)
    assert job.updated_at == datetime.fromtimestamp(1763630400, tz=UTC)


def test_posting_nulls_and_fallbacks():
    job = mapping.posting_to_job(POSTINGS_PAGE["data"][1])
    assert job.status is JobStatus.DRAFT  # pending approval never went live
    assert job.reference == "OPS-7"  # from requisitionCodes when reqCode is null
    assert job.locations == ()
    assert job.department == "Ops"  # team when no department
    assert job.updated_at is None


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("published", JobStatus.OPEN),
        ("internal", JobStatus.OPEN),
        ("closed", JobStatus.CLOSED),
        ("draft", JobStatus.DRAFT),
        ("pending", JobStatus.DRAFT),
        ("rejected", JobStatus.DRAFT),
    ],
)
def test_posting_states(state, status):
    payload = {**POSTINGS_PAGE["data"][0], "state": state}
    assert mapping.posting_to_job(payload).status is status


def test_states_for_status_filter():
    assert mapping.posting_states_for(None) is None
    assert mapping.posting_states_for({JobStatus.OPEN}) == ["published", "internal"]
    assert mapping.posting_states_for({JobStatus.CLOSED, JobStatus.DRAFT}) == [
        "closed",
        "draft",
        "pending",
        "rejected",
    ]
    assert mapping.posting_states_for({JobStatus.ON_HOLD}) == []


def test_unknown_state_names_record_and_field():
    payload = {**POSTINGS_PAGE["data"][0], "state": "archived"}
    with pytest.raises(PayloadError) as err:
        mapping.posting_to_job(payload)
    assert err.value.record == "posting 5b0e7c2a-91d4-4f6e-a3c8-2f1e6d9b7a40"
    assert err.value.field == "state"


def test_country_only_location():
    payload = {**POSTINGS_PAGE["data"][0], "categories": {}, "country": "fr"}
    assert mapping.posting_to_job(payload).locations == (Location(country_code="FR"),)


def test_live_opportunity_to_candidate():
    stages = mapping.parse_stages(STAGES["data"])
    reasons = mapping.parse_archive_reasons(ARCHIVE_REASONS["data"])
    cand = mapping.opportunity_to_candidate(OPPORTUNITIES_PAGE["data"][0], "job-1", stages, reasons)
    assert cand.ats_id == "e2a9d0f1"  # the contact: Lever's person
    assert cand.application_id == "0c4be1d7-6f2a-4b3e-9d10-8a5c2e7f4b11"
    assert cand.job_ats_id == "job-1"
    assert (cand.first_name, cand.last_name) == ("Jonas", "Keller")
    assert cand.status is CandidateStatus.IN_REVIEW
    assert cand.stage == "Phone Screen"
    assert cand.emails == ("jonas.keller@example.net",)
    assert cand.phones == ("+49 30 1234567",)
    assert cand.linkedin_url == "https://www.linkedin.com/in/jonas-keller-demo"
    assert cand.city == "Berlin"
    assert cand.updated_at == datetime.fromtimestamp(1763110000, tz=UTC)


def test_archived_opportunity_hired_with_unexpanded_stage():
    stages = mapping.parse_stages(STAGES["data"])
    reasons = mapping.parse_archive_reasons(ARCHIVE_REASONS["data"])
    cand = mapping.opportunity_to_candidate(OPPORTUNITIES_PAGE["data"][1], "job-1", stages, reasons)
    assert cand.status is CandidateStatus.HIRED
    assert cand.stage == "Offer"  # resolved through /stages
    assert cand.status_raw == "Hired"
    assert (cand.first_name, cand.last_name) == ("Mei", None)
    assert cand.linkedin_url is None


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("r-fit", CandidateStatus.REJECTED),
        ("r-wd", CandidateStatus.WITHDRAWN),
        ("r-unknown", CandidateStatus.REJECTED),
    ],
)
def test_archive_reasons(reason, status):
    opp = copy.deepcopy(OPPORTUNITIES_PAGE["data"][1])
    opp["archived"]["reason"] = reason
    reasons = mapping.parse_archive_reasons(ARCHIVE_REASONS["data"])
    assert mapping.opportunity_to_candidate(opp, "j", {}, reasons).status is status


def test_archive_reason_without_type_falls_back_to_text():
    reasons = mapping.parse_archive_reasons([{"id": "h", "text": "Hired"}])
    assert mapping.archived_status(reasons["h"]) is CandidateStatus.HIRED


@pytest.mark.parametrize(
    ("stage_id", "name", "status"),
    [
        ("lead-new", "New lead", CandidateStatus.NEW),
        ("applicant-new", "New applicant", CandidateStatus.NEW),
        ("offer", "Offer", CandidateStatus.OFFERED),
        ("u1", "Recruiter screen", CandidateStatus.IN_REVIEW),
        ("u2", "On-site interview", CandidateStatus.INTERVIEWING),
        ("u3", "Reference check", CandidateStatus.IN_REVIEW),
        (None, None, CandidateStatus.NEW),
    ],
)
def test_stage_status(stage_id, name, status):
    assert mapping.stage_status(stage_id, name) is status


def test_fields_not_read_may_have_any_type():
    opp = copy.deepcopy(OPPORTUNITIES_PAGE["data"][1])
    opp["archived"]["archivedAt"] = "2026-11-15T10:00:00Z"
    opp["stageChanges"] = "n/a"
    reasons = mapping.parse_archive_reasons(ARCHIVE_REASONS["data"])
    assert mapping.opportunity_to_candidate(opp, "j", {}, reasons).status is CandidateStatus.HIRED


def test_ids_needing_lookup():
    data = OPPORTUNITIES_PAGE["data"]
    assert mapping.stage_ids_of(data) == {"offer"}
    assert mapping.archive_reason_ids_of(data) == {"r-hired"}


def test_bad_opportunity_names_field_path():
    opp = copy.deepcopy(OPPORTUNITIES_PAGE["data"][0])
    opp["phones"][0]["value"] = 42
    with pytest.raises(PayloadError) as err:
        mapping.opportunity_to_candidate(opp, "j", {}, {})
    assert err.value.record == "opportunity 0c4be1d7-6f2a-4b3e-9d10-8a5c2e7f4b11"
    assert err.value.field == "phones[0].value"


def test_bad_timestamp_is_payload_error():
    payload = {**POSTINGS_PAGE["data"][0], "updatedAt": "2026-11-20"}
    with pytest.raises(PayloadError, match="updatedAt: expected epoch milliseconds"):
        mapping.posting_to_job(payload)


def test_page_data_shape():
    assert len(mapping.page_data(POSTINGS_PAGE, "GET /postings")) == 2
    with pytest.raises(PayloadError, match="data: expected a list"):
        mapping.page_data({"data": {"id": 1}}, "GET /postings")
    with pytest.raises(PayloadError, match=r"data\[1\]"):
        mapping.page_data({"data": [{}, 3]}, "GET /postings")


LEAD = Lead(
    id="lead-123",
    first_name="Ada",
    last_name="Quinton",
    emails=["ada@example.org"],
    phones=["+33 6 12 34 56 78"],
    linkedin_url="https://www.linkedin.com/in/ada-quinton/",
    headline="Staff Engineer",
    location=Location(city="Paris", region="Ile-de-France", country_code="FR"),
    educations=[
        Education("Université Paris Cité", "MSc", "Computer Science", "2012-09", "2014-06")
    ],
    experiences=[
        Experience("Globex", "Staff Engineer", "2019-01", None, True, "Payments platform")
    ],
    source="atsbridge",
    tags=["sourced"],
)


def test_lead_to_opportunity_body():
    assert mapping.lead_to_opportunity(LEAD, "post-1") == {
        "name": "Ada Quinton",
        "headline": "Staff Engineer",
        "emails": ["ada@example.org"],
        "phones": [{"type": "other", "value": "+33 6 12 34 56 78"}],
        "links": ["https://www.linkedin.com/in/ada-quinton/"],
        "location": "Paris, Ile-de-France, FR",
        "tags": ["sourced"],
        "sources": ["atsbridge"],
        "origin": "sourced",
        "postings": ["post-1"],
    }


def test_minimal_lead_body_has_no_empty_optionals():
    lead = Lead(id="x", first_name="A", last_name="B", source="")
    assert mapping.lead_to_opportunity(lead, "p") == {
        "name": "A B",
        "emails": [],
        "origin": "sourced",
        "postings": ["p"],
    }


def test_lead_note_is_readable_and_marked():
    note = mapping.lead_note(LEAD, "tenant/job/lead-123")
    assert note is not None
    assert "- Staff Engineer at Globex (2019-01 – present): Payments platform" in note
    assert "- MSc, Computer Science — Université Paris Cité (2012-09 – 2014-06)" in note
    assert mapping.push_marker("tenant/job/lead-123") in note
    assert "tenant/job/lead-123" not in note
    assert mapping.lead_note(Lead(id="x", first_name="A", last_name="B"), "k") is None


def test_note_texts_and_file_names():
    notes = [{"id": "n1", "text": "Note", "fields": [{"type": "note", "value": "hello"}]}]
    assert mapping.note_texts(notes) == ["Note", "hello"]
    assert mapping.file_names([{"id": "f", "name": "cv.pdf"}, {"id": "g"}]) == {"cv.pdf"}


# --- fuzzing: anything malformed is a PayloadError, never another exception -------------

json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=5,
)
POSTING_KEYS = [
    "id",
    "text",
    "state",
    "categories",
    "country",
    "reqCode",
    "requisitionCodes",
    "content",
    "urls",
    "createdAt",
    "updatedAt",
    "allLocations",
]
OPP_KEYS = [
    "id",
    "name",
    "contact",
    "stage",
    "emails",
    "phones",
    "links",
    "location",
    "archived",
    "updatedAt",
]


def _mutated(base: dict, keys: list[str]):
    return st.fixed_dictionaries({}, optional={k: json_value for k in keys}).map(
        lambda changes: {**base, **changes}
    )


@settings(max_examples=100, deadline=None)
@given(st.one_of(json_value, _mutated(POSTINGS_PAGE["data"][0], POSTING_KEYS)))
def test_fuzz_posting(payload):
    try:
        job = mapping.posting_to_job(payload)
    except PayloadError as exc:
        assert exc.record.startswith("posting")
        assert exc.field
    else:
        assert job.ats_id and job.title


@settings(max_examples=100, deadline=None)
@given(st.one_of(json_value, _mutated(OPPORTUNITIES_PAGE["data"][0], OPP_KEYS)))
def test_fuzz_opportunity(payload):
    reasons = mapping.parse_archive_reasons(ARCHIVE_REASONS["data"])
    try:
        cand = mapping.opportunity_to_candidate(payload, "j", {"offer": "Offer"}, reasons)
    except PayloadError as exc:
        assert exc.record.startswith("opportunity")
        assert exc.field
    else:
        assert cand.ats_id and cand.application_id


@settings(max_examples=100, deadline=None)
@given(json_value)
def test_fuzz_lists(payload):
    for parse in (mapping.parse_stages, mapping.parse_archive_reasons):
        try:
            parse(mapping.page_data(payload, "GET /x"))
        except PayloadError as exc:
            assert exc.field
