"""Hostile CLI inputs end with exit 2 and one line naming what is wrong, never a traceback:
deep or huge-number JSON, 64-bit overflowing paging, an endless search, unusable ``--db``
URLs, a metrics port out of range or taken (refused before anything is scheduled)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.errors import BadInput
from atsbridge.host import Host, HostConfig
from click.testing import CliRunner
from cntsfake import connect

TOO_BIG = str(2**63)


def _one_line_exit_2(result, needle: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert needle in result.stderr, result.stderr


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {
        "deep": "[" * 100_000 + "]" * 100_000,
        "deep_object": '{"a":' * 100 + "1" + "}" * 100,
        "digits": '{"id": ' + "9" * 5000 + "}",
    }
    paths = {}
    for name, text in out.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(text)
    return paths


def test_json_inputs_too_deep_or_with_huge_numbers(run, files: dict[str, Path]) -> None:
    for name in ("deep", "deep_object"):
        _one_line_exit_2(
            run("connect", "acme", "pipeats", "--config", str(files[name])),
            "--config: nested deeper than 64 levels",
        )
        _one_line_exit_2(
            run("leads", "push", "acme", "P1", str(files[name])),
            "LEAD.json: nested deeper than 64 levels",
        )
    _one_line_exit_2(
        run("connect", "acme", "pipeats", "--config", str(files["digits"])),
        "--config: a number has more than 4,300 digits",
    )
    _one_line_exit_2(
        run("leads", "push", "acme", "P1", str(files["digits"])),
        "LEAD.json: a number has more than 4,300 digits",
    )


def test_paging_past_64_bits_and_an_endless_search(run, app: Atsbridge, tmp_path: Path) -> None:
    connect(app, "acme")
    path = tmp_path / "p.csv"
    path.write_text("Email\na@example.org\n")
    assert run("cnts", "import", "acme", "P1", str(path), "--create").exit_code == 0
    _one_line_exit_2(run("cnts", "list", "acme", "P1", "--offset", TOO_BIG), "--offset")
    _one_line_exit_2(run("cnts", "list", "acme", "P1", "--limit", TOO_BIG), "--limit")
    _one_line_exit_2(run("cnts", "remove", "acme", "P1", "--import", TOO_BIG), "--import")
    _one_line_exit_2(run("jobs", "search", "acme", "--offset", TOO_BIG), "--offset")
    _one_line_exit_2(
        run("cnts", "list", "acme", "P1", "--search", "a" * 100_000),
        "--search: longer than 512 characters",
    )
    # The largest accepted values still work.
    ok = run("cnts", "list", "acme", "P1", "--offset", str(2**63 - 1), "--json")
    assert ok.exit_code == 0, ok.output
    with pytest.raises(BadInput, match="--offset"):
        app.jobs.search("acme", None, offset=2**63)


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("postgresql://u:pw@[::1:5432/x", "--db: not a database URL"),
        ("postgresql+nodriver://h/x", "--db: unusable URL"),
        ("sqlite:///:memory:?mode=ro", "--db: unusable URL"),
        ("sqlite:////proc/no-such-dir/x.db", "--db: cannot create the database file"),
        ("postgresql://u:pw@127.0.0.1:1/x", "--db: cannot open postgresql+psycopg://u:***@"),
        ("mysql://h/x", "--db: unsupported database"),
        ("sqlite:///x\x00y.db", "--db: the URL contains a NUL character"),
    ],
)
def test_unusable_db_urls(url: str, needle: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", url, "cnts", "list", "acme", "P1"])
    _one_line_exit_2(result, needle)
    assert "pw" not in result.stderr


def test_a_database_file_that_is_not_one(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("just some text, long enough to be read as a header\n" * 20)
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{bogus}", "cnts", "list", "a", "b"])
    _one_line_exit_2(result, "--db: cannot open")
    assert bogus.read_text().startswith("just some text")


def test_metrics_port_out_of_range_or_taken(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    result = CliRunner().invoke(cli, ["--db", db, "host", "run", "--metrics-port", "99999"])
    _one_line_exit_2(result, "--metrics-port")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with Atsbridge(db=db) as app:
            host = Host(app, HostConfig(metrics_port=port))
            with pytest.raises(BadInput, match=rf"--metrics-port {port}: cannot listen"):
                host.start()
            # Refused before anything was scheduled or registered.
            assert not host.scheduler.running and host.connections == {}
            assert host.registry.processes() == {}


def test_deep_documents_already_parsed_are_refused(app: Atsbridge) -> None:
    # The HTTP layer parses bodies itself; 500 levels parse fine and then broke the
    # recursive readers (references, schema validation) with a RecursionError.
    deep: object = 1
    for _ in range(500):
        deep = {"a": deep}
    with pytest.raises(BadInput, match="config: nested deeper than 64 levels"):
        app.connections.connect("acme", "pipeats", {"token": deep})
    with pytest.raises(BadInput, match="lead: nested deeper than 64 levels"):
        app.leads.push("acme", "P1", {"id": "x", "first_name": deep})
