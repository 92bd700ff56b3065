"""Reading the rows of an .xlsx sheet as a stream, within hard limits.

A workbook is a zip of XML parts, and a small one can claim to be enormous: a 4 KB file
declaring the range ``A1:XFD1048576``, a shared string of gigabytes, millions of blank
rows. A general spreadsheet library trusts those claims (it pads every row to the declared
width, loads every shared string, walks every row). This reader does not:

* each part is decompressed as a stream, and its decompressed size is capped (the shared
  strings, which must stay in memory, more tightly than a sheet, which is streamed);
* the XML is parsed with expat, event by event, nothing kept but the current row; a
  DOCTYPE (entity expansion) is refused;
* the declared dimension is ignored: a row is as wide as its last cell that exists;
* rows (blank ones included), cells (counted as the width of each row), string lengths
  (Excel's own cell limit) and the time spent are all capped.

Any limit reached, or any part unreadable, raises ``XlsxRejected`` with the reason; the
caller turns it into its own error. Values come back as Excel stores them: ``str``, ``int``
or ``float``, ``bool``, ``datetime`` for a number in a date format, ``None`` for a gap.
"""

from __future__ import annotations

import posixpath
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import IO, Any
from xml.parsers import expat

import attrs

__all__ = ["Limits", "Workbook", "XlsxRejected", "open_workbook"]

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_STRING = 32_767  # characters in one cell


class XlsxRejected(Exception):
    """The workbook cannot be read within the limits (the message says why)."""


@attrs.frozen
class Limits:
    max_sheet_bytes: int = 256 * 1024 * 1024  # decompressed sheet XML (streamed)
    max_strings_bytes: int = 64 * 1024 * 1024  # decompressed shared strings (kept in memory)
    max_meta_bytes: int = 8 * 1024 * 1024  # workbook, relationships, styles
    max_string: int = EXCEL_MAX_STRING
    max_rows: int = EXCEL_MAX_ROWS  # every <row> element, blank ones included
    max_cells: int = 20_000_000  # the sum of the rows' widths (200,000 rows of 100 columns)
    max_parts: int = 10_000
    max_seconds: float = 120.0  # a legitimate 50 MB workbook reads in well under that


_CHUNK = 64 * 1024
_REL_OFFICE = "/officeDocument"
_REL_STRINGS = "/sharedStrings"
_REL_STYLES = "/styles"
# Built-in number formats that show a date or time (ECMA-376 18.8.30).
_DATE_FORMATS = frozenset({*range(14, 23), *range(45, 48)})
_CELL_REF = re.compile(r"([A-Z]{1,3})([0-9]*)$")
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')


def _local(name: str) -> str:
    # expat with a namespace separator reports "namespace-uri local"; the namespace varies
    # (transitional or strict OOXML) and the local names do not.
    return name.rpartition(" ")[2]


class _Clock:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise XlsxRejected(f"reading took longer than {self.seconds:g} s")


def _no_doctype(*_args: Any) -> None:
    raise XlsxRejected("a part declares a DOCTYPE (entity expansion is not accepted)")


def _parse(
    stream: Iterator[bytes],
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    text: Callable[[str], None] | None = None,
    between: Callable[[], None] | None = None,
) -> None:
    """Feed ``stream`` to expat, calling back per element; ``between`` after each chunk."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.EntityDeclHandler = _no_doctype
    parser.StartElementHandler = lambda name, attrs_: start(_local(name), attrs_)
    parser.EndElementHandler = lambda name: end(_local(name))
    if text is not None:
        parser.CharacterDataHandler = text
    parser.buffer_text = True
    try:
        for chunk in stream:
            parser.Parse(chunk, False)
            if between is not None:
                between()
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise XlsxRejected(f"malformed XML ({expat.ErrorString(exc.code)})") from None


def _attr(attrs_: dict[str, str], name: str) -> str | None:
    for key, value in attrs_.items():
        if _local(key) == name:
            return value
    return None


@attrs.define
class _Sheet:
    name: str
    part: str


class Workbook:
    """An opened workbook: its sheet names, and the rows of one sheet on demand."""

    def __init__(self, data: IO[bytes], limits: Limits) -> None:
        self.limits = limits
        self.clock = _Clock(limits.max_seconds)
        try:
            self._zip = zipfile.ZipFile(data)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
            raise XlsxRejected(f"not a readable zip ({type(exc).__name__})") from None
        if len(infos) > limits.max_parts:
            raise XlsxRejected(f"more than {limits.max_parts:,} parts in the zip")
        self._parts = {info.filename.lstrip("/"): info for info in infos}
        office = self._targets("_rels/.rels", "").get(_REL_OFFICE)
        if not office:
            raise XlsxRejected("no workbook part (not a spreadsheet?)")
        self._workbook_part = office[0]
        base = posixpath.dirname(self._workbook_part)
        rels_part = posixpath.join(base, "_rels", posixpath.basename(self._workbook_part) + ".rels")
        self._rel_ids: dict[str, str] = {}
        targets = self._targets(rels_part, base, by_id=self._rel_ids)
        self._strings_part = next(iter(targets.get(_REL_STRINGS, ())), None)
        self._styles_part = next(iter(targets.get(_REL_STYLES, ())), None)
        self.sheets, self._date1904 = self._read_workbook()

    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def close(self) -> None:
        self._zip.close()

    # --- parts ------------------------------------------------------------------------

    def _stream(self, part: str, limit: int, what: str) -> Iterator[bytes]:
        info = self._parts.get(part)
        if info is None:
            raise XlsxRejected(f"missing part {part}")
        if info.file_size > limit:
            raise XlsxRejected(
                f"{what} decompresses to {info.file_size:,} bytes, over the {limit:,}-byte limit"
            )
        total = 0
        try:
            with self._zip.open(info) as raw:
                while chunk := raw.read(_CHUNK):
                    # The declared size can lie: count what really comes out.
                    total += len(chunk)
                    if total > limit:
                        raise XlsxRejected(
                            f"{what} decompresses to more than the {limit:,}-byte limit"
                        )
                    yield chunk
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise XlsxRejected(f"{what} is corrupt ({type(exc).__name__})") from None

    def _targets(
        self, part: str, base: str, by_id: dict[str, str] | None = None
    ) -> dict[str, list[str]]:
        """Relationship type suffix -> target parts of the relationships part ``part``."""
        found: dict[str, list[str]] = {}
        if part not in self._parts:
            return found

        def start(name: str, attrs_: dict[str, str]) -> None:
            if name != "Relationship" or attrs_.get("TargetMode") == "External":
                return
            target = attrs_.get("Target", "")
            if target.startswith("/"):
                resolved = posixpath.normpath(target.lstrip("/"))
            else:
                resolved = posixpath.normpath(posixpath.join(base, target))
            kind = attrs_.get("Type", "")
            found.setdefault(kind[kind.rfind("/") :], []).append(resolved)
            if by_id is not None and "Id" in attrs_:
                by_id[attrs_["Id"]] = resolved

        _parse(self._stream(part, self.limits.max_meta_bytes, part), start, lambda _n: None)
        return found

    def _read_workbook(self) -> tuple[list[_Sheet], bool]:
        sheets: list[_Sheet] = []
        flags = {"date1904": False}

        def start(name: str, attrs_: dict[str, str]) -> None:
            if name == "sheet":
                rel = _attr(attrs_, "id")
                part = self._rel_ids.get(rel or "")
                if part is not None:
                    sheets.append(_Sheet(attrs_.get("name", ""), part))
            elif name == "workbookPr":
                flags["date1904"] = attrs_.get("date1904", "") in ("1", "true")

        part = self._workbook_part
        _parse(self._stream(part, self.limits.max_meta_bytes, "the workbook"), start, _ignore)
        return sheets, flags["date1904"]

    def _shared_strings(self) -> list[str]:
        strings: list[str] = []
        if self._strings_part is None or self._strings_part not in self._parts:
            return strings
        state = _Text(self.limits.max_string, "a shared string")

        def start(name: str, _attrs: dict[str, str]) -> None:
            if name == "si":
                state.begin()
            else:
                state.enter(name)

        def end(name: str) -> None:
            if name == "si":
                strings.append(state.finish())
            else:
                state.leave(name)

        stream = self._stream(self._strings_part, self.limits.max_strings_bytes, "shared strings")
        _parse(stream, start, end, state.add, self.clock.check)
        return strings

    def _date_styles(self) -> list[bool]:
        """Per cell style index: is its number format a date (or time) format?"""
        if self._styles_part is None or self._styles_part not in self._parts:
            return []
        custom: dict[int, str] = {}
        styles: list[bool] = []
        where: list[str] = []

        def start(name: str, attrs_: dict[str, str]) -> None:
            where.append(name)
            if name == "numFmt":
                try:
                    custom[int(attrs_.get("numFmtId", ""))] = attrs_.get("formatCode", "")
                except ValueError:
                    pass
            elif name == "xf" and len(where) >= 2 and where[-2] == "cellXfs":
                try:
                    fmt = int(attrs_.get("numFmtId", "0"))
                except ValueError:
                    fmt = 0
                styles.append(_is_date_format(fmt, custom.get(fmt)))

        def end(_name: str) -> None:
            where.pop()

        _parse(self._stream(self._styles_part, self.limits.max_meta_bytes, "styles"), start, end)
        return styles

    # --- rows -------------------------------------------------------------------------

    def rows(self, sheet: _Sheet) -> Iterator[tuple[int, list[Any]]]:
        """The sheet's rows as (row number, values), in file order, within the limits."""
        strings = self._shared_strings()
        dates = self._date_styles()
        reader = _RowReader(self, strings, dates, sheet.name)
        stream = self._stream(sheet.part, self.limits.max_sheet_bytes, f"sheet {sheet.name!r}")
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = _no_doctype
        parser.EntityDeclHandler = _no_doctype
        parser.StartElementHandler = lambda name, a: reader.start(_local(name), a)
        parser.EndElementHandler = lambda name: reader.end(_local(name))
        parser.CharacterDataHandler = reader.text
        parser.buffer_text = True
        try:
            for chunk in stream:
                parser.Parse(chunk, False)
                self.clock.check()
                yield from reader.take()
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise XlsxRejected(
                f"sheet {sheet.name!r}: malformed XML ({expat.ErrorString(exc.code)})"
            ) from None
        yield from reader.take()

    def serial_date(self, serial: float) -> datetime | float:
        if self._date1904:
            epoch = datetime(1904, 1, 1)
        elif serial < 60:
            epoch = datetime(1899, 12, 31)  # before Excel's phantom 29 February 1900
        else:
            epoch = datetime(1899, 12, 30)
        try:
            return epoch + timedelta(days=serial)
        except (OverflowError, ValueError):
            return serial


def _ignore(_name: str) -> None:
    return None


def _is_date_format(fmt: int, code: str | None) -> bool:
    if code is None:
        return fmt in _DATE_FORMATS
    bare = _FORMAT_LITERALS.sub("", code).lower()
    return bare != "general" and re.search(r"[dmyhs]", bare) is not None


class _Text:
    """The text of a string item (``<si>`` or ``<is>``): its ``<t>`` runs, phonetic runs
    (``<rPh>``) left out, its length capped as it grows."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self.parts: list[str] = []
        self.size = 0
        self.in_t = False
        self.phonetic = 0

    def begin(self) -> None:
        self.parts, self.size, self.in_t, self.phonetic = [], 0, False, 0

    def enter(self, name: str) -> None:
        if name == "t":
            self.in_t = True
        elif name == "rPh":
            self.phonetic += 1

    def leave(self, name: str) -> None:
        if name == "t":
            self.in_t = False
        elif name == "rPh":
            self.phonetic -= 1

    def add(self, data: str) -> None:
        if not self.in_t or self.phonetic:
            return
        self.size += len(data)
        if self.size > self.limit:
            raise XlsxRejected(f"{self.what} is longer than {self.limit:,} characters")
        self.parts.append(data)

    def finish(self) -> str:
        return "".join(self.parts)


class _RowReader:
    """Sheet XML events -> completed rows (``take`` hands them over)."""

    def __init__(self, book: Workbook, strings: list[str], dates: list[bool], sheet: str):
        self.book = book
        self.limits = book.limits
        self.strings = strings
        self.dates = dates
        self.sheet = sheet
        self.done: list[tuple[int, list[Any]]] = []
        self.rows = 0
        self.cells = 0
        self.number = 0
        self.row: list[Any] | None = None
        self.column = 0
        self.kind = "n"
        self.style = 0
        self.value: list[str] = []
        self.in_value = False
        self.inline = _Text(self.limits.max_string, "a cell")
        self.in_inline = False

    def fail(self, reason: str) -> XlsxRejected:
        return XlsxRejected(f"sheet {self.sheet!r}: {reason}")

    def take(self) -> list[tuple[int, list[Any]]]:
        done, self.done = self.done, []
        return done

    def start(self, name: str, attrs_: dict[str, str]) -> None:
        if name == "row":
            self.rows += 1
            if self.rows > self.limits.max_rows:
                raise self.fail(
                    f"more than {self.limits.max_rows:,} rows (blank ones included); split it"
                )
            self.number = self._row_number(attrs_.get("r"))
            self.row = []
            self.column = 0
        elif name == "c" and self.row is not None:
            self.column = self._column(attrs_.get("r"))
            self.kind = attrs_.get("t", "n")
            try:
                self.style = int(attrs_.get("s", "0"))
            except ValueError:
                self.style = 0
            self.value = []
        elif name == "v":
            self.in_value = True
        elif name == "is":
            self.in_inline = True
            self.inline.begin()
        elif self.in_inline:
            self.inline.enter(name)

    def end(self, name: str) -> None:
        if name == "v":
            self.in_value = False
        elif name == "is":
            self.in_inline = False
        elif self.in_inline:
            self.inline.leave(name)
        elif name == "c" and self.row is not None:
            self._store(self._cell_value())
        elif name == "row" and self.row is not None:
            self.done.append((self.number, self.row))
            self.row = None

    def text(self, data: str) -> None:
        if self.in_inline:
            self.inline.add(data)
        elif self.in_value:
            if sum(map(len, self.value)) + len(data) > self.limits.max_string:
                raise self.fail(f"a cell is longer than {self.limits.max_string:,} characters")
            self.value.append(data)

    def _row_number(self, raw: str | None) -> int:
        if raw is None:
            return self.number + 1
        if not raw.isdigit() or not 0 < len(raw) <= 7 or int(raw) > EXCEL_MAX_ROWS:
            raise self.fail(f"row number {raw[:20]!r} is not a sheet row")
        return int(raw)

    def _column(self, ref: str | None) -> int:
        if ref is None:
            return self.column + 1
        match = _CELL_REF.match(ref)
        if match is None:
            raise self.fail(f"cell reference {ref[:20]!r} is not a cell")
        column = 0
        for letter in match.group(1):
            column = column * 26 + ord(letter) - 64
        if column > EXCEL_MAX_COLUMNS:
            raise self.fail(f"cell reference {ref[:20]!r} is beyond the last column")
        return column

    def _store(self, value: Any) -> None:
        row = self.row
        assert row is not None
        if value is None:
            return
        if self.column > len(row):
            grow = self.column - len(row)
            self.cells += grow
            if self.cells > self.limits.max_cells:
                raise self.fail(f"more than {self.limits.max_cells:,} cells; split it")
            row.extend([None] * grow)
        row[self.column - 1] = value

    def _cell_value(self) -> Any:
        kind = self.kind
        if kind == "inlineStr":
            return self.inline.finish()
        raw = "".join(self.value)
        if not raw:
            return None
        if kind == "s":
            try:
                return self.strings[int(raw)]
            except (ValueError, IndexError):
                raise self.fail(f"shared string {raw[:20]!r} does not exist") from None
        if kind in ("str", "e", "d"):
            return raw
        if kind == "b":
            return raw.strip() in ("1", "true")
        try:
            number: int | float = int(raw)
        except ValueError:
            try:
                number = float(raw)
            except ValueError:
                return raw
        if 0 <= self.style < len(self.dates) and self.dates[self.style]:
            return self.book.serial_date(number)
        return number


def open_workbook(data: IO[bytes], limits: Limits | None = None) -> Workbook:
    """Open a workbook (XlsxRejected if it is not one or breaks a limit)."""
    return Workbook(data, limits or Limits())
