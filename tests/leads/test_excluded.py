"""Lead export consults the job's do-not-source list: a person on the customer's own list
(a file) is skipped with the rule and entry that matched, unless explicitly allowed; a
person found in the ATS pipeline is exported as before (found existing, no duplicate)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.services.cnts import Person, _insert_entries, _row, person_keys
from click.testing import CliRunner, Result
from conftest import lead_doc
from leadfake import LeadFake


@pytest.fixture
def run(app: Atsbridge):
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), obj=CliState(app=app))

    return invoke


@pytest.fixture
def listed(app: Atsbridge, tmp_path: Path) -> int:
    """pj-1's list holds, from the customer's file, elodie@ and Ada Quinton of Globex."""
    path = tmp_path / "dns.csv"
    path.write_text(
        "Courriel;Nom complet;Société\n"
        "elodie.lefevre@exemple.fr;Élodie Lefèvre;\n"
        ";Ada Quinton;Globex Ltd\n",
        encoding="utf-8",
    )
    report = app.cnts.import_file("acme", "pj-1", path)
    assert report.added == 2
    return report.import_id or 0


def _entry_id(app: Atsbridge, email: str) -> int:
    (entry,) = app.cnts.list_entries("acme", "pj-1", search=email).entries
    return entry.id


def test_a_listed_person_is_skipped_with_rule_and_entry(
    app: Atsbridge, ats: LeadFake, listed: int
) -> None:
    doc = lead_doc("lead-1", email="ELODIE.LEFEVRE@EXEMPLE.FR", first_name="Élodie")
    outcome = app.leads.push("acme", "pj-1", doc)
    view = outcome.lead
    assert view.state == "skipped"
    assert ats.pushes == []  # nothing reached the ATS
    assert view.excluded_by is not None
    assert view.excluded_by["rule"] == "email"
    assert view.excluded_by["entry_id"] == _entry_id(app, "elodie")
    assert view.excluded_by["source"] == "file"
    assert view.reason is not None and view.reason.startswith(
        "on the job's do-not-source list: email matches entry"
    )
    assert "--allow-excluded" in view.reason
    # The same answer from the facade's list and get, and the JSON shows it.
    assert app.leads.get("acme", "pj-1", "lead-1").excluded_by == view.excluded_by
    (listed_view,) = app.leads.list("acme", "pj-1", state="skipped")
    assert listed_view.to_json()["excluded_by"]["rule"] == "email"


def test_name_with_current_company_matches(app: Atsbridge, ats: LeadFake, listed: int) -> None:
    # The contract's example is Ada Quinton, currently at Globex.
    outcome = app.leads.push("acme", "pj-1", lead_doc("lead-ada", email="ada.q@else.org"))
    assert outcome.lead.state == "skipped"
    assert outcome.lead.excluded_by and outcome.lead.excluded_by["rule"] == "name+company"
    # Another job's list does not hold her: exported there.
    other = app.leads.push("acme", "pj-2", lead_doc("lead-ada", email="ada.q@else.org"))
    assert other.lead.state == "exported"
    assert len(ats.pushes) == 1


def test_a_queued_lead_is_checked_when_drained(app: Atsbridge, ats: LeadFake, listed) -> None:
    doc = lead_doc("lead-1", email="elodie.lefevre@exemple.fr")
    assert app.leads.enqueue("acme", "pj-1", doc).lead.state == "pending"
    report = app.leads.drain("acme")
    assert (report.skipped, report.exported, ats.pushes) == (1, 0, [])
    assert app.leads.get("acme", "pj-1", "lead-1").excluded_by is not None


def test_allow_excluded_exports_on_request(app: Atsbridge, ats: LeadFake, listed: int) -> None:
    doc = lead_doc("lead-1", email="elodie.lefevre@exemple.fr")
    allowed = app.leads.push("acme", "pj-1", doc, allow_excluded=True)
    assert allowed.lead.state == "exported" and allowed.lead.allow_excluded
    assert allowed.lead.excluded_by is None
    skipped = app.leads.push("acme", "pj-1", lead_doc("lead-2", email="elodie.lefevre@exemple.fr"))
    assert skipped.lead.state == "skipped"
    (again,) = app.leads.retry("acme", "lead-2", allow_excluded=True)
    assert again.state == "pending"
    assert app.leads.drain("acme").exported == 1
    assert app.leads.get("acme", "pj-1", "lead-2").state == "exported"
    assert len(ats.pushes) == 2


def test_a_person_in_the_pipeline_is_exported_as_before(app: Atsbridge, ats: LeadFake) -> None:
    first = app.leads.push("acme", "pj-1", lead_doc("lead-1", email="sam@example.org"))
    assert first.lead.state == "exported"
    # The pipeline sync lists the person on pj-1's list (source "ats"); this fake ATS lists
    # candidates without identifiers, so the entry is written as that sync writes it.
    keys = person_keys(emails=["sam@example.org"])
    row = _row(first.lead.candidate_id or "", keys, "Sam", None, None, {"sig": "s"})
    with app.store.tenant("acme") as repo:
        conn = repo.session.connection()
        _insert_entries(conn, repo.tenant_id, "pj-1", "ats", None, [row], app.clock())
    # The pipeline entry matches the next lead's person...
    probe = Person(emails=("SAM@example.org",))
    assert app.cnts.check("acme", "pj-1", probe).matches[0].source == "ats"
    second = app.leads.push("acme", "pj-1", lead_doc("lead-2", email="sam@example.org"))
    # ... and is exported all the same: the ATS finds the person it has.
    assert second.lead.state == "exported"
    assert second.lead.already_existed and second.lead.excluded_by is None
    assert len(ats.people) == 1  # found existing, no duplicate


def test_cli_push_list_and_retry(run, app: Atsbridge, ats: LeadFake, listed, tmp_path) -> None:
    path = tmp_path / "lead.json"
    path.write_text(json.dumps(lead_doc("lead-1", email="elodie.lefevre@exemple.fr")))
    result = run("leads", "push", "acme", "pj-1", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "lead lead-1 -> skipped: on the job's do-not-source list: email matches entry"
    )
    listed_json = json.loads(run("leads", "list", "acme", "pj-1", "--json").stdout)
    assert listed_json == [v.to_json() for v in app.leads.list("acme", "pj-1")]
    assert listed_json[0]["excluded_by"]["entry_id"] == _entry_id(app, "elodie")
    table = run("leads", "list", "acme", "pj-1").stdout
    assert "do-not-source" in table
    retried = run("leads", "retry", "acme", "lead-1", "--allow-excluded")
    assert retried.exit_code == 0, retried.output
    assert app.leads.get("acme", "pj-1", "lead-1").state == "exported"
    path.write_text(json.dumps(lead_doc("lead-2", email="elodie.lefevre@exemple.fr")))
    pushed = run("leads", "push", "acme", "pj-1", str(path), "--allow-excluded", "--json")
    assert json.loads(pushed.stdout)["state"] == "exported"
