"""Harvest v3 API client: OAuth2 client credentials, Link-header paging, the five operations.

Built on the SDK ``HttpClient`` (pacing, retries, error mapping, redaction): nothing here
retries on its own. Writes are made safe to repeat by looking up before creating, so a push
interrupted anywhere can simply be called again.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import attrs
import httpx
from atsbridge.config import url_problem
from atsbridge.errors import AtsError, AuthError, BadInput, ConfigError, PayloadError
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
from atsbridge_sdk.auth import OAuth2ClientCredentials
from atsbridge_sdk.baseurl import read_base_url
from atsbridge_sdk.clock import SYSTEM_CLOCK, Clock
from atsbridge_sdk.http import HttpClient, HttpEvent, json_body

from atsbridge_greenhouse import constants as c
from atsbridge_greenhouse import mapping as m
from atsbridge_greenhouse import people as ppl

log = logging.getLogger("atsbridge.greenhouse")
T = TypeVar("T")
MISSING_ENDPOINT = (403, 404)  # optional lookups degrade instead of failing the sync
UNLISTED = c.UNLISTED_READ_REFUSALS  # reads the notes do not list at all


def _chunks(values: list[Any], size: int = c.MAX_IDS_PER_CALL) -> Iterator[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _per_page(size: int) -> int:
    return max(1, min(c.MAX_PER_PAGE, int(size)))


def _job_id(value: str, what: str = "job id") -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise BadInput(f"{what} {value!r} is not a Greenhouse id (digits only)")
    return int(text)


class GreenhouseClient:
    """One connection to one Greenhouse organization; also the plugin's session object."""

    def __init__(
        self,
        config: dict,
        *,
        rate_limit: RateLimit = c.CLIENT_RATE_LIMIT,
        on_event: Callable[[HttpEvent], None] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ):
        problems = []
        for key in ("client_id", "client_secret", "user_id"):
            if config.get(key) in (None, ""):
                problems.append(f"config.{key}: required")
        user_id = str(config.get("user_id", "")).strip()
        if user_id and not user_id.isdigit():
            problems.append("config.user_id: must be a Greenhouse user id (digits only)")
        try:
            # The documented base ends in /v3; the paths below carry it, so it is optional.
            self.base = read_base_url(
                config.get("base_url"),
                default=c.DEFAULT_BASE_URL,
                documented=c.DEFAULT_BASE_URL + c.API_PREFIX,
                tail=re.escape(c.API_PREFIX),
            )
        except ConfigError as exc:
            problems.extend(exc.problems)
            self.base = read_base_url(None, default=c.DEFAULT_BASE_URL)
        self.base_url = self.base.root
        self.token_url = str(config.get("token_url") or c.DEFAULT_TOKEN_URL)
        reason = url_problem(self.token_url)
        if reason:
            problems.append(f"config.token_url: {reason}")
        source_id = config.get("source_id")
        if source_id is not None and (not isinstance(source_id, int) or source_id < 1):
            problems.append("config.source_id: must be a positive integer")
        if problems:
            raise ConfigError(problems)
        self.user_id = user_id
        self.source_id: int | None = source_id
        self.auth = OAuth2ClientCredentials(
            self.token_url,
            str(config["client_id"]),
            str(config["client_secret"]),
            extra={"sub": user_id},
            clock=clock,
        )
        self.http = HttpClient(
            self.base_url,
            auth=self.auth,
            rate_limit=rate_limit,
            secrets=[str(config["client_secret"])],
            on_event=on_event,
            clock=clock,
        )
        self._origin = urlsplit(self.base_url)
        self._offices: dict[int, m.GhOffice | None] = {}
        self._remembered = ppl.Remembered()
        self._stages: dict[int, dict[int, str]] = {}
        self._options: dict[str, dict[str, int]] = {}
        self._offices_available = True
        self._posts_available = True

    def __repr__(self) -> str:
        return f"<GreenhouseClient {self.base_url} sub={self.user_id}>"

    def close(self) -> None:
        self.http.close()

    # -- transport helpers ------------------------------------------------------------

    def _next_url(self, response: httpx.Response) -> str | None:
        link = response.links.get("next")
        return self._checked_cursor(link["url"]) if link and link.get("url") else None

    def _checked_cursor(self, url: str) -> str:
        """A next-page URL, followed on the configured host only.

        The bearer token goes with it, so a link naming another origin (a proxy or regional
        front that writes the public host into its links, a corrupted checkpoint) is re-based
        onto ``base_url``: its path and cursor are kept, the token never leaves our host.
        """
        parts = urlsplit(urljoin(self.base_url + "/", url))
        if not parts.path.startswith(self._origin.path.rstrip("/") + c.API_PREFIX + "/"):
            raise AtsError(f"Greenhouse next-page link is not a v3 API URL: {url[:80]}")
        return urlunsplit((self._origin.scheme, self._origin.netloc, parts.path, parts.query, ""))

    @staticmethod
    def _json(response: httpx.Response, what: str) -> Any:
        try:
            return json_body(response)
        except ValueError:
            raise PayloadError(f"greenhouse {what}", "(body)", "response is not JSON") from None

    def _page(
        self, path: str, params: dict[str, Any] | None, cursor: str | None, accept=()
    ) -> tuple[httpx.Response, str | None]:
        """One page of a list: the first call carries filters, follow-ups only the cursor."""
        if cursor is not None:
            response = self.http.get(self._checked_cursor(cursor), accept=accept)
        else:
            response = self.http.get(path, params=params, accept=accept)
        if response.status_code >= 400:
            return response, None
        return response, self._next_url(response)

    def _all(
        self, path: str, params: dict[str, Any], cls: type[T], kind: str, accept=()
    ) -> list[T] | None:
        """Every row of a list (following Link); None if an optional endpoint is missing."""
        rows: list[T] = []
        cursor: str | None = None
        while True:
            response, cursor = self._page(path, params, cursor, accept)
            if response.status_code >= 400:
                return None
            rows.extend(m.structure_list(self._json(response, kind), cls, kind))
            if cursor is None:
                return rows

    def _unlisted(
        self, path: str, params: dict[str, Any], cls: type[T], kind: str
    ) -> list[T] | None:
        """Every row of a read the notes do not list; None when it is not there as we guessed.

        Refused (``UNLISTED_READ_REFUSALS``) or answered in another shape, it is treated as
        missing: the caller degrades instead of failing the sync or the push.
        """
        try:
            rows = self._all(path, params, cls, kind, accept=UNLISTED)
        except PayloadError as exc:
            log.warning("Greenhouse %s is not the list we expect (%s); doing without", path, exc)
            return None
        if rows is None:
            log.warning("Greenhouse %s is not available; doing without", path)
        return rows

    # -- auth check ------------------------------------------------------------

    def check(self) -> None:
        """Prove the credentials with the cheapest list call; explain what to fix if not."""
        probe = c.API_PREFIX + "/jobs"
        try:
            with self.base.first_request(self.base.join(probe)):
                self.http.get(probe, params={"per_page": 1})
        except AuthError as exc:
            if exc.status_code == 403:
                raise AuthError(
                    f"Greenhouse accepted the API credentials but user {self.user_id} may not "
                    "list jobs: make user_id a Site Admin and grant the harvest:jobs:list "
                    f"scope to the credential ({exc})",
                    status_code=403,
                ) from None
            raise AuthError(
                "Greenhouse refused the credentials: check client_id and client_secret of the "
                "Harvest V3 (OAuth) API credential and that user_id is the id of a Greenhouse "
                f"user ({exc})",
                status_code=exc.status_code,
            ) from None

    # -- jobs ------------------------------------------------------------

    def search_jobs(self, query: JobQuery) -> Page[Job]:
        params: dict[str, Any] = {"per_page": _per_page(query.page_size)}
        if query.updated_since is not None:
            params["updated_at"] = m.updated_filter(query.updated_since)
        wanted = {s.value for s in query.statuses or ()} & set(m.JOB_STATUSES)
        if query.statuses and len(wanted) == 1 and len(query.statuses) == 1:
            params["status"] = wanted.pop()  # one status only: Greenhouse filters one value
        response, next_cursor = self._page("/v3/jobs", params, query.cursor)
        rows = m.structure_list(self._json(response, "jobs"), m.GhJob, "job")
        if not rows:
            return Page((), next_cursor)
        known = self._unchanged_copies(rows, query)
        fresh = [row for row in rows if row.id not in known]
        offices = self._offices_for({o for row in fresh for o in row.office_ids or ()})
        posts = self._posts_for([row.id for row in fresh]) if fresh else {}
        jobs = []
        for row in rows:
            copy = known.get(row.id)
            if copy is None:
                jobs.append(m.job_from(row, offices, posts.get(row.id)))
            else:
                job = m.job_from(row)
                jobs.append(
                    attrs.evolve(job, locations=copy.locations, description=copy.description)
                )
        return Page(jobs, next_cursor)

    @staticmethod
    def _unchanged_copies(rows: list[m.GhJob], query: JobQuery) -> dict[int, Job]:
        """The core's copies of jobs Greenhouse reports unchanged (same ``updated_at``).

        Their locations (offices) and description (job post) are reused instead of fetched,
        so the overlap window's repeat of the newest jobs costs no request beyond the jobs
        page. Office and job post edits that do not move the job's ``updated_at`` are then
        only picked up by a full sync, which offers no copies (README, "Incremental sync").
        """
        if query.mirrored is None:
            return {}
        copies = query.mirrored([str(row.id) for row in rows])
        out = {}
        for row in rows:
            copy = copies.get(str(row.id))
            if copy is not None and row.updated_at and copy.updated_at == row.updated_at:
                out[row.id] = copy
        return out

    def _offices_for(self, ids: set[int]) -> dict[int, m.GhOffice]:
        missing = sorted(i for i in ids if i not in self._offices)
        if missing and self._offices_available:
            for chunk in _chunks(missing):
                params = {"ids": ",".join(map(str, chunk)), "per_page": c.MAX_IDS_PER_CALL}
                rows = self._unlisted(c.OFFICES_PATH, params, m.GhOffice, "office")
                if rows is None:  # jobs get no locations for the rest of the session
                    self._offices_available = False
                    break
                found = {row.id: row for row in rows}
                for office_id in chunk:
                    self._offices[office_id] = found.get(office_id)
        return {i: o for i in ids if (o := self._offices.get(i)) is not None}

    def _posts_for(self, job_ids: list[int]) -> dict[int, m.GhJobPost]:
        if not self._posts_available:
            return {}
        by_job: dict[int, list[m.GhJobPost]] = {}
        for chunk in _chunks(sorted(job_ids)):
            params = {"job_ids": ",".join(map(str, chunk)), "per_page": c.MAX_PER_PAGE}
            rows = self._all("/v3/job_posts", params, m.GhJobPost, "job post", MISSING_ENDPOINT)
            if rows is None:
                log.warning("Greenhouse job posts are not readable; jobs get no description")
                self._posts_available = False
                return {}
            for post in rows:
                if post.job_id is not None:
                    by_job.setdefault(post.job_id, []).append(post)
        return {job: best for job, posts in by_job.items() if (best := m.pick_job_post(posts))}

    def job_statuses(self, job_ids: Iterable[str]) -> list[JobState]:
        asked = [str(j) for j in job_ids]
        numeric = sorted({int(j) for j in asked if j.strip().isdigit()})
        found: dict[int, m.GhJob] = {}
        for chunk in _chunks(numeric):
            params = {"ids": ",".join(map(str, chunk)), "per_page": c.MAX_IDS_PER_CALL}
            for listed in self._all("/v3/jobs", params, m.GhJob, "job") or ():
                found[listed.id] = listed
        out = []
        for job_id in asked:
            row = found.get(int(job_id)) if job_id.strip().isdigit() else None
            if row is None:
                out.append(JobState(job_id, JobStatus.CLOSED, "not_found", exists=False))
            else:
                status = m.job_status(row.status, f"greenhouse job {row.id}")
                out.append(JobState(job_id, status, row.status))
        return out

    # -- pipeline ------------------------------------------------------------

    def list_candidates(self, query: CandidateQuery) -> Page[Candidate]:
        """One page of a job's applications, or of the account's (``job_ats_id`` None).

        Account-wide is the same listing without ``job_ids`` (notes §5): every application
        changed since ``last_activity_at``, each row naming its job. A full account-wide
        pass first lists the account's people (``atsbridge_greenhouse.people``): those
        pages carry no applications, only the cursor to the next one.
        """
        full = query.updated_since is None
        cursor = ppl.Cursor.parse(query.cursor)
        if cursor is None and query.job_ats_id is None and full:
            cursor = ppl.Cursor.start()
        if cursor is not None and cursor.phase == ppl.PEOPLE:
            return self._people_page(cursor)
        params: dict[str, Any] = {"per_page": _per_page(query.page_size)}
        job_id: int | None = None
        if query.job_ats_id is not None:
            job_id = _job_id(query.job_ats_id)
            params["job_ids"] = job_id
        if query.updated_since is not None:
            params[c.APPLICATIONS_UPDATED_PARAM] = m.updated_filter(query.updated_since)
        url = cursor.url if cursor is not None else None
        pass_id = cursor.pass_id if cursor is not None else None
        response, next_url = self._page("/v3/applications", params, url)
        next_cursor = ppl.Cursor(pass_id=pass_id, url=next_url).encode() if next_url else None
        apps = m.structure_list(
            self._json(response, "applications"), m.GhApplication, "application"
        )
        if not apps:
            return Page((), next_cursor)
        people = self._people_of(apps, pass_id, full)
        unnamed = {
            j for a in apps if not a.stage_name and a.job_interview_stage_id for j in m.jobs_of(a)
        }
        stages = self._stage_names(unnamed) if unnamed else {}
        out = []
        for app in apps:
            # A job's listing answers for that job; account-wide, each row names its jobs
            # (a prospect may sit on several, or on none: then it is left out).
            for job in [job_id] if job_id is not None else m.jobs_of(app):
                stage = None
                if not app.stage_name and app.job_interview_stage_id:
                    stage = stages.get(job, {}).get(app.job_interview_stage_id)
                person = people.get(app.candidate_id)
                out.append(m.candidate_from(app, person, str(job), stage))
        return Page(out, next_cursor)

    def _people_page(self, cursor: ppl.Cursor) -> Page[Candidate]:
        """One page of the account's people, remembered for the applications pages next."""
        params = {"per_page": c.MAX_PER_PAGE}
        response, next_url = self._page("/v3/candidates", params, cursor.url)
        rows = m.structure_list(self._json(response, "candidates"), m.GhCandidate, "candidate")
        self._remembered.listed(rows, cursor.pass_id)
        listed = cursor.listed + len(rows)
        if next_url is not None and listed < self._remembered.limit:
            following = attrs.evolve(cursor, listed=listed, url=next_url)
        else:  # every person listed (or as many as are remembered): the applications now
            following = ppl.Cursor(ppl.APPLICATIONS, cursor.pass_id)
        return Page((), following.encode())

    def _people_of(
        self, apps: list[m.GhApplication], pass_id: str | None, full: bool
    ) -> dict[int, m.GhCandidate]:
        """The people of a page of applications: remembered ones, the rest read by ids."""
        people = self._remembered.reusable(apps, pass_id, full)
        missing = {a.candidate_id for a in apps} - set(people)
        read = self._people(missing)
        self._remembered.listed(read.values(), pass_id if full else None)
        people.update(read)
        self._remembered.returned(apps, people)
        return people

    def _people(self, ids: set[int]) -> dict[int, m.GhCandidate]:
        people: dict[int, m.GhCandidate] = {}
        for chunk in _chunks(sorted(ids)):
            params = {"ids": ",".join(map(str, chunk)), "per_page": c.MAX_IDS_PER_CALL}
            for person in self._all("/v3/candidates", params, m.GhCandidate, "candidate") or ():
                people[person.id] = person
        return people

    def _stage_names(self, job_ids: set[int]) -> dict[int, dict[int, str]]:
        """Stage id -> name for each job, read once per session, up to 50 jobs a call."""
        missing = sorted(j for j in job_ids if j not in self._stages)
        for chunk in _chunks(missing):
            params = {"job_ids": ",".join(map(str, chunk)), "per_page": c.MAX_PER_PAGE}
            rows = self._all("/v3/job_interview_stages", params, m.GhStage, "stage") or []
            for job in chunk:
                self._stages[job] = {}
            for row in rows:
                if type(row.job_id) is int:
                    self._stages.setdefault(row.job_id, {})[row.id] = row.name
                elif len(chunk) == 1:  # a row without its job id, asked for one job
                    self._stages[chunk[0]][row.id] = row.name
        return {j: self._stages.get(j, {}) for j in job_ids}

    # -- lead push ------------------------------------------------------------

    def push_lead(self, job_id: str, lead: Lead) -> PushResult:
        jid = _job_id(job_id)
        unsupported: list[str] = []
        body, skipped = m.candidate_body(lead, jid, self.source_id)
        unsupported.extend(skipped)
        existed, created_now, app_created_now = False, False, False
        candidate_id, app = self._find_application(lead, jid)
        if candidate_id is not None:
            existed = True
            if app is None:
                app = self._create_application(candidate_id, jid)
                app_created_now = True
        else:
            candidate_id, app = self._create_candidate(body)
            created_now = app_created_now = True
            if app is None:  # the create answered without its nested application
                app = self._create_application(candidate_id, jid)
        unsupported += self._add_employments(candidate_id, lead, created_now)
        unsupported += self._add_educations(candidate_id, lead, created_now)
        unsupported += self._add_attachments(app.id, lead, app_created_now)
        stage = app.stage_name
        try:
            status = m.application_status(app, stage)
        except PayloadError:
            status = CandidateStatus.NEW
        return PushResult(
            candidate_id=str(candidate_id),
            application_id=str(app.id),
            already_existed=existed,
            unsupported=tuple(unsupported),
            status=status,
            stage=stage,
        )

    def _find_application(
        self, lead: Lead, job_id: int
    ) -> tuple[int | None, m.GhApplication | None]:
        """The person with one of the lead's emails, and their application on the job."""
        for email in lead.emails:
            people = self._all("/v3/candidates", {"email": email}, m.GhCandidate, "candidate")
            if not people:
                continue
            ids = sorted(p.id for p in people)[: c.MAX_IDS_PER_CALL]
            params = {"candidate_ids": ",".join(map(str, ids)), "job_ids": job_id}
            apps = self._all("/v3/applications", params, m.GhApplication, "application") or []
            apps = [a for a in apps if a.job_id in (None, job_id)]
            if apps:
                app = min(apps, key=lambda a: a.id)
                return app.candidate_id, app
            return ids[0], None  # the oldest record is the one recruiters know
        return None, None

    @staticmethod
    def _created_application(payload: Any, candidate_id: int) -> m.GhApplication:
        """The application a create answered, which may be little more than its id.

        Notes 1.7 show created records as ``{"id": …, …}``; the person is known to us, so a
        missing ``candidate_id`` is filled in rather than failing a push that did land.
        """
        if isinstance(payload, dict) and isinstance(payload.get("application"), dict):
            payload = payload["application"]
        if isinstance(payload, dict) and payload.get("candidate_id") is None:
            payload = {**payload, "candidate_id": candidate_id}
        return m.structure(payload, m.GhApplication, "greenhouse created application")

    def _create_candidate(self, body: dict) -> tuple[int, m.GhApplication | None]:
        response = self.http.post("/v3/candidates", json=body)
        payload = self._json(response, "created candidate")
        if not isinstance(payload, dict):
            raise PayloadError("greenhouse created candidate", "(body)", "expected an object")
        person = m.structure(payload.get("candidate", payload), m.GhCandidate, "created candidate")
        app_payload = payload.get("application")
        app = None
        if isinstance(app_payload, dict):
            app = self._created_application(app_payload, person.id)
        return person.id, app

    def _create_application(self, candidate_id: int, job_id: int) -> m.GhApplication:
        body = m.application_body(job_id, self.source_id, candidate_id)
        response = self.http.post("/v3/applications", json=body)
        return self._created_application(self._json(response, "created application"), candidate_id)

    def _existing(self, path: str, candidate_id: int, cls: type[T], kind: str) -> list[T] | None:
        params = {"candidate_ids": candidate_id, "per_page": c.MAX_PER_PAGE}
        return self._unlisted(path, params, cls, kind)

    def _add_employments(self, candidate_id: int, lead: Lead, created_now: bool) -> list[str]:
        unsupported: list[str] = []
        bodies = []
        for i, exp in enumerate(lead.experiences):
            if not exp.title or not exp.start:
                unsupported.append(f"experiences[{i}]")  # Greenhouse needs title and start
                continue
            if exp.description:
                unsupported.append(f"experiences[{i}].description")
            bodies.append(m.employment_body(candidate_id, exp, i))
        if bodies:
            existing = self._existing(
                c.EMPLOYMENTS_PATH, candidate_id, m.GhEmployment, "employment"
            )
            self._post_missing(c.EMPLOYMENTS_PATH, bodies, existing, m.same_employment, created_now)
        return unsupported

    def _add_educations(self, candidate_id: int, lead: Lead, created_now: bool) -> list[str]:
        unsupported: list[str] = []
        bodies = []
        for i, edu in enumerate(lead.educations):
            school = self._option(c.SCHOOL_KEY, edu.school)
            if school is None:
                unsupported.append(f"educations[{i}]")  # no school option: nothing to attach to
                continue
            degree = self._option(c.DEGREE_KEY, edu.degree) if edu.degree else None
            if edu.degree and degree is None:
                unsupported.append(f"educations[{i}].degree")
            discipline = self._option(c.DISCIPLINE_KEY, edu.field) if edu.field else None
            if edu.field and discipline is None:
                unsupported.append(f"educations[{i}].field")
            bodies.append(m.education_body(candidate_id, edu, i, school, degree, discipline))
        if bodies:
            existing = self._existing(c.EDUCATIONS_PATH, candidate_id, m.GhEducation, "education")
            self._post_missing(c.EDUCATIONS_PATH, bodies, existing, m.same_education, created_now)
        return unsupported

    def _post_missing(
        self,
        path: str,
        bodies: list[dict],
        existing: list[Any] | None,
        same: Callable[[Any, dict], bool],
        created_now: bool,
    ) -> None:
        if existing is None and not created_now:
            # Without a way to see what a previous attempt added, adding again would
            # duplicate; the person existed before this call, so leave their profile be.
            log.warning("cannot list %s for an existing candidate; not adding", path)
            return
        for body in bodies:
            if not any(same(row, body) for row in existing or ()):
                self.http.post(path, json=body)

    def _option(self, key: str, name: str | None) -> int | None:
        if not name:
            return None
        if key not in self._options:
            params = {"custom_field_key": key, "per_page": c.MAX_PER_PAGE}
            rows = self._all(
                "/v3/custom_field_options", params, m.GhOption, "option", MISSING_ENDPOINT
            )
            if rows is None:  # no harvest:custom_field_options:list: educations go unmatched
                log.warning("Greenhouse %s options are not readable", key)
            self._options[key] = {m.normalize_name(row.name): row.id for row in rows or ()}
        options = self._options[key]
        wanted = m.normalize_name(name)
        if wanted in options:
            return options[wanted]
        if key == c.DEGREE_KEY:
            alias = c.DEGREE_ALIASES.get(wanted.replace(" ", "")) or c.DEGREE_ALIASES.get(wanted)
            if alias is not None:
                return options.get(alias)
        return None

    def _add_attachments(self, application_id: int, lead: Lead, app_created_now: bool) -> list[str]:
        if not lead.attachments:
            return []
        params = {"application_ids": application_id, "per_page": c.MAX_PER_PAGE}
        existing = self._all(
            "/v3/attachments", params, m.GhAttachment, "attachment", MISSING_ENDPOINT
        )
        if existing is None and not app_created_now:
            # Not allowed to see the application's files (harvest:attachments:list is not
            # among the scopes the notes' admin steps grant): adding blind could duplicate a
            # file or demote a recruiter's resume, so report the attachments instead.
            log.warning("cannot list attachments of application %s; not adding", application_id)
            return ["attachments"]
        present = {a.filename for a in existing or ()}
        for i, attachment in enumerate(lead.attachments):
            if attachment.filename in present:
                continue
            body = {
                "application_id": application_id,
                "filename": attachment.filename,
                "type": c.RESUME_TYPE if i == 0 else c.OTHER_ATTACHMENT_TYPE,
                "content": base64.b64encode(attachment.content).decode("ascii"),
            }
            self.http.post("/v3/attachments", json=body)
        return []
