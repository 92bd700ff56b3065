"""Lever payloads <-> atsbridge models.

Lever hands out JSON whose shape we only know from its docs and third-party clients, so every
read goes through the small strict readers below: a value of the wrong type raises
``PayloadError`` naming the record (``posting 5b0e…``) and the dotted field path, never a
``KeyError``/``TypeError`` from deep inside a sync.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
from atsbridge.errors import PayloadError
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

from atsbridge_lever import unconfirmed

# --- strict readers ----------------------------------------------------------------------

_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z; beyond this datetime cannot go


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def as_object(value: Any, record: str, field: str = "(record)") -> dict:
    if not isinstance(value, dict):
        raise PayloadError(record, field, f"expected an object, got {_type_name(value)}")
    return value


def opt_str(obj: dict, key: str, record: str, prefix: str = "") -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(record, prefix + key, f"expected a string, got {_type_name(value)}")
    return value


def req_str(obj: dict, key: str, record: str, prefix: str = "") -> str:
    value = opt_str(obj, key, record, prefix)
    if not value:
        raise PayloadError(record, prefix + key, "missing or empty")
    return value


def opt_obj(obj: dict, key: str, record: str, prefix: str = "") -> dict | None:
    value = obj.get(key)
    if value is None:
        return None
    return as_object(value, record, prefix + key)


def opt_list(obj: dict, key: str, record: str, prefix: str = "") -> list:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(record, prefix + key, f"expected a list, got {_type_name(value)}")
    return value


def str_list(obj: dict, key: str, record: str, prefix: str = "") -> list[str]:
    out = []
    for i, item in enumerate(opt_list(obj, key, record, prefix)):
        if not isinstance(item, str):
            raise PayloadError(
                record, f"{prefix}{key}[{i}]", f"expected a string, got {_type_name(item)}"
            )
        out.append(item)
    return out


def ms_to_datetime(value: Any, record: str, field: str) -> datetime | None:
    """Lever timestamps are integer epoch milliseconds (UTC)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(record, field, f"expected epoch milliseconds, got {_type_name(value)}")
    if value != value or not 0 <= value <= _MAX_MS:  # NaN or out of range
        raise PayloadError(record, field, f"epoch milliseconds out of range: {value!r}")
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def opt_ms(obj: dict, key: str, record: str, prefix: str = "") -> datetime | None:
    return ms_to_datetime(obj.get(key), record, prefix + key)


def datetime_to_ms(when: datetime) -> int:
    if when.tzinfo is None:  # the core speaks UTC; a naive value is taken as UTC
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def page_data(body: Any, what: str) -> list[dict]:
    """The ``data`` list of a Lever list response, every item an object."""
    obj = as_object(body, what, "(body)")
    items = obj.get("data")
    if not isinstance(items, list):
        raise PayloadError(what, "data", f"expected a list, got {_type_name(items)}")
    for i, item in enumerate(items):
        as_object(item, what, f"data[{i}]")
    return items


def single_data(body: Any, what: str) -> dict:
    """The ``data`` object of a Lever single-record response (``{"data": {...}}``)."""
    obj = as_object(body, what, "(body)")
    return as_object(obj.get("data"), what, "data")


def _record(kind: str, payload: dict, index: int | None = None) -> str:
    ident = payload.get("id")
    if isinstance(ident, str) and ident:
        return f"{kind} {ident}"
    return f"{kind} #{index}" if index is not None else kind


# --- postings -> jobs --------------------------------------------------------------------

# Lever posting states. published and internal are live; closed is closed; the rest never
# went live (draft, pending approval, rejected at approval), which is our DRAFT.
POSTING_STATES: dict[str, JobStatus] = {
    "published": JobStatus.OPEN,
    "internal": JobStatus.OPEN,
    "closed": JobStatus.CLOSED,
    "draft": JobStatus.DRAFT,
    "pending": JobStatus.DRAFT,
    "rejected": JobStatus.DRAFT,
}


def posting_states_for(statuses: Iterable[JobStatus] | None) -> list[str] | None:
    """Lever ``state`` values covering ``statuses``; None means "no filter".

    Lever has no on-hold state, so asking only for ON_HOLD yields an empty list: nothing in
    Lever can match, and the caller must not send an unfiltered request instead.
    """
    if statuses is None:
        return None
    wanted = set(statuses)
    return [state for state, status in POSTING_STATES.items() if status in wanted]


def job_status(state: Any, record: str) -> JobStatus:
    if not isinstance(state, str):
        raise PayloadError(record, "state", f"expected a string, got {_type_name(state)}")
    try:
        return POSTING_STATES[state]
    except KeyError:
        known = ", ".join(POSTING_STATES)
        raise PayloadError(
            record, "state", f"unknown posting state {state!r} (known: {known})"
        ) from None


def _city_of(place: str) -> str | None:
    head = place.split(",", 1)[0].strip()
    return head or None


def posting_locations(posting: dict, record: str) -> tuple[Location, ...]:
    categories = opt_obj(posting, "categories", record) or {}
    country = opt_str(posting, "country", record)
    primary = opt_str(categories, "location", record, "categories.")
    # allLocations may sit in categories (documented clients) or at the top level.
    extra = str_list(categories, "allLocations", record, "categories.") or str_list(
        posting, "allLocations", record
    )
    out: list[Location] = []
    seen: set[str] = set()
    for i, place in enumerate([primary, *extra]):
        if not place or not place.strip() or place in seen:
            continue
        seen.add(place)
        # Lever's country code belongs to the posting's primary location only.
        code = country.upper() if country and i == 0 else None
        out.append(Location(city=_city_of(place), country_code=code, raw=place))
    if not out and country:
        out.append(Location(country_code=country.upper()))
    return tuple(out)


def posting_to_job(payload: Any, index: int | None = None) -> Job:
    posting = as_object(payload, f"posting #{index}" if index is not None else "posting")
    record = _record("posting", posting, index)
    ident = req_str(posting, "id", record)
    state = posting.get("state")
    status = job_status(state, record)
    categories = opt_obj(posting, "categories", record) or {}
    codes = str_list(posting, "requisitionCodes", record)
    reference = opt_str(posting, "reqCode", record) or (codes[0] if codes else None)
    content = opt_obj(posting, "content", record) or {}
    urls = opt_obj(posting, "urls", record) or {}
    return Job(
        ats_id=ident,
        title=req_str(posting, "text", record),
        status=status,
        status_raw=str(state),
        reference=reference,
        locations=posting_locations(posting, record),
        department=opt_str(categories, "department", record, "categories.")
        or opt_str(categories, "team", record, "categories."),
        employment_type=opt_str(categories, "commitment", record, "categories."),
        description=opt_str(content, "descriptionHtml", record, "content.")
        or opt_str(content, "description", record, "content."),
        url=opt_str(urls, "show", record, "urls."),
        created_at=opt_ms(posting, "createdAt", record),
        updated_at=opt_ms(posting, "updatedAt", record),
    )


# --- stages and archive reasons ----------------------------------------------------------


@attrs.frozen
class ArchiveReason:
    id: str
    text: str
    type: str | None  # "hired" | "non-hired" (key: unconfirmed.ARCHIVE_REASON_TYPE_KEY)


def parse_stages(items: Iterable[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, item in enumerate(items):
        stage = as_object(item, f"stage #{i}")
        record = _record("stage", stage, i)
        out[req_str(stage, "id", record)] = opt_str(stage, "text", record) or ""
    return out


def parse_archive_reasons(items: Iterable[Any]) -> dict[str, ArchiveReason]:
    out: dict[str, ArchiveReason] = {}
    for i, item in enumerate(items):
        reason = as_object(item, f"archive reason #{i}")
        record = _record("archive reason", reason, i)
        ident = req_str(reason, "id", record)
        out[ident] = ArchiveReason(
            ident,
            opt_str(reason, "text", record) or "",
            opt_str(reason, unconfirmed.ARCHIVE_REASON_TYPE_KEY, record),
        )
    return out


# Lever's default pipeline stages have fixed ids; custom stages are uuids, so for those
# the stage name decides. Order matters: "Offer" before "interview" and "screen".
_DEFAULT_STAGE_IDS = {
    "lead-new": CandidateStatus.NEW,
    "lead-reached-out": CandidateStatus.NEW,
    "lead-responded": CandidateStatus.NEW,
    "applicant-new": CandidateStatus.NEW,
    "offer": CandidateStatus.OFFERED,
}
_STAGE_WORDS = (
    ("offer", CandidateStatus.OFFERED),
    ("interview", CandidateStatus.INTERVIEWING),
    ("on-site", CandidateStatus.INTERVIEWING),
    ("onsite", CandidateStatus.INTERVIEWING),
    ("screen", CandidateStatus.IN_REVIEW),
    ("review", CandidateStatus.IN_REVIEW),
    ("new", CandidateStatus.NEW),
    ("lead", CandidateStatus.NEW),
    ("reached out", CandidateStatus.NEW),
    ("responded", CandidateStatus.NEW),
)


def stage_status(stage_id: str | None, stage_name: str | None) -> CandidateStatus:
    """Unified status of a live (not archived) opportunity from its pipeline stage."""
    if stage_id is None and not stage_name:
        return CandidateStatus.NEW
    if stage_id in _DEFAULT_STAGE_IDS:
        return _DEFAULT_STAGE_IDS[stage_id]
    name = (stage_name or "").lower()
    for word, status in _STAGE_WORDS:
        if word in name:
            return status
    # A custom stage we cannot read is somewhere past "new" and before an offer.
    return CandidateStatus.IN_REVIEW


def archived_status(reason: ArchiveReason | None) -> CandidateStatus:
    """Hired or not, from the archive reason's type; unknown reasons count as rejected."""
    if reason is None:
        return CandidateStatus.REJECTED
    kind = (reason.type or "").lower()
    if kind == unconfirmed.ARCHIVE_REASON_HIRED or (
        not kind and reason.text.strip().lower() == "hired"
    ):
        return CandidateStatus.HIRED
    if "withdr" in reason.text.lower():
        return CandidateStatus.WITHDRAWN
    return CandidateStatus.REJECTED


# --- opportunities -> candidates -----------------------------------------------------------


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """Lever keeps one ``name``; the first word is taken as the first name."""
    if not name or not name.strip():
        return None, None
    parts = name.strip().split(None, 1)
    return parts[0], (parts[1] if len(parts) > 1 else None)


def _stage_of(opp: dict, record: str, stages: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(stage id, stage name): ``stage`` is an object with ``expand=stage``, else an id."""
    raw = opp.get("stage")
    if raw is None:
        return None, None
    if isinstance(raw, str):
        return raw, stages.get(raw)
    stage = as_object(raw, record, "stage")
    ident = req_str(stage, "id", record, "stage.")
    return ident, opt_str(stage, "text", record, "stage.") or stages.get(ident)


def stage_ids_of(payloads: Iterable[Any]) -> set[str]:
    """Stage ids a page refers to without a name (so the caller can refresh its names)."""
    out = set()
    for opp in payloads:
        if isinstance(opp, dict) and isinstance(opp.get("stage"), str):
            out.add(opp["stage"])
    return out


def archive_reason_ids_of(payloads: Iterable[Any]) -> set[str]:
    out = set()
    for opp in payloads:
        archived = opp.get("archived") if isinstance(opp, dict) else None
        if isinstance(archived, dict) and isinstance(archived.get("reason"), str):
            out.add(archived["reason"])
    return out


def opportunity_to_candidate(
    payload: Any,
    job_id: str,
    stages: Mapping[str, str],
    reasons: Mapping[str, ArchiveReason],
    index: int | None = None,
) -> Candidate:
    opp = as_object(payload, f"opportunity #{index}" if index is not None else "opportunity")
    record = _record("opportunity", opp, index)
    ident = req_str(opp, "id", record)
    contact = req_str(opp, "contact", record)
    first, last = split_name(opt_str(opp, "name", record))
    stage_id, stage_name = _stage_of(opp, record, stages)
    archived = opt_obj(opp, "archived", record)
    status_raw: str | None
    if archived is not None:
        # archivedAt is not read: an API that stamps it differently must not break a sync.
        reason_id = opt_str(archived, "reason", record, "archived.")
        reason = reasons.get(reason_id) if reason_id else None
        status = archived_status(reason)
        status_raw = reason.text if reason and reason.text else f"archived:{reason_id or ''}"
    else:
        status = stage_status(stage_id, stage_name)
        status_raw = stage_name or stage_id
    phones = []
    for i, phone in enumerate(opt_list(opp, "phones", record)):
        entry = as_object(phone, record, f"phones[{i}]")
        value = opt_str(entry, "value", record, f"phones[{i}].")
        if value:
            phones.append(value)
    links = str_list(opp, "links", record)
    linkedin = next((link for link in links if "linkedin.com/" in link.lower()), None)
    place = opt_str(opp, "location", record)
    return Candidate(
        ats_id=contact,
        job_ats_id=job_id,
        status=status,
        stage=stage_name or stage_id,
        status_raw=status_raw,
        application_id=ident,
        first_name=first,
        last_name=last,
        emails=str_list(opp, "emails", record),
        phones=phones,
        linkedin_url=linkedin,
        city=_city_of(place) if place else None,
        updated_at=opt_ms(opp, "updatedAt", record),
    )


def opportunities_to_candidates(
    payloads: Iterable[Any],
    job_id: str,
    stages: Mapping[str, str],
    reasons: Mapping[str, ArchiveReason],
) -> list[Candidate]:
    """``opportunity_to_candidate`` for every item of a listing page, in order.

    The common well-formed row goes through ``_plain_candidate``; any row it steps aside
    for goes through ``opportunity_to_candidate``, which maps it or raises the
    ``PayloadError`` naming the bad field. A page's rows share a handful of stages and
    archive reasons, so their statuses are worked out once per page, and the rows share
    those strings (one copy each in the pickle that carries the page to the storing worker).
    """
    by_stage: dict[tuple[Any, Any], tuple[str | None, CandidateStatus]] = {}
    by_reason: dict[Any, tuple[CandidateStatus, str]] = {}
    out = []
    for i, payload in enumerate(payloads):
        cand = _plain_candidate(payload, job_id, stages, reasons, by_stage, by_reason)
        if cand is None:
            cand = opportunity_to_candidate(payload, job_id, stages, reasons, i)
        out.append(cand)
    return out


def opportunity_postings(payload: Any, index: int | None = None) -> list[str]:
    """The posting ids an opportunity's (expanded) ``applications`` name, in order, once.

    The account-wide listing asks for ``expand=applications``: each application is an
    object whose ``posting`` is the posting id, or null for a general lead (no job). An
    application given as a bare id means the expansion did not happen, which would lose
    every job assignment silently, so it is a ``PayloadError``.
    """
    opp = as_object(payload, f"opportunity #{index}" if index is not None else "opportunity")
    record = _record("opportunity", opp, index)
    out: list[str] = []
    for i, app in enumerate(opt_list(opp, "applications", record)):
        if isinstance(app, str):
            raise PayloadError(
                record, f"applications[{i}]", "an application id, not the expanded object"
            )
        entry = as_object(app, record, f"applications[{i}]")
        posting = opt_str(entry, "posting", record, f"applications[{i}].")
        if posting and posting not in out:
            out.append(posting)
    return out


def account_candidates(
    payloads: Iterable[Any],
    stages: Mapping[str, str],
    reasons: Mapping[str, ArchiveReason],
) -> list[Candidate]:
    """One ``Candidate`` per (opportunity, posting) of an account-wide listing page.

    Each carries the posting of its application as ``job_ats_id``; an opportunity without
    a posting (a general lead) is left out, as the hook contract says.
    """
    by_stage: dict[tuple[Any, Any], tuple[str | None, CandidateStatus]] = {}
    by_reason: dict[Any, tuple[CandidateStatus, str]] = {}
    out = []
    for i, payload in enumerate(payloads):
        for posting in opportunity_postings(payload, i):
            cand = _plain_candidate(payload, posting, stages, reasons, by_stage, by_reason)
            if cand is None:
                cand = opportunity_to_candidate(payload, posting, stages, reasons, i)
            out.append(cand)
    return out


def _plain_candidate(
    opp: Any,
    job_id: str,
    stages: Mapping[str, str],
    reasons: Mapping[str, ArchiveReason],
    by_stage: dict[tuple[Any, Any], tuple[str | None, CandidateStatus]],
    by_reason: dict[Any, tuple[CandidateStatus, str]],
) -> Candidate | None:
    """``opportunity_to_candidate`` for a row whose every read field has its plain type.

    The same reads, with the strict readers' checks inlined; None for anything else (a
    value of another type, a float timestamp, a dict or str subclass), and the strict path
    then maps the row or raises its ``PayloadError``. ``by_stage`` and ``by_reason`` are the
    caller's per-page caches: (stage id, stage text) -> (stage, live status) and archive
    reason id -> (status, status_raw). A bulk sync maps hundreds of thousands of rows;
    this is most of the plugin's per-row cost.
    """
    if type(opp) is not dict:
        return None
    get = opp.get
    ident, contact, name = get("id"), get("contact"), get("name")
    if type(ident) is not str or not ident or type(contact) is not str or not contact:
        return None
    first = last = None
    if name is not None:
        if type(name) is not str:
            return None
        name = name.strip()
        if name:
            parts = name.split(None, 1)
            first = parts[0]
            last = parts[1] if len(parts) > 1 else None
    raw_stage = get("stage")
    if raw_stage is None or type(raw_stage) is str:
        key: tuple[Any, Any] = (raw_stage, None)
    elif type(raw_stage) is dict:
        key = (raw_stage.get("id"), raw_stage.get("text"))
        if type(key[0]) is not str or not key[0]:
            return None
        if key[1] is not None and type(key[1]) is not str:
            return None
    else:
        return None
    known = by_stage.get(key)
    if known is None:
        stage_id, text = key
        stage_name = (text or stages.get(stage_id)) if stage_id is not None else None
        known = by_stage[key] = (stage_name or stage_id, stage_status(stage_id, stage_name))
    stage, status = known
    status_raw = stage
    archived = get("archived")
    if archived is not None:
        if type(archived) is not dict:
            return None
        reason_id = archived.get("reason")
        if reason_id is not None and type(reason_id) is not str:
            return None
        outcome = by_reason.get(reason_id)
        if outcome is None:
            reason = reasons.get(reason_id) if reason_id else None
            text = reason.text if reason and reason.text else f"archived:{reason_id or ''}"
            outcome = by_reason[reason_id] = (archived_status(reason), text)
        status, status_raw = outcome
    phones = []
    raw_phones = get("phones")
    if raw_phones is not None:
        if type(raw_phones) is not list:
            return None
        for phone in raw_phones:
            if type(phone) is not dict:
                return None
            value = phone.get("value")
            if value is not None:
                if type(value) is not str:
                    return None
                if value:
                    phones.append(value)
    emails = get("emails")
    if emails is None:
        emails = ()
    elif type(emails) is not list:
        return None
    else:
        for email in emails:
            if type(email) is not str:
                return None
    linkedin = None
    links = get("links")
    if links is not None:
        if type(links) is not list:
            return None
        for link in links:
            if type(link) is not str:
                return None
            if linkedin is None and "linkedin.com/" in link.lower():
                linkedin = link
    city = None
    place = get("location")
    if place is not None:
        if type(place) is not str:
            return None
        if place:
            city = place.split(",", 1)[0].strip() or None
    updated = get("updatedAt")
    if updated is not None:
        if type(updated) is not int or not 0 <= updated <= _MAX_MS:
            return None
        updated = datetime.fromtimestamp(updated / 1000, tz=UTC)
    # Positional, in Candidate's field order (keywords cost a third of the call):
    # ats_id, job_ats_id, status, stage, status_raw, application_id, first_name, last_name,
    # emails, phones, linkedin_url, company, city, updated_at.
    return Candidate(
        contact,
        job_id,
        status,
        stage,
        status_raw,
        ident,
        first,
        last,
        emails,
        phones,
        linkedin,
        None,
        city,
        updated,
    )


# --- leads -> opportunity create ----------------------------------------------------------


def location_text(location: Location | None) -> str | None:
    if location is None:
        return None
    parts = [p for p in (location.city, location.region, location.country_code) if p]
    text = ", ".join(parts) or (location.raw or "")
    return text or None


def lead_to_opportunity(lead: Lead, posting_id: str) -> dict:
    """The JSON body of ``POST /opportunities`` for a lead sourced onto one posting."""
    body: dict[str, Any] = {
        "name": " ".join(p for p in (lead.first_name, lead.last_name) if p).strip(),
        "emails": list(lead.emails),
        "origin": "sourced",
        "postings": [posting_id],
    }
    if lead.headline:
        body["headline"] = lead.headline
    if lead.phones:
        body["phones"] = [{"type": unconfirmed.LEAD_PHONE_TYPE, "value": p} for p in lead.phones]
    if lead.linkedin_url:
        body["links"] = [lead.linkedin_url]
    place = location_text(lead.location)
    if place:
        body["location"] = place
    if lead.tags:
        body["tags"] = list(lead.tags)
    if lead.source:
        body["sources"] = [lead.source]
    return body


def push_marker(idempotency_key: str) -> str:
    """A line in our note that lets a replayed push recognise the note it already wrote.

    A hash, not the key itself: the key embeds tenant and product ids that recruiters need
    not see.
    """
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
    return f"atsbridge-ref: {digest}"


def _span(start: str | None, end: str | None, current: bool = False) -> str:
    if not start and not end and not current:
        return ""
    return f" ({start or '?'} – {'present' if current and not end else end or '?'})"


def _experience_line(exp: Experience) -> str:
    head = f"{exp.title} at {exp.company}" if exp.title else exp.company
    line = f"- {head}{_span(exp.start, exp.end, exp.current)}"
    return f"{line}: {exp.description}" if exp.description else line


def _education_line(edu: Education) -> str:
    what = ", ".join(p for p in (edu.degree, edu.field) if p)
    head = f"{what} — {edu.school}" if what else edu.school
    return f"- {head}{_span(edu.start, edu.end)}"


def lead_note(lead: Lead, idempotency_key: str) -> str | None:
    """A readable note with what Lever has no structured field for, or None if nothing."""
    if not lead.experiences and not lead.educations:
        return None
    lines = [f"Sourced profile from {lead.source or 'atsbridge'}"]
    if lead.experiences:
        lines += ["", "Experience:", *(_experience_line(e) for e in lead.experiences)]
    if lead.educations:
        lines += ["", "Education:", *(_education_line(e) for e in lead.educations)]
    lines += ["", push_marker(idempotency_key)]
    return "\n".join(lines)


def note_texts(payloads: Iterable[Any]) -> list[str]:
    """Every text value of a notes listing (``fields[].value`` and the top-level ``text``)."""
    out: list[str] = []
    for i, item in enumerate(payloads):
        note = as_object(item, f"note #{i}")
        record = _record("note", note, i)
        text = opt_str(note, "text", record)
        if text:
            out.append(text)
        for j, field in enumerate(opt_list(note, "fields", record)):
            entry = as_object(field, record, f"fields[{j}]")
            value = entry.get("value")
            if isinstance(value, str):
                out.append(value)
    return out


def file_names(payloads: Iterable[Any]) -> set[str]:
    out: set[str] = set()
    for i, item in enumerate(payloads):
        entry = as_object(item, f"file #{i}")
        name = opt_str(entry, "name", _record("file", entry, i))
        if name:
            out.add(name)
    return out
