"""One poison record never breaks a tenant (#20 item 7), on SQLite and on PostgreSQL.

Lone surrogates and NUL characters are refused where text enters (configs, lead documents
and resume file names: one line naming the field, exit 2); an ATS job that cannot be
stored (an id over 255 characters, NUL in its title) is skipped with a warning and the rest
of its page is stored; a failing statement's error never carries its parameters.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from atsbridge import leaddoc
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.config import validate_config
from atsbridge.errors import BadInput, ConfigError
from atsbridge.filereader import FileRejected
from atsbridge.plugins import PluginRegistry
from atsbridge.storable import text_problem
from atsbridge.store import Job as JobRow
from click.testing import CliRunner
from sqlmodel import select

sys.path.append(str(Path(__file__).resolve().parents[1] / "jobs"))

from jobfake import CONFIG, JobFake

SCHEMA = {
    "type": "object",
    "properties": {"account": {"type": "string"}, "api_key": {"type": "string"}},
}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("a\x00b", "must not contain NUL characters"),
        ("x\ud800y", "must be valid Unicode (it holds a lone surrogate)"),
        ("fine ünïcode", None),
    ],
)
def test_text_problem(value: str, reason: str | None) -> None:
    assert text_problem(value) == reason


def test_config_text_is_checked_without_quoting_it() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config(SCHEMA, {"account": "ac\x00me", "api_key": "k\udfffey-secret"})
    assert caught.value.problems == [
        "config.account: must not contain NUL characters",
        "config.api_key: must be valid Unicode (it holds a lone surrogate)",
    ]
    assert "secret" not in str(caught.value)


def _doc(**extra: object) -> dict:
    doc = copy.deepcopy(leaddoc.EXAMPLE)
    doc.pop("attachments", None)
    doc.update(id="lead-1", emails=["ada@example.org"], **extra)
    return doc


def test_lead_documents_refuse_poison_text() -> None:
    with pytest.raises(leaddoc.LeadDocumentError) as caught:
        leaddoc.validate(_doc(first_name="A\ud800da", headline="x\x00y"))
    assert caught.value.problems == [
        "lead.first_name: must be valid Unicode (it holds a lone surrogate)",
        "lead.headline: must not contain NUL characters",
    ]


@pytest.fixture
def world(db_url: str) -> Iterator[tuple[Atsbridge, JobFake, str]]:
    fake = JobFake()
    registry = PluginRegistry()
    registry.register(fake, "jobfake")
    app = Atsbridge(db=db_url, registry=registry)
    try:
        app.connections.connect("acme", "jobfake", dict(CONFIG))
        yield app, fake, db_url
    finally:
        app.session_pool.close()
        app.close()


def test_cli_push_of_a_poison_lead_is_exit_2_and_the_tenant_still_lists(world, tmp_path) -> None:
    app, fake, db_url = world
    fake.add("J1", "Engineer")
    app.jobs.sync("acme", "jobfake")
    app.jobs.import_job("acme", "jobfake", "J1", "P1")
    registry = app.registry

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, ["--db", db_url, *args], obj=CliState(registry), input=input)

    # json.dumps escapes the surrogate as \ud800, which json.loads turns back into one.
    poison = json.dumps(_doc(last_name="Love\ud800lace"))
    result = run("leads", "push", "acme", "P1", "-", "--no-export", input=poison)
    assert result.exit_code == 2, result.output
    assert "lead.last_name: must be valid Unicode" in result.stderr
    assert "Traceback" not in result.output
    fine = run("leads", "push", "acme", "P1", "-", "--no-export", input=json.dumps(_doc()))
    assert fine.exit_code == 0, fine.output
    listed = run("leads", "list", "acme", "--json")
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)) == 1


def test_an_unstorable_ats_job_is_skipped_not_its_page(world) -> None:
    app, fake, _ = world
    fake.add("J1", "Engineer")
    fake.add("J" * 300, "Too long an id")
    fake.add("J3", "Nul\x00title")
    fake.add("J4", "Designer")
    report = app.jobs.sync("acme", "jobfake", full=True)
    assert report.status == "succeeded"
    assert report.counts["added"] == 2
    assert sorted(e.split(": ", 2)[2] for e in report.errors) == [
        "ats_id must be at most 255 characters",
        "title must not contain NUL characters",
    ]
    assert all(e.startswith("warning: skipped job #") for e in report.errors)
    with app.store.tenant("acme") as repo:
        assert sorted(r.ats_id for r in repo.all(select(JobRow))) == ["J1", "J4"]


def test_statement_errors_do_not_carry_parameters(world) -> None:
    app, _fake, _ = world
    with pytest.raises(sa.exc.StatementError) as caught, app.store.system_session() as session:
        session.connection().execute(
            sa.text("SELECT * FROM no_such_table WHERE x = :x"), {"x": "secret-lead-email"}
        )
    assert "secret-lead-email" not in str(caught.value)


def test_a_csv_with_nul_is_refused_with_a_reason(world, tmp_path) -> None:
    app, _fake, _ = world
    path = tmp_path / "list.csv"
    path.write_bytes(b"name,email\nAda Lovelace,ada@example.org\nBad,x\x00y@example.org\n")
    with pytest.raises(FileRejected, match=r"list\.csv: looks binary"):
        app.cnts.import_file("acme", "P9", path, create=True)


def test_a_cell_with_unstorable_text_is_a_row_error() -> None:
    # Cells reach the row reader as text (a workbook's escapes can decode to NUL too).
    from atsbridge.filereader import RowProblem, _person

    header = ["name", "email", "notes"]
    index = [(0, "name"), (1, "email"), (2, None)]
    outcome, _ = _person(
        3, ["Bad Row", "bad@example.org", "x\x00y"], frozenset(), header, index, None
    )
    assert outcome == RowProblem(3, "column 'notes': must not contain NUL characters")
    fine, _ = _person(4, ["Ada", "ada@example.org", "ok"], frozenset(), header, index, None)
    assert not isinstance(fine, RowProblem)


def test_an_unstorable_ats_candidate_is_skipped_not_its_page(db_url: str) -> None:
    sys.path.append(str(Path(__file__).resolve().parents[1]))
    from cntsfake import Clock, PipelineAts, connect, link

    clock = Clock()
    pipe = PipelineAts(clock)
    registry = PluginRegistry()
    registry.register(pipe, pipe.name)
    with Atsbridge(db=db_url, registry=registry, clock=clock) as app:
        connect(app, "acme")
        link(app, "acme", "P1", "J1")
        pipe.put("J1", "c1")
        pipe.put("J1", "c" * 300)
        pipe.put("J1", "c3", company="Acme\x00Corp")
        pipe.put("J1", "c4", first_name="Gr\udffface")
        pipe.put("J1", "c5")
        (report,) = app.cnts.sync("acme", "pipeats")
        assert report.status == "succeeded"
        assert sorted(report.errors) == [
            "warning: skipped a candidate: ats_id must be at most 255 characters",
            "warning: skipped a candidate: company must not contain NUL characters",
            "warning: skipped a candidate: first_name must be valid Unicode "
            "(it holds a lone surrogate)",
        ]
        assert app.cnts.list_entries("acme", "P1").total == 2
        app.session_pool.close()


def test_product_job_ids_are_checked_where_they_enter(world) -> None:
    app, fake, _ = world
    fake.add("J1", "Engineer")
    app.jobs.sync("acme", "jobfake")
    with pytest.raises(BadInput, match="--job: must not contain NUL characters"):
        app.jobs.import_job("acme", "jobfake", "J1", "P\x001")
    with pytest.raises(BadInput, match="PRODUCT_JOB_ID: must be valid Unicode"):
        app.leads.enqueue("acme", "P\ud8001", _doc())


def test_http_lead_with_a_lone_surrogate_is_a_4xx_naming_the_field(world) -> None:
    from atsbridge.http.app import create_app
    from fastapi.testclient import TestClient

    app, fake, _ = world
    fake.add("J1", "Engineer")
    app.jobs.sync("acme", "jobfake")
    app.jobs.import_job("acme", "jobfake", "J1", "P1")
    key = app.api_keys.create("admin", scope="admin")[1]
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        body = json.dumps(_doc(first_name="A\ud800da"))  # sent as the \\ud800 escape
        answer = client.post(
            "/v1/tenants/acme/product-jobs/P1/leads",
            content=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
    assert 400 <= answer.status_code < 500, answer.text
    assert "lead.first_name: must be valid Unicode" in answer.text
