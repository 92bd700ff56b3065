"""Imported cells: formula-like values are flagged in the report; unrecognised columns are
stored within the cell limit (and a row within its total); an over-long header refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from atsbridge import filereader
from atsbridge.api import Atsbridge
from atsbridge.filereader import FileRejected, read_people_bytes
from atsbridge.store.tables import CntsEntry
from cntsfake import connect
from sqlmodel import select


def test_formula_like_cells_are_flagged_not_phones_or_numbers() -> None:
    data = (
        b"Email,Phone,Notes,Score\n"
        b'a@example.org,+33 6 12 34 56 78,=HYPERLINK("http://x"),-1.5e3\n'
        b"b@example.org,,@SUM(A1),+cmd|' /C calc'!A0\n"
        b"c@example.org,(020) 7946-0102,-2+3+cmd,plain\n"
    )
    read = read_people_bytes(data, default_country="GB")
    flagged = [(f.row, f.column) for f in read.formulas]
    assert flagged == [(2, "Notes"), (3, "Notes"), (3, "Score"), (4, "Notes")]
    assert "starts like a formula" in str(read.formulas[0])


def test_cli_import_report_flags_formulas(run, app: Atsbridge, tmp_path: Path) -> None:
    connect(app, "acme")
    path = tmp_path / "people.csv"
    path.write_text("Email,Notes\na@example.org,=1+1\nb@example.org,fine\n")
    result = run("cnts", "import", "acme", "P1", str(path), "--create", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["formula_cells"] == [{"row": 2, "column": "Notes"}]
    again = run("cnts", "import", "acme", "P2", str(path), "--create")
    assert "warning: row 2, column 'Notes': starts like a formula" in again.stderr


def test_unmapped_columns_are_stored_within_the_cell_limit(app: Atsbridge, tmp_path: Path):
    connect(app, "acme")
    big = "x" * (filereader.MAX_CELL + 1)
    wide = ",".join(f"N{i}" for i in range(40))
    cells = ",".join("y" * 2000 for _ in range(40))  # 80,000 characters in all
    path = tmp_path / "people.csv"
    path.write_text(f"Email,Notes,{wide}\na@example.org,{big},{cells}\n")
    report = app.cnts.import_file("acme", "P1", path, create=True)
    assert report.added == 1
    reasons = {(w.column, w.reason) for w in report.warnings}
    assert ("Notes", f"longer than {filereader.MAX_CELL} characters") in reasons
    assert any("the row is over 65,536 characters" in r for _, r in reasons)
    with app.store.tenant("acme") as repo:
        stored = json.dumps([e.raw for e in repo.all(select(CntsEntry))])
    assert big not in stored
    assert len(stored) < 70_000


def test_an_over_long_header_refuses_the_file() -> None:
    header = "Email," + "H" * (filereader.MAX_CELL + 1)
    with pytest.raises(FileRejected, match="header column 2 is longer than 4096"):
        read_people_bytes(f"{header}\na@example.org,x\n".encode())
