"""The reference example plugin passes the whole contract suite, exactly as a plugin would."""

from __future__ import annotations

from atsbridge.model import Job, JobStatus, Location
from atsbridge_sdk.contract import ContractSuite, job_matches_text
from atsbridge_sdk.contract.example import plugin as example_plugin


class TestExampleContract(ContractSuite):
    plugin = example_plugin


JOB = Job(
    ats_id="4711",
    title="Senior Backend Engineer, Payments",
    status=JobStatus.OPEN,
    status_raw="published",
    reference="ENG-1042",
    locations=(Location(city="São Paulo", region="São Paulo", country_code="BR"),),
)


def test_core_text_filter_as_the_kit_reads_it():
    for text in (
        "backend",
        "ENGINEER payments",
        "sao paulo",
        "Paulo",
        "br",
        "1042",
        "ENG-10",
        "71",
    ):
        assert job_matches_text(JOB, text), text
    for text in ("frontend", "paris", "1043", "backend lisbon"):
        assert not job_matches_text(JOB, text), text
    assert job_matches_text(JOB, "  ")
