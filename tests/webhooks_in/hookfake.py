"""An in-memory ATS that pushes webhooks, for the core's inbound-webhook tests.

Registered as plugin ``hookfake``; no network. Its deliveries are signed like a real ATS's:
``x-hookfake-signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`` with
``x-hookfake-timestamp`` (refused when more than ``FRESH`` old: a replay) and
``x-hookfake-delivery`` (the dedupe id). The body is JSON ``{"events": [...]}`` with each
event ``{"kind", "job", "candidate", "into"}``; ``{"ping": true}`` is the creation ping,
answered with the ``x-hook-secret`` echo when one is sent (a SmartRecruiters-style
handshake). ``calls`` counts hook calls (one per ATS request), ``down`` makes the ATS
hooks fail as unreachable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from atsbridge.errors import AtsUnavailable, PayloadError, WebhookRefused
from atsbridge.hookspecs import hookimpl
from atsbridge.model import (
    Candidate,
    CandidateStatus,
    Capability,
    Job,
    JobState,
    JobStatus,
    Page,
    PluginInfo,
    PushResult,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventKind,
    WebhookRequest,
    WebhookSubscription,
)

GOOD_KEY = "hookfake-key-0123456789"
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["api_key"],
    "properties": {"api_key": {"type": "string", "writeOnly": True, "minLength": 8}},
}
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
FRESH = timedelta(minutes=5)
STEPS = "In Settings > Webhooks, paste the URL and the secret; tick *Job updated*."
_KINDS = {
    "job": WebhookEventKind.JOB,
    "candidate": WebhookEventKind.CANDIDATE,
    "deleted": WebhookEventKind.CANDIDATE_DELETED,
    "merged": WebhookEventKind.CANDIDATE_MERGED,
}


def config() -> dict[str, Any]:
    return {"api_key": GOOD_KEY}


def sign(secret: str, body: bytes, *, delivery: str, at: datetime) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return {
        "content-type": "application/json",
        "x-hookfake-signature": f"sha256={mac.hexdigest()}",
        "x-hookfake-timestamp": timestamp,
        "x-hookfake-delivery": delivery,
    }


def body(*events: dict[str, str]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


class Session:
    def close(self) -> None:
        pass


class HookFake:
    def __init__(self, *, subscribes: bool = False) -> None:
        self.jobs: dict[str, Job] = {}
        # Every application, by person: candidate id -> their pipeline entries.
        self.people: dict[str, list[Candidate]] = {}
        self.calls: Counter[str] = Counter()
        self.down = False
        self.subscribes = subscribes
        self.subscribed: list[str] = []
        if subscribes:
            # Only a subscribing plugin implements the hook (the core looks for it).
            self.atsbridge_webhook_subscribe = self._subscribe

    # --- test controls -------------------------------------------------------------------

    def add_job(self, ats_id: str, title: str, status: JobStatus = JobStatus.OPEN) -> None:
        self.jobs[ats_id] = Job(
            ats_id=ats_id,
            title=title,
            status=status,
            status_raw=status.value,
            updated_at=T0 + timedelta(minutes=len(self.jobs)),
        )

    def set_status(self, ats_id: str, status: JobStatus) -> None:
        job = self.jobs[ats_id]
        self.jobs[ats_id] = Job(
            ats_id=ats_id,
            title=job.title,
            status=status,
            status_raw=status.value,
            updated_at=(job.updated_at or T0) + timedelta(hours=1),
        )

    def apply(
        self,
        ats_id: str,
        job: str,
        name: str,
        email: str,
        *,
        status: CandidateStatus = CandidateStatus.NEW,
        stage: str = "Applied",
        application_id: str | None = None,
    ) -> Candidate:
        first, _, last = name.partition(" ")
        person = Candidate(
            ats_id=ats_id,
            job_ats_id=job,
            status=status,
            stage=stage,
            status_raw=stage.lower(),
            application_id=application_id,
            first_name=first,
            last_name=last,
            emails=(email,),
            updated_at=T0,
        )
        entries = [c for c in self.people.get(ats_id, []) if c.job_ats_id != job]
        self.people[ats_id] = [*entries, person]
        return person

    def move(self, ats_id: str, job: str, status: CandidateStatus, stage: str) -> None:
        entries = self.people[ats_id]
        self.people[ats_id] = [
            Candidate(
                ats_id=c.ats_id,
                job_ats_id=c.job_ats_id,
                status=status if c.job_ats_id == job else c.status,
                stage=stage if c.job_ats_id == job else c.stage,
                status_raw=stage.lower() if c.job_ats_id == job else c.status_raw,
                application_id=c.application_id,
                first_name=c.first_name,
                last_name=c.last_name,
                emails=c.emails,
                updated_at=c.updated_at,
            )
            for c in entries
        ]

    # --- hooks ---------------------------------------------------------------------------

    def _enter(self, hook: str) -> None:
        self.calls[hook] += 1
        if self.down:
            raise AtsUnavailable("hookfake: connection refused (simulated outage)")

    @hookimpl
    def atsbridge_plugin_info(self) -> PluginInfo:
        return PluginInfo(
            name="hookfake",
            version="0.0.1",
            display_name="Hook fake",
            capabilities={
                Capability.JOBS,
                Capability.JOB_STATUS,
                Capability.CANDIDATES,
                Capability.LEAD_PUSH,
                Capability.WEBHOOKS,
            },
            config_schema=SCHEMA,
            setup_instructions="Create an API key.",
            webhook_setup="" if self.subscribes else STEPS,
        )

    @hookimpl
    def atsbridge_open_session(self, config: dict, context: Any) -> Session:
        self._enter("open_session")
        return Session()

    @hookimpl
    def atsbridge_search_jobs(self, session: Session, query: Any) -> Page:
        self._enter("search_jobs")
        return Page(items=sorted(self.jobs.values(), key=lambda j: j.ats_id))

    @hookimpl
    def atsbridge_list_candidates(self, session: Session, query: Any) -> Page:
        self._enter("list_candidates")
        return Page(
            items=[
                c
                for entries in self.people.values()
                for c in entries
                if c.job_ats_id == query.job_ats_id
            ]
        )

    @hookimpl
    def atsbridge_job_statuses(self, session: Session, job_ids: list[str]) -> list[JobState]:
        self._enter("job_statuses")
        out = []
        for ats_id in job_ids:
            job = self.jobs.get(ats_id)
            if job is None:
                out.append(JobState(ats_id, JobStatus.CLOSED, "deleted", exists=False))
            else:
                out.append(JobState(ats_id, job.status, job.status_raw))
        return out

    @hookimpl
    def atsbridge_push_lead(
        self, session: Session, job_id: str, lead: Any, idempotency_key: str
    ) -> PushResult:
        self._enter("push_lead")
        ats_id = f"c-{lead.id}"
        self.apply(ats_id, job_id, f"{lead.first_name} {lead.last_name}", lead.emails[0])
        return PushResult(candidate_id=ats_id, status=CandidateStatus.NEW, stage="Applied")

    @hookimpl
    def atsbridge_read_candidate(self, session: Session, candidate_ats_id: str) -> tuple:
        self._enter("read_candidate")
        return tuple(self.people.get(candidate_ats_id, ()))

    def _subscribe(self, session: Session, callback_url: str) -> WebhookSubscription:
        self._enter("webhook_subscribe")
        self.subscribed.append(callback_url)
        return WebhookSubscription(
            secret=f"sub-secret-{len(self.subscribed)}", external_id="sub-1", events=("job",)
        )

    @hookimpl
    def atsbridge_webhook_receive(self, request: WebhookRequest) -> WebhookDelivery:
        # Pure, as the contract asks: no calls counted, no I/O.
        if "x-hook-secret" in request.headers:  # the activation handshake
            echo = request.headers["x-hook-secret"]
            return WebhookDelivery(
                delivery_id=f"handshake-{echo[:16]}",
                response_headers={"X-Hook-Secret": echo},
            )
        given = request.headers.get("x-hookfake-signature", "")
        timestamp = request.headers.get("x-hookfake-timestamp", "")
        if not given or not timestamp.isdigit():
            raise WebhookRefused("hookfake: missing x-hookfake-signature or timestamp")
        if not request.secrets:
            raise WebhookRefused("hookfake: no webhook secret is set up for this connection")
        sent = datetime.fromtimestamp(int(timestamp), UTC)
        if abs(request.received_at - sent) > FRESH:
            raise WebhookRefused("hookfake: stale timestamp (a replay?)")
        signed = timestamp.encode() + b"." + request.body
        expected = [
            "sha256=" + hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()
            for s in request.secrets
        ]
        if not any(hmac.compare_digest(given, e) for e in expected):
            raise WebhookRefused("hookfake: signature does not match")
        try:
            data = json.loads(request.body)
        except ValueError:
            raise PayloadError("webhook", "body", "not JSON") from None
        if not isinstance(data, dict):
            raise PayloadError("webhook", "body", "not a JSON object")
        delivery_id = request.headers.get("x-hookfake-delivery", "")
        if data.get("ping"):
            return WebhookDelivery(delivery_id=delivery_id or "ping")
        events = []
        for item in data.get("events", ()):
            if not isinstance(item, dict) or item.get("kind") not in _KINDS:
                raise PayloadError("webhook", "events.kind", "unknown event kind")
            events.append(
                WebhookEvent(
                    kind=_KINDS[item["kind"]],
                    job_ats_id=item.get("job"),
                    candidate_ats_id=item.get("candidate"),
                    merged_into=item.get("into"),
                )
            )
        return WebhookDelivery(delivery_id=delivery_id, events=tuple(events), occurred_at=sent)
