"""A faithful fake of Workday's SOAP Recruiting web service, on loopback.

One SOAP endpoint per tenant and version (``POST /ccx/service/{tenant}/Recruiting/{version}``)
dispatches on the operation element in the body, as Workday does; the OAuth2 token endpoint
(``POST /ccx/oauth2/{tenant}/token``) lives on the same server. Auth is a WS-Security
UsernameToken in the envelope or an OAuth2 Bearer header. Failures are SOAP faults with HTTP
500, as Workday sends them. ``shape`` picks which of the two element-name variants of the API
notes (4.2-4.3 vs 4.9) responses use, so the plugin is tested against both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import math
import re
import secrets
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta, timezone

import attrs
from atsbridge.model import CandidateStatus, JobStatus, SandboxOptions
from atsbridge_sdk.sandbox import (
    JobFacts,
    PersonFacts,
    Sandbox,
    SandboxRequest,
    SandboxResponse,
    SeedPerson,
    TokenBucketLimit,
    json_response,
    make_world,
    route,
    xml_response,
)

from atsbridge_workday.soap import (
    ENV,
    PASSWORD_TEXT,
    WSSE,
    ValidationError,
    child,
    children,
    fault_envelope,
    local,
    parse,
    ref_ids,
    reference,
    sub,
    text,
    wd,
)

TENANT = "acme1"
VERSION = "v45.2"
ISU = f"isu_atsbridge@{TENANT}"
PASSWORD = "sandbox-isu-password"
CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-client-secret"
REFRESH_TOKEN = "sandbox-refresh-token"
VERSION_RE = re.compile(r"^v\d{1,2}\.\d$")

# What the seed's unified values look like in this tenant.
SEED_STATUS = {"open": "Open", "closed": "Filled", "on_hold": "Frozen", "draft": "Frozen"}
RAW_STATUS = {"Open": JobStatus.OPEN, "Filled": JobStatus.CLOSED, "Closed": JobStatus.CLOSED}
STAGES = (
    "REVIEW",
    "SCREEN",
    "ASSESSMENT",
    "INTERVIEW",
    "REFERENCE_CHECK",
    "OFFER",
    "EMPLOYMENT_AGREEMENT",
    "BACKGROUND_CHECK",
    "READY_FOR_HIRE",
    "HIRED",
)
STAGE_NAMES = {s: s.replace("_", " ").title() for s in STAGES}
# Recruiting_Stage_IDs are the tenant's own (notes 4.9: [U]); this tenant spells them in
# mixed case ("Review", "Ready_For_Hire"), unlike the default process's names above.
TENANT_STAGE_IDS = {s: "_".join(w.capitalize() for w in s.split("_")) for s in STAGES}
SEED_STAGE = {
    "new": ("REVIEW", None),
    "in_review": ("SCREEN", None),
    "interviewing": ("INTERVIEW", None),
    "offered": ("OFFER", None),
    "hired": ("HIRED", None),
    "rejected": ("SCREEN", "NOT_QUALIFIED"),
    "withdrawn": ("REVIEW", "CANDIDATE_WITHDREW"),
}
MAX_COUNT = 999
# The tenant's time zone: its xsd:dates carry the offset, as Workday writes them
# ("2026-10-01-08:00").
TENANT_TZ = timezone(timedelta(hours=-8))
TENANT_OFFSET = "-08:00"


class Fault(Exception):
    """Raised inside a handler; becomes a SOAP fault response."""

    def __init__(self, code: str, message: str, errors: tuple[ValidationError, ...] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors


def validation(message: str, xpath: str, detail: str | None = None) -> Fault:
    return Fault(
        "SOAP-ENV:Client.validationError",
        f"Validation error occurred. {message}",
        (ValidationError(message, detail, xpath),),
    )


def invalid_id(value: str, id_type: str, xpath: str) -> Fault:
    return validation(
        f"Invalid ID value. '{value}' is not a valid ID value for type = '{id_type}'", xpath
    )


@attrs.define
class Requisition:
    req_id: str
    wid: str
    title: str
    status: str
    location_id: str
    location_name: str
    city: str
    country_code: str
    description: str
    updated_at: datetime
    # Recruiting_Start_Date (the opening) and Target_Hire_Date: xsd:dates in the tenant's
    # time zone. There is no update time in requisition data (the transaction log has it).
    recruiting_start: date | None = None
    target_hire: date | None = None


@attrs.define
class JobApplication:
    application_id: str
    req_id: str
    stage: str
    disposition: str | None
    updated_at: datetime


@attrs.define
class Person:
    candidate_id: str
    wid: str
    first_name: str
    last_name: str
    emails: list[str]
    phones: list[str] = attrs.field(factory=list)
    linkedin_url: str | None = None
    applications: list[JobApplication] = attrs.field(factory=list)
    experiences: list[dict] = attrs.field(factory=list)
    educations: list[dict] = attrs.field(factory=list)
    attachments: list[tuple[str, bytes]] = attrs.field(factory=list)
    updated_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)


def _wid(*parts: object) -> str:
    return hashlib.md5("/".join(map(str, parts)).encode()).hexdigest()


class WorkdaySandbox(Sandbox):
    name = "workday"
    # Workday publishes no figure; the plugin declares ~10 calls/s and this enforces it.
    rate_limit = TokenBucketLimit(rate=10.0, burst=10)

    def __init__(self, options: SandboxOptions = SandboxOptions(), *, shape: str = "notes"):
        super().__init__(options)
        if shape not in ("notes", "wsdl"):
            raise ValueError("shape must be 'notes' or 'wsdl'")
        self.shape = shape
        self.tenant = TENANT
        self.requisitions: dict[str, Requisition] = {}
        self.store: dict[str, Person] = {}  # candidate id -> person
        self.tokens: dict[str, str] = {}  # access token -> client id
        self.rotate_refresh_tokens = False
        self.refresh_token = REFRESH_TOKEN
        self.operations: list[str] = []  # operation names, in the order received
        # Paging totals an implementation may leave out (the notes show them, but not that
        # they are always there): no Response_Results on an empty result, no Total_Pages.
        self.results_when_empty = True
        self.total_pages = True
        # The wd:type(s) a candidate's application names its requisition with; ("WID",)
        # serves references whose type differs from the requisition id the plugin uses.
        self.application_requisition_ids: tuple[str, ...] = ("Job_Requisition_ID",)
        # Default stage name -> this tenant's Recruiting_Stage_ID; Put_Candidate refuses any
        # other id. A version that requires a stage on a new application (notes 4.9) is
        # served with ``stage_required``; otherwise a missing stage means the first one.
        self.stage_ids: dict[str, str] = dict(TENANT_STAGE_IDS)
        self.stage_required = False
        self._ids = itertools.count(1)
        world = make_world(options.seed, options.jobs, options.candidates_per_job)
        for job in world.jobs:
            seed_status = SEED_STATUS[job.status]
            req = Requisition(
                req_id=job.reference,
                wid=_wid(options.seed, "req", job.key),
                title=job.title,
                # Both closed words occur in a tenant: Filled (hired) and Closed (cancelled).
                status="Closed" if job.status == "closed" and job.key % 2 else seed_status,
                location_id=f"LOC-{job.place.country_code}-{job.place.region_code.upper()}",
                location_name=f"{job.place.city}, {job.place.country_code}",
                city=job.place.city,
                country_code=job.place.country_code,
                description=job.description,
                updated_at=job.updated_at,
                recruiting_start=job.created_at.astimezone(TENANT_TZ).date(),
                target_hire=(job.created_at + timedelta(days=90)).astimezone(TENANT_TZ).date(),
            )
            self.requisitions[req.req_id] = req
            for p in world.pipelines[job.key]:
                self._person_from_seed(req.req_id, p, f"C-{p.key:06d}", f"JA-{p.key:06d}")

    # -- helpers -------------------------------------------------------------------------------

    def _next(self, prefix: str, width: int = 6) -> str:
        return f"{prefix}{next(self._ids):0{width}d}"

    @staticmethod
    def _bump(previous: datetime) -> datetime:
        now = datetime.now(UTC)
        return now if now > previous else previous + timedelta(seconds=1)

    def _person_from_seed(
        self, req_id: str, p: SeedPerson, candidate_id: str, application_id: str
    ) -> Person:
        stage, disposition = SEED_STAGE[p.status]
        stage = self.stage_ids[stage]
        person = Person(
            candidate_id=candidate_id,
            wid=_wid(self.options.seed, "cand", candidate_id),
            first_name=p.first_name,
            last_name=p.last_name,
            emails=[p.email],
            phones=[p.phone],
            linkedin_url=p.linkedin_url,
            experiences=[
                {
                    "Company_Name": p.company,
                    "Title": p.title,
                    "Start_Year": "2020",
                    "Currently_Work_Here": "true",
                }
            ],
            updated_at=p.updated_at,
        )
        person.applications.append(
            JobApplication(application_id, req_id, stage, disposition, p.updated_at)
        )
        self.store[candidate_id] = person
        return person

    def _stage_name(self, stage_id: str) -> str:
        canonical = next((k for k, v in self.stage_ids.items() if v == stage_id), stage_id)
        return STAGE_NAMES.get(canonical, stage_id)

    def _find_req(self, req_id: str) -> Requisition:
        try:
            return self.requisitions[req_id]
        except KeyError:
            raise KeyError(f"no requisition {req_id!r} in the sandbox") from None

    # -- the control API -----------------------------------------------------------------------

    def connection_config(self, *, valid: bool = True, auth: str = "isu") -> dict:
        config: dict = {
            "host": "wd5-services1.myworkday.com",
            "tenant": self.tenant,
            "api_version": VERSION,
            "base_url": self.url,
        }
        if auth == "isu":
            config.update(
                auth_type="isu",
                username=ISU,
                password=PASSWORD if valid else "wrong-password",
            )
        else:
            config.update(
                auth_type="oauth2_refresh_token",
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                refresh_token=self.refresh_token if valid else "revoked-refresh-token",
            )
        return config

    def jobs(self) -> list[JobFacts]:
        with self.lock:
            return [
                JobFacts(
                    ats_id=r.req_id,
                    title=r.title,
                    reference=r.req_id,
                    city=r.city,
                    country_code=r.country_code,
                    status=RAW_STATUS.get(r.status, JobStatus.ON_HOLD),
                    updated_at=r.updated_at,
                )
                for r in self.requisitions.values()
            ]

    def pipeline(self, job_id: str) -> list[str]:
        with self.lock:
            return [
                p.candidate_id
                for p in self.store.values()
                if any(a.req_id == job_id for a in p.applications)
            ]

    def set_job_status(self, job_id: str, status: JobStatus) -> None:
        raw = {
            JobStatus.OPEN: "Open",
            JobStatus.CLOSED: "Closed",
            JobStatus.ON_HOLD: "Frozen",
            JobStatus.DRAFT: "Frozen",  # Workday requisitions have no draft state
        }[status]
        with self.lock:
            req = self._find_req(job_id)
            req.status = raw
            req.updated_at = self._bump(req.updated_at)

    def set_recruiting_start(self, job_id: str, day: date | None) -> None:
        """Set (or clear) a requisition's Recruiting_Start_Date."""
        with self.lock:
            req = self._find_req(job_id)
            req.recruiting_start = day
            req.updated_at = self._bump(req.updated_at)

    def rename_job(self, job_id: str, title: str) -> None:
        with self.lock:
            req = self._find_req(job_id)
            req.title = title
            req.updated_at = self._bump(req.updated_at)

    def add_candidate(self, job_id: str, person: SeedPerson) -> str:
        with self.lock:
            self._find_req(job_id)
            added = self._person_from_seed(job_id, person, self._next("C-9"), self._next("JA-9"))
            now = self._bump(added.updated_at)
            added.updated_at = added.applications[0].updated_at = now
            return added.candidate_id

    def remove_candidate(self, job_id: str, candidate_id: str) -> None:
        with self.lock:
            person = self.store[candidate_id]
            person.applications = [a for a in person.applications if a.req_id != job_id]
            person.updated_at = self._bump(person.updated_at)

    def move_candidate(self, job_id: str, candidate_id: str, status: CandidateStatus) -> None:
        stage, disposition = SEED_STAGE[status.value]
        stage = self.stage_ids[stage]
        with self.lock:
            person = self.store[candidate_id]
            for app in person.applications:
                if app.req_id == job_id:
                    app.stage, app.disposition = stage, disposition
                    app.updated_at = self._bump(app.updated_at)
                    person.updated_at = max(person.updated_at, app.updated_at)
                    return
            raise KeyError(f"{candidate_id} has no application on {job_id}")

    def people(self, email: str | None = None) -> list[PersonFacts]:
        with self.lock:
            found = [
                p
                for p in self.store.values()
                if email is None or email.lower() in (e.lower() for e in p.emails)
            ]
            return [
                PersonFacts(
                    ats_id=p.candidate_id,
                    first_name=p.first_name,
                    last_name=p.last_name,
                    emails=tuple(p.emails),
                    job_ids=tuple(a.req_id for a in p.applications),
                    linkedin_url=p.linkedin_url,
                    phones=tuple(p.phones),
                    educations=len(p.educations),
                    experiences=len(p.experiences),
                    resume=p.attachments[0][1] if p.attachments else None,
                )
                for p in found
            ]

    def person(self, candidate_id: str) -> Person:
        """The stored record, for tests that check where each pushed field landed."""
        with self.lock:
            return self.store[candidate_id]

    # -- auth and errors -----------------------------------------------------------------------

    def error(self, status: int, message: str) -> SandboxResponse:
        code = "SOAP-ENV:Server" if status >= 500 else "SOAP-ENV:Client"
        return xml_response(fault_envelope(code, message), status)

    def _fault(self, fault: Fault) -> SandboxResponse:
        return xml_response(fault_envelope(fault.code, fault.message, fault.errors), 500)

    def authenticate(self, request: SandboxRequest) -> SandboxResponse | None:
        if request.path.startswith("/ccx/oauth2/"):
            request.credential = "oauth2-token-endpoint"
            return None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            client = self.tokens.get(header[7:].strip())
            if client is None:
                return self._auth_fault("invalid or expired access token")
            request.credential = f"oauth:{client}"
            return None
        try:
            root = parse(request.body, "request")
        except Exception:
            return self._fault(Fault("SOAP-ENV:Client", "Unable to parse the SOAP request"))
        token = root.find(f"{{{ENV}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
        user = text(token.find(f"{{{WSSE}}}Username")) if token is not None else None
        pw_el = token.find(f"{{{WSSE}}}Password") if token is not None else None
        tenant = request.path.split("/")[3] if request.path.count("/") >= 3 else ""
        if (
            user != ISU
            or pw_el is None
            or pw_el.get("Type", PASSWORD_TEXT) != PASSWORD_TEXT
            or (pw_el.text or "") != PASSWORD
            or not user.endswith(f"@{tenant}")
        ):
            return self._auth_fault("invalid username or password")
        request.credential = user
        return None

    def _auth_fault(self, message: str) -> SandboxResponse:
        return self._fault(Fault("SOAP-ENV:Client.authenticationError", message))

    # -- OAuth2 token endpoint ---------------------------------------------------------------------

    @route("POST", "/ccx/oauth2/{tenant}/token")
    def token(self, request: SandboxRequest) -> SandboxResponse:
        form = request.form()
        if request.path_params["tenant"] != self.tenant:
            return json_response({"error": "invalid_request", "error_description": "tenant"}, 400)
        if form.get("grant_type") != "refresh_token":
            return json_response({"error": "unsupported_grant_type"}, 400)
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return json_response({"error": "invalid_client"}, 401)
        if form.get("refresh_token") != self.refresh_token:
            return json_response(
                {"error": "invalid_grant", "error_description": "refresh token is invalid"}, 400
            )
        access = secrets.token_urlsafe(24)
        self.tokens[access] = CLIENT_ID
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
        if self.rotate_refresh_tokens:
            self.refresh_token = body["refresh_token"] = secrets.token_urlsafe(24)
        return json_response(body)

    # -- SOAP endpoint ---------------------------------------------------------------------------

    @route("POST", "/ccx/service/{tenant}/Recruiting/{version}")
    def soap(self, request: SandboxRequest) -> SandboxResponse:
        version = request.path_params["version"]
        try:
            if request.path_params["tenant"] != self.tenant:
                raise Fault("SOAP-ENV:Client", f"Unknown tenant {request.path_params['tenant']}")
            if not VERSION_RE.match(version):
                raise Fault("SOAP-ENV:Client", f"Invalid version {version}")
            ctype = request.headers.get("Content-Type", "")
            if not ctype.lower().startswith("text/xml"):
                raise Fault("SOAP-ENV:Client", "Content-Type must be text/xml")
            try:
                root = parse(request.body, "request")
            except Exception as exc:
                raise Fault("SOAP-ENV:Client", f"Unable to parse the SOAP request: {exc}") from None
            body = root.find(f"{{{ENV}}}Body")
            if root.tag != f"{{{ENV}}}Envelope" or body is None or len(body) != 1:
                raise Fault("SOAP-ENV:Client", "Expected one operation in a SOAP envelope body")
            op = body[0]
            name = local(op.tag)
            if not op.tag.startswith(f"{{{wd('')[1:-1]}}}"):
                raise Fault("SOAP-ENV:Client", f"Unknown namespace for {name}")
            self.operations.append(name)
            handler = {
                "Get_Job_Requisitions_Request": self._get_job_requisitions,
                "Get_Candidates_Request": self._get_candidates,
                "Put_Candidate_Request": self._put_candidate,
            }.get(name)
            if handler is None:
                raise validation(f"Operation {name} is not supported", f"/wd:{name}")
            response = handler(op, version)
        except Fault as fault:
            return self._fault(fault)
        return xml_response(_envelope(response))

    # -- operations ------------------------------------------------------------------------------

    @staticmethod
    def _paging(op: ET.Element, name: str) -> tuple[int, int]:
        rf = child(op, "Response_Filter")
        page_text, count_text = text(child(rf, "Page")) or "1", text(child(rf, "Count")) or "100"
        try:
            page, count = int(page_text), int(count_text)
        except ValueError:
            xpath = f"/wd:{name}/wd:Response_Filter"
            raise validation("Page and Count must be integers", xpath) from None
        if page < 1:
            raise validation("Page must be at least 1", f"/wd:{name}/wd:Response_Filter/wd:Page")
        if not 1 <= count <= MAX_COUNT:
            raise validation(
                f"Count must be between 1 and {MAX_COUNT}",
                f"/wd:{name}/wd:Response_Filter/wd:Count",
            )
        return page, count

    @staticmethod
    def _range(criteria: ET.Element | None, name: str) -> tuple[datetime, datetime] | None:
        rng = child(criteria, "Transaction_Log_Criteria_Data", "Transaction_Date_Range_Data")
        if rng is None:
            return None
        xpath = f"/wd:{name}/wd:Request_Criteria/wd:Transaction_Log_Criteria_Data"
        bounds = []
        for field in ("Updated_From", "Updated_Through"):
            value = text(child(rng, field))
            if value is None:
                raise validation(f"{field} is required in a date range", f"{xpath}//wd:{field}")
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise validation(f"{field} is not a dateTime", f"{xpath}//wd:{field}") from None
            bounds.append(when if when.tzinfo else when.replace(tzinfo=UTC))
        return bounds[0], bounds[1]

    def _results(self, op_name: str, version: str, items: list, page: int, count: int):
        out = ET.Element(wd(op_name), {wd("version"): version})
        total_pages = math.ceil(len(items) / count)
        chunk = items[(page - 1) * count : page * count]
        if not chunk and not self.results_when_empty:
            return out, chunk
        results = sub(out, "Response_Results")
        if self.total_pages:
            sub(results, "Total_Results", str(len(items)))
            sub(results, "Total_Pages", str(total_pages))
        sub(results, "Page_Results", str(len(chunk)))
        sub(results, "Page", str(page))
        return out, chunk

    def _get_job_requisitions(self, op: ET.Element, version: str) -> ET.Element:
        name = "Get_Job_Requisitions_Request"
        page, count = self._paging(op, name)
        refs = child(op, "Request_References")
        if refs is not None:
            skip = (refs.get(wd("Skip_Non_Existing_Instances")) or "").lower() in ("true", "1")
            items = []
            for i, ref in enumerate(children(refs, "Job_Requisition_Reference"), 1):
                ids = ref_ids(ref)
                found = None
                if "Job_Requisition_ID" in ids:
                    found = self.requisitions.get(ids["Job_Requisition_ID"])
                elif "WID" in ids:
                    found = next(
                        (r for r in self.requisitions.values() if r.wid == ids["WID"]), None
                    )
                else:
                    raise validation(
                        "ID type must be Job_Requisition_ID or WID",
                        f"/wd:{name}/wd:Request_References/wd:Job_Requisition_Reference[{i}]",
                    )
                if found is None:
                    if skip:
                        continue
                    id_type, value = next(iter(ids.items()))
                    raise invalid_id(
                        value,
                        id_type,
                        f"/wd:{name}/wd:Request_References/wd:Job_Requisition_Reference[{i}]/wd:ID",
                    )
                if found not in items:
                    items.append(found)
        else:
            criteria = child(op, "Request_Criteria")
            statuses = [
                ref_ids(r).get("Job_Requisition_Status_ID")
                for r in children(criteria, "Job_Requisition_Status_Reference")
            ]
            window = self._range(criteria, name)
            items = sorted(
                (
                    r
                    for r in self.requisitions.values()
                    if (not statuses or r.status in statuses)
                    and (window is None or window[0] <= r.updated_at <= window[1])
                ),
                key=lambda r: r.req_id,
            )
        out, chunk = self._results("Get_Job_Requisitions_Response", version, items, page, count)
        if chunk:
            data = sub(out, "Response_Data")
            for req in chunk:
                self._render_requisition(sub(data, "Job_Requisition"), req)
        return out

    def _render_requisition(self, el: ET.Element, req: Requisition) -> None:
        ref = sub(el, "Job_Requisition_Reference")
        sub(ref, "ID", req.wid, type="WID")
        if self.shape == "notes":
            sub(ref, "ID", req.req_id, type="Job_Requisition_ID")
        data = sub(el, "Job_Requisition_Data")
        if self.shape == "wsdl":
            sub(data, "Job_Requisition_ID", req.req_id)
        reference(data, "Job_Requisition_Status_Reference", "Job_Requisition_Status_ID", req.status)
        if self.shape == "notes":
            detail = sub(data, "Job_Requisition_Detail_Data")
            sub(detail, "Job_Posting_Title", req.title)
            sub(detail, "Job_Description_Summary", req.description)
            holder = sub(data, "Hiring_Requirement_Data")
            dates = detail
        else:
            sub(data, "Job_Posting_Title", req.title)
            sub(data, "Number_of_Openings", "1")
            sub(data, "Job_Description_Summary", req.description)
            holder = dates = data
        loc = reference(holder, "Primary_Location_Reference", "Location_ID", req.location_id)
        loc.set(wd("Descriptor"), req.location_name)
        for field, day in (
            ("Recruiting_Start_Date", req.recruiting_start),
            ("Target_Hire_Date", req.target_hire),
        ):
            if day is not None:
                sub(dates, field, day.isoformat() + TENANT_OFFSET)

    def _get_candidates(self, op: ET.Element, version: str) -> ET.Element:
        name = "Get_Candidates_Request"
        page, count = self._paging(op, name)
        criteria = child(op, "Request_Criteria")
        req_ref = child(criteria, "Job_Requisition_Reference")
        req_id = None
        if req_ref is not None:
            req_id = ref_ids(req_ref).get("Job_Requisition_ID")
            if req_id not in self.requisitions:
                raise invalid_id(
                    str(req_id),
                    "Job_Requisition_ID",
                    f"/wd:{name}/wd:Request_Criteria/wd:Job_Requisition_Reference/wd:ID",
                )
        email = text(child(criteria, "Candidate_Email_Address"))
        window = self._range(criteria, name)
        items = sorted(
            (
                p
                for p in self.store.values()
                if (req_id is None or any(a.req_id == req_id for a in p.applications))
                and (email is None or email.lower() in (e.lower() for e in p.emails))
                and (window is None or window[0] <= p.updated_at <= window[1])
            ),
            key=lambda p: p.candidate_id,
        )
        out, chunk = self._results("Get_Candidates_Response", version, items, page, count)
        if chunk:
            data = sub(out, "Response_Data")
            for person in chunk:
                self._render_person(sub(data, "Candidate"), person)
        return out

    def _render_person(self, el: ET.Element, p: Person) -> None:
        if self.shape == "notes":
            ref = sub(el, "Candidate_Reference")
            sub(ref, "ID", p.wid, type="WID")
            sub(ref, "ID", p.candidate_id, type="Candidate_ID")
        data = sub(el, "Candidate_Data")
        if self.shape == "wsdl":
            sub(data, "Candidate_ID", p.candidate_id)
        names = sub(data, "Name_Data")
        if self.shape == "notes":
            names = sub(sub(names, "Legal_Name"), "Name_Detail_Data")
        sub(names, "First_Name", p.first_name)
        sub(names, "Last_Name", p.last_name)
        contact = sub(data, "Contact_Data")
        for email in p.emails:
            sub(contact, "Email_Address", email)
        for phone in p.phones:
            sub(contact, "Phone_Number", phone)
        if p.linkedin_url and self.shape == "notes":
            sub(sub(contact, "Website_Data"), "URL_Address", p.linkedin_url)
        if p.linkedin_url and self.shape == "wsdl":
            social = sub(data, "Social_Media_Account_Data")
            reference(social, "Social_Network_Reference", "Social_Network_Meta_Type_ID", "LINKEDIN")
            sub(social, "Social_Network_Account_URL", p.linkedin_url)
        for n, app in enumerate(p.applications):
            holder = sub(data, "Job_Application_Data")
            applied = sub(holder, "Job_Applied_To_Data")
            if self.shape == "notes":
                sub(applied, "Job_Application_ID", app.application_id)
            req_ref = sub(applied, "Job_Requisition_Reference")
            for id_type in self.application_requisition_ids:
                value = self.requisitions[app.req_id].wid if id_type == "WID" else app.req_id
                sub(req_ref, "ID", value, type=id_type)
            stage = reference(applied, "Stage_Reference", "Recruiting_Stage_ID", app.stage)
            stage.set(wd("Descriptor"), self._stage_name(app.stage))
            if app.disposition:
                reference(
                    applied, "Disposition_Reference", "Recruiting_Disposition_ID", app.disposition
                )
            sub(applied, "Status_Timestamp", app.updated_at.isoformat(timespec="milliseconds"))
            if self.shape == "wsdl":
                reference(
                    holder, "Job_Application_Reference", "Job_Application_ID", app.application_id
                )
            if n == 0 and (p.experiences or p.educations):
                # Resume data belongs to the candidate; Workday nests it in an application.
                resume = sub(holder, "Resume_Data")
                for group, rows in (
                    ("Experience_Data", p.experiences),
                    ("Education_Data", p.educations),
                ):
                    for row in rows:
                        el = sub(resume, group)
                        for key, value in row.items():
                            if value is not None:
                                sub(el, key, value)

    def _put_candidate(self, op: ET.Element, version: str) -> ET.Element:
        base = "/wd:Put_Candidate_Request"
        add_only = (op.get(wd("Add_Only")) or "false").lower() in ("true", "1")
        data = child(op, "Candidate_Data")
        if data is None:
            raise validation("Candidate_Data is required", base)
        cand_ref = child(op, "Candidate_Reference")
        existing = None
        if cand_ref is not None:
            cand_id = ref_ids(cand_ref).get("Candidate_ID")
            existing = self.store.get(cand_id or "")
            if existing is None:
                raise invalid_id(
                    str(cand_id), "Candidate_ID", f"{base}/wd:Candidate_Reference/wd:ID"
                )
            if add_only:
                raise validation(
                    "Add Only is set but the candidate already exists",
                    f"{base}/wd:Candidate_Reference",
                )
        xdata = f"{base}/wd:Candidate_Data"
        names = child(data, "Name_Data")
        holder = names
        if child(names, "Legal_Name", "Name_Detail_Data") is not None:
            holder = child(names, "Legal_Name", "Name_Detail_Data")
        first, last = text(child(holder, "First_Name")), text(child(holder, "Last_Name"))
        if not first or not last:
            raise validation("First_Name and Last_Name are required", f"{xdata}/wd:Name_Data")
        contact = child(data, "Contact_Data")
        emails = [e for e in (text(x) for x in children(contact, "Email_Address")) if e]
        phones = [e for e in (text(x) for x in children(contact, "Phone_Number")) if e]
        linkedin = text(child(contact, "Website_Data", "URL_Address"))
        for social in children(data, "Social_Media_Account_Data"):
            linkedin = linkedin or text(child(social, "Social_Network_Account_URL"))
        new_apps: list[JobApplication] = []
        experiences: list[dict] = []
        educations: list[dict] = []
        attachments: list[tuple[str, bytes]] = []
        now = datetime.now(UTC)
        targets = existing.applications if existing else []
        for i, holder_el in enumerate(children(data, "Job_Application_Data"), 1):
            xapp = f"{xdata}/wd:Job_Application_Data[{i}]"
            applied = child(holder_el, "Job_Applied_To_Data")
            req_id = ref_ids(child(applied, "Job_Requisition_Reference")).get("Job_Requisition_ID")
            if req_id is None:
                raise validation(
                    "Job_Requisition_Reference is required", f"{xapp}/wd:Job_Applied_To_Data"
                )
            if req_id not in self.requisitions:
                raise invalid_id(
                    req_id,
                    "Job_Requisition_ID",
                    f"{xapp}/wd:Job_Applied_To_Data/wd:Job_Requisition_Reference/wd:ID",
                )
            if self.requisitions[req_id].status != "Open":
                raise validation(
                    f"Job requisition {req_id} is not open for applications",
                    f"{xapp}/wd:Job_Applied_To_Data/wd:Job_Requisition_Reference",
                )
            stage_ref = child(applied, "Stage_Reference")
            xstage = f"{xapp}/wd:Job_Applied_To_Data/wd:Stage_Reference"
            if stage_ref is None:
                if self.stage_required:
                    raise validation("Stage_Reference is required", xstage)
                stage = self.stage_ids["REVIEW"]
            else:
                given = ref_ids(stage_ref).get("Recruiting_Stage_ID")
                if given is None:
                    raise validation(
                        "Stage_Reference with a valid Recruiting_Stage_ID is required", xstage
                    )
                stage = given
                if stage not in self.stage_ids.values():
                    raise invalid_id(stage, "Recruiting_Stage_ID", f"{xstage}/wd:ID")
            if any(a.req_id == req_id for a in [*targets, *new_apps]):
                raise validation(
                    f"The candidate already has a job application for {req_id}",
                    f"{xapp}/wd:Job_Applied_To_Data",
                )
            new_apps.append(JobApplication(self._next("JA-8"), req_id, stage, None, now))
            for j, att in enumerate(children(holder_el, "Resume_Attachment_Data"), 1):
                filename, content = text(child(att, "Filename")), text(child(att, "File_Content"))
                xatt = f"{xapp}/wd:Resume_Attachment_Data[{j}]"
                if not filename or not content:
                    raise validation("Filename and File_Content are required", xatt)
                try:
                    attachments.append((filename, base64.b64decode(content, validate=True)))
                except binascii.Error:
                    raise validation(
                        "File_Content is not base64", f"{xatt}/wd:File_Content"
                    ) from None
            resume = child(holder_el, "Resume_Data")
            for j, exp in enumerate(children(resume, "Experience_Data"), 1):
                fields = {local(c.tag): text(c) for c in exp}
                if not fields.get("Title") or not (fields.get("Start_Year") or "").isdigit():
                    raise validation(
                        "Title and Start_Year are required",
                        f"{xapp}/wd:Resume_Data/wd:Experience_Data[{j}]",
                    )
                experiences.append(fields)
            for j, edu in enumerate(children(resume, "Education_Data"), 1):
                fields = {local(c.tag): text(c) for c in edu}
                if not fields.get("School_Name"):
                    raise validation(
                        "School_Name is required", f"{xapp}/wd:Resume_Data/wd:Education_Data[{j}]"
                    )
                educations.append(fields)
        if existing is None:
            person = Person(
                candidate_id=self._next("C-8"),
                wid=secrets.token_hex(16),
                first_name=first,
                last_name=last,
                emails=emails,
                phones=phones,
                linkedin_url=linkedin,
                updated_at=now,
            )
            self.store[person.candidate_id] = person
        else:
            person = existing
            person.updated_at = self._bump(person.updated_at)
        person.applications.extend(new_apps)
        person.experiences.extend(experiences)
        person.educations.extend(educations)
        person.attachments.extend(attachments)
        out = ET.Element(wd("Put_Candidate_Response"), {wd("version"): version})
        ref = sub(out, "Candidate_Reference")
        sub(ref, "ID", person.wid, type="WID")
        sub(ref, "ID", person.candidate_id, type="Candidate_ID")
        return out


def _envelope(op: ET.Element) -> bytes:
    root = ET.Element(f"{{{ENV}}}Envelope")
    ET.SubElement(root, f"{{{ENV}}}Body").append(op)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
