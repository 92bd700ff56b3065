"""Reading people files value by value: a bad value drops itself, not its row; headers in
seven languages; columns named by hand (``column_map``)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from atsbridge.errors import BadInput
from atsbridge.filereader import FieldWarning, FileRejected, read_people, read_people_bytes


def test_a_bad_phone_is_dropped_with_a_warning_and_the_row_kept() -> None:
    text = (
        "Email;LinkedIn;Phone;Name\nhanna@example.se;linkedin.com/in/hanna;06 12 34 56 78;Hanna\n"
    )
    result = read_people_bytes(text.encode())
    (row,) = result.rows
    assert row.emails == ("hanna@example.se",) and row.linkedin == "linkedin.com/in/hanna"
    assert row.phones == ()
    assert result.problems == ()
    (warning,) = result.warnings
    assert (warning.row, warning.column) == (2, "Phone")
    assert "no country code" in warning.reason
    assert str(warning).startswith("row 2, column 'Phone': phone '06 12 34 56 78'")


def test_each_value_of_a_cell_is_read_on_its_own() -> None:
    text = 'Emails,Phones\n"ada@example.org; nope; ada2@example.org","+33 6 12 34 56 78|12"\n'
    result = read_people_bytes(text.encode())
    (row,) = result.rows
    assert row.emails == ("ada@example.org", "ada2@example.org")
    assert row.phones == ("+33612345678",)
    assert [(w.column, w.reason.split(" ")[0]) for w in result.warnings] == [
        ("Emails", "email"),
        ("Phones", "phone"),
    ]


def test_a_row_is_skipped_only_when_nothing_usable_remains() -> None:
    text = "Email,Phone,Name,City\nnope,12,Ada,\n"
    result = read_people_bytes(text.encode(), default_country="FR")
    assert result.rows == () and result.warnings == ()
    (problem,) = result.problems
    assert problem.row == 2
    assert problem.reason.startswith("nothing usable left: column 'Email': email 'nope'")
    assert "column 'Phone': phone '12'" in problem.reason


def test_an_overlong_value_is_dropped_not_its_row() -> None:
    text = "Email,Company\nada@example.org," + "x" * 5000 + "\n"
    result = read_people_bytes(text.encode())
    (row,) = result.rows
    assert row.emails == ("ada@example.org",) and row.company is None
    assert [(w.column, w.reason) for w in result.warnings] == [
        ("Company", "longer than 4096 characters")
    ]


@pytest.mark.parametrize(
    ("phone", "country", "e164"),
    [
        ("00351 912-118-168", None, "+351912118168"),
        ("0046 70 123 45 67", "FR", "+46701234567"),
        ("020 7946 0102", "UK", "+442079460102"),
        ("020 7946 0102", "England", "+442079460102"),
        ("06 12 34 56 78", "fr", "+33612345678"),
    ],
)
def test_phone_prefixes_and_default_countries(phone: str, country: str | None, e164: str) -> None:
    result = read_people_bytes(f"Phone\n{phone}\n".encode(), default_country=country)
    assert result.rows[0].phones == (e164,), result.warnings


def test_the_rows_country_column_reads_its_phone() -> None:
    text = (
        "Phone;Country;Email\n"
        "020 7946 0102;UK;a@example.org\n"
        "020 7946 0103;Royaume-Uni;b@example.org\n"
        "06 12 34 56 78;Frankreich;c@example.org\n"
        "06 12 34 56 78;Atlantis;d@example.org\n"
    )
    result = read_people_bytes(text.encode(), default_country="FR")
    assert [r.phones for r in result.rows] == [
        ("+442079460102",),
        ("+442079460103",),
        ("+33612345678",),
        ("+33612345678",),  # unknown country: the default one, with a warning
    ]
    assert [(w.row, w.column) for w in result.warnings] == [(5, "Country")]
    assert "'Atlantis' is not a country" in result.warnings[0].reason


def _xlsx(tmp_path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    path = tmp_path / "people.xlsx"
    book.save(path)
    return path


def test_excel_numeric_phones_lost_their_plus(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path,
        [
            ["Full name", "Company", "Phone"],
            ["Hanna Berg", "Spotify", 46701234567],  # +46 70 123 45 67, typed without '+'
            ["Léa Dubois", "Globex", 612345678],  # French mobile, its leading 0 gone
            ["Ana Souza", "Initech", 5511912345678.0],
        ],
    )
    result = read_people(path, default_country="FR")
    assert [r.phones for r in result.rows] == [
        ("+46701234567",),
        ("+33612345678",),
        ("+5511912345678",),
    ]
    assert result.warnings == () and result.problems == ()
    without = read_people(path)
    assert without.rows[0].phones == ("+46701234567",)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Courriel", "email"),
        ("Adresse e-mail", "email"),
        ("Téléphone", "phone"),
        ("TÉLÉPHONE PORTABLE", "phone"),
        ("Prénom", "first_name"),
        ("Nom", "last_name"),
        ("Société", "company"),
        ("Ville", "city"),
        ("Pays", "country"),
        ("E-Mail-Adresse", "email"),
        ("Telefonnummer", "phone"),
        ("Handy", "phone"),
        ("Vorname", "first_name"),
        ("Nachname", "last_name"),
        ("Vollständiger Name", "full_name"),
        ("Unternehmen", "company"),
        ("Stadt", "city"),
        ("Correo electrónico", "email"),
        ("Teléfono", "phone"),
        ("Nombre", "first_name"),
        ("Apellidos", "last_name"),
        ("Empresa", "company"),
        ("Ciudad", "city"),
        ("País", "country"),
        ("Endereço de e-mail", "email"),
        ("Telemóvel", "phone"),
        ("Sobrenome", "last_name"),
        ("Nome completo", "full_name"),
        ("Cidade", "city"),
        ("Indirizzo email", "email"),
        ("Cellulare", "phone"),
        ("Cognome", "last_name"),
        ("Azienda", "company"),
        ("Città", "city"),
        ("E-mailadres", "email"),
        ("Telefoonnummer", "phone"),
        ("Voornaam", "first_name"),
        ("Achternaam", "last_name"),
        ("Bedrijf", "company"),
        ("Woonplaats", "city"),
        ("Perfil de LinkedIn", "linkedin"),
        ("Profil LinkedIn", "linkedin"),
    ],
)
def test_headers_in_seven_languages(header: str, field: str) -> None:
    result = read_people_bytes(f"{header};Mail\nx;a@example.org\n".encode())
    assert result.columns[header] == field


def test_french_headers_with_accents_are_recognised() -> None:
    text = "Courriel;Prénom;Nom;Téléphone\nelodie@exemple.fr;Élodie;Lefèvre;+33 6 12 34 56 78\n"
    result = read_people_bytes(text.encode("cp1252"))
    assert result.columns == {
        "Courriel": "email",
        "Prénom": "first_name",
        "Nom": "last_name",
        "Téléphone": "phone",
    }
    (row,) = result.rows
    assert (row.name, row.phones) == ("Élodie Lefèvre", ("+33612345678",))
    mixed = read_people_bytes(text.replace("Courriel", "Email").encode())
    assert mixed.columns["Téléphone"] == "phone" and mixed.ignored_columns == ()


def test_columns_named_by_hand() -> None:
    text = "Kontaktadresse,Mail,Notes\nada@example.org,other@example.org,x\n"
    result = read_people_bytes(
        text.encode(), column_map={"kontaktadresse": "email", "Mail": "ignore", "Notes": "City"}
    )
    assert result.columns == {"Kontaktadresse": "email", "Notes": "city"}
    assert result.ignored_columns == ("Mail",)
    assert result.rows[0].emails == ("ada@example.org",)
    # A value may be a field's header spelling in any language.
    named = read_people_bytes(b"Contact\nada@example.org\n", column_map={"Contact": "Courriel"})
    assert named.columns == {"Contact": "email"}


def test_a_map_makes_an_unrecognised_file_usable() -> None:
    with pytest.raises(FileRejected, match=r"no usable column.*--map HEADER=FIELD"):
        read_people_bytes(b"Contact\nada@example.org\n")
    result = read_people_bytes(b"Contact\nada@example.org\n", column_map={"Contact": "email"})
    assert result.rows[0].emails == ("ada@example.org",)


def test_bad_maps_are_refused() -> None:
    with pytest.raises(BadInput, match=r"--map: unknown field 'shoe size' \(one of email, "):
        read_people_bytes(b"Email\na@example.org\n", column_map={"Email": "shoe size"})
    with pytest.raises(FileRejected, match=r"--map: no column 'courriel' in the header"):
        read_people_bytes(b"Email\na@example.org\n", column_map={"Courriel": "email"})


def test_warning_type_is_exported() -> None:
    assert FieldWarning(3, "Phone", "x").column == "Phone"
