"""Reading a customer's file of people (CSV or Excel .xlsx) for the do-not-source list.

The reader is strict about the file and precise about rows:

* A file it cannot read (undecodable, corrupt workbook, too big, too many rows, no usable
  column) raises ``FileRejected`` and yields nothing, so nothing is half-imported.
* Every other row keeps every usable identifier: a value that is not an email, LinkedIn
  profile or phone is left out with a ``FieldWarning`` naming the row, the column and why,
  and the row is kept on its other identifiers. A row is refused (``RowProblem``) only when
  nothing usable remains, or when its columns are shifted (more fields than the header).
* Phones: ``+`` or ``00`` and a country code, else read in the row's country column, else
  in the default country; a phone Excel stored as a number (its ``+`` gone) is read as
  national digits when valid there, else as international ones.
* Headers are recognised in English, French, German, Spanish, Portuguese, Italian and
  Dutch, with accents, case and punctuation folded (``header_key``); ``column_map`` names
  columns by hand.

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
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import attrs

from atsbridge import countries, identity, storable, xlsxstream
from atsbridge.errors import BadInput

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_TOTAL_ROWS = xlsxstream.EXCEL_MAX_ROWS  # every row, blank ones included
MAX_CELL = 4096  # longer than any name, URL or email; a longer cell means a broken file
MAX_ROW_TEXT = 64 * 1024  # what one row may store in all (unrecognised columns included)
# A cell a spreadsheet would evaluate when the stored value is exported back into one
# (CSV/formula injection): "=", "@", or "+"/"-" not followed by a phone or a number.
_FORMULA = re.compile(r"[=@]|[+-](?![0-9 ().+/-]*$)")
DELIMITERS = (",", ";", "\t", "|")


class FileRejected(BadInput):
    """The file as a whole cannot be imported; nothing from it was read into the list."""


# Canonical field -> header spellings in English, French, German, Spanish, Portuguese,
# Italian and Dutch, compared after ``header_key`` folding (case, accents, spaces and
# punctuation aside: "Téléphone portable" is "telephoneportable"). Where a word means
# different things in two languages ("nome": first name in Italian, name in Portuguese) it
# goes to the field whose reading still matches the person: a first name alone is read as
# the whole name.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "e-mail", "email address", "e-mail address", "emails", "mail", "work email",
        "personal email", "primary email", "email 1", "email 2", "email 3",
        # fr
        "courriel", "adresse email", "adresse e-mail", "adresse mail", "adresse courriel",
        "mel", "e-mail professionnel", "email professionnel", "email personnel",
        # de
        "e-mail-adresse", "emailadresse", "mailadresse",
        # es
        "correo", "correo electronico", "correo-e", "direccion de correo", "email personal",
        # pt
        "endereco de email", "endereco de e-mail", "correio eletronico", "correio electronico",
        # it
        "indirizzo email", "indirizzo e-mail", "posta elettronica",
        # nl
        "e-mailadres", "emailadres", "mailadres",
    ),
    "linkedin": (
        "linkedin", "linkedin url", "linkedin profile", "linkedin profile url",
        "linkedin link", "linkedin_url",
        "profil linkedin", "url linkedin", "lien linkedin", "linkedin-profil", "linkedin profil",
        "perfil de linkedin", "perfil linkedin", "profilo linkedin", "linkedin profiel",
        "linkedinprofiel",
    ),
    "phone": (
        "phone", "phones", "phone number", "mobile", "mobile phone", "mobile number", "cell",
        "cell phone", "telephone", "tel", "work phone", "home phone", "phone 1", "phone 2",
        # fr
        "téléphone", "portable", "numero de telephone", "telephone portable",
        "telephone mobile", "tel portable", "tel mobile", "numero de portable",
        # de
        "telefon", "telefonnummer", "handy", "handynummer", "mobil", "mobilnummer",
        "mobiltelefon",
        # es
        "teléfono", "telefono movil", "movil", "celular", "numero de telefono",
        # pt
        "telefone", "telemovel", "numero de telefone", "celular", "telefone celular",
        # it
        "telefono", "cellulare", "numero di telefono", "telefono cellulare",
        # nl
        "telefoon", "telefoonnummer", "mobiel", "mobiele telefoon", "mobiel nummer", "gsm",
    ),
    "first_name": (
        "first name", "firstname", "first", "given name", "forename",
        "prénom", "vorname", "nombre", "nome", "primeiro nome", "voornaam",
    ),
    "last_name": (
        "last name", "lastname", "last", "surname", "family name",
        "nom", "nom de famille", "nachname", "familienname", "apellido", "apellidos",
        "sobrenome", "apelido", "cognome", "achternaam",
    ),
    "full_name": (
        "full name", "fullname", "name", "candidate name", "candidate",
        "nom complet", "nom et prenom", "prenom et nom", "prenom nom", "candidat",
        "vollstandiger name", "kandidat", "nombre completo", "candidato", "nome completo",
        "volledige naam", "naam", "kandidaat",
    ),
    "company": (
        "company", "company name", "current company", "employer", "organization",
        "organisation",
        "entreprise", "société", "employeur", "firma", "unternehmen", "arbeitgeber",
        "empresa", "compañía", "empleador", "azienda", "società", "datore di lavoro",
        "bedrijf", "werkgever", "organisatie",
    ),
    "city": (
        "city", "town", "current city",
        "ville", "stadt", "ort", "wohnort", "ciudad", "localidad", "cidade", "città",
        "stad", "plaats", "woonplaats",
    ),
    "country": ("country", "pays", "land", "país", "paese", "nazione"),
}  # fmt: skip
FIELDS = tuple(_SYNONYMS)
IGNORE = "ignore"  # ``column_map`` value that leaves a column out
MULTI_VALUED = frozenset({"email", "phone"})
STRONG_FIELDS = frozenset({"email", "linkedin", "phone"})
NAME_FIELDS = frozenset({"first_name", "last_name", "full_name"})
WEAK_FIELDS = frozenset({"company", "city"})


def header_key(text: str) -> str:
    """A header folded for comparison: accents folded to their letters, case, spaces and
    punctuation dropped ("Téléphone" and "TELEPHONE" are both "telephone")."""
    folded = identity.normalize_name(text.strip().lstrip("\ufeff"))
    return folded.replace(" ", "")


HEADER_FIELDS: dict[str, str] = {
    header_key(spelling): field for field, spellings in _SYNONYMS.items() for spelling in spellings
}


def column_map_field(value: str) -> str:
    """The field a ``column_map`` value names: a field (``email``), a header spelling of one
    (``Courriel``, ``name``), or ``ignore``; raises BadInput naming the choices otherwise."""
    key = header_key(value)
    if key == IGNORE:
        return IGNORE
    for field in FIELDS:
        if key == header_key(field):
            return field
    spelled = HEADER_FIELDS.get(key)
    if spelled is None:
        raise BadInput(f"--map: unknown field {value!r} (one of {', '.join(FIELDS)}, or {IGNORE})")
    return spelled


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
class FieldWarning:
    """A value left out of a row that was kept on its other identifiers."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}: {self.reason} (value left out)"


@attrs.frozen
class FormulaCell:
    """A value of a kept row that a spreadsheet would run as a formula (kept as text)."""

    row: int
    column: str

    def __str__(self) -> str:
        return (
            f"row {self.row}, column {self.column!r}: starts like a formula "
            "(=, +, - or @); a spreadsheet opening an export would run it"
        )


@attrs.frozen
class ReadResult:
    rows: tuple[PersonRow, ...]
    problems: tuple[RowProblem, ...]  # rows skipped: nothing usable in them
    warnings: tuple[FieldWarning, ...]  # values dropped from rows that were kept
    columns: dict[str, str]  # header as written -> field it feeds
    ignored_columns: tuple[str, ...]
    file_format: str  # "csv" | "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    formulas: tuple[FormulaCell, ...] = ()  # formula-like values of kept rows


def read_people(
    path: str | Path,
    *,
    sheet: str | None = None,
    default_country: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    column_map: Mapping[str, str] | None = None,
    xlsx_limits: xlsxstream.Limits | None = None,
) -> ReadResult:
    """Read ``path`` (CSV or .xlsx, recognised by content) into rows, row problems and
    field warnings.

    ``column_map`` maps a header (as written, compared folded) to the field it feeds
    (``{"Courriel": "email", "Notes": "ignore"}``); other columns are recognised by name.
    ``xlsx_limits`` bounds what a workbook may cost (``xlsxstream.Limits``' defaults).
    """
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
        column_map=column_map,
        xlsx_limits=xlsx_limits,
    )


def read_people_bytes(
    data: bytes,
    *,
    name: str = "file",
    sheet: str | None = None,
    default_country: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    column_map: Mapping[str, str] | None = None,
    xlsx_limits: xlsxstream.Limits | None = None,
) -> ReadResult:
    mapping = _column_map(column_map)
    if len(data) > max_bytes:
        raise FileRejected(
            f"{name}: file is {len(data):,} bytes, over the {max_bytes:,}-byte limit; split it"
        )
    if data.startswith(b"PK\x03\x04"):
        table, sheet_name = _xlsx_rows(data, name, sheet, xlsx_limits)
        return _build(table, name, default_country, max_rows, mapping, "xlsx", sheet=sheet_name)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected(f"{name}: old Excel .xls files are not supported; save as .xlsx or CSV")
    if sheet is not None:
        raise FileRejected(f"{name}: --sheet only applies to .xlsx files; this is a text file")
    text, encoding = _decode(data, name)
    delimiter = _choose_delimiter(text, mapping)
    table = _csv_rows(text, delimiter, name)
    return _build(table, name, default_country, max_rows, mapping, "csv", encoding, delimiter)


def _column_map(column_map: Mapping[str, str] | None) -> dict[str, str]:
    """``column_map`` keyed by folded header, its values checked (BadInput on a bad one)."""
    mapping: dict[str, str] = {}
    for header, field in (column_map or {}).items():
        key = header_key(header)
        if not key:
            raise BadInput(f"--map: {header!r} names no column")
        mapping[key] = column_map_field(field)
    return mapping


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


def _choose_delimiter(text: str, mapping: Mapping[str, str]) -> str:
    header = _first_line(text)
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        try:
            cells = next(csv.reader([header], delimiter=delimiter), [])
        except csv.Error:
            continue
        known = sum(1 for c in cells if header_key(c) in HEADER_FIELDS or header_key(c) in mapping)
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
    data: bytes, name: str, sheet: str | None, limits: xlsxstream.Limits | None = None
) -> tuple[Iterator[tuple[int, list[Any]]], str]:
    """The sheet's rows, streamed within ``limits`` (see ``xlsxstream``): a workbook bomb
    (a huge declared range, shared string or blank-row count) is refused, not expanded."""
    try:
        book = xlsxstream.open_workbook(io.BytesIO(data), limits)
    except xlsxstream.XlsxRejected as exc:
        raise FileRejected(f"{name}: not a readable .xlsx workbook: {exc}") from None
    if sheet is None:
        if not book.sheets:
            raise FileRejected(f"{name}: workbook has no sheet")
        chosen = book.sheets[0]
    else:
        found = [s for s in book.sheets if s.name == sheet]
        if not found:
            available = ", ".join(repr(s) for s in book.sheet_names)
            raise FileRejected(f"{name}: no sheet named {sheet!r} (sheets: {available})")
        chosen = found[0]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            yield from book.rows(chosen)
        except xlsxstream.XlsxRejected as exc:
            raise FileRejected(f"{name}: refused: {exc}") from None
        finally:
            book.close()

    return rows(), chosen.name


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
    mapping: Mapping[str, str],
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
    missing = set(mapping) - {header_key(h) for h in header}
    if missing:
        wanted = ", ".join(repr(h) for h in sorted(missing))
        found = ", ".join(repr(h) for h in header if h) or "none"
        raise FileRejected(f"{name}: --map: no column {wanted} in the header (found: {found})")
    for position, text in enumerate(header, start=1):
        if unstorable := storable.text_problem(text):
            raise FileRejected(f"{name}: header column {position} {unstorable}")
        if len(text) > MAX_CELL:
            raise FileRejected(
                f"{name}: header column {position} is longer than {MAX_CELL} characters"
            )
    index, columns, ignored = _map_columns(header, mapping)
    fields = set(columns.values())
    if not (fields & STRONG_FIELDS or (fields & NAME_FIELDS and fields & WEAK_FIELDS)):
        found = ", ".join(repr(h) for h in header if h) or "none"
        raise FileRejected(
            f"{name}: no usable column; need an email, LinkedIn or phone column, or a name "
            f"column with a company or city column (found: {found}; name columns by hand "
            "with --map HEADER=FIELD)"
        )
    rows: list[PersonRow] = []
    problems: list[RowProblem] = []
    warnings: list[FieldWarning] = []
    formulas: list[FormulaCell] = []
    seen = 0
    total = 0
    for number, cells in iterator:
        # Blank rows count too (against a sheet's own size): millions of them are no file
        # of people, and reading them was minutes of work for nothing.
        total += 1
        if total > MAX_TOTAL_ROWS:
            raise FileRejected(
                f"{name}: more than {MAX_TOTAL_ROWS:,} rows (blank ones included); split the file"
            )
        texts = [_cell_text(c) for c in cells]
        if not any(texts):
            continue
        seen += 1
        if seen > max_rows:
            raise FileRejected(f"{name}: more than {max_rows:,} rows; split the file")
        numeric = frozenset(i for i, c in enumerate(cells) if _is_number(c))
        outcome, dropped = _person(number, texts, numeric, header, index, default_country)
        if isinstance(outcome, PersonRow):
            rows.append(outcome)
            warnings.extend(dropped)
            formulas.extend(
                FormulaCell(number, column)
                for column, text in outcome.raw.items()
                if _FORMULA.match(text) and not _numeric_text(text)
            )
        else:
            problems.append(outcome)
    return ReadResult(
        rows=tuple(rows),
        problems=tuple(problems),
        warnings=tuple(warnings),
        columns=columns,
        ignored_columns=tuple(ignored),
        file_format=file_format,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        formulas=tuple(formulas),
    )


def _numeric_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _field(header: str) -> str | None:
    return HEADER_FIELDS.get(header_key(header))


def _map_columns(
    header: list[str], mapping: Mapping[str, str]
) -> tuple[list[tuple[int, str | None]], dict[str, str], list[str]]:
    """Each column's field (None: not read), the header -> field map, the ignored headers.

    A single-valued field fed by two columns reads the first one only.
    """
    index: list[tuple[int, str | None]] = []
    columns: dict[str, str] = {}
    ignored: list[str] = []
    taken: set[str] = set()
    for i, text in enumerate(header):
        field = mapping.get(header_key(text)) if text else None
        if field is None:
            field = _field(text)
        if field in (None, IGNORE) or (field in taken and field not in MULTI_VALUED):
            if text:
                ignored.append(text)
            index.append((i, None))
            continue
        assert field is not None
        taken.add(field)
        columns[text] = field
        index.append((i, field))
    return index, columns, ignored


_SPLIT_EMAILS = re.compile(r"[;,\s]+")
_SPLIT_PHONES = re.compile(r"[;,|]+")


def _person(
    row: int,
    texts: list[str],
    numeric: frozenset[int],
    header: list[str],
    index: list[tuple[int, str | None]],
    default_country: str | None,
) -> tuple[PersonRow | RowProblem, list[FieldWarning]]:
    """The row's person and the values left out of it; or why nothing in it is usable.

    Every value is read on its own: a bad phone drops that phone, not the person's email.
    """
    if len(texts) > len(header) and any(texts[len(header) :]):
        # The columns are shifted: no value can be trusted to be what its header says.
        problem = RowProblem(
            row,
            f"has {len(texts)} fields but the header has {len(header)} "
            "(an unquoted delimiter inside a value?)",
        )
        return problem, []
    cells: dict[str, list[tuple[str, str, bool]]] = {}  # field -> (header, text, numeric)
    raw: dict[str, str] = {}
    dropped: list[FieldWarning] = []
    stored = 0
    for i, field in index:
        text = texts[i] if i < len(texts) else ""
        if not text:
            continue
        if len(text) > MAX_CELL:
            # Unrecognised columns too: they are stored with the entry.
            dropped.append(FieldWarning(row, header[i], f"longer than {MAX_CELL} characters"))
            continue
        unstorable = storable.text_problem(text)
        if unstorable:
            # Text no database stores alike (PostgreSQL refuses NUL): the row is refused.
            return RowProblem(row, f"column {header[i] or i + 1!r}: {unstorable}"), []
        if header[i]:
            stored += len(header[i]) + len(text)
            if stored > MAX_ROW_TEXT:
                dropped.append(
                    FieldWarning(row, header[i], f"the row is over {MAX_ROW_TEXT:,} characters")
                )
                continue
            raw[header[i]] = text
        if field is None:
            continue
        cells.setdefault(field, []).append((header[i], text, i in numeric))

    def read(field: str, split: re.Pattern[str] | None, fn: Any) -> list[str]:
        out: list[str] = []
        for column, cell, is_number in cells.get(field, ()):
            parts = split.split(cell) if split is not None else [cell]
            for part in parts:
                if not part.strip():
                    continue
                try:
                    value = fn(part, is_number)
                except identity.InvalidIdentifier as exc:
                    dropped.append(FieldWarning(row, column, str(exc)))
                    continue
                if value not in out:
                    out.append(value)
        return out

    country = default_country
    for column, cell, _ in cells.get("country", ())[:1]:
        code = countries.country_of(cell)
        if code is None:
            dropped.append(FieldWarning(row, column, f"{cell!r} is not a country we know"))
        else:
            country = code

    def phone(text: str, is_number: bool) -> str:
        if is_number:  # Excel dropped the '+' (and any leading 0)
            return identity.normalize_numeric_phone(text, country)
        return identity.normalize_phone(text, country)

    emails = read("email", _SPLIT_EMAILS, lambda t, _: identity.normalize_email(t))
    phones = read("phone", _SPLIT_PHONES, phone)
    linkedins = read("linkedin", None, lambda t, _: identity.normalize_linkedin(t))
    values = {field: [text for _, text, _ in found] for field, found in cells.items()}
    name = _display_name(values)
    name_norm = identity.normalize_name(name) if name else ""
    company = values.get("company", [None])[0]
    city = values.get("city", [None])[0]
    has_weak = bool(
        (company and identity.normalize_company(company))
        or (city and identity.normalize_city(city))
    )
    if not (emails or phones or linkedins or (name_norm and has_weak)):
        if dropped:
            reason = "nothing usable left: " + "; ".join(
                f"column {w.column!r}: {w.reason}" for w in dropped
            )
        elif name_norm:
            reason = (
                "a name alone cannot be matched: add an email, LinkedIn, phone, company or city"
            )
        else:
            reason = "no email, LinkedIn, phone, or name with company or city"
        return RowProblem(row, reason), []
    person = PersonRow(
        row=row,
        emails=tuple(emails),
        phones=tuple(phones),
        linkedin=linkedins[0] if linkedins else None,
        name=name or None,
        name_norm=name_norm or None,
        company=company,
        city=city,
        raw=raw,
    )
    return person, dropped


def _display_name(values: dict[str, list[str]]) -> str:
    if "full_name" in values:
        return values["full_name"][0]
    parts = [values[f][0] for f in ("first_name", "last_name") if f in values]
    return " ".join(parts)
