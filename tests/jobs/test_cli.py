"""CLI: ``sync``, ``jobs search``, ``jobs import``, ``jobs list`` through click's runner."""

from __future__ import annotations

import json

import pytest
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.model import JobStatus
from click.testing import CliRunner, Result
from jobfake import JobFake, place


@pytest.fixture
def run(app, job_registry, db_url: str):
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db_url, *args], obj=CliState(job_registry))

    return invoke


@pytest.fixture
def seeded(ats: JobFake) -> JobFake:
    berlin = place("Berlin", "Berlin", "DE")
    ats.add("G1", "Backend Engineer", reference="ENG-7", locations=[berlin])
    ats.add("G2", "Nurse", locations=[place("Leeds")])
    return ats


def test_sync_jobs_json_prints_the_run(run, seeded: JobFake) -> None:
    result = run("sync", "acme", "jobfake", "--jobs", "--json")
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    assert report["kind"] == "jobs" and report["status"] == "succeeded"
    assert report["counts"]["added"] == 2 and report["pages"] == 1
    result = run("sync", "acme", "jobfake", "--history", "--json")
    assert [r["id"] for r in json.loads(result.stdout)] == [report["id"]]


def test_sync_table_output_and_failure_exit_code(run, seeded: JobFake) -> None:
    result = run("sync", "acme", "jobfake", "--jobs")
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.stdout
    seeded.fail_on_call = len(seeded.calls) + 1
    result = run("sync", "acme", "jobfake", "--jobs")
    assert result.exit_code == 1
    assert "failed" in result.stdout
    assert "error: jobfake is down (simulated crash)" in result.stderr


def test_jobs_search_json_and_table(run, seeded: JobFake) -> None:
    run("sync", "acme", "jobfake", "--jobs")
    result = run("jobs", "search", "acme", "berl", "--json")
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert [j["ats_id"] for j in page["items"]] == ["G1"]
    assert page["items"][0]["match"] == "location" and page["next_offset"] is None
    result = run("jobs", "search", "acme", "--limit", "1")
    assert result.exit_code == 0
    assert "Nurse" in result.stdout and "more: --offset 1" in result.stdout
    result = run("jobs", "search", "acme", "--status", "nope")
    assert result.exit_code == 2 and "--status: unknown job status 'nope'" in result.stderr


def test_jobs_import_and_list(run, seeded: JobFake) -> None:
    run("sync", "acme", "jobfake", "--jobs")
    result = run("jobs", "import", "acme", "jobfake", "G1", "--job", "P-1", "--json")
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["prefilled"]["title"] == "Backend Engineer"
    assert imported["missing"] == ["description", "department", "employment_type"]

    result = run("jobs", "import", "acme", "jobfake", "G1", "--job", "P-2")
    assert result.exit_code == 2
    assert "jobfake job G1 is already imported as product job 'P-1'" in result.stderr
    result = run("jobs", "import", "acme", "jobfake", "G2", "--job", "P-1")
    assert result.exit_code == 2
    assert "product job 'P-1' is already linked to jobfake job G1" in result.stderr

    result = run("jobs", "import", "acme", "jobfake", "G2", "--job", "P-2")
    assert result.exit_code == 0
    assert "still to fill in: description, department, employment_type, reference" in result.stdout

    seeded.edit("G1", status=JobStatus.CLOSED, status_raw="filled")
    run("sync", "acme", "jobfake", "--jobs")
    links = json.loads(run("jobs", "list", "acme", "--json").stdout)
    states = {link["product_job_id"]: (link["state"], link["status_raw"]) for link in links}
    assert states == {"P-1": ("closed", "filled"), "P-2": ("open", "open")}
    result = run("jobs", "list", "acme")
    assert "closed (filled)" in result.stdout


def test_unknown_tenant_is_bad_input(run) -> None:
    result = run("jobs", "search", "nobody")
    assert result.exit_code == 2 and "no tenant 'nobody'" in result.stderr
