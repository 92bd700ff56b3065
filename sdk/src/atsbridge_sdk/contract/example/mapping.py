"""Example ATS payloads <-> core model. Every malformed field names its record and field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from atsbridge.errors import PayloadError
from atsbridge.model import Candidate, CandidateStatus, Job, JobStatus, Lead, Location

JOB_STATUS = {
    "published": JobStatus.OPEN,
    "closed": JobStatus.CLOSED,
    "draft": JobStatus.DRAFT,
    "paused": JobStatus.ON_HOLD,
}
JOB_STATE = {status: raw for raw, status in JOB_STATUS.items()}
STAGE_STATUS = {
    "applied": CandidateStatus.NEW,
    "screen": CandidateStatus.IN_REVIEW,
    "interview": CandidateStatus.INTERVIEWING,
    "offer": CandidateStatus.OFFERED,
    "hired": CandidateStatus.HIRED,
}
OUTCOME_STATUS = {"rejected": CandidateStatus.REJECTED, "withdrawn": CandidateStatus.WITHDRAWN}


def _str(record: str, data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise PayloadError(record, key, "missing")
        return None
    if not isinstance(value, str):
        raise PayloadError(record, key, f"expected a string, got {type(value).__name__}")
    return value


def _time(record: str, data: dict[str, Any], key: str) -> datetime | None:
    raw = _str(record, data, key)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(record, key, f"not an ISO 8601 time: {raw!r}") from None


def _object(record: str, data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PayloadError(record, what, f"expected an object, got {type(data).__name__}")
    return data


def job_from_api(data: Any) -> Job:
    data = _object("job", data, "(job)")
    job_id = _str("job", data, "id", required=True)
    record = f"job {job_id}"
    state = _str(record, data, "state", required=True)
    if state not in JOB_STATUS:
        raise PayloadError(record, "state", f"unknown value {state!r}")
    place = _object(record, data.get("location") or {}, "location")
    location = Location(
        city=_str(record, place, "city"),
        region=_str(record, place, "region"),
        country_code=_str(record, place, "country"),
    )
    return Job(
        ats_id=str(job_id),
        title=_str(record, data, "title", required=True) or "",
        status=JOB_STATUS[state],
        status_raw=state,
        reference=_str(record, data, "req_code"),
        locations=(location,) if location.words() else (),
        department=_str(record, data, "department"),
        description=_str(record, data, "description"),
        url=_str(record, data, "url"),
        created_at=_time(record, data, "created_at"),
        updated_at=_time(record, data, "updated_at"),
    )


def candidate_from_application(data: Any) -> Candidate:
    data = _object("application", data, "(application)")
    app_id = _str("application", data, "id", required=True)
    record = f"application {app_id}"
    person = _object(record, data.get("candidate"), "candidate")
    stage = _str(record, data, "stage", required=True) or ""
    outcome = _str(record, data, "outcome")
    if outcome is not None and outcome not in OUTCOME_STATUS:
        raise PayloadError(record, "outcome", f"unknown value {outcome!r}")
    if stage not in STAGE_STATUS:
        raise PayloadError(record, "stage", f"unknown value {stage!r}")
    status = OUTCOME_STATUS[outcome] if outcome else STAGE_STATUS[stage]
    emails = person.get("emails") or []
    phones = person.get("phones") or []
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        raise PayloadError(record, "candidate.emails", "expected a list of strings")
    if not isinstance(phones, list) or not all(isinstance(p, str) for p in phones):
        raise PayloadError(record, "candidate.phones", "expected a list of strings")
    return Candidate(
        ats_id=_str(record, person, "id", required=True) or "",
        job_ats_id=_str(record, data, "job_id", required=True) or "",
        status=status,
        stage=stage,
        status_raw=outcome or stage,
        application_id=app_id,
        first_name=_str(record, person, "first_name"),
        last_name=_str(record, person, "last_name"),
        emails=emails,
        phones=phones,
        linkedin_url=_str(record, person, "linkedin"),
        company=_str(record, person, "company"),
        city=_str(record, person, "city"),
        updated_at=_time(record, data, "updated_at"),
    )


def candidate_to_api(lead: Lead, external_id: str) -> dict[str, Any]:
    """The create-candidate body. ``external_id`` makes the create findable after a timeout."""
    return {
        "external_id": external_id,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "emails": list(lead.emails),
        "phones": list(lead.phones),
        "linkedin": lead.linkedin_url,
        "headline": lead.headline,
        "city": lead.location.city if lead.location else None,
        "country": lead.location.country_code if lead.location else None,
        "source": lead.source,
        "tags": list(lead.tags),
        "educations": [
            {
                "school": e.school,
                "degree": e.degree,
                "field": e.field,
                "start": e.start,
                "end": e.end,
            }
            for e in lead.educations
        ],
        "experiences": [
            {
                "company": x.company,
                "title": x.title,
                "start": x.start,
                "end": x.end,
                "current": x.current,
                "description": x.description,
            }
            for x in lead.experiences
        ],
    }
