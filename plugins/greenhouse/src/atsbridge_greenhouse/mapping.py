"""Greenhouse Harvest v3 payloads <-> atsbridge models.

Payload classes declare only the fields we read; unknown keys are ignored so that new
Greenhouse fields never break a sync, and a field we do not read is not declared either, so
an API that types it differently (tags as objects, ids as strings) cannot break one.
Structuring is strict (no ``"12"`` for an int, no string iterated as a list) and every
failure becomes a ``PayloadError`` naming the record and the field path, never a bare
``TypeError``/``KeyError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from atsbridge.errors import BadInput, PayloadError
from atsbridge.model import (
    Candidate,
    CandidateStatus,
    Education,
    Experience,
    Job,
    JobStatus,
    Lead,
    Location,
)
from cattrs.gen import make_dict_structure_fn

T = TypeVar("T")

# --- payload shapes (ATS-API-NOTES 1.4, 1.5, 1.7) ------------------------------------------


@attrs.frozen
class GhJob:
    id: int
    name: str
    status: str
    requisition_id: str | None = None
    office_ids: list[int] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen
class GhOfficeLocation:
    name: str | None = None


@attrs.frozen
class GhOffice:
    id: int
    name: str | None = None
    location: GhOfficeLocation | None = None


@attrs.frozen
class GhJobPost:
    id: int
    job_id: int | None = None
    live: bool | None = None
    active: bool | None = None
    internal: bool | None = None
    content: str | None = None


@attrs.frozen
class GhStage:
    id: int
    name: str
    # Only used to group stages of several jobs read in one call; any other type is ignored
    # (the row then counts for the one job asked, or for none).
    job_id: Any = None


@attrs.frozen
class GhApplication:
    id: int
    candidate_id: int
    # A create may answer with little more than the id (notes 1.7 elide the rest); a row
    # without a status reads as in process.
    status: str | None = None
    job_id: int | None = None
    # UNCONFIRMED: a prospect application may name its jobs as ``job_ids`` (notes 1.7).
    job_ids: list[int] | None = None
    prospect: bool | None = None
    stage_name: str | None = None
    job_interview_stage_id: int | None = None
    updated_at: datetime | None = None
    last_activity_at: datetime | None = None


@attrs.frozen
class GhValue:
    value: str | None = None  # an emptied address may come back as null


@attrs.frozen
class GhCandidate:
    id: int
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    email_addresses: list[GhValue] | None = None
    phone_numbers: list[GhValue] | None = None
    social_media_addresses: list[GhValue] | None = None


@attrs.frozen
class GhOption:
    """A custom field option (school_name, degree, discipline)."""

    id: int
    name: str


@attrs.frozen
class GhAttachment:
    filename: str | None = None


@attrs.frozen
class GhEducation:
    school_name_custom_field_option_id: int | None = None
    degree_custom_field_option_id: int | None = None
    discipline_custom_field_option_id: int | None = None
    start_date: str | None = None
    end_date: str | None = None


@attrs.frozen
class GhEmployment:
    company_name: str | None = None
    title: str | None = None
    start_date: str | None = None
    end_date: str | None = None


# --- strict structuring --------------------------------------------------------------------


def parse_datetime(value: str) -> datetime:
    """ISO 8601 as Greenhouse writes it (``2026-11-20T08:41:09.000Z``); naive means UTC."""
    when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _strict(kind: type, label: str):
    def hook(value: Any, _: type) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"expected {label}, got {type(value).__name__}")
        return value

    return hook


def _structure_datetime(value: Any, _: type) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    try:
        return parse_datetime(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {value[:40]!r}") from None


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(int, _strict(int, "an integer"))
    conv.register_structure_hook(bool, _strict(bool, "true or false"))
    conv.register_structure_hook(datetime, _structure_datetime)

    def list_factory(cl: Any):
        (item,) = get_args(cl) or (Any,)

        def hook(value: Any, _: type) -> list:
            if not isinstance(value, list):
                raise TypeError(f"expected a list, got {type(value).__name__}")
            out, errors = [], []
            for i, element in enumerate(value):
                try:
                    out.append(conv.structure(element, item))
                except Exception as exc:
                    exc.__notes__ = [*getattr(exc, "__notes__", []), f"@ index {i}"]
                    errors.append(exc)
            if errors:
                raise cattrs.IterableValidationError("bad list items", errors, cl)
            return out

        return hook

    conv.register_structure_hook_factory(lambda cl: get_origin(cl) is list, list_factory)

    def attrs_factory(cl: Any):
        inner = make_dict_structure_fn(cl, conv)

        def hook(value: Any, _: type) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected an object, got {type(value).__name__}")
            return inner(value, cl)

        return hook

    conv.register_structure_hook_factory(attrs.has, attrs_factory)
    return conv


_converter = _make_converter()


def _first_problem(exc: BaseException, path: str = "") -> tuple[str, str]:
    """Walk cattrs' exception groups down to the first leaf: (field path, reason)."""
    if isinstance(exc, cattrs.ClassValidationError | cattrs.IterableValidationError):
        for sub in exc.exceptions:
            step = ""
            for note in getattr(sub, "__notes__", []):
                name = getattr(note, "name", None)
                index = getattr(note, "index", None)
                if isinstance(note, str) and note.startswith("@ index "):
                    step = f"[{note[8:]}]"
                elif isinstance(name, str):
                    step = f".{name}" if path else name
                elif isinstance(index, int):
                    step = f"[{index}]"
                elif isinstance(note, str) and "attribute" in note:
                    match = re.search(r"attribute '?(\w+)'?", note)
                    if match:
                        step = f".{match.group(1)}" if path else match.group(1)
            return _first_problem(sub, path + step)
    if isinstance(exc, KeyError):
        return path or "(object)", "required field missing"
    return path or "(object)", str(exc) or type(exc).__name__


def structure(payload: Any, cls: type[T], record: str) -> T:
    """Structure one payload object into ``cls`` or raise ``PayloadError`` naming the field."""
    if not isinstance(payload, dict):
        raise PayloadError(record, "(object)", f"expected an object, got {type(payload).__name__}")
    try:
        return _converter.structure(payload, cls)
    except Exception as exc:
        field, reason = _first_problem(exc)
        raise PayloadError(record, field, reason) from None


def structure_list(payload: Any, cls: type[T], kind: str) -> list[T]:
    """A v3 list response (a bare JSON array) into payload objects."""
    if not isinstance(payload, list):
        raise PayloadError(
            f"greenhouse {kind} list", "(body)", f"expected a JSON array, got {_kind(payload)}"
        )
    fast: Any = _FAST_PATHS.get(cls)
    if fast is None:
        return [structure(item, cls, record_name(kind, item, i)) for i, item in enumerate(payload)]
    out: list[T] = []
    for i, item in enumerate(payload):
        row = fast(item)
        out.append(row if row is not None else structure(item, cls, record_name(kind, item, i)))
    return out


# --- fast paths for plain list rows ----------------------------------------------------------
#
# A pipeline listing structures two rows per person (the application, then the candidate
# looked up by id), and cattrs' generic per-field dispatch was most of the plugin's CPU per
# person. These build the same objects directly from a row whose fields all have the
# expected JSON types, and return None for anything else (a missing required field, a wrong
# type, a bad date, a dict subclass): the strict converter then takes that row and reports
# the problem exactly as before. tests/test_mapping_fast.py proves both paths agree.


def _plain_when(value: Any) -> datetime | bool | None:
    """A nullable date-time field's value, or False when the converter must decide."""
    if value is None:
        return None
    if type(value) is not str:
        return False
    try:
        return parse_datetime(value)
    except ValueError:
        return False


def _plain_application(raw: Any) -> GhApplication | None:
    if type(raw) is not dict:
        return None
    get = raw.get
    app_id, candidate_id, job_id = get("id"), get("candidate_id"), get("job_id")
    stage_id, status, stage_name = get("job_interview_stage_id"), get("status"), get("stage_name")
    prospect, job_ids = get("prospect"), get("job_ids")
    if job_ids is not None and (
        type(job_ids) is not list or any(type(j) is not int for j in job_ids)
    ):
        return None
    if (
        type(app_id) is not int
        or type(candidate_id) is not int
        or not (job_id is None or type(job_id) is int)
        or not (stage_id is None or type(stage_id) is int)
        or not (prospect is None or type(prospect) is bool)
        or not (status is None or type(status) is str)
        or not (stage_name is None or type(stage_name) is str)
    ):
        return None
    updated_raw, last_raw = get("updated_at"), get("last_activity_at")
    updated_at = _plain_when(updated_raw)
    # Usually the same instant as updated_at: parse it once (datetimes are immutable).
    last_activity_at = updated_at if last_raw == updated_raw else _plain_when(last_raw)
    if updated_at is False or last_activity_at is False:
        return None
    return GhApplication(
        id=app_id,
        candidate_id=candidate_id,
        status=status,
        job_id=job_id,
        job_ids=job_ids,
        prospect=prospect,
        stage_name=stage_name,
        job_interview_stage_id=stage_id,
        updated_at=updated_at,  # type: ignore[arg-type]  # False was ruled out above
        last_activity_at=last_activity_at,  # type: ignore[arg-type]
    )


_NO_VALUES: Any = object()  # a list the converter must look at


def _plain_values(items: Any) -> list[GhValue] | None:
    if items is None:
        return None
    if type(items) is not list:
        return _NO_VALUES
    out = []
    for item in items:
        if type(item) is not dict:
            return _NO_VALUES
        value = item.get("value")
        if not (value is None or type(value) is str):
            return _NO_VALUES
        out.append(GhValue(value))
    return out


def _plain_candidate(raw: Any) -> GhCandidate | None:
    if type(raw) is not dict:
        return None
    get = raw.get
    person_id = get("id")
    first, last, company = get("first_name"), get("last_name"), get("company")
    if (
        type(person_id) is not int
        or not (first is None or type(first) is str)
        or not (last is None or type(last) is str)
        or not (company is None or type(company) is str)
    ):
        return None
    emails = _plain_values(get("email_addresses"))
    phones = _plain_values(get("phone_numbers"))
    social = _plain_values(get("social_media_addresses"))
    if emails is _NO_VALUES or phones is _NO_VALUES or social is _NO_VALUES:
        return None
    return GhCandidate(
        id=person_id,
        first_name=first,
        last_name=last,
        company=company,
        email_addresses=emails,
        phone_numbers=phones,
        social_media_addresses=social,
    )


_FAST_PATHS: dict[type, Any] = {
    GhApplication: _plain_application,
    GhCandidate: _plain_candidate,
}


def record_name(kind: str, item: Any, index: int) -> str:
    ident = item.get("id") if isinstance(item, dict) else None
    if isinstance(ident, int | str) and not isinstance(ident, bool):
        return f"greenhouse {kind} {str(ident)[:40]}"
    return f"greenhouse {kind} #{index}"


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# --- jobs --------------------------------------------------------------------------------------

JOB_STATUSES = {"open": JobStatus.OPEN, "closed": JobStatus.CLOSED, "draft": JobStatus.DRAFT}


def job_status(raw: str, record: str = "greenhouse job") -> JobStatus:
    try:
        return JOB_STATUSES[raw.lower()]
    except KeyError:
        raise PayloadError(record, "status", f"unknown job status {raw[:30]!r}") from None


# Country names as Greenhouse office locations spell them -> ISO 3166 alpha-2.
COUNTRIES = {
    "argentina": "AR",
    "australia": "AU",
    "austria": "AT",
    "belgium": "BE",
    "brazil": "BR",
    "bulgaria": "BG",
    "canada": "CA",
    "chile": "CL",
    "china": "CN",
    "colombia": "CO",
    "croatia": "HR",
    "czech republic": "CZ",
    "czechia": "CZ",
    "denmark": "DK",
    "egypt": "EG",
    "estonia": "EE",
    "finland": "FI",
    "france": "FR",
    "germany": "DE",
    "greece": "GR",
    "hong kong": "HK",
    "hungary": "HU",
    "india": "IN",
    "indonesia": "ID",
    "ireland": "IE",
    "israel": "IL",
    "italy": "IT",
    "japan": "JP",
    "kenya": "KE",
    "latvia": "LV",
    "lithuania": "LT",
    "luxembourg": "LU",
    "malaysia": "MY",
    "mexico": "MX",
    "netherlands": "NL",
    "the netherlands": "NL",
    "new zealand": "NZ",
    "nigeria": "NG",
    "norway": "NO",
    "pakistan": "PK",
    "peru": "PE",
    "philippines": "PH",
    "poland": "PL",
    "portugal": "PT",
    "romania": "RO",
    "serbia": "RS",
    "singapore": "SG",
    "slovakia": "SK",
    "slovenia": "SI",
    "south africa": "ZA",
    "south korea": "KR",
    "korea": "KR",
    "spain": "ES",
    "sweden": "SE",
    "switzerland": "CH",
    "taiwan": "TW",
    "thailand": "TH",
    "turkey": "TR",
    "türkiye": "TR",
    "ukraine": "UA",
    "united arab emirates": "AE",
    "uae": "AE",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "us": "US",
    "vietnam": "VN",
}
_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
US_STATES = frozenset(_STATE_CODES.split(" "))
_REMOTE = re.compile(r"\bremote\b|\banywhere\b", re.IGNORECASE)


def parse_location(text: str | None) -> Location | None:
    """Free-text office location -> Location; ``raw`` always keeps the text.

    Understands "City, Region, Country", "City, Country", "City, ST" (US state code) and a
    bare country; anything else keeps only ``raw`` rather than guessing.
    """
    if text is None or not text.strip():
        return None
    raw = " ".join(text.split())
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if _REMOTE.search(raw) or not parts:
        return Location(raw=raw)
    country = COUNTRIES.get(parts[-1].lower())
    if country is None and len(parts) == 2 and parts[-1] in US_STATES:
        return Location(city=parts[0], region=parts[-1], country_code="US", raw=raw)
    if country is None:
        return Location(raw=raw)
    rest = parts[:-1]
    if not rest:
        return Location(country_code=country, raw=raw)
    city = rest[0]
    region = ", ".join(rest[1:]) or None
    return Location(city=city, region=region, country_code=country, raw=raw)


def office_location(office: GhOffice) -> Location:
    text = office.location.name if office.location and office.location.name else None
    parsed = parse_location(text)
    if parsed is not None:
        return parsed
    # "Remote Locations" style offices have no location text; the office name is all we have.
    return Location(raw=office.name) if office.name else Location()


def pick_job_post(posts: Iterable[GhJobPost]) -> GhJobPost | None:
    """The post a candidate would read: live external first, then active, then any."""
    ranked = sorted(
        posts,
        key=lambda p: (not (p.live and not p.internal), not p.active, bool(p.internal), p.id),
    )
    return ranked[0] if ranked else None


def job_from(
    gh: GhJob,
    offices: dict[int, GhOffice] | None = None,
    post: GhJobPost | None = None,
) -> Job:
    record = f"greenhouse job {gh.id}"
    locations = []
    for office_id in gh.office_ids or ():
        office = (offices or {}).get(office_id)
        if office is not None:
            locations.append(office_location(office))
    return Job(
        ats_id=str(gh.id),
        title=gh.name,
        status=job_status(gh.status, record),
        status_raw=gh.status,
        reference=gh.requisition_id,
        locations=tuple(loc for loc in locations if loc != Location()),
        description=post.content if post is not None else None,
        created_at=gh.created_at,
        updated_at=gh.updated_at,
    )


# --- pipeline ------------------------------------------------------------------------------------

APPLICATION_STATUSES = ("in_process", "active", "rejected", "hired", "converted")
# Stage names are per-job and editable, so only words that are unambiguous across the default
# Greenhouse interview plans decide; anything else in process counts as "in review".
_STAGE_WORDS: tuple[tuple[CandidateStatus, tuple[str, ...]], ...] = (
    (CandidateStatus.OFFERED, ("offer",)),
    (
        CandidateStatus.INTERVIEWING,
        (
            "interview",
            "screen",
            "face to face",
            "onsite",
            "on-site",
            "assessment",
            "take home",
            "take-home",
            "exercise",
            "reference",
        ),
    ),
)


_STAGE_STATUSES: dict[str, CandidateStatus] = {}  # memo: a job has a handful of stages


def stage_status(stage: str | None) -> CandidateStatus:
    if not stage:
        return CandidateStatus.NEW
    known = _STAGE_STATUSES.get(stage)
    if known is None:
        if len(_STAGE_STATUSES) >= 4096:
            _STAGE_STATUSES.clear()
        known = _STAGE_STATUSES[stage] = _stage_status(stage)
    return known


def _stage_status(stage: str) -> CandidateStatus:
    lowered = stage.lower()
    for status, words in _STAGE_WORDS:
        if any(word in lowered for word in words):
            return status
    return CandidateStatus.IN_REVIEW


def application_status(app: GhApplication, stage: str | None) -> CandidateStatus:
    """Unified status of one application.

    ``converted`` rows are prospect applications that were turned into a candidate
    application: the person left this row (the new application carries them on), so it
    reads as ``withdrawn``. Prospects still in process have not applied: ``new``.
    """
    raw = (app.status or "in_process").lower()
    if raw == "rejected":
        return CandidateStatus.REJECTED
    if raw == "hired":
        return CandidateStatus.HIRED
    if raw == "converted":
        return CandidateStatus.WITHDRAWN
    if raw in ("in_process", "active"):
        return CandidateStatus.NEW if app.prospect else stage_status(stage)
    raise PayloadError(f"greenhouse application {app.id}", "status", f"unknown status {raw!r}")


def linkedin_of(values: Iterable[GhValue] | None) -> str | None:
    for item in values or ():
        if item.value and "linkedin.com" in item.value.lower():
            return item.value
    return None


def _values(items: Iterable[GhValue] | None) -> tuple[str, ...]:
    return tuple(item.value for item in items or () if item.value)


def jobs_of(app: GhApplication) -> list[int]:
    """The jobs an application is on: its ``job_id``, else a prospect's ``job_ids``."""
    if app.job_id is not None:
        return [app.job_id]
    return list(dict.fromkeys(app.job_ids or ()))


def candidate_from(
    app: GhApplication,
    person: GhCandidate | None,
    job_id: str,
    stage: str | None = None,
) -> Candidate:
    stage = app.stage_name or stage
    return Candidate(
        ats_id=str(app.candidate_id),
        job_ats_id=str(app.job_id) if app.job_id is not None else job_id,
        status=application_status(app, stage),
        stage=stage,
        status_raw=app.status,
        application_id=str(app.id),
        first_name=person.first_name if person else None,
        last_name=person.last_name if person else None,
        emails=_values(person.email_addresses) if person else (),
        phones=_values(person.phone_numbers) if person else (),
        linkedin_url=linkedin_of(person.social_media_addresses) if person else None,
        company=person.company if person else None,
        updated_at=app.updated_at or app.last_activity_at,
    )


# --- lead push -----------------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def format_timestamp(when: datetime) -> str:
    """Greenhouse's date form: UTC, milliseconds, ``Z``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def updated_filter(since: datetime) -> str:
    """``updated_at`` value in the documented pipe form."""
    return f"gte|{format_timestamp(since)}"


def lead_date(value: str | None, field: str) -> str | None:
    """Lead date (YYYY, YYYY-MM, YYYY-MM-DD) -> Greenhouse timestamp at its first day."""
    if value is None:
        return None
    match = _DATE.match(value.strip())
    if not match:
        raise BadInput(f"lead {field}: {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
    try:
        return format_timestamp(datetime(year, month, day, tzinfo=UTC))
    except ValueError:
        raise BadInput(f"lead {field}: {value!r} is not a real date") from None


def current_experience(lead: Lead) -> Experience | None:
    current = [e for e in lead.experiences if e.current] or list(lead.experiences)
    return current[0] if current else None


def candidate_body(lead: Lead, job_id: int, source_id: int | None) -> tuple[dict, list[str]]:
    """``POST /v3/candidates`` body with its nested application, and the lead fields left out.

    Only the fields the notes show for v3 creation are sent; location, tags and (without a
    configured source id) the source have no confirmed v3 create field.
    """
    unsupported: list[str] = []
    job = current_experience(lead)
    body: dict[str, Any] = {"first_name": lead.first_name, "last_name": lead.last_name}
    if job is not None:
        body["company"] = job.company
    title = lead.headline or (job.title if job is not None else None)
    if title:
        body["title"] = title
    if lead.emails:
        body["email_addresses"] = [{"value": e, "type": "personal"} for e in lead.emails]
    if lead.phones:
        body["phone_numbers"] = [{"value": p, "type": "mobile"} for p in lead.phones]
    if lead.linkedin_url:
        body["social_media_addresses"] = [{"value": lead.linkedin_url}]
    body["application"] = application_body(job_id, source_id)
    if lead.location is not None and lead.location.words():
        unsupported.append("location")
    if lead.tags:
        unsupported.append("tags")
    if source_id is None and lead.source:
        unsupported.append("source")
    return body, unsupported


def application_body(job_id: int, source_id: int | None, candidate_id: int | None = None) -> dict:
    body: dict[str, Any] = {}
    if candidate_id is not None:
        body["candidate_id"] = candidate_id
    body["job_id"] = job_id
    if source_id is not None:
        body["source_id"] = source_id
    return body


def employment_body(candidate_id: int, exp: Experience, index: int) -> dict:
    return {
        "candidate_id": candidate_id,
        "company_name": exp.company,
        "title": exp.title,
        "start_date": lead_date(exp.start, f"experiences[{index}].start"),
        "end_date": None if exp.current else lead_date(exp.end, f"experiences[{index}].end"),
    }


def education_body(
    candidate_id: int,
    edu: Education,
    index: int,
    school_id: int,
    degree_id: int | None,
    discipline_id: int | None,
) -> dict:
    body: dict[str, Any] = {
        "candidate_id": candidate_id,
        "school_name_custom_field_option_id": school_id,
    }
    if degree_id is not None:
        body["degree_custom_field_option_id"] = degree_id
    if discipline_id is not None:
        body["discipline_custom_field_option_id"] = discipline_id
    start = lead_date(edu.start, f"educations[{index}].start")
    end = lead_date(edu.end, f"educations[{index}].end")
    if start:
        body["start_date"] = start
    if end:
        body["end_date"] = end
    return body


def normalize_name(text: str) -> str:
    """Comparison key for option names: case, accents-insensitive spacing and punctuation."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", folded).split())


def same_employment(existing: GhEmployment, body: dict) -> bool:
    return (
        normalize_name(existing.company_name or "") == normalize_name(body["company_name"] or "")
        and normalize_name(existing.title or "") == normalize_name(body["title"] or "")
        and _day(existing.start_date) == _day(body["start_date"])
    )


def same_education(existing: GhEducation, body: dict) -> bool:
    return (
        existing.school_name_custom_field_option_id == body["school_name_custom_field_option_id"]
        and existing.degree_custom_field_option_id == body.get("degree_custom_field_option_id")
        and _day(existing.start_date) == _day(body.get("start_date"))
    )


def _day(value: str | None) -> str | None:
    return value[:10] if value else None
