"""SmartRecruiters payloads <-> atsbridge models.

Payloads are structured with cattrs into small attrs classes that mirror the API's own field
names (camelCase on purpose: the names are the documentation). The converter is strict: a
number where a string belongs, a string where an object or list belongs, a missing required
field or an unknown status all raise ``PayloadError`` naming the record and the field path,
so a bad record is reported precisely instead of being stored half-wrong.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import cattrs
from atsbridge.errors import BadInput, PayloadError
from atsbridge.model import (
    Candidate,
    CandidateStatus,
    Job,
    JobState,
    JobStatus,
    Lead,
    Location,
)
from cattrs.cols import is_sequence, list_structure_factory
from cattrs.gen import make_dict_structure_fn
from cattrs.v import format_exception

from atsbridge_smartrecruiters.client import (
    CREATED_IS_DRAFT,
    LINKEDIN_KEY,
    LINKEDIN_KEYS_READ,
    UNASSIGNED_ROW_STATUS,
)

log = logging.getLogger("atsbridge.smartrecruiters")

JOB_STATUSES: dict[str, JobStatus] = {
    "CREATED": JobStatus.DRAFT if CREATED_IS_DRAFT else JobStatus.OPEN,
    "SOURCING": JobStatus.OPEN,
    "INTERVIEW": JobStatus.OPEN,
    "OFFER": JobStatus.OPEN,
    "FILLED": JobStatus.CLOSED,
    "CANCELLED": JobStatus.CLOSED,
    "ON_HOLD": JobStatus.ON_HOLD,
}

# LEAD is someone sourced onto the job who has not applied: the start of the funnel.
# TRANSFERRED means moved to another job, i.e. gone from this one as far as it is concerned.
CANDIDATE_STATUSES: dict[str, CandidateStatus] = {
    "LEAD": CandidateStatus.NEW,
    "NEW": CandidateStatus.NEW,
    "IN_REVIEW": CandidateStatus.IN_REVIEW,
    "INTERVIEW": CandidateStatus.INTERVIEWING,
    "OFFERED": CandidateStatus.OFFERED,
    "HIRED": CandidateStatus.HIRED,
    "REJECTED": CandidateStatus.REJECTED,
    "WITHDRAWN": CandidateStatus.WITHDRAWN,
    "TRANSFERRED": CandidateStatus.WITHDRAWN,
}


def job_statuses_for(wanted: frozenset[JobStatus]) -> list[str]:
    """The raw statuses that map to any of ``wanted`` (for server-side filtering)."""
    return sorted(raw for raw, unified in JOB_STATUSES.items() if unified in wanted)


# --- the strict converter -----------------------------------------------------------------

T = typing.TypeVar("T")

converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)


def _strict(kind: type, label: str) -> typing.Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        # bool is an int subclass; a flag where a number belongs is still a wrong payload.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"expected {label}, got {type(value).__name__}")
        return value

    return structure


converter.register_structure_hook(str, _strict(str, "a string"))
converter.register_structure_hook(bool, _strict(bool, "a boolean"))
converter.register_structure_hook(int, _strict(int, "an integer"))


def parse_timestamp(value: Any, _: Any = None) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 timestamp, got {type(value).__name__}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {value[:40]!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


converter.register_structure_hook(datetime, parse_timestamp)


def _objects_only(cls: type) -> typing.Callable[[Any, Any], Any]:
    # cattrs' generated code probes keys with ``in``, which on a string is a substring test:
    # without this guard ``"location": "Paris"`` would silently become an empty location.
    inner: typing.Callable[[Any, Any], Any] = make_dict_structure_fn(cls, converter)

    def structure(value: Any, tp: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        return inner(value, tp)

    return structure


def _lists_only(tp: Any) -> typing.Callable[[Any, Any], Any]:
    inner: typing.Callable[[Any, Any], Any] = list_structure_factory(tp, converter)

    def structure(value: Any, t: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return inner(value, t)

    return structure


converter.register_structure_hook_factory(attrs.has, _objects_only)
converter.register_structure_hook_factory(is_sequence, _lists_only)


def _describe(exc: BaseException, tp: Any) -> str:
    # Our own hooks say what was expected in words; cattrs' default names Python types.
    if isinstance(exc, TypeError | ValueError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    return format_exception(exc, tp)


def _structure(record: str, raw: Any, cls: type[T]) -> T:
    try:
        return converter.structure(raw, cls)
    except cattrs.BaseValidationError as exc:
        messages = cattrs.transform_error(exc, path="$", format_exception=_describe)
        first = messages[0] if messages else str(exc)
        reason, _, path = first.partition(" @ ")
        raise PayloadError(record, path.removeprefix("$.") or "(record)", reason) from None
    except (TypeError, ValueError) as exc:  # the record itself is not an object
        raise PayloadError(record, "(record)", str(exc)) from None


# --- payload shapes (only the fields we read) ------------------------------------------------
# Strictly only those: a field we never use (a numeric department id, a candidate's
# createdOn in another format) must not fail a page another implementation shapes its way.


@attrs.frozen
class SrLabel:
    label: str | None = None


@attrs.frozen
class SrLocation:
    city: str | None = None
    region: str | None = None
    countryCode: str | None = None


@attrs.frozen
class SrCity:
    city: str | None = None


@attrs.frozen
class SrJob:
    id: str
    title: str
    status: str
    refNumber: str | None = None
    postingStatus: str | None = None
    createdOn: datetime | None = None
    updatedOn: datetime | None = None
    department: SrLabel | None = None
    location: SrLocation | None = None
    typeOfEmployment: SrLabel | None = None


@attrs.frozen
class SrJobRef:
    id: str


@attrs.frozen
class SrAssignment:
    job: SrJobRef
    status: str
    subStatus: str | None = None


@attrs.frozen
class SrWeb:
    linkedin: str | None = None
    linkedIn: str | None = None


@attrs.frozen
class SrCandidate:
    id: str
    firstName: str | None = None
    lastName: str | None = None
    email: str | None = None
    phoneNumber: str | None = None
    web: SrWeb | None = None
    location: SrCity | None = None
    updatedOn: datetime | None = None
    primaryAssignment: SrAssignment | None = None
    secondaryAssignments: list[SrAssignment] | None = None

    @property
    def assignments(self) -> list[SrAssignment]:
        first = [self.primaryAssignment] if self.primaryAssignment else []
        return first + list(self.secondaryAssignments or [])

    def assignment_for(self, job_id: str) -> SrAssignment | None:
        return next((a for a in self.assignments if a.job.id == job_id), None)

    @property
    def linkedin_url(self) -> str | None:
        if self.web is None:
            return None
        urls = (getattr(self.web, key) for key in LINKEDIN_KEYS_READ)
        return next((url for url in urls if url), None)


# --- page envelopes -----------------------------------------------------------------------------


def page_content(body: Any, what: str) -> list[Any]:
    """The ``content`` list of a listing response (jobs, candidates, attachments)."""
    if not isinstance(body, Mapping):
        raise PayloadError(what, "(body)", f"expected an object, got {type(body).__name__}")
    content = body.get("content")
    if content is None:
        return []
    if not isinstance(content, list):
        raise PayloadError(what, "content", f"expected a list, got {type(content).__name__}")
    return content


def _record_name(kind: str, raw: Any, index: int | None) -> str:
    rid = raw.get("id") if isinstance(raw, Mapping) else None
    if isinstance(rid, str) and rid:
        return f"SmartRecruiters {kind} {rid[:64]}"
    return f"SmartRecruiters {kind} #{index}" if index is not None else f"SmartRecruiters {kind}"


# --- jobs ---------------------------------------------------------------------------------------


def _location(loc: SrLocation | None) -> Location | None:
    if loc is None:
        return None
    country = loc.countryCode.upper() if loc.countryCode else None
    if not (loc.city or loc.region or country):
        return None
    return Location(city=loc.city, region=loc.region, country_code=country)


def status_raw(job: SrJob) -> str:
    """``SOURCING/PUBLIC``: the job status with the posting status kept beside it."""
    return f"{job.status}/{job.postingStatus}" if job.postingStatus else job.status


def _job_status(record: str, raw_status: str) -> JobStatus:
    try:
        return JOB_STATUSES[raw_status]
    except KeyError:
        raise PayloadError(record, "status", f"unknown job status {raw_status[:40]!r}") from None


def parse_job(raw: Any, index: int | None = None) -> Job:
    record = _record_name("job", raw, index)
    sr = _structure(record, raw, SrJob)
    location = _location(sr.location)
    return Job(
        ats_id=sr.id,
        title=sr.title,
        status=_job_status(record, sr.status),
        status_raw=status_raw(sr),
        reference=sr.refNumber,
        locations=(location,) if location else (),
        department=sr.department.label if sr.department else None,
        employment_type=sr.typeOfEmployment.label if sr.typeOfEmployment else None,
        created_at=sr.createdOn,
        updated_at=sr.updatedOn,
    )


def parse_job_state(raw: Any) -> JobState:
    record = _record_name("job", raw, None)
    sr = _structure(record, raw, SrJob)
    return JobState(ats_id=sr.id, status=_job_status(record, sr.status), status_raw=status_raw(sr))


def missing_job_state(job_id: str) -> JobState:
    return JobState(ats_id=job_id, status=JobStatus.CLOSED, status_raw="NOT_FOUND", exists=False)


# --- candidates ---------------------------------------------------------------------------------


def structure_candidate(raw: Any, index: int | None = None) -> SrCandidate:
    fast = _plain_candidate(raw)
    if fast is not None:
        return fast
    return _structure(_record_name("candidate", raw, index), raw, SrCandidate)


def _opt_str(value: Any) -> bool:
    return value is None or type(value) is str


def _plain_assignment(raw: Any) -> SrAssignment | None:
    if type(raw) is not dict:
        return None
    job, status, sub = raw.get("job"), raw.get("status"), raw.get("subStatus")
    if type(job) is not dict or type(status) is not str or not _opt_str(sub):
        return None
    job_id = job.get("id")
    if type(job_id) is not str:
        return None
    return SrAssignment(job=SrJobRef(id=job_id), status=status, subStatus=sub)


def _plain_candidate(raw: Any) -> SrCandidate | None:
    """The ``SrCandidate`` the strict converter builds, for a row where every field read has
    exactly the expected type; None for anything else, and the converter then structures it
    (and names the bad field). A pipeline page is a hundred such rows and the generic
    converter cost more per row than everything else the plugin does with it.
    """
    if type(raw) is not dict:
        return None
    get = raw.get
    cid, first, last = get("id"), get("firstName"), get("lastName")
    email, phone = get("email"), get("phoneNumber")
    if type(cid) is not str or not (
        _opt_str(first) and _opt_str(last) and _opt_str(email) and _opt_str(phone)
    ):
        return None
    web: SrWeb | None = None
    raw_web = get("web")
    if raw_web is not None:
        if type(raw_web) is not dict:
            return None
        linkedin, linked_in = raw_web.get("linkedin"), raw_web.get("linkedIn")
        if not (_opt_str(linkedin) and _opt_str(linked_in)):
            return None
        web = SrWeb(linkedin=linkedin, linkedIn=linked_in)
    location: SrCity | None = None
    raw_location = get("location")
    if raw_location is not None:
        if type(raw_location) is not dict or not _opt_str(city := raw_location.get("city")):
            return None
        location = SrCity(city=city)
    updated: datetime | None = None
    raw_updated = get("updatedOn")
    if raw_updated is not None:
        if type(raw_updated) is not str:
            return None
        try:
            updated = parse_timestamp(raw_updated)
        except ValueError:
            return None
    primary: SrAssignment | None = None
    raw_primary = get("primaryAssignment")
    if raw_primary is not None:
        primary = _plain_assignment(raw_primary)
        if primary is None:
            return None
    secondary: list[SrAssignment] | None = None
    raw_secondary = get("secondaryAssignments")
    if raw_secondary is not None:
        if type(raw_secondary) is not list:
            return None
        secondary = []
        for item in raw_secondary:
            assignment = _plain_assignment(item)
            if assignment is None:
                return None
            secondary.append(assignment)
    return SrCandidate(
        id=cid,
        firstName=first,
        lastName=last,
        email=email,
        phoneNumber=phone,
        web=web,
        location=location,
        updatedOn=updated,
        primaryAssignment=primary,
        secondaryAssignments=secondary,
    )


def application_id(candidate_id: str, job_id: str) -> str:
    """SmartRecruiters has no application id: a person's place on a job is (person, job)."""
    return f"{candidate_id}:{job_id}"


def candidate_status(record: str, assignment: SrAssignment) -> CandidateStatus:
    try:
        return CANDIDATE_STATUSES[assignment.status]
    except KeyError:
        reason = f"unknown candidate status {assignment.status[:40]!r}"
        raise PayloadError(record, "status", reason) from None


def listed_assignment(sr: SrCandidate, job_id: str, record: str) -> SrAssignment | None:
    """The assignment that gives a ``GET /candidates?jobId=`` row its status on ``job_id``.

    The listing vouches that the person is on the job, so a row whose assignments do not
    name it (an API leaving out ``secondaryAssignments``) is kept with an unknown status:
    one such row must not fail the page, nor drop the person from the do-not-source list.
    The primary assignment is not borrowed: it may be another job's, hired or rejected.
    """
    assignment = sr.assignment_for(job_id)
    if assignment is None:
        log.warning(
            "%s is listed on job %s but none of its assignments names that job; reported as %s",
            record,
            job_id,
            UNASSIGNED_ROW_STATUS.value,
        )
    return assignment


def listed_candidate(sr: SrCandidate, job_id: str, record: str) -> Candidate:
    """The ``Candidate`` for a structured ``GET /candidates?jobId=`` row (the strict path)."""
    assignment = listed_assignment(sr, job_id, record)
    if assignment is None:
        status, stage, status_raw = UNASSIGNED_ROW_STATUS, None, None
    else:
        status = candidate_status(record, assignment)
        stage, status_raw = assignment.subStatus or assignment.status, assignment.status
    return Candidate(
        ats_id=sr.id,
        job_ats_id=job_id,
        status=status,
        stage=stage,
        status_raw=status_raw,
        application_id=application_id(sr.id, job_id),
        first_name=sr.firstName,
        last_name=sr.lastName,
        emails=(sr.email,) if sr.email else (),
        phones=(sr.phoneNumber,) if sr.phoneNumber else (),
        linkedin_url=sr.linkedin_url,
        city=sr.location.city if sr.location else None,
        updated_at=sr.updatedOn,
    )


def parse_candidate(raw: Any, job_id: str, index: int | None = None) -> Candidate:
    """One row of ``GET /candidates?jobId=``: the status is the assignment on ``job_id``."""
    fast = _plain_listed_candidate(raw, job_id)
    if fast is not None:
        return fast
    record = _record_name("candidate", raw, index)
    sr = _plain_candidate(raw) or _structure(record, raw, SrCandidate)
    return listed_candidate(sr, job_id, record)


def parse_account_candidates(raw: Any, index: int | None = None) -> list[Candidate]:
    """One row of the account-wide ``GET /candidates`` (no ``jobId``): one ``Candidate`` per
    job assignment, primary first, each with its own job and status on it.

    A person on no job (a talent-pool entry) has no application and yields nothing. A row
    without a ``secondaryAssignments`` field cannot say whether the person is on other
    jobs: it yields its primary assignment and is logged (see README, UNCONFIRMED).
    """
    record = _record_name("candidate", raw, index)
    sr = _plain_candidate(raw) or _structure(record, raw, SrCandidate)
    if sr.secondaryAssignments is None and sr.primaryAssignment is not None:
        log.warning("%s came without secondaryAssignments: only its primary job is known", record)
    out: list[Candidate] = []
    seen: set[str] = set()
    for assignment in sr.assignments:
        job_id = assignment.job.id
        if job_id in seen or not job_id:
            continue  # one application per (person, job), whatever the row repeats
        seen.add(job_id)
        out.append(listed_candidate(sr, job_id, record))
    return out


def _plain_listed_candidate(raw: Any, job_id: str) -> Candidate | None:
    """``parse_candidate`` for a row ``_plain_candidate`` accepts, without building the
    intermediate ``SrCandidate``: the same type checks, field by field, then the ``Candidate``
    ``listed_candidate`` builds. None for anything else, and the strict path then maps the
    row or raises the ``PayloadError`` naming the bad field; also None for a row with an
    unknown status or none on ``job_id``, which the strict path rejects or logs itself.
    A bulk sync maps hundreds of thousands of rows; this is most of its per-row cost.
    """
    if type(raw) is not dict:
        return None
    get = raw.get
    cid = get("id")
    if type(cid) is not str:
        return None
    first = get("firstName")
    if first is not None and type(first) is not str:
        return None
    last = get("lastName")
    if last is not None and type(last) is not str:
        return None
    email = get("email")
    if email is not None and type(email) is not str:
        return None
    phone = get("phoneNumber")
    if phone is not None and type(phone) is not str:
        return None
    linkedin_url: str | None = None
    web = get("web")
    if web is not None:
        if type(web) is not dict:
            return None
        # Both SrWeb fields are type-checked, read in LINKEDIN_KEYS_READ's order.
        linkedin, linked_in = web.get("linkedin"), web.get("linkedIn")
        if linkedin is not None and type(linkedin) is not str:
            return None
        if linked_in is not None and type(linked_in) is not str:
            return None
        linkedin_url = linkedin or linked_in or None
    city: str | None = None
    location = get("location")
    if location is not None:
        if type(location) is not dict:
            return None
        city = location.get("city")
        if city is not None and type(city) is not str:
            return None
    updated: datetime | None = None
    raw_updated = get("updatedOn")
    if raw_updated is not None:
        if type(raw_updated) is not str:
            return None
        try:
            updated = datetime.fromisoformat(raw_updated)
        except ValueError:
            return None
        if updated.tzinfo is None:
            updated = updated.replace(tzinfo=UTC)
    # The first assignment naming job_id, primary first; every one is checked regardless.
    on_job: dict[Any, Any] | None = None
    primary = get("primaryAssignment")
    if primary is not None:
        on = _plain_assignment_job(primary)
        if on is None:
            return None
        if on == job_id:
            on_job = primary
    secondary = get("secondaryAssignments")
    if secondary is not None:
        if type(secondary) is not list:
            return None
        for item in secondary:
            on = _plain_assignment_job(item)
            if on is None:
                return None
            if on_job is None and on == job_id:
                on_job = item
    if on_job is None:
        return None  # rare; the strict path logs it as listed_assignment always has
    known = _LISTED_STATUSES.get(on_job["status"])
    if known is None:
        return None  # the strict path raises the PayloadError naming the status
    status, status_raw = known
    # Positional, in Candidate's field order (keywords cost a third of the call):
    # ats_id, job_ats_id, status, stage, status_raw, application_id, first_name, last_name,
    # emails, phones, linkedin_url, company, city, updated_at.
    return Candidate(
        cid,
        job_id,
        status,
        on_job.get("subStatus") or status_raw,
        status_raw,
        f"{cid}:{job_id}",
        first,
        last,
        (email,) if email else (),
        (phone,) if phone else (),
        linkedin_url,
        None,
        city,
        updated,
    )


# Each raw status with its unified one, and the raw string itself: a row's status_raw (and
# its stage, when it has no sub-status) is then one shared string rather than a fresh copy
# from each row's JSON, which the pickle sending a page to the storing worker writes once.
_LISTED_STATUSES: dict[str, tuple[CandidateStatus, str]] = {
    raw: (status, raw) for raw, status in CANDIDATE_STATUSES.items()
}


def _plain_assignment_job(raw: Any) -> str | None:
    """The job id of an assignment ``_plain_assignment`` accepts; None for any other."""
    if type(raw) is not dict:
        return None
    job, status, sub = raw.get("job"), raw.get("status"), raw.get("subStatus")
    if type(job) is not dict or type(status) is not str:
        return None
    if sub is not None and type(sub) is not str:
        return None
    job_id = job.get("id")
    return job_id if type(job_id) is str else None


# --- lead push ----------------------------------------------------------------------------------


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def lead_email(lead: Lead) -> str:
    """The address the candidate is created and looked up with; SmartRecruiters requires one."""
    for name, value in (("first_name", lead.first_name), ("last_name", lead.last_name)):
        if not value or not value.strip():
            raise BadInput(f"lead {lead.id}: field {name}: SmartRecruiters requires it")
    email = next((e.strip() for e in lead.emails if e and e.strip()), None)
    if email is None:
        raise BadInput(f"lead {lead.id}: field emails: SmartRecruiters requires an email address")
    return email


def candidate_body(lead: Lead) -> tuple[dict[str, Any], list[str]]:
    """The ``POST /jobs/{jobId}/candidates`` body, and the lead fields it could not carry."""
    email = lead_email(lead)
    unsupported: list[str] = []
    body: dict[str, Any] = {
        "firstName": lead.first_name.strip(),
        "lastName": lead.last_name.strip(),
        "email": email,
    }
    if len([e for e in lead.emails if e and e.strip()]) > 1:
        unsupported.append("emails[1:]")  # one email per candidate
    if lead.phones:
        body["phoneNumber"] = lead.phones[0]
        if len(lead.phones) > 1:
            unsupported.append("phones[1:]")
    if lead.linkedin_url:
        body["web"] = {LINKEDIN_KEY: lead.linkedin_url}
    if lead.location is not None:
        loc = lead.location
        structured = _drop_none(
            {
                "city": loc.city,
                "region": loc.region,
                # The API's own payloads spell country codes in lower case.
                "countryCode": loc.country_code.lower() if loc.country_code else None,
            }
        )
        if structured:
            body["location"] = structured
        if loc.raw:
            unsupported.append("location.raw")  # the candidate location has no free text
    if lead.educations:
        body["education"] = [
            _drop_none(
                {
                    "institution": e.school,
                    "degree": e.degree,
                    "major": e.field,
                    # The lead has no "still studying" flag; an open end date is not one.
                    "current": False,
                    "startDate": e.start,
                    "endDate": e.end,
                }
            )
            for e in lead.educations
        ]
    if lead.experiences:
        body["experience"] = [
            _drop_none(
                {
                    "title": x.title,
                    "company": x.company,
                    "current": x.current,
                    "startDate": x.start,
                    "endDate": x.end,
                    "description": x.description,
                }
            )
            for x in lead.experiences
        ]
    if lead.tags:
        body["tags"] = list(lead.tags)
    if lead.headline:
        unsupported.append("headline")  # no headline field on a candidate
    if lead.source:
        # sourceDetails wants the customer's configured source ids, which a lead does not
        # carry; without it SmartRecruiters records the source as "API".
        unsupported.append("source")
    return body, unsupported


def same_email(candidate: SrCandidate, email: str) -> bool:
    return bool(candidate.email) and candidate.email.strip().casefold() == email.casefold()  # type: ignore[union-attr]


def attachment_names(body: Any) -> set[str] | None:
    """File names already attached (``GET /candidates/{id}/attachments``), or None when the
    body is not the assumed ``{content: [{name}]}`` (or a bare list of such): "cannot tell".
    """
    items = body.get("content") if isinstance(body, Mapping) else body
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        return None
    return {name for i in items if isinstance(name := i.get("name"), str)}


def format_since(when: datetime) -> str:
    """``updatedAfter`` values: ISO 8601 in UTC with milliseconds and ``Z``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
