"""``atsbridge leads ...`` through click's runner, over the fake ATS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from atsbridge import leaddoc
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.errors import AtsError
from atsbridge.model import CandidateStatus
from click.testing import CliRunner, Result
from conftest import PDF, lead_doc
from leadfake import LeadFake


@pytest.fixture
def run(app: Atsbridge):
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", str(app.db), *args], obj=CliState(app=app))

    return invoke


@pytest.fixture
def lead_file(tmp_path: Path):
    def write(doc: object, name: str = "lead.json") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(doc), encoding="utf-8")
        return str(path)

    return write


def test_schema_is_printed_and_names_the_contract(run) -> None:
    result = run("leads", "schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "id", "first_name", "last_name", "emails", "phones", "linkedin_url", "headline",
        "location", "educations", "experiences", "source", "tags", "attachments",
    }  # fmt: skip
    # The published example is the contract's own document, and it is valid.
    [example] = schema["examples"]
    assert example["id"] == "lead-123" and example["emails"] == ["ada@example.org"]
    assert leaddoc.validate(example)[1].experiences[0].company == "Globex"


def test_push_list_funnel(run, lead_file, tmp_path: Path, ats: LeadFake) -> None:
    doc = lead_doc("lead-1")
    doc.pop("attachments")
    resume = tmp_path / "ada.pdf"
    resume.write_bytes(PDF)
    result = run("leads", "push", "acme", "pj-1", lead_file(doc), "--resume", str(resume))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "lead lead-1 -> exported to leadfake candidate P1, application A1",
        "  the ATS could not take: tags",
    ]
    assert ats.people["P1"].lead.attachments[0].content == PDF

    again = run("leads", "push", "acme", "pj-1", lead_file(doc), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["already_queued"] is True

    listed = run("leads", "list", "acme", "pj-1", "--json")
    (row,) = json.loads(listed.stdout)
    assert (row["state"], row["candidate_id"], row["status"]) == ("exported", "P1", "new")
    table = run("leads", "list", "acme")
    assert table.exit_code == 0 and "lead-1" in table.stdout and "exported" in table.stdout
    assert run("leads", "list", "acme", "-q").stdout == "lead-1\n"  # ids only, for scripts

    ats.move("P1", "J1", CandidateStatus.HIRED, "Hired")
    synced = run("leads", "sync-statuses", "acme")
    assert synced.stdout == "acme/leadfake job J1: succeeded, 1 moved\n"
    funnel = json.loads(run("leads", "funnel", "acme", "pj-1", "--json").stdout)
    assert funnel["statuses"]["hired"] == 1 and funnel["statuses"]["new"] == 0
    assert funnel["states"]["exported"] == 1


def test_bad_input_exits_2_with_one_line_per_problem(run, lead_file, tmp_path: Path) -> None:
    result = run("leads", "push", "acme", "pj-1", lead_file(lead_doc(nickname="Ada", emails=[])))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: lead.emails: must have at least 1 item",
        "error: lead.nickname: unknown field",
    ]
    unlinked = run("leads", "push", "acme", "pj-9", lead_file(lead_doc()))
    assert unlinked.exit_code == 2 and "'pj-9' is not linked" in unlinked.stderr
    exe = tmp_path / "cv.exe"
    exe.write_bytes(b"MZ")
    wrong = run("leads", "push", "acme", "pj-1", lead_file(lead_doc()), "--resume", str(exe))
    assert wrong.exit_code == 2 and "cv.exe is not a resume type" in wrong.stderr
    fake_pdf = tmp_path / "cv.pdf"
    fake_pdf.write_bytes(b"hello")
    bad = run("leads", "push", "acme", "pj-1", lead_file(lead_doc()), "--resume", str(fake_pdf))
    assert bad.exit_code == 2 and "--resume: the content is not a PDF file" in bad.stderr


def test_dead_lead_exits_1_and_retry_exports_it(run, lead_file, ats: LeadFake) -> None:
    ats.failures.append(AtsError("leadfake refused: duplicate application", status_code=409))
    result = run("leads", "push", "acme", "pj-1", lead_file(lead_doc("lead-1")))
    assert result.exit_code == 1
    assert "dead" in result.stdout and "duplicate application" in result.stdout
    dead = json.loads(run("leads", "list", "acme", "--state", "dead", "--json").stdout)
    assert [d["lead_id"] for d in dead] == ["lead-1"]
    retried = run("leads", "retry", "acme", "--all-dead")
    assert retried.exit_code == 0, retried.output
    assert retried.stdout.splitlines()[0] == "requeued 1 lead(s)"
    (row,) = json.loads(run("leads", "list", "acme", "--json").stdout)
    assert row["state"] == "exported"
