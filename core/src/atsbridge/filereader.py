"""Reading a customer's file of people (CSV or Excel .xlsx) for the do-not-source list.

The reader is strict about the file and precise about rows:

* A file it cannot read (undecodable, corrupt workbook, too big, too many rows, no usable
  column) raises ``FileRejected`` and yields nothing, so nothing is half-imported.
* Every other row is either a ``PersonRow`` (all present identifiers valid, at least one
  usable way to match) or a ``RowProblem`` naming the row and why, never both. A row with a
  malformed email is refused whole rather than imported on its other identifiers: the user
  sees the reason and fixes the file, and the list never holds a half-read person.

Row numbers are what a spreadsheet shows: one per CSV record (a quoted value may span
lines) or sheet row, counting blank ones; with the header first, the first person is row 2.
Blank rows are skipped silently. CSV encodings: UTF-8 with or without BOM, UTF-16/32 with
BOM, otherwise Windows-1252/Latin-1. Delimiters: comma, semicolon, tab or pipe, chosen by
which one splits the header into the most recognised column names.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import attrs

from atsbridge import identity
from atsbridge.errors import BadInput

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_CELL = 4096  # longer than any name, URL or email; a longer cell means a broken file
DELIMITERS = (",", ";", "\t", "|")


class FileRejected(BadInput):
    """The file as a whole cannot be imported; nothing from it was read into the list."""


# Canonical field -> header spellings, compared after ``_header_key`` folding.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "emails",
        "mail",
        "work email",
        "personal email",
        "primary email",
        "email 1",
        "email 2",
        "email 3",
    ),
    "linkedin": (
        "linkedin",
        "linkedin url",
        "linkedin profile",
        "linkedin profile url",
        "linkedin link",
        "linkedin_url",
    ),
    "phone": (
        "phone",
        "phone number",
        "mobile",
        "mobile phone",
        "mobile number",
        "cell",
        "cell phone",
        "telephone",
        "tel",
        "work phone",
        "home phone",
        "phone 1",
        "phone 2",
    ),
    "first_name": ("first name", "firstname", "first", "given name", "forename"),
    "last_name": ("last name", "lastname", "last", "surname", "family name"),
    "full_name": ("full name", "fullname", "name", "candidate name", "candidate"),
    "company": (
        "company",
        "company name",
        "current company",
        "employer",
        "organization",
        "organisation",
    ),
    "city": ("city", "town", "current city"),
}
MULTI_VALUED = frozenset({"email", "phone"})
STRONG_FIELDS = frozenset({"email", "linkedin", "phone"})
NAME_FIELDS = frozenset({"first_name", "last_name", "full_name"})
WEAK_FIELDS = frozenset({"company", "city"})


def _header_key(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.strip().lstrip("\ufeff").casefold())


HEADER_FIELDS: dict[str, str] = {
    _header_key(spelling): field for field, spellings in _SYNONYMS.items() for spelling in spellings
}


@attrs.frozen
class PersonRow:
    """One valid person read from the file, with normalised identifiers."""

    row: int
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    linkedin: str | None = None
    name: str | None = None  # display name as written
    name_norm: str | None = None
    company: str | None = None
    city: str | None = None
    raw: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class RowProblem:
    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@attrs.frozen
class ReadResult:
    rows: tuple[PersonRow, ...]
    problems: tuple[RowProblem, ...]
    columns: dict[str, str]  # header as written -> field it feeds
    ignored_columns: tuple[str, ...]
    file_format: str  # "csv" | "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None


def read_people(
    path: str | Path,
    *,
    sheet: str | None = None,
    default_country: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
) -> ReadResult:
    """Read ``path`` (CSV or .xlsx, recognised by content) into valid rows and row problems."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileRejected(f"{path}: cannot read file: {exc.strerror or exc}") from None
    if not path.is_file():
        raise FileRejected(f"{path}: not a file")
    if size > max_bytes:
        raise FileRejected(
            f"{path.name}: file is {size:,} bytes, over the {max_bytes:,}-byte limit; split it"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileRejected(f"{path}: cannot read file: {exc.strerror or exc}") from None
    return read_people_bytes(
        data,
        name=path.name,
        sheet=sheet,
        default_country=default_country,
        max_bytes=max_bytes,
        max_rows=max_rows,
    )


def read_people_bytes(
    data: bytes,
    *,
    name: str = "file",
    sheet: str | None = None,
    default_country: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
) -> ReadResult:
    if len(data) > max_bytes:
        raise FileRejected(
            f"{name}: file is {len(data):,} bytes, over the {max_bytes:,}-byte limit; split it"
        )
    if data.startswith(b"PK\x03\x04"):
        table, sheet_name = _xlsx_rows(data, name, sheet)
        return _build(table, name, default_country, max_rows, "xlsx", sheet=sheet_name)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected(f"{name}: old Excel .xls files are not supported; save as .xlsx or CSV")
    if sheet is not None:
        raise FileRejected(f"{name}: --sheet only applies to .xlsx files; this is a text file")
    text, encoding = _decode(data, name)
    delimiter = _choose_delimiter(text)
    table = _csv_rows(text, delimiter, name)
    return _build(table, name, default_country, max_rows, "csv", encoding, delimiter)


# --- CSV ------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise FileRejected(
                    f"{name}: starts with a {encoding} byte-order mark but is not valid "
                    f"{encoding} (byte {exc.start})"
                ) from None
    if b"\x00" in data[:4096]:
        # UTF-16 without a BOM (or a binary file): guessing its byte order would risk
        # importing garbage, so ask for a BOM instead.
        raise FileRejected(
            f"{name}: looks binary or UTF-16 without a byte-order mark; "
            "save it as CSV UTF-8 or as .xlsx"
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _choose_delimiter(text: str) -> str:
    header = _first_line(text)
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        try:
            cells = next(csv.reader([header], delimiter=delimiter), [])
        except csv.Error:
            continue
        known = sum(1 for c in cells if _header_key(c) in HEADER_FIELDS)
        score = (known, len(cells))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def _csv_rows(text: str, delimiter: str, name: str) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileRejected(f"{name}: row {number + 1}: unreadable CSV: {exc}") from None
        number += 1
        yield number, cells


# --- XLSX -----------------------------------------------------------------------------------


def _xlsx_rows(
    data: bytes, name: str, sheet: str | None
) -> tuple[Iterator[tuple[int, list[Any]]], str]:
    import openpyxl  # imported here: loading it costs time the CSV path never needs

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, IndexError) as exc:
        raise FileRejected(
            f"{name}: not a readable .xlsx workbook ({type(exc).__name__})"
        ) from None
    except Exception as exc:  # openpyxl raises a zoo of parser errors on corrupt parts
        raise FileRejected(
            f"{name}: not a readable .xlsx workbook ({type(exc).__name__})"
        ) from None
    if sheet is None:
        if not book.worksheets:
            raise FileRejected(f"{name}: workbook has no sheet")
        ws = book.worksheets[0]
    elif sheet in book.sheetnames:
        ws = book[sheet]
    else:
        available = ", ".join(repr(s) for s in book.sheetnames)
        raise FileRejected(f"{name}: no sheet named {sheet!r} (sheets: {available})")

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                yield number, list(values)
        except FileRejected:
            raise
        except Exception as exc:
            raise FileRejected(
                f"{name}: sheet {ws.title!r} is corrupt ({type(exc).__name__})"
            ) from None
        finally:
            book.close()

    return rows(), ws.title


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e17:
        # Phone numbers typed into Excel come back as floats: 33612345678.0.
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


# --- rows -----------------------------------------------------------------------------------


def _build(
    table: Iterable[tuple[int, list[Any]]],
    name: str,
    default_country: str | None,
    max_rows: int,
    file_format: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> ReadResult:
    iterator = iter(table)
    header: list[str] | None = None
    for _number, cells in iterator:
        texts = [_cell_text(c) for c in cells]
        if any(texts):
            header = texts
            break
    if header is None:
        raise FileRejected(f"{name}: file is empty (no header row)")
    columns, ignored = _map_columns(header)
    fields = set(columns.values())
    if not (fields & STRONG_FIELDS or (fields & NAME_FIELDS and fields & WEAK_FIELDS)):
        found = ", ".join(repr(h) for h in header if h) or "none"
        raise FileRejected(
            f"{name}: no usable column; need an email, LinkedIn or phone column, or a name "
            f"column with a company or city column (found: {found})"
        )
    index = [(i, _field(text)) for i, text in enumerate(header)]
    rows: list[PersonRow] = []
    problems: list[RowProblem] = []
    seen = 0
    for number, cells in iterator:
        texts = [_cell_text(c) for c in cells]
        if not any(texts):
            continue
        seen += 1
        if seen > max_rows:
            raise FileRejected(f"{name}: more than {max_rows:,} rows; split the file")
        outcome = _person(number, texts, header, index, default_country)
        (rows if isinstance(outcome, PersonRow) else problems).append(outcome)  # type: ignore[arg-type]
    return ReadResult(
        rows=tuple(rows),
        problems=tuple(problems),
        columns=columns,
        ignored_columns=tuple(ignored),
        file_format=file_format,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
    )


def _field(header: str) -> str | None:
    return HEADER_FIELDS.get(_header_key(header))


def _map_columns(header: list[str]) -> tuple[dict[str, str], list[str]]:
    columns: dict[str, str] = {}
    ignored: list[str] = []
    taken: set[str] = set()
    for text in header:
        field = _field(text)
        if field is None or (field in taken and field not in MULTI_VALUED):
            if text:
                ignored.append(text)
            continue
        taken.add(field)
        columns[text] = field
    return columns, ignored


_SPLIT_EMAILS = re.compile(r"[;,\s]+")
_SPLIT_PHONES = re.compile(r"[;,|]+")


def _person(
    row: int,
    texts: list[str],
    header: list[str],
    index: list[tuple[int, str | None]],
    default_country: str | None,
) -> PersonRow | RowProblem:
    if len(texts) > len(header) and any(texts[len(header) :]):
        return RowProblem(
            row,
            f"has {len(texts)} fields but the header has {len(header)} "
            "(an unquoted delimiter inside a value?)",
        )
    values: dict[str, list[str]] = {}
    raw: dict[str, str] = {}
    seen_fields: set[str] = set()
    for i, field in index:
        text = texts[i] if i < len(texts) else ""
        if header[i] and text:
            raw[header[i]] = text
        if field is None or (field in seen_fields and field not in MULTI_VALUED):
            continue
        seen_fields.add(field)
        if not text:
            continue
        if len(text) > MAX_CELL:
            return RowProblem(row, f"column {header[i]!r} is longer than {MAX_CELL} characters")
        values.setdefault(field, []).append(text)
    try:
        emails = _unique(
            identity.normalize_email(part)
            for cell in values.get("email", ())
            for part in _SPLIT_EMAILS.split(cell)
            if part
        )
        phones = _unique(
            identity.normalize_phone(part, default_country)
            for cell in values.get("phone", ())
            for part in _SPLIT_PHONES.split(cell)
            if part.strip()
        )
        linkedin = (
            identity.normalize_linkedin(values["linkedin"][0]) if "linkedin" in values else None
        )
    except identity.InvalidIdentifier as exc:
        return RowProblem(row, str(exc))
    name = _display_name(values)
    name_norm = identity.normalize_name(name) if name else ""
    company = values.get("company", [None])[0]
    city = values.get("city", [None])[0]
    has_weak = bool(
        (company and identity.normalize_company(company))
        or (city and identity.normalize_city(city))
    )
    if not (emails or phones or linkedin or (name_norm and has_weak)):
        if name_norm:
            reason = (
                "a name alone cannot be matched: add an email, LinkedIn, phone, company or city"
            )
        else:
            reason = "no email, LinkedIn, phone, or name with company or city"
        return RowProblem(row, reason)
    return PersonRow(
        row=row,
        emails=emails,
        phones=phones,
        linkedin=linkedin,
        name=name or None,
        name_norm=name_norm or None,
        company=company,
        city=city,
        raw=raw,
    )


def _display_name(values: dict[str, list[str]]) -> str:
    if "full_name" in values:
        return values["full_name"][0]
    parts = [values[f][0] for f in ("first_name", "last_name") if f in values]
    return " ".join(parts)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
