"""Workday Recruiting XML <-> atsbridge model.

Request builders return the operation element (the client wraps it in an envelope);
parsers take the operation element of a response. Workday's schema moves between versions
(notes 4.9), so every reader accepts both known shapes: names flat in ``Name_Data`` or
wrapped in ``Legal_Name/Name_Detail_Data``; requisition fields directly under
``Job_Requisition_Data`` or grouped under ``Job_Requisition_Detail_Data`` /
``Hiring_Requirement_Data``; ids in the ``*_Reference`` or as plain ``*_ID`` elements.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import attrs
from atsbridge.errors import PayloadError
from atsbridge.model import Candidate, CandidateStatus, Job, JobStatus, Lead, Location

from atsbridge_workday import assumptions as U
from atsbridge_workday.soap import (
    child,
    children,
    descendants,
    descriptor,
    local,
    ref_ids,
    reference,
    sub,
    text,
    wd,
)

REQUISITION_GROUPS = ("Job_Requisition_Detail_Data", "Hiring_Requirement_Data")


def iso(when: datetime) -> str:
    """Workday dateTime in UTC with a ``Z``; fractions kept, so a window's edge is exact."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _datetime(value: str | None, record: str, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(record, field, f"not an ISO date-time: {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_XSD_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?")


def _opened(value: str | None, record: str, field: str) -> datetime | None:
    """An xsd:date (or a dateTime) as a moment: midnight at its offset, else UTC."""
    if value is None:
        return None
    match = _XSD_DATE.fullmatch(value.strip())
    if match is None:
        return _datetime(value, record, field)
    day, offset = match.groups()
    return _datetime(f"{day}T00:00:00{offset or 'Z'}", record, field)


def _int(value: str | None, record: str, field: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise PayloadError(record, field, f"not an integer: {value[:40]!r}") from None


# --- ids --------------------------------------------------------------------------------------

_WID = re.compile(U.WID_PATTERN)


def id_type(value: str, business_type: str) -> str:
    """The wd:type to send ``value`` with: WID for a WID-shaped id (see assumptions)."""
    return U.WID_TYPE if _WID.fullmatch(value) else business_type


def _ref(parent: ET.Element, name: str, business_type: str, value: str) -> ET.Element:
    return reference(parent, name, id_type(value, business_type), value)


def ref_id(ref: ET.Element | None, business_type: str) -> str | None:
    """A reference's business id, else its WID."""
    ids = ref_ids(ref)
    return ids.get(business_type) or ids.get(U.WID_TYPE)


# --- requests --------------------------------------------------------------------------------


def _operation(name: str, version: str, **attrs_: str) -> ET.Element:
    return ET.Element(wd(name), {wd(k): v for k, v in {**attrs_, "version": version}.items()})


def _date_range(parent: ET.Element, updated_from: datetime, updated_through: datetime) -> None:
    rng = sub(sub(parent, "Transaction_Log_Criteria_Data"), "Transaction_Date_Range_Data")
    sub(rng, "Updated_From", iso(updated_from))
    sub(rng, "Updated_Through", iso(updated_through))


def page_count(count: int) -> int:
    """The ``Response_Filter`` Count sent for a page size."""
    return max(1, min(count, U.MAX_PAGE_SIZE))


def _response_filter(op: ET.Element, page: int, count: int) -> None:
    rf = sub(op, "Response_Filter")
    sub(rf, "Page", str(page))
    sub(rf, "Count", str(page_count(count)))


def get_job_requisitions(
    version: str,
    *,
    page: int,
    count: int,
    status_id: str | None = None,
    updated_from: datetime | None = None,
    updated_through: datetime | None = None,
) -> ET.Element:
    op = _operation("Get_Job_Requisitions_Request", version)
    if status_id is not None or updated_from is not None:
        criteria = sub(op, "Request_Criteria")
        if status_id is not None:
            reference(
                criteria,
                "Job_Requisition_Status_Reference",
                U.REQUISITION_STATUS_ID_TYPE,
                status_id,
            )
        if updated_from is not None:
            assert updated_through is not None
            _date_range(criteria, updated_from, updated_through)
    _response_filter(op, page, count)
    return op


def get_job_requisitions_by_id(version: str, ids: Iterable[str], *, page: int = 1) -> ET.Element:
    op = _operation("Get_Job_Requisitions_Request", version)
    refs_attrs = {"Skip_Non_Existing_Instances": "true"} if U.SKIP_NON_EXISTING else {}
    refs = sub(op, "Request_References", **refs_attrs)
    ids = list(ids)
    for job_id in ids:
        _ref(refs, "Job_Requisition_Reference", U.REQUISITION_ID_TYPE, job_id)
    _response_filter(op, page, max(len(ids), 1))
    return op


def get_candidates(
    version: str,
    *,
    page: int,
    count: int,
    job_id: str | None = None,
    email: str | None = None,
    updated_from: datetime | None = None,
    updated_through: datetime | None = None,
) -> ET.Element:
    op = _operation("Get_Candidates_Request", version)
    criteria = sub(op, "Request_Criteria")
    if job_id is not None:
        _ref(criteria, "Job_Requisition_Reference", U.REQUISITION_ID_TYPE, job_id)
    if email is not None:
        sub(criteria, "Candidate_Email_Address", email)
    if updated_from is not None:
        assert updated_through is not None
        _date_range(criteria, updated_from, updated_through)
    _response_filter(op, page, count)
    return op


def _year(value: str | None) -> str | None:
    """The year of a lead date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``)."""
    if not value:
        return None
    head = value[:4]
    return head if head.isdigit() and len(head) == 4 else None


@attrs.frozen
class ExistingCandidate:
    """A person already in Workday, found by email, and the requisitions they applied to."""

    candidate_id: str
    first_name: str | None
    last_name: str | None
    applications: tuple[Application, ...]


def put_candidate(
    version: str,
    job_id: str,
    lead: Lead,
    existing: ExistingCandidate | None = None,
    *,
    stage: str | None = None,
) -> tuple[ET.Element, list[str]]:
    """Build Put_Candidate for ``lead`` on requisition ``job_id``; return it and what it lacks.

    ``existing`` turns it into "add this application to that person" (see assumptions);
    ``stage`` is the tenant's Recruiting_Stage_ID for the new application, None for none.
    """
    unsupported: list[str] = []
    add_only = U.ADD_ONLY_EXISTING if existing else U.ADD_ONLY_NEW
    op = _operation("Put_Candidate_Request", version, Add_Only=add_only)
    if existing is not None:
        _ref(op, "Candidate_Reference", U.CANDIDATE_ID_TYPE, existing.candidate_id)
    data = sub(op, "Candidate_Data")
    first = (existing.first_name if existing else None) or lead.first_name
    last = (existing.last_name if existing else None) or lead.last_name
    names = sub(data, "Name_Data")
    if U.NAME_DATA_WRAPPED_ON_WRITE:
        names = sub(sub(names, "Legal_Name"), "Name_Detail_Data")
    sub(names, "First_Name", first)
    sub(names, "Last_Name", last)

    if existing is None:
        contact = sub(data, "Contact_Data")
        if lead.emails:
            sub(contact, "Email_Address", lead.emails[0])
        if lead.phones:
            sub(contact, U.PHONE_ELEMENT, lead.phones[0])
        if lead.linkedin_url:
            sub(sub(contact, U.LINKEDIN_CONTAINER), U.LINKEDIN_URL_ELEMENT, lead.linkedin_url)
        if len(contact) == 0:
            data.remove(contact)
        if len(lead.emails) > 1:
            unsupported.append("emails[1:]")
        if len(lead.phones) > 1:
            unsupported.append("phones[1:]")
    else:
        # The person's stored contact data is theirs to keep; this push only adds a job.
        unsupported.extend(
            name
            for name, value in (
                ("phones", lead.phones),
                ("linkedin_url", lead.linkedin_url),
                ("emails[1:]", lead.emails[1:]),
            )
            if value
        )

    application = sub(data, "Job_Application_Data")
    applied = sub(application, "Job_Applied_To_Data")
    _ref(applied, "Job_Requisition_Reference", U.REQUISITION_ID_TYPE, job_id)
    if stage is not None:
        reference(applied, "Stage_Reference", U.STAGE_ID_TYPE, stage)
    for attachment in lead.attachments:
        att = sub(application, "Resume_Attachment_Data")
        sub(att, "Filename", attachment.filename)
        sub(att, "File_Content", base64.b64encode(attachment.content).decode("ascii"))
    resume = sub(application, "Resume_Data")
    for i, exp in enumerate(lead.experiences):
        start = _year(exp.start)
        if not exp.title or start is None:
            unsupported.append(f"experiences[{i}]")  # Workday requires Title and Start_Year
            continue
        el = sub(resume, "Experience_Data")
        sub(el, "Company_Name", exp.company)
        sub(el, "Title", exp.title)
        sub(el, "Start_Year", start)
        end = _year(exp.end)
        if end is not None and not exp.current:
            sub(el, U.EXPERIENCE_END_ELEMENT, end)
        sub(el, "Currently_Work_Here", "true" if exp.current else "false")
        if exp.description:
            unsupported.append(f"experiences[{i}].description")
    for i, edu in enumerate(lead.educations):
        el = sub(resume, "Education_Data")
        sub(el, "School_Name", edu.school)
        for name, value in (
            ("First_Year_Attended", _year(edu.start)),
            ("Last_Year_Attended", _year(edu.end)),
        ):
            if value is not None:
                sub(el, name, value)
        if edu.degree:
            unsupported.append(f"educations[{i}].degree")  # Degree_Reference ids are tenant's
        if edu.field:
            unsupported.append(f"educations[{i}].field")
    if len(resume) == 0:
        application.remove(resume)
    taken_nowhere: tuple[tuple[str, object], ...] = (
        ("headline", lead.headline),
        ("location", lead.location),
        ("source", lead.source),  # Source_Reference ids are tenant-configured
        ("tags", lead.tags),
    )
    unsupported.extend(field for field, given in taken_nowhere if given)
    return op, unsupported


# --- responses -------------------------------------------------------------------------------


@attrs.frozen
class PageInfo:
    page: int
    total_pages: int
    total_results: int | None


def page_info(op: ET.Element, requested: int = 1, count: int | None = None) -> PageInfo:
    """Where this page stands. ``requested``/``count`` are what was asked for, used when
    ``Response_Results`` (or its ``Page``/``Total_Pages``) is absent, as a service may do
    on an empty result, or ``Total_Pages`` is 0 beside records."""
    what = local(op.tag)
    results = child(op, "Response_Results")
    page = _int(text(child(results, "Page")), what, "Response_Results.Page")
    total = _int(text(child(results, "Total_Pages")), what, "Response_Results.Total_Pages")
    found = _int(text(child(results, "Total_Results")), what, "Response_Results.Total_Results")
    page = page if page is not None and page >= 1 else requested
    data = child(op, "Response_Data")
    records = len(data) if data is not None else 0
    if total is None or (total == 0 and records):
        if found is not None and count:
            total = -(-found // count)
        elif count and records >= count:
            total = page + 1  # a full page: ask for the next one (an empty one ends it)
        else:
            total = page
    return PageInfo(page, max(total, page), found)  # past the end is the end


def _requisition_field(data: ET.Element | None, name: str) -> ET.Element | None:
    found = child(data, name)
    if found is not None:
        return found
    for group in REQUISITION_GROUPS:
        found = child(data, group, name)
        if found is not None:
            return found
    return None


def parse_location(ref: ET.Element | None) -> Location | None:
    """A location reference's readable Descriptor; ``City, ..., CC`` is split where it can be."""
    if ref is None:
        return None
    raw = descriptor(ref)
    if raw is None:
        location_id = ref_ids(ref).get(U.LOCATION_ID_TYPE)
        return Location(raw=location_id) if location_id else None
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    city = parts[0] if len(parts) > 1 else None
    country = parts[-1] if len(parts) > 1 else None
    code = country if country and len(country) == 2 and country.isalpha() else None
    region = parts[1] if len(parts) > 2 else None
    return Location(city=city, region=region, country_code=code and code.upper(), raw=raw)


def requisition_status(raw: str) -> JobStatus:
    return U.REQUISITION_STATUS.get(raw, U.UNKNOWN_REQUISITION_STATUS)


def parse_requisition(el: ET.Element, index: int = 0) -> Job:
    ref = child(el, "Job_Requisition_Reference")
    data = child(el, "Job_Requisition_Data")
    req_id = (
        ref_ids(ref).get(U.REQUISITION_ID_TYPE)
        or text(_requisition_field(data, "Job_Requisition_ID"))
        or ref_ids(ref).get(U.WID_TYPE)
    )
    record = f"Workday job requisition {req_id}" if req_id else f"Workday job requisition #{index}"
    if req_id is None:
        where = "Job_Requisition_Reference.ID[Job_Requisition_ID|WID]"
        raise PayloadError(record, where, "missing")
    if data is None:
        raise PayloadError(record, "Job_Requisition_Data", "missing")
    title = text(_requisition_field(data, "Job_Posting_Title"))
    if title is None:
        raise PayloadError(record, "Job_Posting_Title", "missing")
    status_ref = _requisition_field(data, "Job_Requisition_Status_Reference")
    status_raw = ref_ids(status_ref).get(U.REQUISITION_STATUS_ID_TYPE) or descriptor(status_ref)
    if status_raw is None:
        raise PayloadError(record, "Job_Requisition_Status_Reference", "missing")
    location = parse_location(_requisition_field(data, "Primary_Location_Reference"))
    opened = text(_requisition_field(data, U.REQUISITION_OPENED_FIELD))
    return Job(
        ats_id=req_id,
        title=title,
        status=requisition_status(status_raw),
        status_raw=status_raw,
        reference=req_id,
        locations=(location,) if location else (),
        description=text(_requisition_field(data, "Job_Description_Summary"))
        or text(_requisition_field(data, "Job_Description")),
        created_at=_opened(opened, record, U.REQUISITION_OPENED_FIELD),
    )


def requisition_ids(el: ET.Element) -> frozenset[str]:
    """Every id a requisition element gives itself (business id, WID...)."""
    data = child(el, "Job_Requisition_Data")
    ids = set(ref_ids(child(el, "Job_Requisition_Reference")).values())
    own = text(_requisition_field(data, "Job_Requisition_ID"))
    return frozenset(ids | ({own} if own else set()))


def requisition_business_id(el: ET.Element) -> str | None:
    """A requisition element's Job_Requisition_ID, wherever its version puts it."""
    own = ref_ids(child(el, "Job_Requisition_Reference")).get(U.REQUISITION_ID_TYPE)
    return own or text(_requisition_field(child(el, "Job_Requisition_Data"), "Job_Requisition_ID"))


def is_wid(value: str) -> bool:
    return _WID.fullmatch(value) is not None


def parse_requisitions(op: ET.Element) -> list[Job]:
    return [
        parse_requisition(el, i)
        for i, el in enumerate(children(child(op, "Response_Data"), "Job_Requisition"))
    ]


@attrs.frozen
class Application:
    job_id: str | None  # the requisition's business id, else its WID
    application_id: str | None
    stage: str | None
    stage_name: str | None
    disposition: str | None
    updated_at: datetime | None
    job_ids: frozenset[str] = frozenset()  # every id its requisition reference carries

    @property
    def status(self) -> CandidateStatus:
        if self.disposition is not None:
            if U.WITHDRAWN_DISPOSITION_MARKER in self.disposition.upper():
                return CandidateStatus.WITHDRAWN
            return CandidateStatus.REJECTED
        if self.stage is None:
            return CandidateStatus.NEW
        return U.STAGE_STATUS.get(self.stage.upper(), U.UNKNOWN_STAGE_STATUS)


def _stamp(app: Application) -> datetime:
    return app.updated_at or datetime.min.replace(tzinfo=UTC)


@attrs.frozen
class CandidateRecord:
    """One Workday candidate with every job application they hold."""

    candidate_id: str
    first_name: str | None
    last_name: str | None
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    linkedin_url: str | None
    company: str | None
    applications: tuple[Application, ...]

    def existing(self) -> ExistingCandidate:
        return ExistingCandidate(
            self.candidate_id, self.first_name, self.last_name, self.applications
        )

    def for_job(self, job_id: str, aliases: Iterable[str] = ()) -> Candidate | None:
        """This person on requisition ``job_id`` (known also by ``aliases``), if applied."""
        wanted = {job_id, *aliases}
        apps = [a for a in self.applications if a.job_ids & wanted]
        if not apps:
            return None
        app = max(apps, key=_stamp)
        return self._candidate(job_id, app)

    def on_each_job(self, names: Mapping[str, str]) -> list[Candidate]:
        """This person once per requisition applied to (the latest application on each),
        the requisition named by ``names[id]`` where given (a WID's business id); an
        application naming no requisition is left out."""
        latest: dict[str, Application] = {}
        for app in self.applications:
            if not app.job_id:
                continue
            job_id = names.get(app.job_id, app.job_id)
            held = latest.get(job_id)
            if held is None or _stamp(app) > _stamp(held):
                latest[job_id] = app
        return [self._candidate(job_id, app) for job_id, app in latest.items()]

    def listed(self, job_id: str) -> Candidate:
        """This person as a requisition's listing returned them, with no application on it
        to read: kept in the pipeline with an unknown status (see assumptions)."""
        return self._candidate(job_id, None)

    def _candidate(self, job_id: str, app: Application | None) -> Candidate:
        return Candidate(
            ats_id=self.candidate_id,
            job_ats_id=job_id,
            status=app.status if app else U.UNMATCHED_APPLICATION_STATUS,
            stage=(app.stage_name or app.stage) if app else None,
            status_raw=(app.disposition or app.stage) if app else None,
            application_id=app.application_id if app else None,
            first_name=self.first_name,
            last_name=self.last_name,
            emails=self.emails,
            phones=self.phones,
            linkedin_url=self.linkedin_url,
            company=self.company,
            updated_at=app.updated_at if app else None,
        )


def _names(name_data: ET.Element | None) -> tuple[str | None, str | None]:
    # Flat (WSDL types) or wrapped in Legal_Name/Name_Detail_Data (worker-style docs).
    for holder in (name_data, child(name_data, "Legal_Name", "Name_Detail_Data")):
        first, last = text(child(holder, "First_Name")), text(child(holder, "Last_Name"))
        if first or last:
            return first, last
    return None, None


def _linkedin(data: ET.Element) -> str | None:
    contact = child(data, "Contact_Data")
    containers = [
        *children(data, "Social_Media_Account_Data"),
        *children(contact, "Social_Media_Account_Data"),
        *children(contact, "Website_Data"),
        *children(data, "Website_Data"),
    ]
    for container in containers:
        for el in container.iter():
            value = text(el)
            if value and "linkedin.com" in value.lower():
                return value
    return None


def _application(jat: ET.Element, holder: ET.Element, record: str, i: int) -> Application:
    def find(name: str) -> ET.Element | None:
        found = child(jat, name)
        return found if found is not None else child(holder, name)

    # No PayloadError without a requisition reference: the application then just matches no
    # requisition, and a listing by requisition keeps the person anyway.
    job_ref = find("Job_Requisition_Reference")
    job_id = ref_id(job_ref, U.REQUISITION_ID_TYPE)
    app_id = text(find("Job_Application_ID")) or ref_ids(find("Job_Application_Reference")).get(
        U.APPLICATION_ID_TYPE
    )
    stage_ref = find("Stage_Reference")
    stage_ids = ref_ids(stage_ref)
    stage = stage_ids.get(U.STAGE_ID_TYPE) or next(iter(stage_ids.values()), None)
    disp_ref = find("Disposition_Reference")
    disposition = None
    if disp_ref is not None:
        disposition = next(iter(ref_ids(disp_ref).values()), None) or descriptor(disp_ref)
        disposition = disposition or "DISPOSITIONED"
    return Application(
        job_id=job_id,
        application_id=app_id,
        stage=stage,
        stage_name=descriptor(stage_ref),
        disposition=disposition,
        updated_at=_datetime(
            text(find("Status_Timestamp")), record, f"Job_Applied_To_Data[{i}].Status_Timestamp"
        ),
        job_ids=frozenset(ref_ids(job_ref).values()),
    )


def parse_candidate(el: ET.Element, index: int = 0) -> CandidateRecord:
    data = child(el, "Candidate_Data")
    cand_ref = child(el, "Candidate_Reference")
    cand_id = (
        ref_ids(cand_ref).get(U.CANDIDATE_ID_TYPE)
        or text(child(data, "Candidate_ID"))
        or ref_ids(cand_ref).get(U.WID_TYPE)
    )
    record = f"Workday candidate {cand_id}" if cand_id else f"Workday candidate #{index}"
    if cand_id is None:
        raise PayloadError(record, "Candidate_Reference.ID[Candidate_ID|WID]", "missing")
    if data is None:
        raise PayloadError(record, "Candidate_Data", "missing")
    first, last = _names(child(data, "Name_Data"))
    contact = child(data, "Contact_Data")
    emails = tuple(v for v in (text(e) for e in descendants(contact, "Email_Address")) if v)
    phones = tuple(v for v in (text(e) for e in descendants(contact, U.PHONE_ELEMENT)) if v)
    applications: list[Application] = []
    for holder in descendants(data, "Job_Application_Data"):
        for jat in children(holder, "Job_Applied_To_Data"):
            applications.append(_application(jat, holder, record, len(applications)))
    company = None
    for exp in descendants(data, "Experience_Data"):
        if text(child(exp, "Currently_Work_Here")) in ("true", "1"):
            company = text(child(exp, "Company_Name"))
            break
    return CandidateRecord(
        candidate_id=cand_id,
        first_name=first,
        last_name=last,
        emails=emails,
        phones=phones,
        linkedin_url=_linkedin(data),
        company=company,
        applications=tuple(applications),
    )


def parse_candidates(op: ET.Element) -> list[CandidateRecord]:
    return [
        parse_candidate(el, i)
        for i, el in enumerate(children(child(op, "Response_Data"), "Candidate"))
    ]


def parse_put_candidate(op: ET.Element) -> tuple[str | None, str | None]:
    """(Candidate_ID, Job_Application_ID) from a Put_Candidate response, where present.

    The response shape is [U]: the ids are looked for anywhere in it.
    """
    candidate_id = None
    for ref in descendants(op, "Candidate_Reference"):
        candidate_id = ref_ids(ref).get(U.CANDIDATE_ID_TYPE)
        if candidate_id:
            break
    application_id = None
    for ref in descendants(op, "Job_Application_Reference"):
        application_id = ref_ids(ref).get(U.APPLICATION_ID_TYPE)
        if application_id:
            break
    return candidate_id, application_id


def put_candidate_wid(op: ET.Element) -> str | None:
    """The WID of the candidate a Put_Candidate response names, if it gives one."""
    for ref in descendants(op, "Candidate_Reference"):
        wid = ref_ids(ref).get(U.WID_TYPE)
        if wid:
            return wid
    return None
