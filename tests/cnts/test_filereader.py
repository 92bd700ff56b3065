"""Reading people files: encodings, delimiters, header synonyms, xlsx, bad rows, limits."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import openpyxl
import pytest
from atsbridge.filereader import FileRejected, read_people, read_people_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PEOPLE = [
    ["First name", "Last name", "E-mail", "LinkedIn", "Mobile", "Company", "City"],
    [
        "Léa",
        "Dubois",
        "Lea.Dubois@Example.org",
        "fr.linkedin.com/in/lea-dubois/",
        "06 12 34 56 78",
        "Globex",
        "Paris",
    ],
    ["Jonas", "Keller", "", "https://www.linkedin.com/in/jkeller", "", "Initech", "Berlin"],
    ["Ana", "Souza", "", "", "+55 11 91234-5678", "", ""],
    ["Björn", "Nyström", "", "", "", "Hooli", ""],
]


def _csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


ENCODINGS = {
    "utf-8": lambda t: t.encode("utf-8"),
    "utf-8-bom": lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    "utf-16-le-bom": lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
    "utf-16-be-bom": lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
    "utf-16": lambda t: t.encode("utf-16"),
    "latin-1": lambda t: t.encode("latin-1"),
    "cp1252": lambda t: t.encode("cp1252"),
}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_every_encoding_and_delimiter_reads_the_same_people(
    tmp_path: Path, encoding: str, delimiter: str
) -> None:
    path = _write(tmp_path, "people.csv", ENCODINGS[encoding](_csv_text(PEOPLE, delimiter)))
    result = read_people(path, default_country="FR")
    assert result.delimiter == delimiter
    assert result.problems == ()
    assert [r.row for r in result.rows] == [2, 3, 4, 5]
    lea, jonas, ana, bjorn = result.rows
    assert lea.name == "Léa Dubois"
    assert lea.name_norm == "lea dubois"
    assert lea.emails == ("lea.dubois@example.org",)
    assert lea.linkedin == "linkedin.com/in/lea-dubois"
    assert lea.phones == ("+33612345678",)
    assert (lea.company, lea.city) == ("Globex", "Paris")
    assert jonas.linkedin == "linkedin.com/in/jkeller" and jonas.emails == ()
    assert ana.phones == ("+5511912345678",)
    assert bjorn.name_norm == "bjorn nystrom" and bjorn.company == "Hooli"
    assert result.columns["E-mail"] == "email"
    assert result.columns["Mobile"] == "phone"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Email", "email"),
        ("EMAIL ADDRESS", "email"),
        ("e-mail", "email"),
        ("Email address", "email"),
        ("LinkedIn URL", "linkedin"),
        ("linkedin_url", "linkedin"),
        ("Phone", "phone"),
        ("Mobile", "phone"),
        ("Phone Number", "phone"),
        ("Full name", "full_name"),
        ("NAME", "full_name"),
        ("Company", "company"),
        ("city", "city"),
    ],
)
def test_header_synonyms(header: str, field: str) -> None:
    result = read_people_bytes(f"{header},Mail\nx,a@example.org\n".encode())
    assert result.columns[header] == field


def test_full_name_and_several_email_and_phone_columns(tmp_path: Path) -> None:
    text = (
        "Name,Work email,Personal email,Phone,Home phone,Notes\n"
        '"Quinton, Ada",ada@globex.com,"a.da@gmail.com; ada@example.org",'
        "+44 20 7946 0102,+44 20 7946 0103,likes tea\n"
    )
    result = read_people_bytes(text.encode())
    (row,) = result.rows
    assert row.name == "Quinton, Ada"
    assert row.emails == ("ada@globex.com", "ada@gmail.com", "ada@example.org")
    assert row.phones == ("+442079460102", "+442079460103")
    assert result.ignored_columns == ("Notes",)
    assert row.raw["Notes"] == "likes tea"


BAD_ROWS = [
    (["Ada", "not-an-email", "", ""], "email 'not-an-email'"),
    (["Ada", "", "https://example.com/in/ada", ""], "not a linkedin.com URL"),
    (["Ada", "", "https://www.linkedin.com/company/x", ""], "not a LinkedIn profile URL"),
    (["Ada", "", "", "12"], "wrong number of digits"),
    (["Ada", "", "", "hello"], "not a phone number"),
    (["Ada", "", "", ""], "a name alone cannot be matched"),
    (["", "", "", "", "Globex"], "has 5 fields but the header has 4"),
    (["Ada", "ada@" + "x" * 5000 + ".org", "", ""], "longer than 4096"),
]


@pytest.mark.parametrize(("cells", "reason"), BAD_ROWS)
def test_each_bad_row_kind_is_reported_with_row_and_reason(cells: list[str], reason: str) -> None:
    rows = [["Name", "Email", "LinkedIn", "Phone"], ["Jonas", "j@example.org", "", ""], cells]
    result = read_people_bytes(_csv_text(rows).encode(), default_country="FR")
    assert [r.row for r in result.rows] == [2]
    (problem,) = result.problems
    assert problem.row == 3
    assert reason in problem.reason
    assert str(problem).startswith("row 3: ")


def test_phone_without_country_is_a_row_problem() -> None:
    result = read_people_bytes(b"Phone\n06 12 34 56 78\n+33 6 12 34 56 79\n")
    assert [p.row for p in result.problems] == [2]
    assert "no default country" in result.problems[0].reason
    assert result.rows[0].phones == ("+33612345679",)


def test_name_with_weak_identifier_only_is_usable_and_blank_rows_skipped() -> None:
    text = "Full name;City\n\nAda Quinton;Paris\n;\nNo City;\n"
    result = read_people_bytes(text.encode())
    assert [(r.row, r.name_norm, r.city) for r in result.rows] == [(3, "ada quinton", "Paris")]
    assert [(p.row, "name alone" in p.reason) for p in result.problems] == [(5, True)]


def test_quoted_multiline_value_counts_as_one_row() -> None:
    text = 'Email,Company\nada@example.org,"Globex\nParis office"\nbob@example.org,x\n'
    result = read_people_bytes(text.encode())
    assert [r.row for r in result.rows] == [2, 3]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b"\n\n  \n", "file is empty"),
        (b"Notes,Title\nx,y\n", "no usable column"),
        (b"Name\nAda\n", "no usable column"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "old Excel .xls"),
        (b"PK\x03\x04garbage", "not a readable .xlsx"),
        ("Email\nada@example.org\n".encode("utf-16-le"), "without a byte-order mark"),
        (codecs.BOM_UTF8 + b"Email\n\xff\xfe\n", "not valid utf-8-sig"),
    ],
)
def test_unreadable_files_are_refused_whole(data: bytes, message: str) -> None:
    with pytest.raises(FileRejected, match=message):
        read_people_bytes(data, name="people.csv")


def test_size_and_row_limits(tmp_path: Path) -> None:
    text = "Email\n" + "".join(f"p{i}@example.org\n" for i in range(50))
    path = _write(tmp_path, "big.csv", text.encode())
    assert len(read_people(path, max_rows=50).rows) == 50
    with pytest.raises(FileRejected, match="more than 49 rows"):
        read_people(path, max_rows=49)
    with pytest.raises(FileRejected, match="over the 100-byte limit"):
        read_people(path, max_bytes=100)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match="cannot read file"):
        read_people(tmp_path / "nope.csv")
    with pytest.raises(FileRejected, match="not a file"):
        read_people(tmp_path)


def test_sheet_option_on_csv_is_refused() -> None:
    with pytest.raises(FileRejected, match=r"only applies to \.xlsx"):
        read_people_bytes(b"Email\na@example.org\n", sheet="People")


# --- xlsx ------------------------------------------------------------------------------------


def _xlsx(tmp_path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    path = tmp_path / "people.xlsx"
    book.save(path)
    return path


def test_xlsx_first_sheet_by_default_and_named_sheet(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path,
        {
            "Summary": [["Email"], ["first@example.org"]],
            "People": [
                ["Email address", "Phone", "Full Name", "City"],
                ["second@example.org", 33612345678.0, "Ada", None],
                [None, None, None, None],
                ["bad", None, None, None],
                [None, "+1 512 555 0100", "Bob", "Austin"],
            ],
        },
    )
    first = read_people(path)
    assert first.sheet == "Summary" and first.file_format == "xlsx"
    assert first.rows[0].emails == ("first@example.org",)
    named = read_people(path, sheet="People", default_country="FR")
    assert named.sheet == "People"
    assert [r.row for r in named.rows] == [2, 5]
    # Excel turns a phone typed without '+' into a number; it is read as digits.
    assert named.rows[0].phones == ("+33612345678",)
    assert named.rows[1].phones == ("+15125550100",)
    assert [(p.row, "email 'bad'" in p.reason) for p in named.problems] == [(4, True)]


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = _xlsx(tmp_path, {"A": [["Email"]], "B": [["Email"]]})
    with pytest.raises(FileRejected, match=r"no sheet named 'C' \(sheets: 'A', 'B'\)"):
        read_people(path, sheet="C")


def test_xlsx_row_limit(tmp_path: Path) -> None:
    path = _xlsx(tmp_path, {"S": [["Email"]] + [[f"p{i}@example.org"] for i in range(10)]})
    with pytest.raises(FileRejected, match="more than 5 rows"):
        read_people(path, max_rows=5)


# --- fuzzing ---------------------------------------------------------------------------------

HEADERS = ["Email", "LinkedIn", "Phone", "Name", "First name", "Company", "City", "Notes", ""]
CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "ada@example.org",
            "A.D.A+x@gmail.com",
            "linkedin.com/in/ada",
            "https://example.com/in/x",
            "+33 6 12 34 56 78",
            "06 12 34 56 78",
            "12",
            'quote"inside',
            "semi;colon",
            "tab\tin",
            "new\nline",
            "Globex",
            "",
        ]
    ),
)


def _write_csv(rows: list[list[str]], delimiter: str, quoting: int) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, quoting=quoting, escapechar="\\").writerows(rows)
    return out.getvalue()


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=5))
    rows = draw(st.lists(st.lists(CELLS, max_size=len(header) + 1), max_size=8))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE]))
    try:
        text = _write_csv([header, *rows], delimiter, quoting)
    except csv.Error:  # QUOTE_NONE cannot write some records at all
        text = _write_csv([header, *rows], delimiter, csv.QUOTE_ALL)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        # Damage: cut, splice random bytes in.
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=20)) + data[cut:]
    return data


@given(st.one_of(csv_files(), st.binary(max_size=300)))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_fuzzed_files_never_crash_and_never_import_a_reported_row(data: bytes) -> None:
    try:
        result = read_people_bytes(data, default_country="FR", max_rows=20)
    except FileRejected as exc:
        assert str(exc)
        return
    imported = {r.row for r in result.rows}
    reported = {p.row for p in result.problems}
    assert not imported & reported
    assert len(imported) == len(result.rows) and len(reported) == len(result.problems)
    for row in result.rows:
        assert (
            row.emails
            or row.phones
            or row.linkedin
            or (row.name_norm and (row.company or row.city))
        )


def test_xlsx_values_as_excel_stores_them(tmp_path: Path) -> None:
    # The streaming reader (xlsxstream) decodes shared and inline strings, numbers,
    # booleans and numbers in a date format the way the sheet shows them.
    import datetime as dt

    path = _xlsx(
        tmp_path,
        {
            "S": [
                ["Email", "Since", "Active", "Score"],
                ["a@example.org", dt.date(2024, 3, 1), True, 2.5],
            ]
        },
    )
    row = read_people(path).rows[0]
    assert row.raw == {
        "Email": "a@example.org",
        "Since": "2024-03-01T00:00:00",
        "Active": "TRUE",
        "Score": "2.5",
    }
