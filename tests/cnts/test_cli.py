"""``atsbridge cnts list/import/check/sync`` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from atsbridge.api import Atsbridge
from cntsfake import Clock, PipelineAts, connect, link


@pytest.fixture
def acme(app: Atsbridge) -> str:
    connect(app, "acme", default_country="GB")
    return "acme"


def test_import_then_list_then_check(run, acme: str, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "Email\tPhone\tFirst name\tLast name\tCity\tNotes\n"
        "ada@example.org\t020 7946 0102\tAda\tQuinton\tLeeds\tx\n"
        "bad-email\t\t\t\t\t\n"
        "\t\tBob\tStone\tLeeds\t\n"
    )
    result = run("cnts", "import", acme, "P1", str(path), "--create")
    assert result.exit_code == 0, result.output
    assert "acme/P1: added 2, 1 rows skipped (import 1)" in result.stdout
    assert "skipped row 3: nothing usable left: column 'Email': email 'bad-email'" in result.stderr
    assert "ignored columns: Notes" in result.stdout

    listed = run("cnts", "list", acme, "P1", "--json")
    data = json.loads(listed.stdout)
    assert data["total"] == 2
    ada = next(e for e in data["entries"] if e["name"] == "Ada Quinton")
    assert ada["phones"] == ["+442079460102"] and ada["source"] == "file"
    assert ada["added_at"]
    table = run("cnts", "list", acme, "P1", "--search", "quint")
    assert "Ada Quinton" in table.stdout and "Bob" not in table.stdout
    assert "file" in table.stdout
    assert run("cnts", "list", acme, "P1", "--source", "ats").stdout == "no entries\n"

    hit = run("cnts", "check", acme, "P1", "--phone", "+44 20 7946 0102", "--json")
    assert hit.exit_code == 0, hit.output
    assert json.loads(hit.stdout)["rule"] == "phone"
    text = run("cnts", "check", acme, "P1", "--name", "bob stone", "--city", "LEEDS")
    assert text.stdout.startswith("excluded: name+city matches Bob Stone (file, added ")
    miss = run("cnts", "check", acme, "P1", "--email", "other@example.org")
    assert miss.stdout == "not excluded: no entry matches\n"


def test_bad_input_exits_2_with_one_line(run, app: Atsbridge, acme: str, tmp_path: Path) -> None:
    link(app, acme, "P1", "J1")
    result = run("cnts", "check", acme, "P1")
    assert result.exit_code == 2
    assert result.stderr == "error: give at least one of --email, --linkedin, --phone, --name\n"
    result = run("cnts", "check", acme, "P1", "--email", "nope")
    assert result.exit_code == 2 and "email 'nope' has no local@domain form" in result.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("Notes\nx\n")
    result = run("cnts", "import", acme, "P1", str(empty))
    assert result.exit_code == 2 and result.stderr.startswith("error: empty.csv: no usable column")
    result = run("cnts", "import", acme, "P1", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2 and "cannot read file" in result.stderr
    result = run("cnts", "list", "nobody", "P1")
    assert result.exit_code == 2 and result.stderr == "error: no tenant 'nobody'\n"
    result = run("cnts", "list", acme, "P1", "--source", "crm")
    assert result.exit_code == 2


def test_import_xlsx_named_sheet_json(run, app: Atsbridge, acme: str, tmp_path: Path) -> None:
    link(app, acme, "P1", "J1")
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("People")
    sheet.append(["LinkedIn URL", "Full name"])
    sheet.append(["https://uk.linkedin.com/in/ada-q/", "Ada Q"])
    path = tmp_path / "people.xlsx"
    book.save(path)
    result = run("cnts", "import", acme, "P1", str(path), "--sheet", "People", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["added"], report["format"], report["sheet"]) == (1, "xlsx", "People")
    check = run("cnts", "check", acme, "P1", "--linkedin", "linkedin.com/in/ADA-Q")
    assert check.stdout.startswith("excluded: linkedin matches Ada Q")
    wrong = run("cnts", "import", acme, "P1", str(path), "--sheet", "Nope")
    assert wrong.exit_code == 2 and "no sheet named 'Nope'" in wrong.stderr


def test_sync_command_reports_each_job(
    run, app: Atsbridge, acme: str, pipe: PipelineAts, clock: Clock
) -> None:
    link(app, acme, "P1", "J1")
    pipe.put("J1", "a")
    result = run("cnts", "sync", acme, "pipeats")
    assert result.exit_code == 0, result.output
    assert result.stdout == "J1: succeeded (full) added 1, updated 0, removed 0, pages 1\n"
    pipe.remove("J1", "a")
    clock.advance(minutes=1)
    result = run("cnts", "sync", acme, "pipeats", "--full", "--json")
    (report,) = json.loads(result.stdout)
    assert report["counts"]["removed"] == 1
    # The generic sync service (behind ``atsbridge sync --candidates``) runs the same kind.
    pipe.put("J1", "b")
    clock.advance(minutes=1)
    (generic,) = app.sync.run(acme, "pipeats", ["candidates"])
    assert (generic.kind, generic.scope, generic.counts["added"]) == ("candidates", "J1", 1)
    assert json.loads(run("cnts", "list", acme, "P1", "--json").stdout)["total"] == 1
    pipe.put("J1", "c")
    clock.advance(minutes=1)
    result = run("sync", acme, "pipeats", "--candidates", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(run("cnts", "list", acme, "P1", "--json").stdout)["total"] == 2
