"""The control side of a fake ATS: what tests and the demo do to it and ask of it.

Every plugin's sandbox is a ``Sandbox``: the HTTP server of ``SandboxApp`` plus this API.
The contract kit only uses these methods, so it can drive any plugin's fake the same way;
the same methods serve the HTTP control API (``/_sandbox/...``, ``atsbridge sandbox-ctl``).
Ids are the ones the plugin reports (``Job.ats_id``, ``Candidate.ats_id``).
"""

from __future__ import annotations

import abc
from datetime import datetime
from typing import Self

import attrs
from atsbridge.model import CandidateStatus, JobStatus, SandboxOptions

from atsbridge_sdk.sandbox.control import serve_control
from atsbridge_sdk.sandbox.seed import SeedPerson
from atsbridge_sdk.sandbox.server import SandboxApp, SandboxRequest, SandboxResponse
from atsbridge_sdk.sandbox.webhooks import WebhookDeliverer


@attrs.frozen
class JobFacts:
    """A sandbox job as the contract kit checks it against what the plugin returned."""

    ats_id: str
    title: str
    reference: str | None
    city: str | None
    country_code: str | None
    status: JobStatus
    updated_at: datetime


@attrs.frozen
class PersonFacts:
    """A person stored in the sandbox ATS (to check pushes: fields and duplicates)."""

    ats_id: str
    first_name: str
    last_name: str
    emails: tuple[str, ...]
    job_ids: tuple[str, ...]  # jobs this person has an application on
    linkedin_url: str | None = None
    phones: tuple[str, ...] = ()
    educations: int = 0
    experiences: int = 0
    resume: bytes | None = None


class Sandbox(SandboxApp, abc.ABC):
    """A plugin's faithful fake ATS. Subclasses seed from ``options`` in ``__init__``."""

    name: str = "sandbox"
    # The sandbox's outbound webhooks, for ATSs that push (see ``sandbox.webhooks``); its
    # delivery thread runs while the server does.
    webhooks: WebhookDeliverer | None = None
    #: People the HTTP control API has added so far (their seed keys follow it).
    control_people_added: int = 0

    def __init__(self, options: SandboxOptions = SandboxOptions()):
        super().__init__(rate_limited=options.rate_limited)
        self.options = options

    def control(self, request: SandboxRequest) -> SandboxResponse | None:
        """The HTTP control API under ``/_sandbox/`` (``atsbridge_sdk.sandbox.control``),
        built on the methods below: a plugin implements those, not routes."""
        return serve_control(self, request)

    def start(self, port: int | None = None) -> Self:
        """Start listening on 127.0.0.1; ``options.port`` (0 = a random free port) by default."""
        started = super().start(self.options.port if port is None else port)
        if self.webhooks is not None:
            self.webhooks.start()
        return started

    def stop(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
        super().stop()

    @abc.abstractmethod
    def connection_config(self, *, valid: bool = True) -> dict:
        """A connection config for this sandbox; ``valid=False`` has wrong credentials."""

    @abc.abstractmethod
    def jobs(self) -> list[JobFacts]:
        """Every job the ATS holds now."""

    @abc.abstractmethod
    def pipeline(self, job_id: str) -> list[str]:
        """Candidate ids (``Candidate.ats_id``) in the job's pipeline, every stage."""

    @abc.abstractmethod
    def set_job_status(self, job_id: str, status: JobStatus) -> None:
        """Open, close, draft or hold a job, as a recruiter would (bumps updated_at)."""

    @abc.abstractmethod
    def rename_job(self, job_id: str, title: str) -> None:
        """Edit a job's title (bumps updated_at)."""

    @abc.abstractmethod
    def add_candidate(self, job_id: str, person: SeedPerson) -> str:
        """Put a new person into a job's pipeline; return their candidate id."""

    @abc.abstractmethod
    def remove_candidate(self, job_id: str, candidate_id: str) -> None:
        """Take a person out of a job's pipeline (application deleted)."""

    @abc.abstractmethod
    def move_candidate(self, job_id: str, candidate_id: str, status: CandidateStatus) -> None:
        """Move a person in a job's pipeline to the stage/status matching ``status``."""

    @abc.abstractmethod
    def people(self, email: str | None = None) -> list[PersonFacts]:
        """People stored in the ATS (all, or those with ``email``), pushed ones included."""

    def close_job(self, job_id: str) -> None:
        self.set_job_status(job_id, JobStatus.CLOSED)
