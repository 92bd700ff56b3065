"""File import, listing/search and exclusion checks of the do-not-source service."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.errors import NotFound
from atsbridge.filereader import FileRejected
from atsbridge.services import cnts as cnts_module
from atsbridge.services.cnts import CntsService, Person
from cntsfake import Clock, connect, link

PEOPLE_CSV = (
    "Full name;E-mail;LinkedIn;Mobile;Company;City\n"
    "Léa Dubois;lea.dubois@example.org;fr.linkedin.com/in/lea-dubois;06 12 34 56 78;Globex;Paris\n"
    "Jonas Keller;;https://www.linkedin.com/in/jkeller/;;Initech;Berlin\n"
    "Ana Souza;ana@example.org, a.souza@gmail.com;;+55 11 91234-5678;;\n"
    "Bad Email;nope;;;;\n"
    "Name Only;;;;;\n"
    "Björn Nyström;;;;Hooli Ltd;\n"
)


@pytest.fixture
def people_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_bytes(codecs.BOM_UTF8 + PEOPLE_CSV.encode())
    return path


@pytest.fixture
def acme(app: Atsbridge) -> str:
    connect(app, "acme", default_country="FR")
    link(app, "acme", "P1", "J1")
    link(app, "acme", "P2", "J2")
    return "acme"


def test_import_adds_valid_rows_and_reports_bad_ones(
    cnts: CntsService, acme: str, people_file: Path
) -> None:
    report = cnts.import_file(acme, "P1", people_file)
    assert report.added == 4
    assert [(p.row, p.reason.split(" ")[0]) for p in report.problems] == [(5, "nothing"), (6, "a")]
    assert (report.file_format, report.encoding, report.delimiter) == ("csv", "utf-8-sig", ";")
    entries = cnts.list_entries(acme, "P1").entries
    assert {e.source for e in entries} == {"file"}
    lea = next(e for e in entries if e.name == "Léa Dubois")
    assert lea.phones == ("+33612345678",)  # the connection's default country
    assert lea.linkedin == "linkedin.com/in/lea-dubois"
    ana = next(e for e in entries if e.name == "Ana Souza")
    assert ana.emails == ("ana@example.org", "asouza@gmail.com")
    assert ana.ats_candidate_id is None
    # Importing the same file again adds nothing.
    again = cnts.import_file(acme, "P1", people_file)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    assert cnts.list_entries(acme, "P1").total == 4


def test_duplicate_rows_in_one_file_are_counted_once(cnts: CntsService, acme: str, tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("Email\nA@example.org\na@example.org \nb@example.org\n")
    report = cnts.import_file(acme, "P1", path)
    assert (report.added, report.duplicates_in_file) == (2, 1)


def test_unreadable_file_imports_nothing(cnts: CntsService, acme: str, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Email\n" + "".join(f"p{i}@example.org\n" for i in range(20)))
    with pytest.raises(FileRejected, match="more than 10 rows"):
        cnts.import_file(acme, "P1", path, max_rows=10)
    assert cnts.list_entries(acme, "P1").total == 0


def test_import_is_one_transaction(
    cnts: CntsService, acme: str, people_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(cnts_module, "_insert_keys", broken)
    with pytest.raises(RuntimeError):
        cnts.import_file(acme, "P1", people_file)
    assert cnts.list_entries(acme, "P1").total == 0


def test_unknown_tenant_is_not_found(cnts: CntsService, people_file: Path) -> None:
    with pytest.raises(NotFound):
        cnts.import_file("nobody", "P1", people_file)
    with pytest.raises(NotFound):
        cnts.list_entries("nobody", "P1")
    with pytest.raises(NotFound):
        cnts.check("nobody", "P1", Person(emails=["a@example.org"]))


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("dubo", {"Léa Dubois"}),
        ("LÉA", {"Léa Dubois"}),
        ("lea d", {"Léa Dubois"}),
        ("example.org", {"Léa Dubois", "Ana Souza"}),
        ("ASOUZA@", {"Ana Souza"}),
        ("jkeller", {"Jonas Keller"}),
        ("https://de.linkedin.com/in/JKeller?x=1", {"Jonas Keller"}),
        ("6 12 34 56", {"Léa Dubois"}),
        ("12 34 56", {"Léa Dubois", "Ana Souza"}),
        ("06 12 34 56 78", {"Léa Dubois"}),
        ("+55 11", {"Ana Souza"}),
        ("nystrom", {"Björn Nyström"}),
        ("%", set()),
        ("_", set()),
        ("nobody", set()),
    ],
)
def test_search_is_partial_and_case_insensitive(
    cnts: CntsService, acme: str, people_file: Path, query: str, names: set[str]
) -> None:
    cnts.import_file(acme, "P1", people_file)
    found = cnts.list_entries(acme, "P1", search=query)
    assert {e.name for e in found.entries} == names
    assert found.total == len(names)


def test_listing_pages_newest_first_and_filters_source(
    cnts: CntsService, acme: str, clock: Clock, tmp_path: Path
) -> None:
    for i in range(5):
        path = tmp_path / f"f{i}.csv"
        path.write_text(f"Email\np{i}@example.org\n")
        cnts.import_file(acme, "P1", path)
        clock.advance(minutes=1)
    page = cnts.list_entries(acme, "P1", limit=2, offset=1)
    assert page.total == 5
    assert [e.emails for e in page.entries] == [("p3@example.org",), ("p2@example.org",)]
    assert page.entries[0].added_at > page.entries[1].added_at
    assert cnts.list_entries(acme, "P1", source="ats").total == 0
    assert cnts.list_entries(acme, "P2").total == 0
    with pytest.raises(cnts_module.BadInput, match="--source"):
        cnts.list_entries(acme, "P1", source="crm")


def test_batch_check_rules_order_and_problems(
    cnts: CntsService, acme: str, people_file: Path
) -> None:
    cnts.import_file(acme, "P1", people_file)
    people = [
        Person(emails=["nobody@example.org"], name="Léa Dubois"),  # name alone never excludes
        Person(emails=["LEA.DUBOIS@example.org"], phones=["+33612345678"]),
        Person(linkedin="http://linkedin.com/in/JKELLER"),
        Person(emails=["asouza+cv@googlemail.com"]),
        Person(phones=["0612345678"]),
        Person(name="bjorn  nystrom", company="HOOLI"),
        Person(name="Jonas Keller", city="berlin"),
        Person(name="Jonas Keller", city="Munich", company="Other"),
        Person(emails=["broken"], phones=["12"], linkedin="https://example.com/x"),
    ]
    results = cnts.check_batch(acme, "P1", people)
    assert [r.rule for r in results] == [
        None,
        "email",
        "linkedin",
        "email",
        "phone",
        "name+company",
        "name+city",
        None,
        None,
    ]
    assert [m.rule for m in results[1].matches] == ["email", "phone"]
    assert results[1].matches[0].source == "file"
    assert len(results[8].problems) == 3
    assert results[8].to_json()["excluded"] is False


def test_jobs_lists_are_separate(cnts: CntsService, acme: str, people_file: Path) -> None:
    cnts.import_file(acme, "P1", people_file)
    assert not cnts.check(acme, "P2", Person(emails=["lea.dubois@example.org"])).excluded
    assert cnts.check(acme, "P1", Person(emails=["lea.dubois@example.org"])).excluded


def test_tenants_never_see_each_others_entries(
    app: Atsbridge, cnts: CntsService, acme: str, people_file: Path
) -> None:
    connect(app, "globex")
    link(app, "globex", "P1", "J1")
    cnts.import_file(acme, "P1", people_file)
    assert cnts.list_entries("globex", "P1").total == 0
    assert cnts.list_entries("globex", "P1", search="lea").total == 0
    probe = Person(emails=["lea.dubois@example.org"], name="Jonas Keller", city="Berlin")
    assert not cnts.check("globex", "P1", probe).excluded


def test_rows_written_in_bulk_read_back_like_orm_rows(
    app: Atsbridge, cnts: CntsService, acme: str, people_file: Path, clock: Clock
) -> None:
    from atsbridge.store import CntsEntry
    from atsbridge.store.tables import CntsKey

    cnts.import_file(acme, "P1", people_file)
    with app.store.tenant(acme) as repo:
        entries = repo.all(repo.select(CntsEntry))
        keys = repo.all(repo.select(CntsKey))
    assert {e.added_at for e in entries} == {clock()}
    assert all(e.updated_at == clock() and e.added_at.tzinfo is not None for e in entries)
    lea = next(e for e in entries if e.name == "Léa Dubois")
    assert lea.raw["values"]["E-mail"] == "lea.dubois@example.org"
    assert lea.raw["row"] == 2
    # One identifier of each kind: all on the entry row, no extra key rows.
    assert (lea.email_norm, lea.linkedin_norm, lea.phone_norm) == (
        "lea.dubois@example.org",
        "linkedin.com/in/lea-dubois",
        "+33612345678",
    )
    assert [k for k in keys if k.entry_id == lea.id] == []
