"""Workbook bombs: small .xlsx files that claim (or decompress to) enormous sheets.

Each bomb is written compactly (repeated XML deflates to almost nothing) and imported with
``atsbridge cnts import`` in a child process whose address space is capped; the test
asserts on the child: exit 2 with the reason on one line (or a normal import for a bomb
that only *claims* a size), and its peak RSS (VmHWM).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from atsbridge import filereader, xlsxstream
from atsbridge.filereader import FileRejected

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RNS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
    from atsbridge.cli import cli
    from atsbridge.store import Store

    db, path = sys.argv[1:3]
    store = Store(db)
    with store.tenant("acme", create=True):
        pass
    store.close()
    code = cli.main(
        ["--db", db, "cnts", "import", "acme", "P1", path, "--create"],
        prog_name="atsbridge", standalone_mode=False,
    )
    peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print(json.dumps({"code": code, "peak_mb": peak / 1024}))
    """
)


def _workbook(
    path: Path, sheet: Iterable[bytes], strings: Iterable[bytes] | None = None, big: bool = False
) -> Path:
    """A minimal workbook whose sheet (and shared strings) XML is streamed from chunks;
    ``big`` for a part of 4 GB or more (zip64)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"/>',
        )
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Target="xl/workbook.xml" '
            f'Type="{RNS}/officeDocument"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{NS}" xmlns:r="{RNS}"><sheets>'
            '<sheet name="People" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{PKG}">'
            f'<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="{RNS}/worksheet"/>'
            f'<Relationship Id="rId2" Target="sharedStrings.xml" Type="{RNS}/sharedStrings"/>'
            "</Relationships>",
        )
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=big) as out:
            for chunk in sheet:
                out.write(chunk)
        if strings is not None:
            with z.open("xl/sharedStrings.xml", "w", force_zip64=big) as out:
                for chunk in strings:
                    out.write(chunk)
    return path


def _sheet(rows: Iterable[bytes], dimension: str = "A1:B2") -> Iterable[bytes]:
    yield f'<worksheet xmlns="{NS}"><dimension ref="{dimension}"/><sheetData>'.encode()
    yield from rows
    yield b"</sheetData></worksheet>"


HEADER = b'<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c></row>'
PERSON = b'<row r="2"><c r="A2" t="inlineStr"><is><t>ada@example.org</t></is></c></row>'


def _import(tmp_path: Path, book: Path) -> tuple[dict[str, float], str]:
    db = f"sqlite:///{tmp_path / 'bomb.db'}"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, db, str(book)],
        capture_output=True,
        text=True,
        timeout=240,  # generous for a loaded machine; a bomb used to take minutes or hours
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_declared_full_sheet_range_is_not_expanded(tmp_path: Path) -> None:
    # 4 KB declaring A1:XFD1048576: the rows are as wide as their cells, not as declared.
    book = _workbook(tmp_path / "dim.xlsx", _sheet([HEADER, PERSON], "A1:XFD1048576"))
    assert book.stat().st_size < 5_000
    result, stderr = _import(tmp_path, book)
    assert result["code"] == 0, stderr
    assert result["peak_mb"] < 300


def test_five_million_blank_rows_are_refused(tmp_path: Path) -> None:
    blank = b"<row/>" * 100_000
    rows = [HEADER, PERSON, *([blank] * 50)]
    book = _workbook(tmp_path / "blank.xlsx", _sheet(rows))
    assert book.stat().st_size < 200_000
    result, stderr = _import(tmp_path, book)
    assert result["code"] == 2
    assert stderr.count("\n") == 1
    assert "more than 1,048,576 rows (blank ones included)" in stderr
    assert result["peak_mb"] < 300


def _strings(*items: Iterable[bytes]) -> Iterable[bytes]:
    yield f'<sst xmlns="{NS}">'.encode()
    for item in items:
        yield b"<si><t>"
        yield from item
        yield b"</t></si>"
    yield b"</sst>"


def test_huge_shared_string_is_refused_before_it_is_read(tmp_path: Path) -> None:
    # 1 GB of one shared string (in a 1 MB file): the part's size is over the limit.
    huge = (b"A" * (1 << 20) for _ in range(1024))
    header = b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    book = _workbook(tmp_path / "sst.xlsx", _sheet([header]), _strings(huge), big=True)
    result, stderr = _import(tmp_path, book)
    assert result["code"] == 2
    assert "shared strings decompresses to" in stderr and "over the" in stderr
    assert result["peak_mb"] < 300


def test_over_long_shared_string_within_the_part_limit_is_refused(tmp_path: Path) -> None:
    long = [b"B" * (xlsxstream.EXCEL_MAX_STRING + 1)]
    header = b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    data = tmp_path / "long.xlsx"
    _workbook(data, _sheet([header]), _strings([b"Email"], long))
    with pytest.raises(FileRejected, match=r"a shared string is longer than 32,767 characters"):
        filereader.read_people(data)


def test_decompressed_sheet_size_is_capped_even_when_the_zip_lies(tmp_path: Path) -> None:
    rows = [HEADER, PERSON, *([b"<row/>" * 1000] * 10)]
    book = _workbook(tmp_path / "big.xlsx", _sheet(rows))
    with pytest.raises(FileRejected, match=r"sheet 'People' decompresses to [0-9,]+ bytes"):
        filereader.read_people_bytes(
            book.read_bytes(),
            name="big.xlsx",
            xlsx_limits=xlsxstream.Limits(max_sheet_bytes=10_000),
        )
    # A zip that understates the size gets past the declared check, never past the end of
    # what it declared: the stream stops there and the part is refused.
    data = bytearray(book.read_bytes())
    _understate_sizes(data, "xl/worksheets/sheet1.xml")
    with pytest.raises(FileRejected, match=r"sheet 'People' is corrupt"):
        filereader.read_people_bytes(
            bytes(data), name="big.xlsx", xlsx_limits=xlsxstream.Limits(max_sheet_bytes=10_000)
        )


def _understate_sizes(data: bytearray, member: str) -> None:
    """Rewrite the central directory's uncompressed size of ``member`` to 100 bytes."""
    name = member.encode()
    found = False
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:
        name_len = int.from_bytes(data[pos + 28 : pos + 30], "little")
        if data[pos + 46 : pos + 46 + name_len] == name:
            data[pos + 24 : pos + 28] = (100).to_bytes(4, "little")
            found = True
        pos += 4
    assert found


def test_cells_and_time_are_capped(tmp_path: Path) -> None:
    wide = b'<row><c r="XFD2"><v>1</v></c></row>' * 20
    book = _workbook(tmp_path / "wide.xlsx", _sheet([HEADER, *[wide] * 10]))
    with pytest.raises(FileRejected, match=r"more than 100,000 cells"):
        filereader.read_people_bytes(
            book.read_bytes(), name="wide.xlsx", xlsx_limits=xlsxstream.Limits(max_cells=100_000)
        )
    with pytest.raises(FileRejected, match=r"reading took longer than 0 s"):
        filereader.read_people_bytes(
            book.read_bytes(), name="wide.xlsx", xlsx_limits=xlsxstream.Limits(max_seconds=0)
        )


def test_doctype_entities_are_refused(tmp_path: Path) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
        + f'<worksheet xmlns="{NS}"><sheetData>'.encode()
        + HEADER
        + b"</sheetData></worksheet>"
    )
    book = _workbook(tmp_path / "lol.xlsx", [laughs])
    with pytest.raises(FileRejected, match="DOCTYPE"):
        filereader.read_people(book)
