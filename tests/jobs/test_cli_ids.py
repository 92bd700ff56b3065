"""Ids in the CLI: never wrapped in tables, ``-q/--ids``, `jobs import` by reference or prefix."""

from __future__ import annotations

import json
import sys

import pytest
from atsbridge.cli import _output as output
from atsbridge.cli import cli
from atsbridge.cli import jobs as jobs_cli
from atsbridge.cli._root import CliState
from click.testing import CliRunner, Result
from jobfake import JobFake, place
from rich.console import Console

UUID_A = "0b2c4a8e-1f3d-4c5b-9a7e-6d8f0e1a2b3c"
UUID_B = "0b2c4a8e-77aa-4c5b-9a7e-000000000001"
UUID_C = "9f000000-0000-4000-8000-00000000000c"


@pytest.fixture
def run(app, job_registry, db_url: str):
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db_url, *args], obj=CliState(job_registry))

    return invoke


@pytest.fixture
def uuids(ats: JobFake, run) -> JobFake:
    berlin = place("Berlin", "Berlin", "DE")
    title = "Senior Backend Engineer, Platform Infrastructure and Developer Experience"
    ats.add(UUID_A, title, reference="ENG-1007", locations=[berlin])
    ats.add(UUID_B, "Nurse", reference="NUR-1", locations=[place("Leeds")])
    ats.add(UUID_C, "Designer", reference="DUP-1")
    result = run("sync", "acme", "jobfake", "--jobs")
    assert result.exit_code == 0, result.output
    return ats


def _imported(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()[0]


def test_import_by_reference(run, uuids) -> None:
    line = _imported(run("jobs", "import", "acme", "jobfake", "ENG-1007", "--job", "P1"))
    assert line == f"imported jobfake job {UUID_A} as product job P1 (open)"
    data = json.loads(run("jobs", "list", "acme", "--json").stdout)
    assert [link["ats_job_id"] for link in data] == [UUID_A]


def test_import_by_reference_in_another_case(run, uuids) -> None:
    line = _imported(run("jobs", "import", "acme", "jobfake", "nur-1", "--job", "P2"))
    assert line == f"imported jobfake job {UUID_B} as product job P2 (open)"


def test_import_by_unique_id_prefix(run, uuids) -> None:
    line = _imported(run("jobs", "import", "acme", "jobfake", "9f00", "--job", "P3"))
    assert line == f"imported jobfake job {UUID_C} as product job P3 (open)"


def test_ambiguous_prefix_names_the_candidates(run, uuids) -> None:
    result = run("jobs", "import", "acme", "jobfake", "0b2c4a8e", "--job", "P4")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: ATS_JOB_ID: '0b2c4a8e' is the id prefix of several jobfake jobs: "
        f"{UUID_A} (Senior Backend Engineer, Platform Infrastructure and Developer "
        f"Experience), {UUID_B} (Nurse); give the id\n"
    )
    assert json.loads(run("jobs", "list", "acme", "--json").stdout) == []


def test_unknown_job_hint_depends_on_the_mirror(run, ats: JobFake) -> None:
    empty = run("jobs", "import", "acme", "jobfake", "ENG-1", "--job", "P5")
    assert empty.exit_code == 2
    assert "the mirror is empty: run `atsbridge sync acme jobfake --jobs` first" in empty.stderr
    ats.add("G1", "Backend Engineer")
    assert run("sync", "acme", "jobfake", "--jobs").exit_code == 0
    missing = run("jobs", "import", "acme", "jobfake", "9f0", "--job", "P5")
    assert missing.exit_code == 2
    assert "find it with `atsbridge jobs search acme TEXT --ats jobfake`" in missing.stderr


def test_ids_never_wrap_in_a_narrow_terminal(run, uuids, monkeypatch) -> None:
    narrow = lambda: Console(file=sys.stdout, width=70)  # noqa: E731 - a terminal 70 wide
    for module in (jobs_cli, output):
        monkeypatch.setattr(module, "console", narrow)
    result = run("jobs", "search", "acme")
    assert result.exit_code == 0, result.output
    for uuid in (UUID_A, UUID_B, UUID_C):
        assert sum(uuid in line for line in result.stdout.splitlines()) == 1, result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 70 + len(UUID_A)
    assert run("jobs", "import", "acme", "jobfake", UUID_A, "--job", "P1").exit_code == 0
    listed = run("jobs", "list", "acme")
    assert sum(UUID_A in line for line in listed.stdout.splitlines()) == 1, listed.stdout


def test_ids_only_output(run, uuids) -> None:
    result = run("jobs", "search", "acme", "-q")
    assert result.exit_code == 0, result.output
    assert sorted(result.stdout.split()) == sorted([UUID_A, UUID_B, UUID_C])
    assert run("jobs", "search", "acme", "nurse", "--ids").stdout == f"{UUID_B}\n"
    run("jobs", "import", "acme", "jobfake", "ENG-1007", "--job", "P1")
    assert run("jobs", "list", "acme", "-q").stdout == "P1\n"


def test_search_and_import_hint_the_next_command(run, uuids) -> None:
    result = run("jobs", "search", "acme", "nurse")
    assert result.stderr == (
        "next: atsbridge jobs import acme jobfake NUR-1 --job PRODUCT_JOB_ID"
        "  (link one to your product's job)\n"
    )
    imported = run("jobs", "import", "acme", "jobfake", "NUR-1", "--job", "P9")
    assert imported.stderr == (
        "next: atsbridge cnts sync acme jobfake --job P9"
        "  (fill its do-not-source list from the ATS pipeline)\n"
    )
