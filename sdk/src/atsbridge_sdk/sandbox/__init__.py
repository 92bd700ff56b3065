"""Sandbox kit: the base for each plugin's faithful fake ATS on loopback."""

from atsbridge_sdk.sandbox.base import JobFacts, PersonFacts, Sandbox
from atsbridge_sdk.sandbox.seed import (
    SeedJob,
    SeedPerson,
    SeedWorld,
    make_person,
    make_world,
    seed_progress,
)
from atsbridge_sdk.sandbox.server import (
    BadRequest,
    Faults,
    LoggedRequest,
    Part,
    SandboxApp,
    SandboxRequest,
    SandboxResponse,
    TokenBucketLimit,
    WindowLimit,
    json_response,
    route,
    xml_response,
)

__all__ = [
    "BadRequest",
    "Faults",
    "JobFacts",
    "LoggedRequest",
    "Part",
    "PersonFacts",
    "Sandbox",
    "SandboxApp",
    "SandboxRequest",
    "SandboxResponse",
    "SeedJob",
    "SeedPerson",
    "SeedWorld",
    "TokenBucketLimit",
    "WindowLimit",
    "json_response",
    "make_person",
    "make_world",
    "route",
    "seed_progress",
    "xml_response",
]
