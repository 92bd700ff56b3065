"""A job's list must exist before it is asked about; imports are idempotent, recorded and
removable; the CLI says what the facade returns."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from atsbridge.api import Atsbridge
from atsbridge.errors import BadInput, NotFound
from atsbridge.services.cnts import CntsService, Person, _insert_entries, _row, person_keys
from atsbridge.store import CntsEntry
from cntsfake import Clock, PipelineAts, connect, link

UNKNOWN = "product job 'NO-SUCH-JOB' is not linked; import it first"


@pytest.fixture
def acme(app: Atsbridge) -> str:
    connect(app, "acme", default_country="FR")
    link(app, "acme", "P1", "J1")
    return "acme"


def _csv(tmp_path: Path, text: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- 1. unknown jobs ---------------------------------------------------------------------------


def test_unknown_job_is_an_error_everywhere(cnts: CntsService, acme: str, tmp_path: Path) -> None:
    path = _csv(tmp_path, "Email\na@b.org\n")
    calls = [
        lambda: cnts.check(acme, "NO-SUCH-JOB", Person(emails=["a@b.org"])),
        lambda: cnts.check_batch(acme, "NO-SUCH-JOB", [Person(emails=["a@b.org"])]),
        lambda: cnts.list_entries(acme, "NO-SUCH-JOB"),
        lambda: cnts.list_entries(acme, "NO-SUCH-JOB", search="a"),
        lambda: cnts.import_file(acme, "NO-SUCH-JOB", path),
        lambda: cnts.import_file(acme, "NO-SUCH-JOB", path, dry_run=True),
        lambda: cnts.imports(acme, "NO-SUCH-JOB"),
        lambda: cnts.remove_email(acme, "NO-SUCH-JOB", "a@b.org"),
        lambda: cnts.remove_import(acme, "NO-SUCH-JOB", 1),
    ]
    for call in calls:
        with pytest.raises(NotFound, match=UNKNOWN):
            call()
    # Nothing was created on the way.
    with pytest.raises(NotFound, match=UNKNOWN):
        cnts.list_entries(acme, "NO-SUCH-JOB")


def test_cli_unknown_job_exits_2(run, acme: str, tmp_path: Path) -> None:
    path = _csv(tmp_path, "Email\na@b.org\n")
    for args in (
        ("check", acme, "NO-SUCH-JOB", "--email", "a@b.org"),
        ("list", acme, "NO-SUCH-JOB", "--search", "a"),
        ("import", acme, "NO-SUCH-JOB", str(path)),
        ("imports", acme, "NO-SUCH-JOB"),
        ("remove", acme, "NO-SUCH-JOB", "--email", "a@b.org"),
    ):
        result = run("cnts", *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith(f"error: {UNKNOWN}"), result.stderr
        assert "cnts import --create" in result.stderr


def test_create_makes_a_file_list_for_a_job_without_a_link(
    cnts: CntsService, acme: str, tmp_path: Path
) -> None:
    path = _csv(tmp_path, "Email\na@b.org\n")
    dry = cnts.import_file(acme, "FILE-ONLY", path, create=True, dry_run=True)
    assert (dry.dry_run, dry.added, dry.import_id) == (True, 1, None)
    with pytest.raises(NotFound):  # a dry run creates nothing, not even the list
        cnts.check(acme, "FILE-ONLY", Person(emails=["a@b.org"]))
    report = cnts.import_file(acme, "FILE-ONLY", path, create=True)
    assert report.added == 1
    assert cnts.check(acme, "FILE-ONLY", Person(emails=["A@B.org"])).excluded
    assert not cnts.check(acme, "FILE-ONLY", Person(emails=["c@b.org"])).excluded
    # Once created, the list is known: later imports need no --create.
    assert cnts.import_file(acme, "FILE-ONLY", _csv(tmp_path, "Email\nc@b.org\n", "2.csv")).added
    assert cnts.list_entries(acme, "FILE-ONLY").total == 2


def test_linked_job_without_entries_answers_not_excluded(cnts: CntsService, acme: str) -> None:
    result = cnts.check(acme, "P1", Person(emails=["a@b.org"]))
    assert not result.excluded
    assert cnts.list_entries(acme, "P1").total == 0


# --- 3. fields, phones, countries (through the service) ------------------------------------


def test_a_row_with_a_bad_phone_is_listed_on_its_other_identifiers(
    app: Atsbridge, cnts: CntsService, tmp_path: Path
) -> None:
    connect(app, "acme")  # no default country anywhere
    link(app, "acme", "P1", "J1")
    path = _csv(
        tmp_path,
        "Email;LinkedIn;Phone;Full name;Company\n"
        "hanna@example.se;linkedin.com/in/hanna-berg;06 12 34 56 78;Hanna Berg;Spotify\n",
    )
    report = cnts.import_file("acme", "P1", path)
    assert (report.added, report.skipped) == (1, 0)
    (warning,) = report.warnings
    assert (warning.row, warning.column) == (2, "Phone")
    assert report.to_json()["warnings"][0]["column"] == "Phone"
    probe = Person(name="Hanna Berg", company="spotify")
    assert cnts.check("acme", "P1", probe).rule == "name+company"
    assert cnts.check("acme", "P1", Person(emails=["HANNA@example.se"])).excluded


def test_excel_number_phone_keeps_its_person(cnts: CntsService, acme: str, tmp_path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["Full name", "Company", "Phone"])
    book.active.append(["Hanna Berg", "Spotify", 46701234567])
    path = tmp_path / "people.xlsx"
    book.save(path)
    assert cnts.import_file(acme, "P1", path).added == 1
    assert cnts.check(acme, "P1", Person(name="Hanna Berg", company="spotify")).excluded
    assert cnts.check(acme, "P1", Person(phones=["+46 70 123 45 67"])).rule == "phone"


def test_default_country_option_then_connection_and_aliases(
    cnts: CntsService, acme: str, tmp_path: Path
) -> None:
    path = _csv(tmp_path, "Phone\n020 7946 0102\n00351 912-118-168\n")
    # The connection says FR: 020 7946 0102 is no French number.
    report = cnts.import_file(acme, "P1", path, dry_run=True)
    assert (report.added, len(report.warnings) + report.skipped) == (1, 1)
    report = cnts.import_file(acme, "P1", path, default_country="UK")
    assert (report.added, report.skipped, report.warnings) == (2, 0, ())
    assert cnts.check(acme, "P1", Person(phones=["+44 20 7946 0102"])).excluded
    assert cnts.check(acme, "P1", Person(phones=["+351 912 118 168"])).excluded
    (england,) = cnts.check_batch(
        acme, "P1", [Person(phones=["020 7946 0102"])], default_country="England"
    )
    assert england.rule == "phone"
    with pytest.raises(BadInput, match="--default-country: 'Narnia' is not a country"):
        cnts.import_file(acme, "P1", path, default_country="Narnia")


# --- 4. map and dry run ----------------------------------------------------------------------


def test_dry_run_stores_nothing_and_shows_mapping_counts_errors(
    run, cnts: CntsService, acme: str, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        "Kontakt;Prénom;Nom;Téléphone\n"
        "elodie@exemple.fr;Élodie;Lefèvre;06 12 34 56 78\n"
        "nope;;;\n"
        "bob@exemple.fr;Bob;;12\n",
    )
    result = run("cnts", "import", acme, "P1", str(path), "--map", "Kontakt=email", "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        "columns: Kontakt -> email, Prénom -> first_name, Nom -> last_name, Téléphone -> phone"
        in result.stdout
    )
    assert (
        "dry run, nothing stored: acme/P1 would be added 2, 1 rows skipped, 1 values left out"
        in (result.stdout)
    )
    assert "skipped row 3: nothing usable left: column 'Kontakt': email 'nope'" in result.stderr
    assert "warning: row 4, column 'Téléphone': phone '12'" in result.stderr
    assert cnts.list_entries(acme, "P1").total == 0
    assert cnts.imports(acme, "P1") == []
    as_json = json.loads(
        run("cnts", "import", acme, "P1", str(path), "--map", "Kontakt=email", "--dry-run",
            "--json").stdout
    )  # fmt: skip
    facade = cnts.import_file(acme, "P1", path, column_map={"Kontakt": "email"}, dry_run=True)
    assert as_json == facade.to_json()
    bad = run("cnts", "import", acme, "P1", str(path), "--map", "Kontakt")
    assert bad.exit_code == 2 and "--map: expected HEADER=FIELD" in bad.stderr
    bad = run("cnts", "import", acme, "P1", str(path), "--map", "Kontakt=shoe")
    assert bad.exit_code == 2 and "--map: unknown field 'shoe'" in bad.stderr


def test_dry_run_lists_only_the_first_errors(run, acme: str, tmp_path: Path) -> None:
    path = _csv(tmp_path, "Email\n" + "".join(f"bad{i}\n" for i in range(30)) + "ok@x.org\n")
    result = run("cnts", "import", acme, "P1", str(path), "--dry-run")
    assert result.stderr.count("skipped row") == 20
    assert "... and 10 more" in result.stderr


# --- 5. idempotent, recorded, removable imports ----------------------------------------------


def test_reimporting_a_corrected_file_updates_its_people(
    cnts: CntsService, acme: str, clock: Clock, tmp_path: Path
) -> None:
    first = _csv(tmp_path, "Email;Phone;Name\nada@example.org;06 12 34 56 78;Ada\n", "v1.csv")
    assert cnts.import_file(acme, "P1", first).added == 1
    clock.advance(minutes=5)
    again = cnts.import_file(acme, "P1", first)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    fixed = _csv(tmp_path, "Email;Phone;Name\nADA@example.org;06 12 34 56 79;Ada Q\n", "v2.csv")
    report = cnts.import_file(acme, "P1", fixed)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 0)
    (entry,) = cnts.list_entries(acme, "P1").entries
    assert (entry.name, entry.phones) == ("Ada Q", ("+33612345679",))
    assert entry.updated_at > entry.added_at
    assert not cnts.check(acme, "P1", Person(phones=["06 12 34 56 78"])).excluded


def test_rows_of_one_person_are_merged(cnts: CntsService, acme: str, tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "Email,Phone,LinkedIn\n"
        "ada@example.org,,\n"
        "ADA@example.org,+33 6 12 34 56 78,\n"
        ",+33612345678,linkedin.com/in/ada\n",
    )
    report = cnts.import_file(acme, "P1", path)
    assert (report.added, report.duplicates_in_file) == (1, 2)
    (entry,) = cnts.list_entries(acme, "P1").entries
    assert (entry.emails, entry.phones, entry.linkedin) == (
        ("ada@example.org",),
        ("+33612345678",),
        "linkedin.com/in/ada",
    )


def test_duplicates_left_by_earlier_imports_collapse_into_one(
    app: Atsbridge, cnts: CntsService, acme: str, tmp_path: Path
) -> None:
    keys = person_keys(emails=["elodie@exemple.fr"])
    rows = [_row(f"file:old{i}", keys, "Élodie", None, None, {"sig": f"old{i}"}) for i in range(4)]
    with app.store.tenant(acme) as repo:
        _insert_entries(
            repo.session.connection(), repo.tenant_id, "P1", "file", None, rows, app.clock()
        )
    assert cnts.list_entries(acme, "P1").total == 4
    report = cnts.import_file(acme, "P1", _csv(tmp_path, "Email\nELODIE@exemple.fr\n"))
    assert (report.added, report.updated) == (0, 1)
    assert cnts.list_entries(acme, "P1").total == 1


def test_pipeline_entries_are_left_to_the_pipeline(
    app: Atsbridge, cnts: CntsService, acme: str, pipe: PipelineAts, tmp_path: Path
) -> None:
    pipe.put("J1", "c1", emails=("ada@example.org",))
    cnts.sync(acme, "pipeats")
    report = cnts.import_file(acme, "P1", _csv(tmp_path, "Email\nada@example.org\n"))
    assert report.added == 1  # the file's own entry, beside the pipeline's
    assert {e.source for e in cnts.list_entries(acme, "P1").entries} == {"ats", "file"}
    assert cnts.remove_email(acme, "P1", "ada@example.org").removed == 1
    (left,) = cnts.list_entries(acme, "P1").entries
    assert left.source == "ats"
    with pytest.raises(NotFound, match="from the ATS pipeline only"):
        cnts.remove_email(acme, "P1", "ADA@example.org")


def test_imports_are_recorded_listed_and_removable(
    run, cnts: CntsService, acme: str, clock: Clock, tmp_path: Path
) -> None:
    a = cnts.import_file(acme, "P1", _csv(tmp_path, "Email\nx@e.org\nshared@e.org\nbad\n", "a.csv"))
    clock.advance(minutes=1)
    b = cnts.import_file(acme, "P1", _csv(tmp_path, "Email\nshared@e.org\ny@e.org\n", "b.csv"))
    listed = cnts.imports(acme, "P1")
    assert [(i.id, i.file_name, i.added, i.unchanged, i.skipped, i.entries) for i in listed] == [
        (b.import_id, "b.csv", 1, 1, 0, 2),
        (a.import_id, "a.csv", 2, 0, 1, 2),
    ]
    assert listed[0].imported_at == clock()
    cli_listed = json.loads(run("cnts", "imports", acme, "P1", "--json").stdout)
    assert cli_listed == [i.to_json() for i in listed]
    table = run("cnts", "imports", acme, "P1").stdout
    assert "a.csv" in table and "b.csv" in table

    result = run("cnts", "remove", acme, "P1", "--import", str(a.import_id))
    assert result.exit_code == 0, result.output
    assert result.stdout == "acme/P1: removed 1 entries, kept 1 another import lists\n"
    emails = {e.emails[0] for e in cnts.list_entries(acme, "P1").entries}
    assert emails == {"shared@e.org", "y@e.org"}
    assert [i.id for i in cnts.imports(acme, "P1")] == [b.import_id]
    again = run("cnts", "remove", acme, "P1", "--import", str(a.import_id))
    assert again.exit_code == 2 and f"no import {a.import_id}" in again.stderr

    by_email = json.loads(
        run("cnts", "remove", acme, "P1", "--email", "SHARED@e.org", "--json").stdout
    )
    assert by_email == {"removed": 1, "kept": 0}
    assert cnts.imports(acme, "P1")[0].entries == 1
    missing = run("cnts", "remove", acme, "P1", "--email", "nobody@e.org")
    assert missing.exit_code == 2 and "has email nobody@e.org" in missing.stderr
    both = run("cnts", "remove", acme, "P1")
    assert both.exit_code == 2 and "give one of --import ID or --email E" in both.stderr
    assert cnts.remove_import(acme, "P1", b.import_id).removed == 1
    assert cnts.list_entries(acme, "P1").total == 0


def test_import_links_follow_merged_entries(
    app: Atsbridge, cnts: CntsService, acme: str, tmp_path: Path
) -> None:
    a = cnts.import_file(acme, "P1", _csv(tmp_path, "Email\nada@e.org\n", "a.csv"))
    b = cnts.import_file(acme, "P1", _csv(tmp_path, "Phone\n+33612345678\n", "b.csv"))
    both = _csv(tmp_path, "Email,Phone\nada@e.org,+33612345678\n", "c.csv")
    c = cnts.import_file(acme, "P1", both)
    assert (c.added, c.updated, c.duplicates_in_file) == (0, 1, 0)
    with app.store.tenant(acme) as repo:
        assert len(repo.all(repo.select(CntsEntry))) == 1
    # The one entry is listed by all three imports: removing two keeps it.
    assert cnts.remove_import(acme, "P1", a.import_id).removed == 0
    assert cnts.remove_import(acme, "P1", b.import_id).removed == 0
    assert cnts.remove_import(acme, "P1", c.import_id).removed == 1
