"""A faithful fake of the Example ATS API, on loopback, from the SDK's seeded world."""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from atsbridge.model import CandidateStatus, JobStatus, SandboxOptions

from atsbridge_sdk.sandbox import (
    BadRequest,
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
)

from .mapping import JOB_STATE, JOB_STATUS

# unified status -> (stage, outcome)
STATUS_STAGE = {
    CandidateStatus.NEW: ("applied", None),
    CandidateStatus.IN_REVIEW: ("screen", None),
    CandidateStatus.INTERVIEWING: ("interview", None),
    CandidateStatus.OFFERED: ("offer", None),
    CandidateStatus.HIRED: ("hired", None),
    CandidateStatus.REJECTED: ("screen", "rejected"),
    CandidateStatus.WITHDRAWN: ("applied", "withdrawn"),
}
MAX_LIMIT = 100


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str, name: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}: not an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(raw.removeprefix("o:"))
    except ValueError:
        raise BadRequest("cursor: not a cursor this API issued") from None


class ExampleSandbox(Sandbox):
    """Jobs, candidates and applications in dicts, served with the real API's shapes."""

    name = "example"
    rate_limit = TokenBucketLimit(rate=20, burst=10)

    def __init__(self, options: SandboxOptions = SandboxOptions()):
        super().__init__(options)
        digest = hashlib.sha256(f"example-{options.seed}".encode()).hexdigest()
        self.api_key = f"exk_live_{digest[:24]}"
        self._jobs: dict[str, dict[str, Any]] = {}
        self._candidates: dict[str, dict[str, Any]] = {}
        self._applications: dict[str, dict[str, Any]] = {}
        self._files: dict[str, list[tuple[str, bytes]]] = {}
        world = make_world(options.seed, options.jobs, options.candidates_per_job)
        latest = datetime(2000, 1, 1, tzinfo=UTC)
        for job in world.jobs:
            job_id = str(1000 + job.key)
            self._jobs[job_id] = {
                "id": job_id,
                "title": job.title,
                "req_code": job.reference,
                "state": JOB_STATE[JobStatus(job.status)],
                "location": {
                    "city": job.place.city,
                    "region": job.place.region,
                    "country": job.place.country_code,
                },
                "department": job.department,
                "description": job.description,
                "url": f"https://jobs.example-ats.invalid/{job_id}",
                "created_at": job.created_at,
                "updated_at": job.updated_at,
            }
            latest = max(latest, job.updated_at)
            for person in world.pipelines[job.key]:
                candidate_id = self._store_person(person)
                self._apply(candidate_id, job_id, CandidateStatus(person.status), person.updated_at)
                latest = max(latest, person.updated_at)
        self._last_tick = latest

    # -- time -------------------------------------------------------------------------------

    def _tick(self) -> datetime:
        """A mutation time: now, but always at least a second after anything stored."""
        now = datetime.now(UTC).replace(microsecond=0)
        self._last_tick = max(now, self._last_tick + timedelta(seconds=1))
        return self._last_tick

    # -- storage helpers ----------------------------------------------------------------------

    def _store_person(self, person: SeedPerson) -> str:
        candidate_id = f"c{len(self._candidates) + 1:05d}"
        self._candidates[candidate_id] = {
            "id": candidate_id,
            "external_id": None,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "emails": [person.email],
            "phones": [person.phone],
            "linkedin": person.linkedin_url,
            "company": person.company,
            "city": person.place.city,
            "educations": [],
            "experiences": [],
        }
        return candidate_id

    def _apply(
        self, candidate_id: str, job_id: str, status: CandidateStatus, when: datetime
    ) -> dict[str, Any]:
        stage, outcome = STATUS_STAGE[status]
        app_id = f"a{len(self._applications) + 1:05d}"
        application = {
            "id": app_id,
            "job_id": job_id,
            "candidate_id": candidate_id,
            "stage": stage,
            "outcome": outcome,
            "created_at": when,
            "updated_at": when,
        }
        self._applications[app_id] = application
        return application

    def _application(self, job_id: str, candidate_id: str) -> dict[str, Any]:
        for app in self._applications.values():
            if app["job_id"] == job_id and app["candidate_id"] == candidate_id:
                return app
        raise KeyError(f"candidate {candidate_id} has no application on job {job_id}")

    def _candidate_json(self, candidate_id: str) -> dict[str, Any]:
        data = dict(self._candidates[candidate_id])
        data["applications"] = [
            {"id": a["id"], "job_id": a["job_id"]}
            for a in self._applications.values()
            if a["candidate_id"] == candidate_id
        ]
        data["files"] = [name for name, _ in self._files.get(candidate_id, [])]
        return data

    def _job_json(self, job: dict[str, Any]) -> dict[str, Any]:
        return {
            **job,
            "created_at": _iso(job["created_at"]),
            "updated_at": _iso(job["updated_at"]),
        }

    def _application_json(self, app: dict[str, Any]) -> dict[str, Any]:
        person = self._candidates[app["candidate_id"]]
        return {
            "id": app["id"],
            "job_id": app["job_id"],
            "stage": app["stage"],
            "outcome": app["outcome"],
            "created_at": _iso(app["created_at"]),
            "updated_at": _iso(app["updated_at"]),
            "candidate": {
                k: person[k]
                for k in (
                    "id",
                    "first_name",
                    "last_name",
                    "emails",
                    "phones",
                    "linkedin",
                    "company",
                    "city",
                )
            },
        }

    # -- HTTP: auth and errors ---------------------------------------------------------------

    def authenticate(self, request: SandboxRequest) -> SandboxResponse | None:
        header = request.headers.get("Authorization", "")
        if header != f"Bearer {self.api_key}":
            return self.error(401, "invalid or missing API key")
        request.credential = "key-1"
        return None

    def error(self, status: int, message: str) -> SandboxResponse:
        codes = {400: "bad_request", 401: "unauthorized", 404: "not_found", 409: "conflict"}
        code = codes.get(status, "too_many_requests" if status == 429 else "error")
        return json_response({"error": code, "message": message}, status)

    def concurrency_key(self, request: SandboxRequest) -> tuple[str, int] | None:
        return ("api", 4)

    # -- HTTP: routes ---------------------------------------------------------------------------

    def _page(self, request: SandboxRequest, rows: list[Any]) -> SandboxResponse:
        limit_raw = request.arg("limit", "25") or "25"
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= MAX_LIMIT:
            raise BadRequest(f"limit: must be an integer from 1 to {MAX_LIMIT}")
        limit = int(limit_raw)
        offset = _decode_cursor(request.arg("cursor") or "") if request.arg("cursor") else 0
        chunk = rows[offset : offset + limit]
        more = offset + limit < len(rows)
        return json_response(
            {"data": chunk, "next_cursor": _encode_cursor(offset + limit) if more else None}
        )

    @route("GET", "/v1/me")
    def me(self, request: SandboxRequest) -> SandboxResponse:
        return json_response({"account": "Acme Corp", "key_name": "atsbridge"})

    @route("GET", "/v1/jobs")
    def list_jobs(self, request: SandboxRequest) -> SandboxResponse:
        jobs = list(self._jobs.values())
        since = request.arg("updated_since")
        if since:
            when = _parse_time(since, "updated_since")
            jobs = [j for j in jobs if j["updated_at"] >= when]
        states = request.arg("state")
        if states:
            wanted = set(states.split(","))
            unknown = wanted - set(JOB_STATUS)
            if unknown:
                raise BadRequest(f"state: unknown value {sorted(unknown)[0]!r}")
            jobs = [j for j in jobs if j["state"] in wanted]
        text = request.arg("q")
        if text:
            tokens = _fold(text).split()

            def hit(job: dict[str, Any]) -> bool:
                place = job["location"]
                hay = _fold(" ".join([job["title"], job["req_code"], job["id"], *place.values()]))
                return any(t in hay for t in tokens)

            jobs = [j for j in jobs if hit(j)]
        jobs.sort(key=lambda j: (j["updated_at"], j["id"]), reverse=True)
        return self._page(request, [self._job_json(j) for j in jobs])

    @route("GET", "/v1/jobs/{job_id}")
    def get_job(self, request: SandboxRequest) -> SandboxResponse:
        job = self._jobs.get(request.path_params["job_id"])
        if job is None:
            return self.error(404, "job not found")
        return json_response(self._job_json(job))

    @route("GET", "/v1/jobs/{job_id}/applications")
    def list_applications(self, request: SandboxRequest) -> SandboxResponse:
        job_id = request.path_params["job_id"]
        if job_id not in self._jobs:
            return self.error(404, "job not found")
        apps = [a for a in self._applications.values() if a["job_id"] == job_id]
        return self._applications_page(request, apps)

    @route("GET", "/v1/applications")
    def list_all_applications(self, request: SandboxRequest) -> SandboxResponse:
        """Every application in the account (closed jobs' too)."""
        return self._applications_page(request, list(self._applications.values()))

    def _applications_page(
        self, request: SandboxRequest, apps: list[dict[str, Any]]
    ) -> SandboxResponse:
        """One page of ``apps`` changed since ``updated_since``, most recently updated first."""
        since = request.arg("updated_since")
        if since:
            when = _parse_time(since, "updated_since")
            apps = [a for a in apps if a["updated_at"] >= when]
        apps.sort(key=lambda a: (a["updated_at"], a["id"]), reverse=True)
        return self._page(request, [self._application_json(a) for a in apps])

    @route("GET", "/v1/candidates")
    def find_candidates(self, request: SandboxRequest) -> SandboxResponse:
        email = (request.arg("email") or "").casefold()
        external = request.arg("external_id")
        if not email and not external:
            raise BadRequest("give email or external_id")
        found = [
            self._candidate_json(cid)
            for cid, c in self._candidates.items()
            if (email and email in [e.casefold() for e in c["emails"]])
            or (external and c.get("external_id") == external)
        ]
        return json_response({"data": found})

    @route("POST", "/v1/candidates")
    def create_candidate(self, request: SandboxRequest) -> SandboxResponse:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("body: expected an object")
        for field in ("first_name", "last_name"):
            if not isinstance(body.get(field), str) or not body[field]:
                raise BadRequest(f"{field}: required")
        candidate_id = f"c{len(self._candidates) + 1:05d}"
        self._candidates[candidate_id] = {
            "id": candidate_id,
            "external_id": body.get("external_id"),
            "first_name": body["first_name"],
            "last_name": body["last_name"],
            "emails": list(body.get("emails") or []),
            "phones": list(body.get("phones") or []),
            "linkedin": body.get("linkedin"),
            "company": (body.get("experiences") or [{}])[0].get("company"),
            "city": body.get("city"),
            "educations": list(body.get("educations") or []),
            "experiences": list(body.get("experiences") or []),
        }
        return json_response(self._candidate_json(candidate_id), 201)

    @route("POST", "/v1/candidates/{candidate_id}/applications")
    def create_application(self, request: SandboxRequest) -> SandboxResponse:
        candidate_id = request.path_params["candidate_id"]
        if candidate_id not in self._candidates:
            return self.error(404, "candidate not found")
        body = request.json()
        job_id = body.get("job_id") if isinstance(body, dict) else None
        if job_id not in self._jobs:
            raise BadRequest("job_id: no such job")
        try:
            existing = self._application(job_id, candidate_id)
        except KeyError:
            app = self._apply(candidate_id, job_id, CandidateStatus.NEW, self._tick())
            return json_response({"id": app["id"], "job_id": job_id}, 201)
        response = self.error(409, "candidate already has an application on this job")
        payload = {"error": "conflict", "message": "already applied"}
        return json_response({**payload, "application_id": existing["id"]}, response.status)

    @route("POST", "/v1/candidates/{candidate_id}/files")
    def upload_file(self, request: SandboxRequest) -> SandboxResponse:
        candidate_id = request.path_params["candidate_id"]
        if candidate_id not in self._candidates:
            return self.error(404, "candidate not found")
        parts = request.multipart()
        upload = parts.get("file")
        if upload is None or not upload.filename:
            raise BadRequest("file: required")
        self._files.setdefault(candidate_id, []).append((upload.filename, upload.data))
        return json_response({"filename": upload.filename}, 201)

    # -- control API (the contract kit and the demo) -------------------------------------------

    def connection_config(self, *, valid: bool = True) -> dict:
        key = self.api_key if valid else "exk_live_" + "0" * 24
        return {"api_key": key, "base_url": self.url}

    def jobs(self) -> list[JobFacts]:
        with self.lock:
            return [
                JobFacts(
                    ats_id=j["id"],
                    title=j["title"],
                    reference=j["req_code"],
                    city=j["location"]["city"],
                    country_code=j["location"]["country"],
                    status=JOB_STATUS[j["state"]],
                    updated_at=j["updated_at"],
                )
                for j in self._jobs.values()
            ]

    def pipeline(self, job_id: str) -> list[str]:
        with self.lock:
            return [a["candidate_id"] for a in self._applications.values() if a["job_id"] == job_id]

    def set_job_status(self, job_id: str, status: JobStatus) -> None:
        with self.lock:
            job = self._jobs[job_id]
            job["state"] = JOB_STATE[status]
            job["updated_at"] = self._tick()

    def rename_job(self, job_id: str, title: str) -> None:
        with self.lock:
            job = self._jobs[job_id]
            job["title"] = title
            job["updated_at"] = self._tick()

    def add_candidate(self, job_id: str, person: SeedPerson) -> str:
        with self.lock:
            if job_id not in self._jobs:
                raise KeyError(f"no job {job_id}")
            candidate_id = self._store_person(person)
            self._apply(candidate_id, job_id, CandidateStatus(person.status), self._tick())
            return candidate_id

    def remove_candidate(self, job_id: str, candidate_id: str) -> None:
        with self.lock:
            app = self._application(job_id, candidate_id)
            del self._applications[app["id"]]

    def move_candidate(self, job_id: str, candidate_id: str, status: CandidateStatus) -> None:
        with self.lock:
            app = self._application(job_id, candidate_id)
            app["stage"], app["outcome"] = STATUS_STAGE[status]
            app["updated_at"] = self._tick()

    def people(self, email: str | None = None) -> list[PersonFacts]:
        with self.lock:
            out = []
            for cid, c in self._candidates.items():
                if email is not None and email.casefold() not in [
                    e.casefold() for e in c["emails"]
                ]:
                    continue
                files = self._files.get(cid, [])
                out.append(
                    PersonFacts(
                        ats_id=cid,
                        first_name=c["first_name"],
                        last_name=c["last_name"],
                        emails=tuple(c["emails"]),
                        job_ids=tuple(
                            a["job_id"]
                            for a in self._applications.values()
                            if a["candidate_id"] == cid
                        ),
                        linkedin_url=c["linkedin"],
                        phones=tuple(c["phones"]),
                        educations=len(c["educations"]),
                        experiences=len(c["experiences"]),
                        resume=files[0][1] if files else None,
                    )
                )
            return out
