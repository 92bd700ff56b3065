"""CLI: connect / connections / check / disconnect / db, through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.errors import AtsError
from atsbridge.model import JobQuery
from atsbridge.plugins import PluginRegistry
from atsbridge.secrets import MASK
from atsbridge.store import migrate
from click.testing import CliRunner, Result
from fakeats import GOOD_KEY, FakeAts, unavailable

GOOD = {"api_key": GOOD_KEY, "account": "acme-co"}


@pytest.fixture
def run(registry: PluginRegistry, db_url: str):
    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--db", db_url, *args], obj=CliState(registry), input=input)

    return invoke


def listing(run) -> list[dict]:
    result = run("connections", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_connect_tests_then_stores(run, config_file, fake: FakeAts) -> None:
    result = run("connect", "acme", "fakeats", "--config", config_file(GOOD))
    assert result.exit_code == 0, result.output
    assert result.stdout == "connected acme/fakeats: authenticated and stored\n"
    assert len(fake.sessions) == 1 and fake.sessions[0].closed
    (row,) = listing(run)
    assert row["tenant"] == "acme" and row["ats"] == "fakeats"
    assert row["config"] == {
        "api_key": MASK,
        "account": "acme-co",
        "base_url": "https://api.fake.example",
        "timeout": 30,
    }
    assert row["last_checked_at"] is not None and row["last_check_error"] is None


def test_connect_from_stdin_with_json_output(run) -> None:
    result = run("connect", "acme", "fakeats", "--config", "-", "--json", input=json.dumps(GOOD))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["config"]["api_key"] == MASK


def test_bad_config_lists_every_problem_and_stores_nothing(run, config_file, fake) -> None:
    bad = {"api_key": "short", "base_url": "http://ats.example.com", "extra": 1}
    result = run("connect", "acme", "fakeats", "--config", config_file(bad))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: config.account: required",
        "error: config.api_key: must be at least 8 characters",
        "error: config.base_url: must be https (plain http only for loopback)",
        "error: config.extra: unknown field",
    ]
    assert fake.sessions == []
    assert listing(run) == []


def test_rejected_credentials_exit_1_and_store_nothing(run, config_file) -> None:
    result = run(
        "connect", "acme", "fakeats", "--config", config_file({**GOOD, "api_key": "x" * 12})
    )
    assert result.exit_code == 1
    assert result.stderr == "error: fakeats rejected the API key: check config.api_key\n"
    assert listing(run) == []


def test_no_check_stores_without_calling_the_ats(run, config_file, fake) -> None:
    wrong = {**GOOD, "api_key": "x" * 12}
    result = run("connect", "acme", "fakeats", "--config", config_file(wrong), "--no-check")
    assert result.exit_code == 0, result.output
    assert "stored without testing" in result.stdout
    assert fake.sessions == []
    (row,) = listing(run)
    assert row["last_checked_at"] is None
    # ...and check then reports the problem, exit 1, and records it.
    result = run("check", "acme", "fakeats")
    assert result.exit_code == 1
    assert result.stderr == "error: fakeats rejected the API key: check config.api_key\n"
    (row,) = listing(run)
    assert row["last_check_error"] == "fakeats rejected the API key: check config.api_key"


def test_reconnect_updates_and_masked_secret_is_kept(run, config_file, fake) -> None:
    assert run("connect", "acme", "fakeats", "--config", config_file(GOOD)).exit_code == 0
    (before,) = listing(run)
    edited = {**before["config"], "account": "acme-renamed", "timeout": 5}
    assert edited["api_key"] == MASK
    result = run("connect", "acme", "fakeats", "--config", config_file(edited, "edited.json"))
    assert result.exit_code == 0, result.output
    (after,) = listing(run)
    assert after["config"]["account"] == "acme-renamed" and after["config"]["timeout"] == 5
    assert fake.sessions[-1].config["api_key"] == GOOD_KEY  # the stored key was used


def test_masked_secret_without_stored_one_is_bad_input(run, config_file) -> None:
    result = run("connect", "acme", "fakeats", "--config", config_file({**GOOD, "api_key": MASK}))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"error: config.api_key: is the mask {MASK} but no secret is stored for it\n"
    )


def test_connections_filter_and_table(run, config_file) -> None:
    for tenant in ("acme", "globex"):
        assert run("connect", tenant, "fakeats", "--config", config_file(GOOD)).exit_code == 0
    assert [r["tenant"] for r in listing(run)] == ["acme", "globex"]
    result = run("connections", "--tenant", "globex", "--json")
    assert [r["tenant"] for r in json.loads(result.stdout)] == ["globex"]
    assert json.loads(run("connections", "--tenant", "nobody", "--json").stdout) == []
    table = run("connections").stdout
    assert "acme" in table and "globex" in table and MASK in table
    assert GOOD_KEY not in table


def test_check_ok_and_operational_failures(run, config_file, fake) -> None:
    assert run("connect", "acme", "fakeats", "--config", config_file(GOOD)).exit_code == 0
    result = run("check", "acme", "fakeats")
    assert (result.exit_code, result.stdout) == (0, "ok: acme/fakeats authenticated\n")
    fake.failure = unavailable()
    result = run("check", "acme", "fakeats")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: fakeats is down (HTTP 503 after 3 retries)\n",
    )
    fake.failure = AtsError("forbidden: missing scope jobs:read", status_code=403)
    assert run("check", "acme", "fakeats").exit_code == 1
    fake.failure = RuntimeError("plugin bug")
    result = run("check", "acme", "fakeats")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: fakeats plugin failed in atsbridge_open_session: RuntimeError: plugin bug\n"
    )


def test_check_and_disconnect_unknown_are_bad_input(run) -> None:
    for command in ("check", "disconnect"):
        result = run(command, "acme", "fakeats")
        assert (result.exit_code, result.stderr) == (2, "error: no tenant 'acme'\n")
    result = run("check", "acme", "nosuchats")
    assert result.exit_code == 2
    assert "no ATS plugin named 'nosuchats'" in result.stderr


def test_disconnect(run, config_file) -> None:
    assert run("connect", "acme", "fakeats", "--config", config_file(GOOD)).exit_code == 0
    result = run("disconnect", "acme", "fakeats", "--yes")
    assert (result.exit_code, result.stdout) == (
        0,
        "disconnected acme/fakeats: deleted 0 mirrored jobs, 0 imported job links, "
        "0 do-not-source entries from the ATS, 0 sync runs\n",
    )
    assert listing(run) == []
    assert run("disconnect", "acme", "fakeats", "--yes").exit_code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["connect", "acme", "fakeats"], "error: Missing option '--config'."),
        (["connect", "-bad-", "fakeats", "--config", "-"], "error: No such option"),
        (["connect", "a b", "fakeats", "--config", "-"], "error: TENANT: 'a b' is not a valid"),
        (["connect", "acme", "nope", "--config", "-"], "error: no ATS plugin named 'nope'"),
        (["connect", "acme", "fakeats", "--config", "-"], "error: --config: not valid JSON"),
        (["connections", "--bogus"], "error: No such option '--bogus'."),
        (["nosuchcommand"], "error: No such command 'nosuchcommand'."),
    ],
)
def test_usage_and_input_errors_exit_2_with_one_line(run, args, message) -> None:
    result = run(*args, input="not json")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), lines


def test_db_upgrade_and_current(run) -> None:
    for command in ("upgrade", "current"):
        result = run("db", command)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip().endswith(f"is at revision {migrate.head_revision()}")


def test_db_env_var_is_the_default(registry, tmp_path: Path, monkeypatch) -> None:
    db_file = tmp_path / "from-env.db"
    monkeypatch.setenv("ATSBRIDGE_DB", f"sqlite:///{db_file}")
    result = CliRunner().invoke(cli, ["db", "upgrade"], obj=CliState(registry))
    assert result.exit_code == 0, result.output
    assert db_file.exists()


def test_bad_db_url_is_bad_input(registry) -> None:
    result = CliRunner().invoke(
        cli, ["--db", "mysql://x/y", "db", "upgrade"], obj=CliState(registry)
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --db: unsupported database 'mysql' (use sqlite:/// or postgresql://)\n",
    )


def test_plugins_listing_needs_no_database(registry, isolated_env: Path) -> None:
    result = CliRunner().invoke(cli, ["plugins", "--json"], obj=CliState(registry))
    assert result.exit_code == 0
    (row,) = json.loads(result.stdout)
    assert row["name"] == "fakeats" and row["status"] == "ok" and row["reason"] is None
    assert not (isolated_env / "atsbridge.db").exists()


def test_facade_opens_sessions_and_stores_rotated_secrets(db_url: str) -> None:
    fake = FakeAts(rotate_to="rotated-refresh-token-1")
    registry = PluginRegistry()
    registry.register(fake, "fakeats")
    with Atsbridge(db=db_url, registry=registry) as app:
        app.connections.connect("acme", "fakeats", {**GOOD, "refresh_token": "first-refresh-tok"})
        fake.rotate_to = "rotated-refresh-token-2"
        with app.open_session("acme", "fakeats") as session:
            page = session.call("atsbridge_search_jobs", query=JobQuery(text="Backend"))
            assert [j.ats_id for j in page.items] == ["J1"]
            assert session.label == "acme/fakeats"
        opened = len(fake.sessions)
        fake.rotate_to = None
        with app.open_session("acme", "fakeats"):
            pass  # the pooled session, which holds the rotated token: not a changed config
        assert len(fake.sessions) == opened and not fake.sessions[-1].closed
        app.session_pool.close()
        assert fake.sessions[-1].closed
        with app.open_session("acme", "fakeats"):
            pass
        assert fake.sessions[-1].config["refresh_token"] == "rotated-refresh-token-2"
        assert app.connections.get("acme", "fakeats").config["refresh_token"] == MASK


def test_env_reference_is_stored_as_reference(db_url: str, registry, fake, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_ATS_KEY", GOOD_KEY)
    monkeypatch.setenv("ATSBRIDGE_CONFIG_ENV_PREFIX", "FAKE_ATS_")
    with Atsbridge(db=db_url, registry=registry) as app:
        view = app.connections.connect(
            "acme", "fakeats", {**GOOD, "api_key": {"$env": "FAKE_ATS_KEY"}}
        )
        assert view.config["api_key"] == {"$env": "FAKE_ATS_KEY"}
        monkeypatch.setenv("FAKE_ATS_KEY", "changed-in-env-0")
        with pytest.raises(AtsError):
            app.connections.check("acme", "fakeats")  # resolved at session time, not stored


def test_settings_are_merged(db_url: str, registry) -> None:
    with Atsbridge(db=db_url, registry=registry) as app:
        app.connections.connect("acme", "fakeats", GOOD)
        app.connections.update_settings("acme", "fakeats", jobs_interval=600, default_country="FR")
        view = app.connections.update_settings("acme", "fakeats", jobs_interval=None)
        assert view.settings == {"default_country": "FR"}
        with app.open_session("acme", "fakeats") as session:
            assert session.settings == {"default_country": "FR"}
