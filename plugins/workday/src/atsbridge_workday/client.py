"""The Workday Recruiting SOAP client, on the SDK's HTTP client, auth and SOAP paginator.

Workday answers every failure with HTTP 500 and a SOAP fault, whether the request was
malformed, the credentials wrong or the server broken. The SDK client retries 500s on
reads, which would repeat a hopeless request six times and then report "HTTP 500". So a
transport layer below it reads each 500's fault and gives client-side faults a 4xx status
(auth 401, validation 400, unknown id 404, throttled 429): the SDK retries only what is
worth retrying, and this module turns each fault into a clear error naming the Xpath.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from datetime import datetime
from importlib import resources
from typing import Any

import attrs
import httpx
from atsbridge.config import validate_config
from atsbridge.errors import (
    AtsError,
    AtsUnavailable,
    AuthError,
    BadInput,
    ConfigError,
    PayloadError,
)
from atsbridge.model import (
    Candidate,
    CandidateQuery,
    CandidateStatus,
    Job,
    JobQuery,
    JobState,
    JobStatus,
    Lead,
    Page,
    PushResult,
    RateLimit,
)
from atsbridge_sdk.auth import OAuth2RefreshToken
from atsbridge_sdk.baseurl import BaseUrl, read_base_url
from atsbridge_sdk.bounded import DEFAULT_MAX_RESPONSE_BYTES, bounded_transport, read_capped
from atsbridge_sdk.clock import SYSTEM_CLOCK, Clock
from atsbridge_sdk.http import HttpClient, HttpEvent, RetryPolicy
from atsbridge_sdk.paginate import SoapPagePaginator

from atsbridge_workday import assumptions as U
from atsbridge_workday import mapping
from atsbridge_workday.soap import (
    CONTENT_TYPE,
    ENV,
    FaultKind,
    SoapFault,
    body_child,
    child,
    children,
    envelope,
    local,
    parse,
    parse_fault,
)

log = logging.getLogger("atsbridge.workday")

FAULT_STATUS = {
    FaultKind.AUTH: 401,
    FaultKind.VALIDATION: 400,
    FaultKind.NOT_FOUND: 404,
    FaultKind.THROTTLED: 429,
}
READ_ACCEPT = frozenset({400, 401, 403, 404})
WRITE_ACCEPT = READ_ACCEPT | {500}


def load_schema() -> dict:
    text = resources.files("atsbridge_workday").joinpath("config.schema.json").read_text("utf-8")
    return json.loads(text)


@attrs.frozen
class WorkdayConfig:
    host: str
    tenant: str
    api_version: str
    auth_type: str
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)
    base_url: str | None = None
    token_url: str | None = None
    initial_stage: str | None = None
    base_info: BaseUrl | None = attrs.field(default=None, repr=False, eq=False)

    @classmethod
    def from_dict(cls, config: dict) -> WorkdayConfig:
        """Validate against config.schema.json (ConfigError lists every problem).

        ``base_url`` may be the server root or the documented service endpoint
        ``https://{host}/ccx/service/{tenant}/Recruiting/v{NN.N}``, with or without its
        version; a version there is the one used (it must agree with ``api_version``).
        """
        checked = validate_config(load_schema(), config)
        host, tenant = checked["host"], checked["tenant"]
        version = checked.get("api_version") or "v{NN.N}"
        base = read_base_url(
            checked.get("base_url"),
            default=f"https://{host}",
            documented=f"https://{host}/ccx/service/{tenant}/Recruiting/{version}",
            tail=rf"/ccx/service/{re.escape(tenant)}/Recruiting(?:/(?P<version>v\d{{1,2}}\.\d))?",
        )
        named = base.tail.get("version")
        if named and config.get("api_version") not in (None, "", named):
            raise ConfigError(
                [
                    f"config.base_url: names version {named} but config.api_version is "
                    f"{config['api_version']}; give one of them"
                ]
            )
        if named:
            checked["api_version"] = named
        if checked.get("base_url"):
            checked["base_url"] = base.root
        return cls(**checked, base_info=base)

    @property
    def base(self) -> str:
        return (self.base_url or f"https://{self.host}").rstrip("/")

    @property
    def service_path(self) -> str:
        return f"/ccx/service/{self.tenant}/Recruiting/{self.api_version}"

    @property
    def oauth_token_url(self) -> str:
        return self.token_url or f"{self.base}/ccx/oauth2/{self.tenant}/token"

    @property
    def isu_username(self) -> str:
        # Workday's UsernameToken wants user@tenant; admins often give the bare user name.
        user = self.username or ""
        return user if "@" in user else f"{user}@{self.tenant}"


class WorkdayFault(AtsError):
    """A SOAP fault the plugin could not recover from; ``fault`` holds its details."""

    def __init__(self, message: str, fault: SoapFault | None, *, status_code: int | None = None):
        super().__init__(message, status_code=status_code)
        self.fault = fault


class _FaultStatusTransport(httpx.BaseTransport):
    """Re-labels client-side SOAP faults (sent as HTTP 500) with a 4xx status; see module doc."""

    def __init__(self, inner: httpx.BaseTransport):
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if response.status_code != 500:
            return response
        # Read here, before HttpClient's own capped read: bound it the same way.
        content = read_capped(response, DEFAULT_MAX_RESPONSE_BYTES, what="Workday fault")
        fault = parse_fault(content)
        status = FAULT_STATUS.get(fault.kind, 500) if fault is not None else 500
        # Content is already decoded, so the encoding/length headers no longer describe it.
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            status,
            headers=headers,
            content=content,
            request=request,
            extensions={**response.extensions, "workday_http_status": 500},
        )

    def close(self) -> None:
        self._inner.close()


def _cursor(page: int, through: datetime | None) -> str:
    return f"{page}@{mapping.iso(through)}" if through is not None else str(page)


def _parse_cursor(cursor: str | None) -> tuple[int, datetime | None]:
    if cursor is None:
        return 1, None
    page_text, _, through_text = cursor.partition("@")
    try:
        page = int(page_text)
        through = (
            datetime.fromisoformat(through_text.replace("Z", "+00:00")) if through_text else None
        )
    except ValueError:
        raise BadInput(f"cursor {cursor!r} is not a Workday page cursor") from None
    if page < 1:
        raise BadInput(f"cursor {cursor!r} is not a Workday page cursor")
    return page, through


_INVALID_ID = re.compile(r"'([^']+)' is not a valid ID value")


class WorkdayClient:
    """One connection to one tenant's Recruiting service. Use as the plugin session."""

    def __init__(
        self,
        config: WorkdayConfig,
        *,
        clock: Clock = SYSTEM_CLOCK,
        transport: httpx.BaseTransport | None = None,
        on_event: Callable[[HttpEvent], None] | None = None,
        save_secrets: Callable[[dict[str, str]], None] | None = None,
        rate_limit: RateLimit = U.RATE_LIMIT,
        retry: RetryPolicy = RetryPolicy(),
    ):
        self.config = config
        self.clock = clock
        self._aliases: dict[str, frozenset[str]] = {}  # requisition id -> all its ids
        self._by_wid: dict[str, str] = {}  # requisition WID -> Job_Requisition_ID
        # Recruiting_Stage_IDs seen in this tenant's Get_Candidates answers, by upper case.
        self._stages: dict[str, str] = {}
        self._save_secrets = save_secrets
        auth: httpx.Auth | None = None
        if config.auth_type == "oauth2_refresh_token":
            assert config.client_id and config.client_secret and config.refresh_token
            auth = OAuth2RefreshToken(
                config.oauth_token_url,
                config.client_id,
                config.client_secret,
                config.refresh_token,
                on_rotate=self._rotated,
                clock=clock,
                transport=transport,
            )
        self.http = HttpClient(
            config.base,
            auth=auth,
            rate_limit=rate_limit,
            retry=retry,
            headers={"Content-Type": CONTENT_TYPE},
            secrets=(config.password, config.client_secret, config.refresh_token),
            on_event=on_event,
            clock=clock,
            transport=_FaultStatusTransport(transport or bounded_transport()),
        )

    def __repr__(self) -> str:
        return f"<WorkdayClient {self.config.base}{self.config.service_path}>"

    def close(self) -> None:
        self.http.close()

    def _rotated(self, refresh_token: str) -> None:
        if self._save_secrets is not None:
            self._save_secrets({"refresh_token": refresh_token})

    # -- one SOAP call --------------------------------------------------------------------------

    def envelope(self, op: ET.Element) -> bytes:
        if self.config.auth_type == "isu":
            return envelope(op, username=self.config.isu_username, password=self.config.password)
        return envelope(op)

    def _check(self, response: httpx.Response, operation: str) -> ET.Element:
        """The response's operation element, or the fault raised as a clear error."""
        status = response.status_code
        fault = None
        if status < 400:
            what = f"Workday {operation} response"
            op = body_child(parse(response.content, what), what)
            if op.tag != f"{{{ENV}}}Fault":
                if local(op.tag) != f"{operation}_Response":
                    # Any other element read as this operation's answer would be a page of
                    # nothing, and a full pass would then empty the mirror.
                    raise PayloadError(
                        what, "Body", f"expected <{operation}_Response>, got <{local(op.tag)}>"
                    )
                return op
            # A fault answered with 200: read as Workday's 500 would be, never as an empty
            # page (which paging now tolerates).
            fault = parse_fault(response.content)
            status = FAULT_STATUS.get(fault.kind, 500) if fault is not None else 500
        fault = fault or parse_fault(response.content)
        if fault is not None and fault.kind is FaultKind.AUTH:
            status = 401  # whatever HTTP status carried it (400 from some implementations)
        detail = fault.describe() if fault else f"HTTP {status} without a SOAP fault"
        if status in (401, 403):
            raise AuthError(
                f"Workday refused the credentials for tenant {self.config.tenant} ({detail}); "
                "check the integration user (user@tenant), its password or OAuth client, and "
                "that its security group has Get/Put on the Recruiting domains",
                status_code=status,
            )
        if status == 404:
            if fault is None:
                raise AtsError(
                    f"Workday has no Recruiting service at {self.config.service_path}: "
                    "check tenant and api_version",
                    status_code=404,
                )
            raise WorkdayFault(f"Workday {operation}: not found: {detail}", fault, status_code=404)
        if status == 400:
            raise WorkdayFault(f"Workday refused {operation}: {detail}", fault, status_code=400)
        raise AtsUnavailable(f"Workday {operation} failed with a server fault: {detail}")

    def call(self, op: ET.Element, *, read: bool = True) -> ET.Element:
        """Send one operation. Reads are retried by the SDK client; writes never are."""
        operation = local(op.tag).removesuffix("_Request")
        response = self.http.post(
            self.config.service_path,
            content=self.envelope(op),
            safe_to_retry=read,
            accept=READ_ACCEPT if read else WRITE_ACCEPT,
        )
        return self._check(response, operation)

    def _page(
        self, build: Callable[[int], ET.Element], page: int, count: int
    ) -> tuple[ET.Element, int | None]:
        """Fetch one page through the SDK's SOAP paginator; return it and the next page."""
        holder: dict[str, ET.Element] = {}
        operation = local(build(page).tag).removesuffix("_Request")

        def pages(response: httpx.Response) -> tuple[int, int]:
            op = self._check(response, operation)
            holder["op"] = op
            info = mapping.page_info(op, page, mapping.page_count(count))
            return info.page, info.total_pages

        paginator = SoapPagePaginator(
            self.config.service_path,
            envelope=lambda p: self.envelope(build(p)),
            pages=pages,
            headers={"Content-Type": CONTENT_TYPE},
        )
        req = paginator.request(str(page))
        response = self.http.request(
            req.method,
            req.url,
            content=req.content,
            headers=dict(req.headers or {}),
            safe_to_retry=req.safe_to_retry,
            accept=READ_ACCEPT,
        )
        nxt = paginator.next_cursor(response, str(page))
        return holder["op"], int(nxt) if nxt is not None else None

    # -- operations -------------------------------------------------------------------------------

    def check_credentials(self) -> None:
        """The cheapest authenticated call: one requisition, one page (404: a wrong base)."""
        base = self.config.base_info or read_base_url(None, default=self.config.base)
        with base.first_request(self.config.base + self.config.service_path):
            self.call(mapping.get_job_requisitions(self.config.api_version, page=1, count=1))

    def search_jobs(self, query: JobQuery) -> Page[Job]:
        page, through = _parse_cursor(query.cursor)
        if query.updated_since is not None and through is None:
            through = self.clock.now()
        status_id = None
        if query.statuses:
            raw = sorted(k for k, v in U.REQUISITION_STATUS.items() if v in query.statuses)
            # One status reference is what the notes show; several unified statuses are
            # served as a superset (the core filters again).
            status_id = raw[0] if len(raw) == 1 else None
        version = self.config.api_version

        def build(p: int) -> ET.Element:
            return mapping.get_job_requisitions(
                version,
                page=p,
                count=query.page_size,
                status_id=status_id,
                updated_from=query.updated_since,
                updated_through=through if query.updated_since is not None else None,
            )

        op, nxt = self._page(build, page, query.page_size)
        jobs = mapping.parse_requisitions(op)
        return Page(jobs, _cursor(nxt, through if query.updated_since else None) if nxt else None)

    def list_candidates(self, query: CandidateQuery) -> Page[Candidate]:
        page, through = _parse_cursor(query.cursor)
        if query.updated_since is not None and through is None:
            through = self.clock.now()
        version, job_id = self.config.api_version, query.job_ats_id

        def build(p: int) -> ET.Element:
            return mapping.get_candidates(
                version,
                page=p,
                count=query.page_size,
                job_id=job_id,
                updated_from=query.updated_since,
                updated_through=through if query.updated_since is not None else None,
            )

        op, nxt = self._page(build, page, query.page_size)
        records = self._learn(mapping.parse_candidates(op))
        cursor = _cursor(nxt, through if query.updated_since else None) if nxt else None
        if job_id is None:  # account-wide: each application on its own requisition
            names = self._business_ids(records)
            return Page([c for r in records for c in r.on_each_job(names)], cursor)
        items = []
        for record in records:
            candidate = self._on_job(record, job_id)
            if candidate is None:
                log.warning(
                    "Workday candidate %s is listed on requisition %s without an application "
                    "naming it; kept as %s",
                    record.candidate_id,
                    job_id,
                    U.UNMATCHED_APPLICATION_STATUS.value,
                )
                candidate = record.listed(job_id)
            items.append(candidate)
        return Page(items, cursor)

    def _business_ids(self, records: list[mapping.CandidateRecord]) -> dict[str, str]:
        """WID -> Job_Requisition_ID for the requisitions these applications name by WID
        only: one Get_Job_Requisitions for the WIDs not met before (see assumptions)."""
        wanted = {
            app.job_id
            for record in records
            for app in record.applications
            if app.job_id and mapping.is_wid(app.job_id) and app.job_id not in self._by_wid
        }
        ordered = sorted(wanted)
        for start in range(0, len(ordered), U.STATUS_BATCH):
            batch = ordered[start : start + U.STATUS_BATCH]
            op = mapping.get_job_requisitions_by_id(self.config.api_version, batch)
            try:
                response = self.call(op)
            except WorkdayFault as exc:
                if exc.status_code != 404:
                    raise
                response = None  # a tenant faulting on an unknown WID: they stay WIDs
            for el in children(child(response, "Response_Data"), "Job_Requisition"):
                business = mapping.requisition_business_id(el)
                for other in mapping.requisition_ids(el):
                    if business and other != business:
                        self._by_wid[other] = business
            for wid in batch:
                self._by_wid.setdefault(wid, wid)
        return self._by_wid

    def _on_job(self, record: mapping.CandidateRecord, job_id: str) -> Candidate | None:
        """``record`` on requisition ``job_id``, matching its applications by any of the
        requisition's ids (an application may name it by WID only)."""
        direct = record.for_job(job_id)
        if direct is not None or not record.applications:
            return direct
        return record.for_job(job_id, self._requisition_aliases(job_id))

    def _requisition_aliases(self, job_id: str) -> frozenset[str]:
        """Every id of requisition ``job_id`` (one Get_Job_Requisitions, then cached)."""
        if job_id not in self._aliases:
            aliases = frozenset({job_id})
            op = mapping.get_job_requisitions_by_id(self.config.api_version, [job_id])
            try:
                response = self.call(op)
            except WorkdayFault:
                response = None  # an unknown id: it has no other name
            for el in children(child(response, "Response_Data"), "Job_Requisition"):
                ids = mapping.requisition_ids(el)
                if job_id in ids:
                    aliases = ids
            self._aliases[job_id] = aliases
        return self._aliases[job_id]

    def job_statuses(self, job_ids: Iterable[str]) -> list[JobState]:
        wanted = list(dict.fromkeys(job_ids))
        found: dict[str, Job] = {}
        for start in range(0, len(wanted), U.STATUS_BATCH):
            found.update(self._requisitions_by_id(wanted[start : start + U.STATUS_BATCH]))
        states = []
        for job_id in wanted:
            job = found.get(job_id)
            if job is None:
                states.append(JobState(job_id, JobStatus.CLOSED, "", exists=False))
            else:
                states.append(JobState(job_id, job.status, job.status_raw))
        return states

    def _requisitions_by_id(self, ids: list[str]) -> dict[str, Job]:
        remaining = list(ids)
        # A tenant that ignores Skip_Non_Existing_Instances faults on the first unknown id;
        # drop that id and ask again (at most once per id).
        for _ in range(len(ids) + 1):
            if not remaining:
                return {}
            op = mapping.get_job_requisitions_by_id(self.config.api_version, remaining)
            try:
                response = self.call(op)
            except WorkdayFault as exc:
                bad = _unknown_id(exc.fault)
                if exc.status_code != 404 or bad not in remaining:
                    raise
                remaining.remove(bad)
                continue
            return {job.ats_id: job for job in mapping.parse_requisitions(response)}
        return {}

    def _learn(self, records: list[mapping.CandidateRecord]) -> list[mapping.CandidateRecord]:
        """Remember the tenant's own stage ids from candidates it answered with."""
        for record in records:
            for app in record.applications:
                if app.stage:
                    self._stages.setdefault(app.stage.upper(), app.stage)
        return records

    def initial_stage(self) -> str | None:
        """The stage id a new application is sent with: the connection's ``initial_stage``,
        else the tenant's own spelling of the first stage if seen, else none (the tenant
        then starts the application at its business process's first stage)."""
        return self.config.initial_stage or self._stages.get(U.NEW_APPLICATION_STAGE)

    def _put(
        self, build: Callable[[str | None], ET.Element], stage: str | None
    ) -> tuple[ET.Element, str | None]:
        """Send Put_Candidate; a tenant refusing the stage id gets it once more without."""
        try:
            return self.call(build(stage), read=False), stage
        except WorkdayFault as exc:
            # An unknown id is classed "not found" (404), a missing one a validation (400).
            if stage is None or exc.status_code not in (400, 404) or not _refuses_stage(exc.fault):
                raise
            log.warning(
                "Workday tenant %s refused Recruiting_Stage_ID %r; sending the application "
                "without a stage (set initial_stage in the connection to choose one)",
                self.config.tenant,
                stage,
            )
            self._stages.pop(stage.upper(), None)
            return self.call(build(None), read=False), None

    def find_by_email(self, email: str) -> list[mapping.CandidateRecord]:
        op = mapping.get_candidates(
            self.config.api_version, page=1, count=U.MAX_PAGE_SIZE, email=email
        )
        wanted = email.strip().lower()
        records = self._learn(mapping.parse_candidates(self.call(op)))
        # Exact matches only: a server doing a "contains" search must not merge two people.
        return [r for r in records if wanted in (e.lower() for e in r.emails)]

    def push_lead(self, job_id: str, lead: Lead) -> PushResult:
        existing: mapping.CandidateRecord | None = None
        for email in lead.emails:
            matches = self.find_by_email(email)
            if matches:
                # Prefer the person already on this requisition: that is a replay.
                matches.sort(key=lambda r: self._on_job(r, job_id) is None)
                existing = matches[0]
                break
        version = self.config.api_version
        if existing is not None:
            on_job = self._on_job(existing, job_id)
            if on_job is not None:
                # Most likely a replay of our own push: report what a first push reports.
                _, unsupported = mapping.put_candidate(version, job_id, lead)
                return PushResult(
                    candidate_id=existing.candidate_id,
                    application_id=on_job.application_id,
                    already_existed=True,
                    unsupported=unsupported,
                    status=on_job.status,
                    stage=on_job.stage,
                )
        before = existing.existing() if existing is not None else None
        _, unsupported = mapping.put_candidate(version, job_id, lead, before)
        answer, stage = self._put(
            lambda s: mapping.put_candidate(version, job_id, lead, before, stage=s)[0],
            self.initial_stage(),
        )
        candidate_id, application_id = mapping.parse_put_candidate(answer)
        if (candidate_id is None or application_id is None) and lead.emails:
            # The Put_Candidate response shape is [U]: read the ids back instead of guessing.
            for record in self.find_by_email(lead.emails[0]):
                created = self._on_job(record, job_id)
                if created is not None and candidate_id in (None, record.candidate_id):
                    candidate_id = record.candidate_id
                    application_id = created.application_id
                    break
        # The person exists now: a response naming them by WID only still identifies them.
        candidate_id = candidate_id or mapping.put_candidate_wid(answer)
        if candidate_id is None:
            raise AtsError(
                f"Workday accepted Put_Candidate for lead {lead.id} but returned no Candidate_ID"
            )
        return PushResult(
            candidate_id=candidate_id,
            application_id=application_id,
            already_existed=existing is not None,
            unsupported=unsupported,
            status=CandidateStatus.NEW,
            # Sent without a stage, the application starts in the tenant's first stage,
            # named here as the default process names it (the flow-back compares stage
            # names loosely, so the tenant's "Review" is the same stage).
            stage=stage or U.NEW_APPLICATION_STAGE,
        )


def _refuses_stage(fault: SoapFault | None) -> bool:
    """Whether a validation fault is about the Stage_Reference (its id or its element)."""
    if fault is None:
        return False
    texts = [fault.message, *(e.message for e in fault.errors), *(e.xpath for e in fault.errors)]
    return any(U.STAGE_ID_TYPE in (t or "") or "Stage_Reference" in (t or "") for t in texts)


def _unknown_id(fault: SoapFault | None) -> str | None:
    if fault is None:
        return None
    for text in [fault.message, *(e.message for e in fault.errors)]:
        match = _INVALID_ID.search(text or "")
        if match:
            return match.group(1)
    return None


def open_client(config: dict, **kwargs: Any) -> WorkdayClient:
    """Validate ``config``, build the client and prove the credentials with one call."""
    client = WorkdayClient(WorkdayConfig.from_dict(config), **kwargs)
    try:
        client.check_credentials()
    except BaseException:
        client.close()
        raise
    return client
